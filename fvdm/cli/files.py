"""The files the subcommands read and write besides videos: plans (JSON or PNG), output folders and
lossless frames. Every failure becomes an FVDMInputError naming the file."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from fvdm.errors import FVDMInputError
from fvdm.heatmap import save_plan_png
from fvdm.schedules import Plan


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
