"""Uploads in, model-sized frames out; every problem becomes an `FVDMInputError` sentence.

Limits keep one request bounded on a shared server: the numbers below are the ceilings of the
page's sliders, checked again here because API callers can send anything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fvdm import schedules
from fvdm.errors import FVDMInputError
from fvdm.limits import MAX_LONG_FRAMES, MAX_SEED
from fvdm.video_io import load_image, load_video, probe_video

MAX_STEPS = 100
MAX_VIDEOS = 4
MAX_UPLOAD_MB = 20
MAX_CLIP_SECONDS = 120  # longer uploads are refused before decoding
MAX_PLAN_BYTES = 256_000


def check_int(value, what: str, low: int, high: int) -> int:
    """A whole number in [low, high] from a slider or an API call, or a sentence saying what is wrong."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FVDMInputError(f"{what} must be a number, got {value!r}.") from None
    if not number.is_integer():
        raise FVDMInputError(f"{what} must be a whole number, got {value!r}.")
    if not low <= number <= high:
        raise FVDMInputError(f"{what} must be between {low} and {high}, got {int(number)}.")
    return int(number)


def check_seed(value) -> int:
    return check_int(value, "The seed", 0, MAX_SEED)


def check_steps(value) -> int:
    return check_int(value, "The number of steps", 1, MAX_STEPS)


def without_folder(error: Exception, path: str) -> str:
    """The error's sentence with the upload's server-side folder left out (users see the file name)."""
    return str(error).replace(str(path), Path(path).name)


def read_image(path: str | None, resolution: int, what: str) -> np.ndarray:
    """An uploaded image as uint8 RGB [H, W, 3] at the model's size (centre crop, any mode)."""
    if not path:
        raise FVDMInputError(f"Please upload {what}.")
    try:
        return load_image(path, size=(resolution, resolution))
    except FVDMInputError as error:
        raise FVDMInputError(f"{what[0].upper()}{what[1:]} could not be used: {without_folder(error, path)}") from None


def read_clip(path: str | None, num_frames: int, resolution: int, what: str = "a clip") -> np.ndarray:
    """The first `num_frames` frames of an uploaded video, uint8 [F, H, W, 3] at the model's size."""
    if not path:
        raise FVDMInputError(f"Please upload {what}.")
    try:
        info = probe_video(path)
        seconds = info["num_frames"] / info["fps"] if info["fps"] else 0
        if seconds > MAX_CLIP_SECONDS:
            raise FVDMInputError(f"it lasts {seconds:.0f} s; the limit is {MAX_CLIP_SECONDS} s")
        return load_video(path, num_frames=num_frames, size=(resolution, resolution))
    except FVDMInputError as error:
        raise FVDMInputError(f"The uploaded video could not be used: {without_folder(error, path)}") from None


def read_plan_file(path: str | None) -> schedules.Plan:
    """A plan JSON file (as written by Export or `python -m fvdm schedule`)."""
    if not path:
        raise FVDMInputError("Please choose a plan JSON file to import.")
    file = Path(path)
    if file.stat().st_size > MAX_PLAN_BYTES:
        raise FVDMInputError(f"That plan file is larger than {MAX_PLAN_BYTES // 1000} kB; is it really a plan?")
    try:
        text = file.read_text()
    except UnicodeDecodeError:
        raise FVDMInputError("That plan file is not text; export a plan from the studio to see the format.") from None
    return schedules.Plan.from_json(text)


_FRAME_CAPTION = re.compile(r"frame\s*(\d+)", re.IGNORECASE)


def given_images_by_frame(items: Sequence | None, resolution: int) -> dict[int, np.ndarray]:
    """Gallery items (path, caption "frame N") -> {N: image}: the studio's per-row uploads."""
    images = {}
    for item in items or ():
        path, caption = (item[0], item[1]) if isinstance(item, (list, tuple)) else (item, None)
        match = _FRAME_CAPTION.search(caption or "")
        if match is None:
            raise FVDMInputError(f"A given image is captioned {caption!r}; captions must read 'frame N'.")
        frame = int(match.group(1))
        images[frame] = read_image(path, resolution, f"the image for frame {frame}")
    return images
