"""`generate --task long`: a video longer than the model's window, made window by window by
`FVDMPipeline.generate_long`, with one progress bar for the whole video."""

from __future__ import annotations

import argparse

import numpy as np
from tqdm.auto import tqdm

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
    pipe.set_progress_bar_config(leave=False)  # the first window's steps show, then make way for the video's bar
    joined = [next(chunks)]  # the first window, after generate_long's checks: a refused option prints no bar
    pipe.set_progress_bar_config(disable=True)  # no bar per window from here: one bar counts the video's frames
    with tqdm(total=total_frames, initial=joined[0].shape[1], unit="frame") as progress:
        for chunk in chunks:
            joined.append(chunk)
            progress.update(chunk.shape[1])
    return np.concatenate(joined, axis=1)
