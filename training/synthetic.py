"""A procedural video world: coloured shapes that glide and bounce on a dark background.

Every clip is a pure function of one integer seed, so the world is infinite, costs no disk
and is reproducible everywhere. Training reads seeds from `TRAIN_SEEDS`, evaluation from
`EVAL_SEEDS`; the two ranges never overlap, so no evaluation clip is ever trained on.

The rules of the world (which `training.physics` checks generated clips against):

* 1-3 objects (configurable), each a circle, square or triangle in its own colour from
  `PALETTE`, with a size drawn per object, on the constant `BACKGROUND` colour.
* Every object moves at constant velocity and bounces elastically off the walls (the
  velocity component normal to the wall flips sign when the shape touches the wall).
  Objects pass through each other; they are drawn back to front, largest first, so a
  smaller object is never hidden behind a larger one.

Coordinates are continuous pixel units: the image spans [0, W] x [0, H] and pixel (row i,
column j) is the unit square whose centre is (j + 0.5, i + 0.5). Shapes are rendered with
analytic anti-aliasing: each pixel gets the share of its area the shape covers, estimated
from the signed distance of the pixel centre to the shape's outline (exact for squares).
"""

from __future__ import annotations

import argparse
import csv
import math
from dataclasses import dataclass
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import torch
from torch.utils.data import Dataset

from fvdm.errors import FVDMInputError

BACKGROUND: tuple[int, int, int] = (12, 12, 16)

# Six saturated colours whose hues sit ~60 degrees apart (red, yellow, green, cyan, blue,
# magenta), so objects are told apart by colour even after blurring or video compression.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (235, 55, 60),
    (225, 225, 45),
    (60, 215, 65),
    (45, 210, 210),
    (70, 80, 245),
    (215, 65, 220),
)

SHAPES: tuple[str, ...] = ("circle", "square", "triangle")

# Sizes are given as the radius of the circle with the same area, so a square and a triangle
# of "radius" r cover as many pixels as a circle of radius r (and the size does not leak the
# shape). These factors turn that radius into each shape's own dimension.
SQUARE_HALF_SIDE = math.sqrt(math.pi) / 2  # (2 * 0.886 r)^2 = pi r^2
TRIANGLE_CIRCUMRADIUS = math.sqrt(4 * math.pi / (3 * math.sqrt(3)))  # 1.555 r

TRAIN_SEEDS = range(0, 2**31)
EVAL_SEEDS = range(2**31, 2**32)

DEFAULT_TRAIN_LENGTH = 10**9
DEFAULT_EVAL_LENGTH = 1024

_REFERENCE_RESOLUTION = 32  # sizes and speeds in WorldConfig are in pixels at 32 x 32
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def train_seed(i: int) -> int:
    """The seed of training clip number `i`."""
    return _seed_in(TRAIN_SEEDS, i)


def eval_seed(i: int) -> int:
    """The seed of evaluation clip number `i`."""
    return _seed_in(EVAL_SEEDS, i)


def _seed_in(seeds: range, i: int) -> int:
    if not 0 <= i < len(seeds):
        raise FVDMInputError(f"clip index {i} is outside [0, {len(seeds)})")
    return seeds[i]


@dataclass(frozen=True)
class WorldConfig:
    """What the world looks like. Sizes and speeds are in pixels at 32 x 32 and scale with
    `resolution`, so a 64 x 64 world shows the same scenes at twice the detail."""

    resolution: int = 32
    num_frames: int = 16
    min_objects: int = 1
    max_objects: int = 3
    label: str = "shape"  # "shape": shape of the largest object; "count": objects - min_objects
    min_radius: float = 3.0
    max_radius: float = 6.0
    min_speed: float = 0.5  # pixels per frame
    max_speed: float = 2.0

    def __post_init__(self) -> None:
        if self.label not in ("shape", "count"):
            raise FVDMInputError(f"label must be 'shape' or 'count', not {self.label!r}")
        if not 1 <= self.min_objects <= self.max_objects <= len(PALETTE):
            raise FVDMInputError(
                f"need 1 <= min_objects <= max_objects <= {len(PALETTE)} (one colour each), "
                f"got {self.min_objects} and {self.max_objects}"
            )
        if self.resolution < 8 or self.num_frames < 1:
            raise FVDMInputError("resolution must be >= 8 and num_frames >= 1")
        if not 0 < self.min_radius <= self.max_radius <= 0.25 * _REFERENCE_RESOLUTION:
            raise FVDMInputError("need 0 < min_radius <= max_radius <= 8 (pixels at 32 x 32)")
        if not 0 <= self.min_speed <= self.max_speed:
            raise FVDMInputError("need 0 <= min_speed <= max_speed")

    @property
    def scale(self) -> float:
        """Pixels at this resolution per pixel at 32 x 32."""
        return self.resolution / _REFERENCE_RESOLUTION

    @property
    def num_classes(self) -> int:
        if self.label == "shape":
            return len(SHAPES)
        return self.max_objects - self.min_objects + 1


