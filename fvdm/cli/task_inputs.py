"""What `generate` hands the pipeline for each task: the plan and its given frames read from the
files named, and the sampling keyword arguments every task shares."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
import torch

from fvdm import schedules
from fvdm.cli.arguments import DEFAULT_STEPS, or_default
from fvdm.cli.files import read_plan
from fvdm.cli.wording import plural
from fvdm.errors import FVDMInputError
from fvdm.loading import default_conditioning
from fvdm.pipeline import FVDMPipeline
from fvdm.schedules import Plan
from fvdm.video_io import load_image, load_video

# `generate --task` name -> its key in `schedules.TASK_ORDERS`.
ORDER_KEYS = {
    "unconditional": "synchronous", "image-to-video": "image_to_video", "interpolate": "interpolation",
    "predict": "prediction", "long": "long",
}

Given = dict[int, np.ndarray]
Size = tuple[int, int]


def sampling_options(args: argparse.Namespace) -> dict:
    """The keyword arguments `FVDMPipeline.__call__` and `generate_long` share."""
    return {
        "class_labels": args.class_label,
        "guidance_scale": args.guidance,
        "num_videos": args.num_videos,
        "seed": args.seed,
        "eta": args.eta,
        "sampler": args.sampler,
        "frame_guidance": args.frame_guidance,
        "autocast_dtype": torch.bfloat16 if args.bf16 else None,
        "conditioning": default_conditioning(args.model),  # replacement for conventional (p = 0) models
    }


def plan_options(args: argparse.Namespace) -> dict:
    """The keyword arguments every task's plan builder (and `generate_long`) takes from the options;
    without --order, the task's own default order (`schedules.TASK_ORDERS`)."""
    order = or_default(args.order, schedules.TASK_ORDERS[ORDER_KEYS[args.task]])
    return {"num_steps": or_default(args.steps, DEFAULT_STEPS), "order": order}


def unconditional_inputs(args: argparse.Namespace, pipe: FVDMPipeline, size: Size) -> tuple[Plan, Given]:
    return schedules.synchronous(or_default(args.frames, pipe.num_frames), **plan_options(args)), {}


def image_to_video_inputs(args: argparse.Namespace, pipe: FVDMPipeline, size: Size) -> tuple[Plan, Given]:
    at = or_default(args.at, 0)
    plan = schedules.image_to_video(or_default(args.frames, pipe.num_frames), given=(at,), **plan_options(args))
    return plan, {at: load_image(args.image, size)}


def interpolate_inputs(args: argparse.Namespace, pipe: FVDMPipeline, size: Size) -> tuple[Plan, Given]:
    context = or_default(args.context, 1)
    plan = schedules.interpolation(or_default(args.frames, pipe.num_frames), context=context, **plan_options(args))
    if args.video is None:
        ends = [load_image(args.start, size), load_image(args.end, size)]
    else:
        clip = load_video(args.video, size=size)
        if len(clip) < 2 * context:
            raise FVDMInputError(
                f"{args.video} has {plural(len(clip), 'frame')}; --context {context} needs at least {2 * context}"
            )
        ends = [*clip[:context], *clip[-context:]]
    return plan, dict(zip(plan.given, ends))  # plan.given: the first `context` frames, then the last


def predict_inputs(args: argparse.Namespace, pipe: FVDMPipeline, size: Size) -> tuple[Plan, Given]:
    context = or_default(args.context, 1)
    plan = schedules.prediction(or_default(args.frames, pipe.num_frames), context=context, **plan_options(args))
    return plan, dict(zip(plan.given, load_video(args.video, num_frames=context, size=size)))


def custom_inputs(args: argparse.Namespace, pipe: FVDMPipeline, size: Size) -> tuple[Plan, Given]:
    """The plan file's given frames: from --given INDEX=IMAGE first, the rest from --video by index."""
    plan = read_plan(args.schedule)
    given: Given = {}
    for index, path in args.given or []:
        if index in given:
            raise FVDMInputError(f"--given names frame {index} twice")
        given[index] = load_image(path, size)
    missing = [index for index in plan.given if index not in given]
    if args.video is not None and missing:
        clip = load_video(args.video, num_frames=max(missing) + 1, size=size)
        given.update({index: clip[index] for index in missing})
    return plan, given


TASK_INPUTS: dict[str, Callable[[argparse.Namespace, FVDMPipeline, Size], tuple[Plan, Given]]] = {
    "unconditional": unconditional_inputs,
    "image-to-video": image_to_video_inputs,
    "interpolate": interpolate_inputs,
    "predict": predict_inputs,
    "custom": custom_inputs,
}
