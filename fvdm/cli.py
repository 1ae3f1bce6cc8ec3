"""The command line: `python -m fvdm generate | schedule | convert | info` (also installed as `fvdm`).

    generate  sample a video for one task and write it as MP4 (H.264) or GIF
    schedule  print a sampling plan as a table, draw it (PNG), save it (JSON), or validate a plan file
    convert   turn an official FVDM .pt checkpoint into a diffusers folder
    info      describe a model: its config, window, resolution, classes and size

Exit status: 0 on success; 2 for anything wrong with what the user gave (an unknown option, a
number out of range, a missing or unreadable file, an invalid plan), reported as one line on
stderr that starts with "error:"; 130 when interrupted. Any other exception is a bug in fvdm and
keeps its traceback.

The CLI only turns options into library calls: plans come from `fvdm.schedules`, sampling from
`FVDMPipeline`, files from `fvdm.video_io` and `fvdm.heatmap`.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from fvdm import __version__, schedules
from fvdm.errors import FVDMInputError
from fvdm.heatmap import save_plan_png
from fvdm.loading import default_conditioning, load_pipeline
from fvdm.official import pipeline_from_official_checkpoint
from fvdm.pipeline import FVDMPipeline
from fvdm.scheduler import SAMPLERS
from fvdm.schedules import Plan
from fvdm.video_io import frames_to_grid, load_image, load_video, save_video

PROG = "python -m fvdm"
EXIT_INPUT_ERROR = 2
EXIT_INTERRUPTED = 130
MAX_STEPS = 1000
MAX_VIDEOS = 64
MAX_TOTAL_FRAMES = 100_000
MAX_UPSCALE = 64
MIN_OUTPUT_WIDTH = 256  # the default --upscale makes the written video at least this wide
VIDEO_SUFFIXES = (".mp4", ".gif")
PLAN_SUFFIXES = (".json", ".png")
DEFAULT_STEPS = 25
DEFAULT_ORDER = "together"
DEFAULT_LONG_FRAMES = 128
DEFAULT_SCHEDULE_FRAMES = 16
TABLE_COLUMNS = 13  # `schedule` shows at most this many rows of a plan (as columns)

GENERATE_TASKS = ("unconditional", "image-to-video", "interpolate", "predict", "long", "custom")
# `schedule --task` name -> `schedules.BUILDERS` name.
SCHEDULE_TASKS = {
    "synchronous": "synchronous",
    "image-to-video": "image_to_video",
    "interpolate": "interpolation",
    "predict": "prediction",
    "keyframes": "keyframes",
    "autoregressive": "autoregressive",
    "trapezoid": "trapezoid",
    "random": "random",
}


# ------------------------------------------------------------------------------- argument types


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become FVDMInputError, so `main` reports every input
    error the same way (one `error:` line, exit status 2) instead of argparse's usage block."""

    def error(self, message: str):
        raise FVDMInputError(f"{message} (see `{self.prog} --help`)")