@dataclass(frozen=True)
class ObjectSpec:
    """One object: its shape, RGB colour and size (radius of the equal-area circle, px)."""

    shape: str
    colour: tuple[int, int, int]
    radius: float


@dataclass
class Clip:
    """One rendered clip with its ground truth. Objects are listed back to front."""

    frames: np.ndarray  # uint8 [F, H, W, 3]
    label: int
    objects: list[ObjectSpec]
    positions: np.ndarray  # float64 [F, N, 2]: shape centres (x, y) in pixel coordinates
    velocities: np.ndarray  # float64 [F, N, 2]: px/frame each object moves with at frame t


def shape_extent(obj: ObjectSpec) -> np.ndarray:
    """How far the shape reaches from its centre: [[left, right], [up, down]] in pixels.

    Triangles point up, so they reach further up (to the apex) than down (to the base)."""
    if obj.shape == "circle":
        reach = obj.radius
    elif obj.shape == "square":
        reach = SQUARE_HALF_SIDE * obj.radius
    else:
        apex = TRIANGLE_CIRCUMRADIUS * obj.radius
        half_base = apex * math.sqrt(3) / 2
        return np.array([[half_base, half_base], [apex, apex / 2]])
    return np.full((2, 2), reach)


def make_clip(seed: int, config: WorldConfig = WorldConfig()) -> Clip:
    """Draw one clip of the world from `seed` (any integer in [0, 2**32))."""
    rng = np.random.default_rng(seed)
    objects = _sample_objects(rng, config)
    size = float(config.resolution)
    extents = np.stack([shape_extent(obj) for obj in objects])  # [N, 2 axes, 2 sides]
    low, high = extents[:, :, 0], size - extents[:, :, 1]  # allowed centre range [N, 2]
    start = rng.uniform(low, high)
    speed = rng.uniform(config.min_speed, config.max_speed, len(objects)) * config.scale
    angle = rng.uniform(0.0, 2 * math.pi, len(objects))
    velocity = speed[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    positions, velocities = bounce(start, velocity, low, high, config.num_frames)
    frames = render_frames(objects, positions, config.resolution)
    return Clip(frames, _label(objects, config), objects, positions, velocities)


def _sample_objects(rng: np.random.Generator, config: WorldConfig) -> list[ObjectSpec]:
    """Sample objects with distinct colours, sorted largest first (the drawing order)."""
    count = int(rng.integers(config.min_objects, config.max_objects + 1))
    colours = rng.choice(len(PALETTE), size=count, replace=False)
    shapes = rng.integers(0, len(SHAPES), size=count)
    radii = rng.uniform(config.min_radius, config.max_radius, size=count) * config.scale
    objects = [
        ObjectSpec(SHAPES[s], PALETTE[c], float(r)) for s, c, r in zip(shapes, colours, radii, strict=True)
    ]
    return sorted(objects, key=lambda obj: -obj.radius)


def _label(objects: list[ObjectSpec], config: WorldConfig) -> int:
    if config.label == "shape":
        return SHAPES.index(objects[0].shape)  # the largest object
    return len(objects) - config.min_objects


def bounce(
    start: np.ndarray, velocity: np.ndarray, low: np.ndarray, high: np.ndarray, num_frames: int
) -> tuple[np.ndarray, np.ndarray]:
    """Constant-velocity motion inside [low, high] with elastic reflections at both ends.

    Reflecting off two walls is the same as moving freely and folding the straight path back
    into the box (a triangle wave), which gives every frame in closed form.
    All inputs are [N, 2]; returns positions and velocities, each [num_frames, N, 2].
    """
    t = np.arange(num_frames, dtype=np.float64)[:, None, None]
    span = high - low
    phase = np.mod(start - low + velocity * t, 2 * span)
    forward = phase <= span
    positions = low + np.where(forward, phase, 2 * span - phase)
    velocities = np.where(forward, velocity, -velocity)
    return positions, velocities


def render_frames(objects: list[ObjectSpec], positions: np.ndarray, resolution: int) -> np.ndarray:
    """Draw objects (back to front) at `positions` [F, N, 2]; returns uint8 [F, H, W, 3]."""
    num_frames = positions.shape[0]
    canvas = np.empty((num_frames, resolution, resolution, 3), dtype=np.float32)
    canvas[:] = BACKGROUND
    pixel_centres = np.arange(resolution, dtype=np.float32) + 0.5
    for k, obj in enumerate(objects):
        dx = pixel_centres[None, None, :] - positions[:, k, 0, None, None].astype(np.float32)
        dy = pixel_centres[None, :, None] - positions[:, k, 1, None, None].astype(np.float32)
        alpha = _coverage(obj, dx, dy)[..., None]
        canvas += alpha * (np.asarray(obj.colour, dtype=np.float32) - canvas)
    return np.rint(canvas).astype(np.uint8)


def _coverage(obj: ObjectSpec, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Share of each pixel covered by the shape, from the pixel centre's offset to the
    shape centre: dx [F, 1, W], dy [F, H, 1] -> [F, H, W] in [0, 1].

    A pixel whose centre lies at signed distance d from the outline (negative inside) is
    covered by about 0.5 - d of its area; for an axis-aligned square the product of the
    per-axis overlaps is exact."""
    if obj.shape == "square":
        half = SQUARE_HALF_SIDE * obj.radius
        return _ramp(half - np.abs(dx)) * _ramp(half - np.abs(dy))
    if obj.shape == "circle":
        return _ramp(obj.radius - np.sqrt(dx * dx + dy * dy))
    inradius = TRIANGLE_CIRCUMRADIUS * obj.radius / 2
    # Outward edge normals of an upward triangle (y grows downwards): base, right, left side.
    base = dy
    right = 0.5 * (math.sqrt(3) * dx - dy)
    left = 0.5 * (-math.sqrt(3) * dx - dy)
    outside = np.maximum(np.maximum(base, right), left)  # [F, H, W]
    return _ramp(inradius - outside)


def _ramp(depth: np.ndarray) -> np.ndarray:
    """Coverage of a pixel whose centre lies `depth` pixels inside an edge."""
    return np.clip(depth + 0.5, 0.0, 1.0)


class SyntheticVideoDataset(Dataset):
    """Clips of the world as a map-style dataset: item i is the clip of seed
    `train_seed(start_index + i)` (or `eval_seed` for split="eval").

    Each item is {"video": float32 [F, C, H, W] in [-1, 1], "label": int64 scalar}; C is 3,
    or 1 for `channels=1` (luma). Because an item depends only on its index, any sampler
    shards it deterministically across DataLoader workers and distributed processes. Every
    item is already an independent random clip, so read it in order (`shuffle=False`,
    `DistributedSampler(..., shuffle=False)`): shuffling would build a permutation of all
    `length` indices (10**9 by default for training).
    """

    def __init__(
        self,
        config: WorldConfig = WorldConfig(),
        split: str = "train",
        length: int | None = None,
        start_index: int = 0,
        channels: int = 3,
    ) -> None:
        if split not in ("train", "eval"):
            raise FVDMInputError(f"split must be 'train' or 'eval', not {split!r}")
        if channels not in (1, 3):
            raise FVDMInputError(f"channels must be 1 or 3, not {channels}")
        if length is None:
            length = DEFAULT_TRAIN_LENGTH if split == "train" else DEFAULT_EVAL_LENGTH
        seeds = TRAIN_SEEDS if split == "train" else EVAL_SEEDS
        if start_index < 0 or length < 0 or start_index + length > len(seeds):
            raise FVDMInputError(f"clips [{start_index}, {start_index + length}) do not fit the "
                                 f"{len(seeds)} seeds of the {split} split")
        self.config = config
        self.split = split
        self.length = length
        self.start_index = start_index
        self.channels = channels

    def __len__(self) -> int:
        return self.length

    def seed(self, index: int) -> int:
        """The world seed behind item `index`."""
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} is outside [0, {self.length})")
        seed_of = train_seed if self.split == "train" else eval_seed
        return seed_of(self.start_index + index)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        clip = make_clip(self.seed(index), self.config)
        return {"video": frames_to_tensor(clip.frames, self.channels),
                "label": torch.tensor(clip.label, dtype=torch.long)}


def frames_to_tensor(frames: np.ndarray, channels: int = 3) -> torch.Tensor:
    """uint8 [F, H, W, 3] -> float32 [F, channels, H, W] in [-1, 1] (channels=1: luma)."""
    pixels = frames.astype(np.float32)
    if channels == 1:
        pixels = pixels @ _LUMA[:, None]
    video = torch.from_numpy(np.ascontiguousarray(pixels.transpose(0, 3, 1, 2)))
    return video / 127.5 - 1.0


def write_video_folder(
    out_dir: str | Path,
    count: int,
    config: WorldConfig = WorldConfig(),
    split: str = "train",
    fmt: str = "mp4",
    fps: int = 8,
    start_index: int = 0,
) -> list[Path]:
    """Write clips `start_index .. start_index + count - 1` of `split` as video files.

    fmt="mp4" writes H.264 / yuv420p (plays in browsers; note that yuv420p stores colour at
    half resolution, which softens colour edges of small shapes); fmt="gif" writes lossless
    palette GIFs. Also writes `labels.csv` (file, label, seed) next to the videos.
    Returns the video paths in index order.
    """
    if fmt not in ("mp4", "gif"):
        raise FVDMInputError(f"fmt must be 'mp4' or 'gif', not {fmt!r}")
    dataset = SyntheticVideoDataset(config, split, length=count, start_index=start_index)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths, rows = [], []
    for index in range(count):
        seed = dataset.seed(index)
        clip = make_clip(seed, config)
        path = out / f"{split}_{start_index + index:06d}.{fmt}"
        _write_video(path, clip.frames, fps)
        paths.append(path)
        rows.append((path.name, clip.label, seed))
    with open(out / "labels.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([("file", "label", "seed"), *rows])
    return paths


def _write_video(path: Path, frames: np.ndarray, fps: int) -> None:
    if path.suffix == ".gif":
        imageio.mimwrite(path, frames, duration=1000 / fps, loop=0)
        return
    # Sides that are not a multiple of 16 are padded by imageio (macro_block_size=16).
    imageio.mimwrite(path, frames, fps=fps, codec="libx264", quality=9,
                     pixelformat="yuv420p", macro_block_size=16)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write clips of the synthetic world to a folder.")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--count", type=int, required=True, help="number of clips")
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--min-objects", type=int, default=1)
    parser.add_argument("--max-objects", type=int, default=3)
    parser.add_argument("--label", choices=("shape", "count"), default="shape")
    parser.add_argument("--split", choices=("train", "eval"), default="train")
    parser.add_argument("--start-index", type=int, default=0)
    parser.add_argument("--fmt", choices=("mp4", "gif"), default="mp4")
    parser.add_argument("--fps", type=int, default=8)
    args = parser.parse_args(argv)
    config = WorldConfig(resolution=args.resolution, num_frames=args.frames,
                         min_objects=args.min_objects, max_objects=args.max_objects,
                         label=args.label)
    paths = write_video_folder(args.out, args.count, config, args.split, args.fmt, args.fps,
                               args.start_index)
    print(f"wrote {len(paths)} clips to {args.out}")


if __name__ == "__main__":
    main()
