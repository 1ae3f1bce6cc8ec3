"""`generate`: its options, the checks made before the model loads, and the run that samples the
video and writes it (with the plan and the frames when asked)."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from fvdm import schedules
from fvdm.cli.arguments import (
    DEFAULT_STEPS,
    MAX_STEPS,
    PLAN_SUFFIXES,
    add_model_options,
    check_task_options,
    device,
    given_image,
    int_in,
    number,
    suffix_path,
    task_option,
)
from fvdm.cli.files import make_output_folders, write_frames, write_plan, writing
from fvdm.cli.long_video import DEFAULT_LONG_FRAMES, long_video
from fvdm.cli.task_inputs import ORDER_KEYS, TASK_INPUTS, sampling_options
from fvdm.cli.wording import plural
from fvdm.errors import FVDMInputError
from fvdm.limits import MAX_LONG_FRAMES, MAX_SEED
from fvdm.loading import load_pipeline
from fvdm.precision import warn_if_slow_bf16
from fvdm.scheduler import SAMPLERS
from fvdm.video_io import frames_to_grid, save_video

MAX_VIDEOS = 64
MAX_UPSCALE = 64
MIN_OUTPUT_WIDTH = 256  # the default --upscale makes the written video at least this wide
VIDEO_SUFFIXES = (".mp4", ".gif")
TASKS = ("unconditional", "image-to-video", "interpolate", "predict", "long", "custom")


def add_parser(commands) -> None:
    """The `generate` subcommand and its options, grouped by the tasks that use them."""
    sub = commands.add_parser(
        "generate",
        help="sample a video",
        description="Sample a video and write it as MP4 (H.264) or GIF. Several videos (--num-videos) are "
        "tiled into one grid in one file, row by row (2 side by side, 4 as 2x2, ...).",
    )
    table: dict[str, tuple[str, ...]] = {}
    sub.set_defaults(handler=run, task_options=table)
    sub.add_argument("--task", choices=TASKS, default="unconditional", help="default: %(default)s")
    add_model_options(sub)
    sub.add_argument("--device", type=device, help="cpu, cuda, cuda:1, ...; default: cuda when available")
    sub.add_argument(
        "--out",
        type=suffix_path(VIDEO_SUFFIXES),
        required=True,
        metavar="VIDEO",
        help="the video to write: .mp4 or .gif",
    )
    task_option(
        sub,
        table,
        [t for t in TASKS if t != "custom"],
        "--steps",
        type=int_in(1, MAX_STEPS),
        metavar="N",
        help=f"sampling steps (default {DEFAULT_STEPS}; a custom plan brings its own)",
    )
    task_option(
        sub,
        table,
        [t for t in TASKS if t != "custom"],
        "--order",
        choices=schedules.ORDERS,
        help="how the generated frames descend: all together; pyramid: one after the other, first to last, in "
        "the same number of steps; or sequential: each over all --steps, starting when the one before it is "
        f"{schedules.SEQUENTIAL_LAG * 100:.0f}%% down (more steps, objects stay whole more often). Default: "
        + ", ".join(f"{schedules.TASK_ORDERS[key]} for {task}" for task, key in ORDER_KEYS.items()),
    )
    sub.add_argument("--seed", type=int_in(0, MAX_SEED), default=0, metavar="N", help="default: %(default)s")
    sub.add_argument("--num-videos", type=int_in(1, MAX_VIDEOS), default=1, metavar="N", help="default: %(default)s")
    sub.add_argument("--eta", type=number(0), default=0.0, help="DDIM noise, 0 = deterministic (default)")
    sub.add_argument("--sampler", choices=SAMPLERS, help="default: the model's own (its scheduler config)")
    sub.add_argument(
        "--frame-guidance",
        type=number(1),
        metavar="SCALE",
        help="guidance towards the given frames, 1 = off, up to 10; default: the model's own (FVDM models only)",
    )
    sub.add_argument(
        "--guidance",
        type=number(),
        default=1.0,
        metavar="SCALE",
        help="classifier-free guidance scale; 1 = none (default); needs a class-conditional model",
    )
    sub.add_argument(
        "--class", dest="class_label", type=int_in(0), metavar="N", help="class label for class-conditional models"
    )
    sub.add_argument("--fps", type=number(0, inclusive=False), default=8.0, help="default: %(default)s")
    sub.add_argument(
        "--upscale",
        type=int_in(1, MAX_UPSCALE),
        metavar="N",
        help=f"pixel-repeat factor; default: the smallest making the video {MIN_OUTPUT_WIDTH}+ px wide",
    )
    sub.add_argument("--bf16", action="store_true", help="run the model under bfloat16 autocast")
    task_option(
        sub,
        table,
        [t for t in TASKS if t != "long"],
        "--save-plan",
        type=suffix_path(PLAN_SUFFIXES),
        metavar="PLAN",
        help="also write the plan used, as .json or a .png heat map",
    )
    sub.add_argument(
        "--save-frames",
        type=Path,
        metavar="DIR",
        help="also write every frame (tiled as in the video, not upscaled) as lossless PNGs to DIR",
    )
    _add_task_groups(sub, table)


def _add_task_groups(sub: argparse.ArgumentParser, table: dict[str, tuple[str, ...]]) -> None:
    """The options of one task or a few, each group titled with the tasks that use it."""
    single = ("unconditional", "image-to-video", "interpolate", "predict")
    frames = sub.add_argument_group("unconditional, image-to-video, interpolate, predict")
    task_option(
        frames,
        table,
        single,
        "--frames",
        type=int_in(1),
        metavar="N",
        help="frames to make (default: the model's window)",
    )
    image = sub.add_argument_group("image-to-video")
    task_option(
        image,
        table,
        ("image-to-video", "long"),
        "--image",
        type=Path,
        metavar="IMAGE",
        help="the image to animate (long: the first frame to continue from)",
    )
    task_option(
        image,
        table,
        ("image-to-video",),
        "--at",
        type=int_in(0),
        metavar="INDEX",
        help="the frame the image becomes (default 0)",
    )
    clips = sub.add_argument_group("interpolate, predict (--video also: long, custom)")
    task_option(
        clips, table, ("interpolate",), "--start", type=Path, metavar="IMAGE", help="interpolate: the first frame"
    )
    task_option(
        clips, table, ("interpolate",), "--end", type=Path, metavar="IMAGE", help="interpolate: the last frame"
    )
    task_option(
        clips,
        table,
        ("interpolate", "predict", "long", "custom"),
        "--video",
        type=Path,
        metavar="VIDEO",
        help="interpolate: keep its first and last --context frames; predict: continue its first --context "
        "frames; long: continue after its end; custom: the given frames by index",
    )
    task_option(
        clips,
        table,
        ("interpolate", "predict"),
        "--context",
        type=int_in(1),
        metavar="K",
        help="frames taken from --video at each used end (default 1)",
    )
    long = sub.add_argument_group("long")
    task_option(
        long,
        table,
        ("long",),
        "--total-frames",
        type=int_in(1, MAX_LONG_FRAMES),
        metavar="N",
        help=f"new frames to make (default {DEFAULT_LONG_FRAMES}, at most {MAX_LONG_FRAMES})",
    )
    task_option(
        long,
        table,
        ("long",),
        "--context-frames",
        type=int_in(1),
        metavar="K",
        help="frames each window keeps from the one before (default: half the window)",
    )
    task_option(
        long,
        table,
        ("long",),
        "--context-noise",
        type=int_in(0),
        metavar="LEVEL",
        help="noise level the context frames are held at, 0 = clean (default)",
    )
    custom = sub.add_argument_group("custom")
    task_option(
        custom,
        table,
        ("custom",),
        "--schedule",
        type=Path,
        metavar="PLAN.json",
        help="the plan, a JSON file (see `schedule`)",
    )
    task_option(
        custom,
        table,
        ("custom",),
        "--given",
        type=given_image,
        action="append",
        metavar="INDEX=IMAGE",
        help="an image for a given frame of the plan (repeatable)",
    )


def run(args: argparse.Namespace) -> None:
    """Check the options, load the model, sample, write the video; print what was written and how long it took."""
    check_task_options(args, args.task)
    check_task_inputs(args)
    make_output_folders([args.out.parent, args.save_frames, args.save_plan and args.save_plan.parent])
    started = time.perf_counter()
    pipe = load_pipeline(args.model, device=args.device, vae=args.vae)
    loaded = time.perf_counter()
    if args.bf16:
        warn_if_slow_bf16(pipe.device)
    if args.task == "long":
        video = long_video(args, pipe)
    else:
        plan, given = TASK_INPUTS[args.task](args, pipe, (pipe.resolution, pipe.resolution))
        if args.save_plan is not None:
            write_plan(plan, args.save_plan)
        video = pipe(plan=plan, given=given, **sampling_options(args)).frames
    sampled = time.perf_counter()
    frames, upscale = write_video(video, args)
    print(
        f"wrote {args.out}: {plural(len(video), 'video')} of {plural(frames.shape[0], 'frame')} "
        f"at {video.shape[3]}x{video.shape[2]} px, shown x{upscale} at {args.fps:g} fps"
    )
    print(f"seed {args.seed}; model loaded in {loaded - started:.1f} s, sampled in {sampled - loaded:.1f} s")


def check_task_inputs(args: argparse.Namespace) -> None:
    """Fail before the model loads when the task's inputs are missing or contradict each other."""
    needs = {
        "image-to-video": ("image", "--image"),
        "predict": ("video", "--video"),
        "custom": ("schedule", "--schedule"),
    }
    if args.task in needs and getattr(args, needs[args.task][0]) is None:
        raise FVDMInputError(f"--task {args.task} needs {needs[args.task][1]}")
    if args.task == "interpolate":
        ends = (args.start, args.end)
        if args.video is not None and ends != (None, None):
            raise FVDMInputError("give either --start and --end, or --video, not both")
        if args.video is None and None in ends:
            raise FVDMInputError("--task interpolate needs --start and --end, or --video with --context")
        if args.video is None and args.context is not None:
            raise FVDMInputError("--context goes with --video; --start and --end are one frame each")
    if args.task == "long" and args.image is not None and args.video is not None:
        raise FVDMInputError("continue a long video from --image or from --video, not both")


def write_video(video: np.ndarray, args: argparse.Namespace) -> tuple[np.ndarray, int]:
    """Tile the videos [B, F, H, W, 3] into one clip and write it; returns (the clip, the upscale used)."""
    frames = frames_to_grid(list(video))
    upscale = args.upscale or math.ceil(MIN_OUTPUT_WIDTH / frames.shape[2])
    with writing(args.out):
        save_video(frames, args.out, fps=args.fps, upscale=upscale)
    if args.save_frames is not None:
        write_frames(frames, args.save_frames)
    return frames, upscale
