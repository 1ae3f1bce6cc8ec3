"""Pictures for the page: captioned side-by-side videos, frame strips, MP4 and GIF files."""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fvdm.video_io import frames_to_grid, save_video, to_uint8

PANEL_PX = 192  # each clip is enlarged (nearest neighbour) to about this width on the page
CAPTION_PX = 22
FPS = 8
GIVEN_COLOR = (46, 160, 67)  # the border of given frames, as in the heat maps' legend
_OUTPUT_DIR = tempfile.TemporaryDirectory(prefix="fvdm-app-")
# Gradio copies every result into its own cache (which `delete_cache` bounds), so the output folder
# only needs the newest files: it keeps at most this many, none older than this.
OUTPUT_MAX_FILES = 256
OUTPUT_MAX_AGE_S = 1800


def enlarge(frames: np.ndarray, target_px: int = PANEL_PX) -> np.ndarray:
    """Nearest-neighbour enlargement of [..., H, W, 3] by a whole factor to about `target_px` wide."""
    factor = max(1, round(target_px / frames.shape[-2]))
    return frames.repeat(factor, axis=-3).repeat(factor, axis=-2)


def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def caption_bar(text: str, width: int, height: int = CAPTION_PX) -> np.ndarray:
    """A white strip [height, width, 3] with `text` centred in dark grey."""
    bar = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(bar)
    font = _font(height - 8)
    draw.text((width / 2, height / 2), text, fill=(40, 40, 40), font=font, anchor="mm")
    return np.asarray(bar)


def captioned_panels(panels: Sequence[tuple[str, np.ndarray]], ncols: int | None = None) -> np.ndarray:
    """Clips [F, H, W, 3] with captions -> one uint8 clip: each enlarged, captioned above, tiled."""
    tiles = []
    for caption, clip in panels:
        big = enlarge(to_uint8(clip))
        bar = caption_bar(caption, big.shape[2])
        tiles.append(np.concatenate([np.broadcast_to(bar, (big.shape[0], *bar.shape)), big], axis=1))
    return frames_to_grid(tiles, ncols=ncols or len(tiles), pad=4)


def output_path(suffix: str) -> Path:
    """A fresh file name in this process's output folder (removed when the app exits); the folder
    is pruned first to the newest `OUTPUT_MAX_FILES` files of at most `OUTPUT_MAX_AGE_S` seconds."""
    folder = Path(_OUTPUT_DIR.name)
    prune(folder, OUTPUT_MAX_AGE_S, OUTPUT_MAX_FILES)
    return folder / f"{uuid.uuid4().hex[:12]}{suffix}"


def prune(folder: Path, max_age_s: float, max_files: int) -> None:
    """Delete the files of `folder` older than `max_age_s`, then the oldest beyond `max_files`."""
    now = time.time()
    files = []
    for path in folder.iterdir():
        try:
            files.append((path.stat().st_mtime, path))
        except FileNotFoundError:  # removed by another request meanwhile
            continue
    files.sort(reverse=True)
    for index, (modified, path) in enumerate(files):
        if index >= max_files or now - modified > max_age_s:
            path.unlink(missing_ok=True)


def write_video(clip: np.ndarray, fps: float = FPS) -> str:
    """An H.264 MP4 of a uint8 clip that is already at display size."""
    return str(save_video(clip, output_path(".mp4"), fps=fps))


def write_gif(clip: np.ndarray, fps: float = FPS) -> str:
    return str(save_video(clip, output_path(".gif"), fps=fps))


def frame_strip(
    frames: np.ndarray, labels: Sequence[str], given: Sequence[int] = (), per_row: int = 8, cell_px: int = 96
) -> np.ndarray:
    """Frames [F, H, W, 3] as a labelled contact sheet; given frames get a green border."""
    frames = to_uint8(frames)
    cells = []
    for index, (frame, label) in enumerate(zip(frames, labels)):
        image = enlarge(frame, cell_px)
        border = GIVEN_COLOR if index in given else (255, 255, 255)
        image = np.pad(image, ((3, 3), (3, 3), (0, 0)), constant_values=0)
        image[:3], image[-3:], image[:, :3], image[:, -3:] = border, border, border, border
        cells.append(np.concatenate([image, caption_bar(label, image.shape[1], 18)], axis=0))
    rows = -(-len(cells) // per_row)
    blank = np.full_like(cells[0], 255)
    cells += [blank] * (rows * per_row - len(cells))
    grid = [np.concatenate(cells[r * per_row : (r + 1) * per_row], axis=1) for r in range(rows)]
    return np.concatenate(grid, axis=0)