def int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in low..high (no upper bound when high is None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"at least {low}" if high is None else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    return parse


def number(low: float | None = None, inclusive: bool = True) -> Callable[[str], float]:
    """An argparse type: a finite number; when `low` is set, >= low (or > low when not inclusive)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        too_low = low is not None and (value < low or (value == low and not inclusive))
        if not math.isfinite(value) or too_low:
            bound = "" if low is None else f" {'at least' if inclusive else 'above'} {low:g}"
            raise argparse.ArgumentTypeError(f"must be a finite number{bound}, got {text}")
        return value

    return parse


def index_list(text: str) -> tuple[int, ...]:
    """'0,7,15' -> (0, 7, 15)."""
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected frame indices like 0,7,15, got {text!r}") from None


def given_image(text: str) -> tuple[int, Path]:
    """'3=frame.png' -> (3, Path('frame.png'))."""
    index, separator, path = text.partition("=")
    if not separator or not path or not index.strip().isdecimal():
        raise argparse.ArgumentTypeError(f"expected INDEX=IMAGE like 3=frame.png, got {text!r}")
    return int(index), Path(path)


def suffix_path(suffixes: Sequence[str]) -> Callable[[str], Path]:
    """An argparse type: a path ending in one of `suffixes`, checked before any work starts."""

    def parse(text: str) -> Path:
        path = Path(text)
        if path.suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(f"{text} must end in {' or '.join(suffixes)}")
        return path

    return parse


def device(text: str) -> str:
    """A torch device string that exists on this machine ("cpu", "cuda", "cuda:1", "mps")."""
    try:
        kind = torch.device(text).type
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"unknown device {text!r}; try cpu or cuda") from None
    backend = getattr(torch, kind, None)
    if backend is None or not backend.is_available():
        raise argparse.ArgumentTypeError(f"device {text!r} is not available on this machine")
    return text


# ------------------------------------------------------------------------------- the parser


def build_parser() -> Parser:
    parser = Parser(prog=PROG, description="Frame-aware video diffusion: one model, every video task.")
    parser.add_argument("--version", action="version", version=f"fvdm {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    _add_generate(commands)
    _add_schedule(commands)
    _add_convert(commands)
    _add_info(commands)
    return parser


def _task_option(group, table: dict[str, tuple[str, ...]], tasks: Sequence[str], *flags: str, **kwargs) -> None:
    """Add an option that only some tasks use; `table` records which, for `check_task_options`."""
    action = group.add_argument(*flags, default=None, **kwargs)
    table[action.dest] = tuple(tasks)


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        metavar="MODEL",
        help="a folder written by save_pretrained, an official .pt checkpoint, a Hub id (owner/name) "
        "or a bundled name (fvdm, baseline); default: the bundled fvdm model",
    )
    parser.add_argument("--vae", metavar="FOLDER", help="the VAE folder for a latent-space official .pt checkpoint")


def _add_generate(commands) -> None:
    sub = commands.add_parser(
        "generate",
        help="sample a video",
        description="Sample a video and write it as MP4 (H.264) or GIF. Several videos (--num-videos) are "
        "tiled into one grid in one file, row by row (2 side by side, 4 as 2x2, ...).",
    )
    table: dict[str, tuple[str, ...]] = {}
    sub.set_defaults(handler=run_generate, task_options=table)
    sub.add_argument("--task", choices=GENERATE_TASKS, default="unconditional", help="default: %(default)s")
    _add_model_options(sub)
    sub.add_argument("--device", type=device, help="cpu, cuda, cuda:1, ...; default: cuda when available")
    sub.add_argument(
        "--out",
        type=suffix_path(VIDEO_SUFFIXES),
        required=True,
        metavar="VIDEO",
        help="the video to write: .mp4 or .gif",
    )
    _task_option(
        sub,
        table,
        [t for t in GENERATE_TASKS if t != "custom"],
        "--steps",
        type=int_in(1, MAX_STEPS),
        metavar="N",
        help=f"sampling steps (default {DEFAULT_STEPS}; a custom plan brings its own)",
    )
    _task_option(
        sub,
        table,
        [t for t in GENERATE_TASKS if t != "custom"],
        "--order",
        choices=schedules.ORDERS,
        help="how the generated frames descend: all together (default), or pyramid: one after the other, first "
        "to last, in the same number of steps",
    )
    sub.add_argument("--seed", type=int_in(0, 2**32 - 1), default=0, metavar="N", help="default: %(default)s")
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
    sub.add_argument("--bf16", action="store_true", help="run the transformer under bfloat16 autocast")
    _task_option(
        sub,
        table,
        [t for t in GENERATE_TASKS if t != "long"],
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

    single = ("unconditional", "image-to-video", "interpolate", "predict")
    frames = sub.add_argument_group("unconditional, image-to-video, interpolate, predict")
    _task_option(
        frames,
        table,
        single,
        "--frames",
        type=int_in(1),
        metavar="N",
        help="frames to make (default: the model's window)",
    )
    image = sub.add_argument_group("image-to-video")
    _task_option(
        image,
        table,
        ("image-to-video", "long"),
        "--image",
        type=Path,
        metavar="IMAGE",
        help="the image to animate (long: the first frame to continue from)",
    )
    _task_option(
        image,
        table,
        ("image-to-video",),
        "--at",
        type=int_in(0),
        metavar="INDEX",
        help="the frame the image becomes (default 0)",
    )
    clips = sub.add_argument_group("interpolate, predict (--video also: long, custom)")
    _task_option(
        clips, table, ("interpolate",), "--start", type=Path, metavar="IMAGE", help="interpolate: the first frame"
    )
    _task_option(
        clips, table, ("interpolate",), "--end", type=Path, metavar="IMAGE", help="interpolate: the last frame"
    )
    _task_option(
        clips,
        table,
        ("interpolate", "predict", "long", "custom"),
        "--video",
        type=Path,
        metavar="VIDEO",
        help="interpolate: keep its first and last --context frames; predict: continue its first --context "
        "frames; long: continue after its end; custom: the given frames by index",
    )
    _task_option(
        clips,
        table,
        ("interpolate", "predict"),
        "--context",
        type=int_in(1),
        metavar="K",
        help="frames taken from --video at each used end (default 1)",
    )
    long = sub.add_argument_group("long")
    _task_option(
        long,
        table,
        ("long",),
        "--total-frames",
        type=int_in(1, MAX_TOTAL_FRAMES),
        metavar="N",
        help=f"new frames to make (default {DEFAULT_LONG_FRAMES})",
    )
    _task_option(
        long,
        table,
        ("long",),
        "--context-frames",
        type=int_in(1),
        metavar="K",
        help="frames each window keeps from the one before (default: half the window)",
    )
    _task_option(
        long,
        table,
        ("long",),
        "--context-noise",
        type=int_in(0),
        metavar="LEVEL",
        help="noise level the context frames are held at, 0 = clean (default)",
    )
    custom = sub.add_argument_group("custom")
    _task_option(
        custom,
        table,
        ("custom",),
        "--schedule",
        type=Path,
        metavar="PLAN.json",
        help="the plan, a JSON file (see `schedule`)",
    )
    _task_option(
        custom,
        table,
        ("custom",),
        "--given",
        type=given_image,
        action="append",
        metavar="INDEX=IMAGE",
        help="an image for a given frame of the plan (repeatable)",
    )


def _add_schedule(commands) -> None:
    sub = commands.add_parser(
        "schedule",
        help="print, draw or save a sampling plan",
        description="Build a plan and print it (frames as rows, some steps as columns), or check a plan file. "
        "With --out, also write it as a PNG heat map or as JSON (the format `generate --task custom` reads).",
    )
    table: dict[str, tuple[str, ...]] = {}
    sub.set_defaults(handler=run_schedule, task_options=table)
    which = sub.add_mutually_exclusive_group()
    which.add_argument("--task", choices=SCHEDULE_TASKS, help="the plan to build (default: synchronous)")
    which.add_argument("--validate", type=Path, metavar="PLAN.json", help="check a plan file: print OK or the error")
    every = tuple(SCHEDULE_TASKS)
    _task_option(sub, table, every, "--frames", type=int_in(1), metavar="N", help=f"default {DEFAULT_SCHEDULE_FRAMES}")
    _task_option(sub, table, every, "--steps", type=int_in(1, MAX_STEPS), metavar="N", help=f"default {DEFAULT_STEPS}")
    _task_option(
        sub,
        table,
        ("interpolate", "predict"),
        "--context",
        type=int_in(1),
        metavar="K",
        help="context frames (default 1)",
    )
    _task_option(
        sub,
        table,
        ("autoregressive", "trapezoid"),
        "--lag",
        type=int_in(0),
        metavar="L",
        help="steps between the starts of consecutive blocks",
    )
    _task_option(
        sub,
        table,
        ("autoregressive",),
        "--block-size",
        type=int_in(1),
        metavar="B",
        help="frames per block (default 1)",
    )
    _task_option(
        sub,
        table,
        ("image-to-video", "keyframes", "autoregressive", "trapezoid"),
        "--indices",
        type=index_list,
        metavar="I,J,...",
        help="given frames, e.g. 0,7,15",
    )
    _task_option(
        sub,
        table,
        ("synchronous", "image-to-video", "interpolate", "predict", "keyframes"),
        "--order",
        choices=schedules.ORDERS,
        help="how the generated frames descend (default: together)",
    )
    _task_option(sub, table, ("random",), "--seed", type=int_in(0), metavar="N", help="default 0")
    sub.add_argument(
        "--out", type=suffix_path(PLAN_SUFFIXES), metavar="PLAN", help="also write the plan: .png heat map or .json"
    )


def _add_convert(commands) -> None:
    sub = commands.add_parser(
        "convert",
        help="official .pt checkpoint -> diffusers folder",
        description="Convert a checkpoint of the official FVDM trainer into a folder that --model loads.",
    )
    sub.set_defaults(handler=run_convert)
    sub.add_argument("checkpoint", type=Path, help="the official .pt / .pth / .ckpt file")
    sub.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="the folder to write")
    sub.add_argument("--vae", metavar="FOLDER", help="the VAE folder, for latent-space checkpoints")
    sub.add_argument("--heads", type=int_in(1), metavar="N", help="attention heads (default: inferred from the width)")


def _add_info(commands) -> None:
    sub = commands.add_parser("info", help="describe a model", description="Print a model's config and size.")
    sub.set_defaults(handler=run_info)
    _add_model_options(sub)


def check_task_options(args: argparse.Namespace, task: str | None) -> None:
    """Refuse options that `task` does not use, instead of silently ignoring them."""
    for dest, tasks in args.task_options.items():
        if getattr(args, dest) is not None and task not in tasks:
            flag = "--" + dest.replace("_", "-")
            raise FVDMInputError(f"{flag} is only for --task {', '.join(tasks)}")


def _or(value, default):
    return default if value is None else value


# ------------------------------------------------------------------------------- files


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Report a failed write (no permission, disk full, a folder in the way) as an input error."""
    try:
        yield
    except OSError as error:
        raise FVDMInputError(f"cannot write {path}: {error.strerror or error}") from error


def read_plan(path: Path) -> Plan:
    """A validated plan from a JSON file; errors name the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise FVDMInputError(f"cannot read the plan {path}: {reason}") from error
    try:
        return Plan.from_json(text)
    except FVDMInputError as error:
        raise FVDMInputError(f"{path}: {error}") from error


def write_plan(plan: Plan, path: Path) -> None:
    """`path` ends in .json (the plan itself) or .png (its heat map)."""
    if path.suffix.lower() == ".png":
        save_plan_png(plan, path)
        return
    with writing(path):
        path.write_text(plan.to_json() + "\n", encoding="utf-8")


def make_output_folders(paths: Sequence[Path | None]) -> None:
    """Create the folders outputs go to now, so that a path that cannot be written fails before sampling."""
    for folder in paths:
        if folder is not None:
            with writing(folder):
                folder.mkdir(parents=True, exist_ok=True)


def write_frames(frames: np.ndarray, folder: Path) -> None:
    """uint8 frames [F, H, W, 3] -> folder/frame_0000.png, ... (lossless, for exact comparisons)."""
    with writing(folder):
        for index, frame in enumerate(frames):
            Image.fromarray(frame).save(folder / f"frame_{index:04d}.png")


# ------------------------------------------------------------------------------- generate


def run_generate(args: argparse.Namespace) -> None:
    check_task_options(args, args.task)
    check_task_inputs(args)
    make_output_folders([args.out.parent, args.save_frames, args.save_plan and args.save_plan.parent])
    started = time.perf_counter()
    pipe = load_pipeline(args.model, device=args.device, vae=args.vae)
    loaded = time.perf_counter()
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
        f"wrote {args.out}: {len(video)} video(s) of {frames.shape[0]} frames at {video.shape[3]}x{video.shape[2]} px, "
        f"shown x{upscale} at {args.fps:g} fps"
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
    """The keyword arguments every task's plan builder (and `generate_long`) takes from the options."""
    return {"num_steps": _or(args.steps, DEFAULT_STEPS), "order": _or(args.order, DEFAULT_ORDER)}


Given = dict[int, np.ndarray]
Size = tuple[int, int]


def unconditional_inputs(args: argparse.Namespace, pipe: FVDMPipeline, size: Size) -> tuple[Plan, Given]:
    return schedules.synchronous(_or(args.frames, pipe.num_frames), **plan_options(args)), {}


def image_to_video_inputs(args: argparse.Namespace, pipe: FVDMPipeline, size: Size) -> tuple[Plan, Given]:
    at = _or(args.at, 0)
    plan = schedules.image_to_video(_or(args.frames, pipe.num_frames), given=(at,), **plan_options(args))
    return plan, {at: load_image(args.image, size)}


def interpolate_inputs(args: argparse.Namespace, pipe: FVDMPipeline, size: Size) -> tuple[Plan, Given]:
    context = _or(args.context, 1)
    plan = schedules.interpolation(_or(args.frames, pipe.num_frames), context=context, **plan_options(args))
    if args.video is None:
        ends = [load_image(args.start, size), load_image(args.end, size)]
    else:
        clip = load_video(args.video, size=size)
        if len(clip) < 2 * context:
            raise FVDMInputError(
                f"{args.video} has {len(clip)} frames; --context {context} needs at least {2 * context}"
            )
        ends = [*clip[:context], *clip[-context:]]
    return plan, dict(zip(plan.given, ends))  # plan.given: the first `context` frames, then the last


def predict_inputs(args: argparse.Namespace, pipe: FVDMPipeline, size: Size) -> tuple[Plan, Given]:
    context = _or(args.context, 1)
    plan = schedules.prediction(_or(args.frames, pipe.num_frames), context=context, **plan_options(args))
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


TASK_INPUTS = {
    "unconditional": unconditional_inputs,
    "image-to-video": image_to_video_inputs,
    "interpolate": interpolate_inputs,
    "predict": predict_inputs,
    "custom": custom_inputs,
}


def long_video(args: argparse.Namespace, pipe: FVDMPipeline) -> np.ndarray:
    """All of `generate_long`'s chunks joined: [B, total_frames, H, W, 3] (new frames only)."""
    context = _or(args.context_frames, pipe.num_frames // 2)
    size = (pipe.resolution, pipe.resolution)
    if args.image is not None:
        start = [load_image(args.image, size)]
    elif args.video is not None:
        start = list(load_video(args.video, size=size)[-context:])
    else:
        start = None
    chunks = pipe.generate_long(
        total_frames=_or(args.total_frames, DEFAULT_LONG_FRAMES),
        context_frames=context,
        init_frames=start,
        context_noise=_or(args.context_noise, 0),
        **plan_options(args),
        **sampling_options(args),
    )
    return np.concatenate(list(chunks), axis=1)


def write_video(video: np.ndarray, args: argparse.Namespace) -> tuple[np.ndarray, int]:
    """Tile the videos [B, F, H, W, 3] into one clip and write it; returns (the clip, the upscale used)."""
    frames = frames_to_grid(list(video))
    upscale = args.upscale or math.ceil(MIN_OUTPUT_WIDTH / frames.shape[2])
    with writing(args.out):
        save_video(frames, args.out, fps=args.fps, upscale=upscale)
    if args.save_frames is not None:
        write_frames(frames, args.save_frames)
    return frames, upscale


# ------------------------------------------------------------------------------- schedule


def run_schedule(args: argparse.Namespace) -> None:
    task = None if args.validate is not None else _or(args.task, "synchronous")
    check_task_options(args, task)
    if task is None:
        plan = read_plan(args.validate)
        print(
            f"OK: {args.validate} is a valid plan ({plan.name}, {plan.num_frames} frames, {plan.num_steps} steps, "
            f"given {list(plan.given)})"
        )
    else:
        plan = build_plan(args, task)
        print(format_plan(plan))
    if args.out is not None:
        make_output_folders([args.out.parent])
        write_plan(plan, args.out)
        print(f"wrote {args.out}")


def build_plan(args: argparse.Namespace, task: str) -> Plan:
    """The `schedules` builder for `task`, called with the options given (the builders' defaults otherwise)."""
    name = SCHEDULE_TASKS[task]
    options = {
        "context": args.context,
        "lag": args.lag,
        "block_size": args.block_size,
        "seed": args.seed,
        "order": args.order,
        "indices" if name == "keyframes" else "given": args.indices,
    }
    if name == "keyframes" and args.indices is None:
        raise FVDMInputError("--task keyframes needs --indices, e.g. --indices 0,7,15")
    kwargs = {key: value for key, value in options.items() if value is not None}
    frames, steps = _or(args.frames, DEFAULT_SCHEDULE_FRAMES), _or(args.steps, DEFAULT_STEPS)
    return schedules.BUILDERS[name](frames, steps, **kwargs)


def format_plan(plan: Plan, max_columns: int = TABLE_COLUMNS) -> str:
    """The plan as text: one row per frame (given frames marked *), one column per shown step.

    Column s is the frame's level before step s (the last column, s = num_steps, is the end). Long
    plans show `max_columns` evenly spaced columns, always including the first and the last.
    """
    last = plan.num_steps
    count = min(max_columns, last + 1)
    steps = sorted({round(i * last / (count - 1)) for i in range(count)}) if count > 1 else [0]
    width = max(len(str(plan.num_train_timesteps - 1)), len(str(last))) + 1
    corner = "frame \\ step"
    label = max(len(corner), len(f"frame {plan.num_frames - 1}*"))
    shown = "all steps" if len(steps) == last + 1 else f"{len(steps)} of {last + 1} rows"
    given = ", ".join(map(str, plan.given)) or "none"
    lines = [
        f"{plan.name}: {plan.num_frames} frames, {plan.num_steps} steps ({shown}); given: {given}",
        corner.ljust(label) + "".join(str(s).rjust(width) for s in steps),
    ]
    for frame in range(plan.num_frames):
        mark = "*" if frame in plan.given else " "
        levels = plan.timesteps[steps, frame].tolist()
        lines.append(f"frame {frame}{mark}".ljust(label) + "".join(str(v).rjust(width) for v in levels))
    return "\n".join(lines)


# ------------------------------------------------------------------------------- convert and info


def run_convert(args: argparse.Namespace) -> None:
    if args.out_dir.exists() and not args.out_dir.is_dir():
        raise FVDMInputError(f"{args.out_dir} exists and is not a folder")
    pipe = pipeline_from_official_checkpoint(args.checkpoint, vae=args.vae, num_heads=args.heads)
    with writing(args.out_dir):
        pipe.save_pretrained(args.out_dir)
    print(f"converted {args.checkpoint} -> {args.out_dir} (load it with --model {args.out_dir})")
    print("\n".join(describe(pipe)))


def run_info(args: argparse.Namespace) -> None:
    pipe = load_pipeline(args.model, device="cpu", vae=args.vae)
    print(f"model: {args.model or 'fvdm (bundled)'}")
    print("\n".join(describe(pipe)))


def describe(pipe: FVDMPipeline) -> list[str]:
    """The transformer's config, then what it means: window, resolution, classes, size, scheduler."""
    config = pipe.transformer.config
    lines = ["transformer config:"] + [f"  {key}: {value}" for key, value in config.items() if not key.startswith("_")]
    if pipe.vae is None:
        space = "pixel space"
    else:
        space = f"VAE latents: {config.sample_size}x{config.sample_size}x{config.in_channels}, x{pipe.vae_scale_factor}"
    if pipe.num_classes:
        classes = f"{pipe.num_classes} (--class 0..{pipe.num_classes - 1}; --guidance works)"
    else:
        classes = "none (unconditional)"
    parameters = f"{count_parameters(pipe.transformer):,} (transformer)"
    if pipe.vae is not None:
        parameters += f" + {count_parameters(pipe.vae):,} (VAE)"
    scheduler = pipe.scheduler.config
    return lines + [
        f"frames per window: {pipe.num_frames}",
        f"resolution: {pipe.resolution}x{pipe.resolution} px ({space})",
        f"classes: {classes}",
        f"parameters: {parameters}",
        (
            f"scheduler: {scheduler.prediction_type} prediction, {scheduler.beta_schedule} betas, "
            f"{scheduler.variance_type} variance, clip_sample={scheduler.clip_sample}"
        ),
        f"sampling: {scheduler.sampler.upper()} steps, frame guidance {pipe.config.frame_guidance:g} (1 = off)",
    ]


def count_parameters(model: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


# ------------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (see the module docstring)."""
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()  # hides "Loading pipeline components"; sampling keeps its bar
    try:
        args = build_parser().parse_args(argv)
        args.handler(args)
    except FVDMInputError as error:
        print("error: " + " ".join(str(error).split()), file=sys.stderr)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`... | head`): nothing left to say
        sys.stdout = None
    return 0
