"""`generate --task long`: a video longer than the model's window, made window by window by
`FVDMPipeline.generate_long`."""

from __future__ import annotations

import argparse

import numpy as np

from fvdm.cli.arguments import or_default
from fvdm.cli.task_inputs import plan_options, sampling_options
from fvdm.pipeline import FVDMPipeline
from fvdm.video_io import load_image, load_video

DEFAULT_LONG_FRAMES = 128


def long_video(args: argparse.Namespace, pipe: FVDMPipeline) -> np.ndarray:
    """All of `generate_long`'s chunks joined: [B, total_frames, H, W, 3] (new frames only)."""
    context = or_default(args.context_frames, pipe.num_frames // 2)
    total_frames = or_default(args.total_frames, DEFAULT_LONG_FRAMES)
    size = (pipe.resolution, pipe.resolution)
    if args.image is not None:
        start = [load_image(args.image, size)]
    elif args.video is not None:
        start = list(load_video(args.video, size=size)[-context:])
    else:
        start = None
    chunks = pipe.generate_long(
        total_frames=total_frames,
        context_frames=context,
        init_frames=start,
        context_noise=or_default(args.context_noise, 0),
        **plan_options(args),
        **sampling_options(args),
    )
    return np.concatenate(list(chunks), axis=1)
