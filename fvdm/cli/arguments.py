"""The pieces every subcommand's options are made of: the parser class, the argparse types that
check a value as it is read, the options only some tasks use, and the limits they share."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import torch

from fvdm.errors import FVDMInputError

MAX_STEPS = 1000
DEFAULT_STEPS = 25
PLAN_SUFFIXES = (".json", ".png")

T = TypeVar("T")


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


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """--model and --vae, for the subcommands that load a model."""
    parser.add_argument(
        "--model",
        metavar="MODEL",
        help="a folder written by save_pretrained, an official .pt checkpoint, a Hub id (owner/name) "
        "or a bundled name (fvdm, baseline); default: the bundled fvdm model",
    )
    parser.add_argument("--vae", metavar="FOLDER", help="the VAE folder for a latent-space official .pt checkpoint")


def task_option(group, table: dict[str, tuple[str, ...]], tasks: Sequence[str], *flags: str, **kwargs) -> None:
    """Add an option that only some tasks use; `table` records which, for `check_task_options`."""
    action = group.add_argument(*flags, default=None, **kwargs)
    table[action.dest] = tuple(tasks)


def check_task_options(args: argparse.Namespace, task: str | None) -> None:
    """Refuse options that `task` does not use, instead of silently ignoring them."""
    for dest, tasks in args.task_options.items():
        if getattr(args, dest) is not None and task not in tasks:
            flag = "--" + dest.replace("_", "-")
            raise FVDMInputError(f"{flag} is only for --task {', '.join(tasks)}")


def or_default(value: T | None, default: T) -> T:
    """`value`, or `default` when the option was not given (None)."""
    return default if value is None else value
