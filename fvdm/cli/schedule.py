"""`schedule`: build a plan from the options (or read and check a plan file), print it as a table,
and write it as JSON or as a PNG heat map."""

from __future__ import annotations

import argparse
from pathlib import Path

from fvdm import schedules
from fvdm.cli.arguments import (
    DEFAULT_STEPS,
    MAX_STEPS,
    PLAN_SUFFIXES,
    check_task_options,
    index_list,
    int_in,
    or_default,
    suffix_path,
    task_option,
)
from fvdm.cli.files import make_output_folders, read_plan, write_plan
from fvdm.cli.wording import plural
from fvdm.errors import FVDMInputError
from fvdm.limits import MAX_SEED
from fvdm.schedules import Plan

DEFAULT_FRAMES = 16
TABLE_COLUMNS = 13  # `schedule` shows at most this many rows of a plan (as columns)
# `schedule --task` name -> `schedules.BUILDERS` name.
TASKS = {
    "synchronous": "synchronous",
    "image-to-video": "image_to_video",
    "interpolate": "interpolation",
    "predict": "prediction",
    "keyframes": "keyframes",
    "autoregressive": "autoregressive",
    "trapezoid": "trapezoid",
    "random": "random",
}


def add_parser(commands) -> None:
    """The `schedule` subcommand and its options; most belong to some plans only."""
    sub = commands.add_parser(
        "schedule",
        help="print, draw or save a sampling plan",
        description="Build a plan and print it (frames as rows, some steps as columns), or check a plan file. "
        "With --out, also write it as a PNG heat map or as JSON (the format `generate --task custom` reads).",
    )
    table: dict[str, tuple[str, ...]] = {}
    sub.set_defaults(handler=run, task_options=table)
    which = sub.add_mutually_exclusive_group()
    which.add_argument("--task", choices=TASKS, help="the plan to build (default: synchronous)")
    which.add_argument("--validate", type=Path, metavar="PLAN.json", help="check a plan file: print OK or the error")
    every = tuple(TASKS)
    task_option(sub, table, every, "--frames", type=int_in(1), metavar="N", help=f"default {DEFAULT_FRAMES}")
    task_option(sub, table, every, "--steps", type=int_in(1, MAX_STEPS), metavar="N", help=f"default {DEFAULT_STEPS}")
    task_option(
        sub,
        table,
        ("interpolate", "predict"),
        "--context",
        type=int_in(1),
        metavar="K",
        help="context frames (default 1)",
    )
    task_option(
        sub,
        table,
        ("autoregressive", "trapezoid"),
        "--lag",
        type=int_in(0),
        metavar="L",
        help="steps between the starts of consecutive blocks",
    )
    task_option(
        sub,
        table,
        ("autoregressive",),
        "--block-size",
        type=int_in(1),
        metavar="B",
        help="frames per block (default 1)",
    )
    task_option(
        sub,
        table,
        ("image-to-video", "keyframes", "autoregressive", "trapezoid"),
        "--indices",
        type=index_list,
        metavar="I,J,...",
        help="given frames, e.g. 0,7,15",
    )
    task_option(
        sub,
        table,
        ("synchronous", "image-to-video", "interpolate", "predict", "keyframes"),
        "--order",
        choices=schedules.ORDERS,
        help="how the generated frames descend (default: together)",
    )
    task_option(sub, table, ("random",), "--seed", type=int_in(0, MAX_SEED), metavar="N", help="default 0")
    sub.add_argument(
        "--out", type=suffix_path(PLAN_SUFFIXES), metavar="PLAN", help="also write the plan: .png heat map or .json"
    )


def run(args: argparse.Namespace) -> None:
    """Print the plan built (or OK for a valid plan file) and write it when --out is given."""
    task = None if args.validate is not None else or_default(args.task, "synchronous")
    check_task_options(args, task)
    if task is None:
        plan = read_plan(args.validate)
        print(
            f"OK: {args.validate} is a valid plan ({plan.name}, {plural(plan.num_frames, 'frame')}, "
            f"{plural(plan.num_steps, 'step')}, given {list(plan.given)})"
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
    name = TASKS[task]
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
    frames, steps = or_default(args.frames, DEFAULT_FRAMES), or_default(args.steps, DEFAULT_STEPS)
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
        f"{plan.name}: {plural(plan.num_frames, 'frame')}, {plural(plan.num_steps, 'step')} ({shown}); given: {given}",
        corner.ljust(label) + "".join(str(s).rjust(width) for s in steps),
    ]
    for frame in range(plan.num_frames):
        mark = "*" if frame in plan.given else " "
        levels = plan.timesteps[steps, frame].tolist()
        lines.append(f"frame {frame}{mark}".ljust(label) + "".join(str(v).rjust(width) for v in levels))
    return "\n".join(lines)
