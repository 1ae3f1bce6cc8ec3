"""What the synthetic world itself allows between two given frames: the exact posterior of
interpolation from one frame at each end.

The first and last frames of a clip pin down every object's shape, colour, size and its start and
end positions, but not its velocity: a bouncing path (a triangle wave, see `synthetic.bounce`) can
get from one position to the other straight, or after one, two... bounces off each wall. Each
route is a velocity the world could have drawn, and the world draws its velocities with a speed
uniform in [min_speed, max_speed] and a uniform direction, a density proportional to 1 / speed
in the plane. The end position moves with the velocity at the same rate (frames - 1) on every
route, so the posterior probability of each route is proportional to 1 / speed too.

Sampling that posterior is what a perfect generative model of the world would do, so its scores
are the ceiling of any sampler on this task; its mean (a blur of every route) is the answer with the
least expected squared error of any method. `evaluate` reports both next to the models.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np

from training.synthetic import Clip, WorldConfig, bounce, render_frames, shape_extent


def routes(
    start: float, end: float, low: float, high: float, steps: int, max_distance: float
) -> np.ndarray:
    """Every displacement along one axis (before folding into [low, high]) that carries a bouncing
    object from `start` to `end` in `steps` frames without moving more than `max_distance`."""
    period = 2 * (high - low)
    bases = (end - start, -(end - low) - (start - low))  # arrive moving forwards or backwards
    found = set()
    for base in bases:
        first = math.floor((-max_distance - base) / period)
        last = math.ceil((max_distance - base) / period)
        for k in range(first, last + 1):
            distance = base + k * period
            if abs(distance) <= max_distance + 1e-9:
                found.add(round(distance, 9))
    return np.array(sorted(found), dtype=np.float64)


def velocities(
    start: np.ndarray, end: np.ndarray, low: np.ndarray, high: np.ndarray, steps: int,
    min_speed: float, max_speed: float,
) -> tuple[np.ndarray, np.ndarray]:
    """One object's possible velocities [K, 2] (px per frame) between positions `start` and `end` [2]
    `steps` frames apart inside the box [low, high] [2], and their posterior probabilities [K]."""
    per_axis = [routes(start[a], end[a], low[a], high[a], steps, steps * max_speed) / steps for a in range(2)]
    candidates = np.array(list(itertools.product(*per_axis)), dtype=np.float64).reshape(-1, 2)
    speed = np.hypot(candidates[:, 0], candidates[:, 1])
    allowed = (speed >= min_speed - 1e-9) & (speed <= max_speed + 1e-9) & (speed > 0)
    candidates, speed = candidates[allowed], speed[allowed]
    weights = 1 / speed
    return candidates, weights / weights.sum()


def interpolations(clip: Clip, config: WorldConfig) -> Iterator[tuple[np.ndarray, float]]:
    """Every clip of the world with `clip`'s objects and its first and last frames, one at a time:
    (uint8 [F, H, W, 3], its posterior probability). The probabilities sum to 1 and the true clip is
    one of them. There can be hundreds (one route per object and axis combined), hence one at a time."""
    frames = len(clip.positions)
    extents = np.stack([shape_extent(obj) for obj in clip.objects])  # [N, 2 axes, 2 sides]
    low, high = extents[:, :, 0], config.resolution - extents[:, :, 1]
    start, end = clip.positions[0], clip.positions[-1]
    per_object = [
        velocities(start[n], end[n], low[n], high[n], frames - 1,
                   config.min_speed * config.scale, config.max_speed * config.scale)
        for n in range(len(clip.objects))
    ]
    for choice in itertools.product(*(range(len(weights)) for _, weights in per_object)):
        velocity = np.stack([per_object[n][0][k] for n, k in enumerate(choice)])
        positions, _ = bounce(start, velocity, low, high, frames)
        probability = math.prod(per_object[n][1][k] for n, k in enumerate(choice))
        yield render_frames(clip.objects, positions, config.resolution), float(probability)
