"""The synthetic world's exact posterior for interpolation from one frame at each end."""

import numpy as np
import pytest

from training.physics import score_clip
from training.posterior import interpolations, routes, velocities
from training.synthetic import WorldConfig, bounce, eval_seed, make_clip


def _position_after(start: float, displacement: float, low: float, high: float, steps: int) -> float:
    positions, _ = bounce(np.array([[start, 0.0]]), np.array([[displacement / steps, 0.0]]),
                          np.array([[low, -1.0]]), np.array([[high, 1.0]]), steps + 1)
    return float(positions[-1, 0, 0])


@pytest.mark.parametrize("seed", range(20))
def test_every_route_arrives_and_the_true_one_is_among_them(seed):
    rng = np.random.default_rng(seed)
    low, high = rng.uniform(2, 8), rng.uniform(24, 30)
    start, steps = rng.uniform(low, high), int(rng.integers(3, 20))
    true_displacement = rng.uniform(-2, 2) * steps
    end = _position_after(start, true_displacement, low, high, steps)

    found = routes(start, end, low, high, steps, max_distance=2 * steps)

    assert np.abs(found - true_displacement).min() < 1e-6
    assert (np.abs(found) <= 2 * steps + 1e-6).all()
    for displacement in found:
        assert _position_after(start, displacement, low, high, steps) == pytest.approx(end, abs=1e-6)


def test_velocities_keep_the_speed_range_and_weigh_each_route_by_one_over_speed():
    low, high = np.array([3.0, 3.0]), np.array([29.0, 29.0])
    candidates, probabilities = velocities(np.array([6.0, 20.0]), np.array([21.0, 9.0]), low, high, 15, 0.5, 2.0)

    speed = np.hypot(candidates[:, 0], candidates[:, 1])
    assert len(candidates) > 1 and ((speed >= 0.5 - 1e-9) & (speed <= 2.0 + 1e-9)).all()
    assert probabilities.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(probabilities * speed, (probabilities * speed)[0])
    assert probabilities[np.argmin(speed)] == probabilities.max()  # the slowest route is the likeliest


@pytest.mark.parametrize("index", [0, 5, 11])
def test_the_posterior_holds_the_true_clip_and_only_clips_the_world_could_make(index):
    config = WorldConfig(resolution=32, num_frames=16)
    clip = make_clip(eval_seed(index), config)

    routes = list(interpolations(clip, config))
    videos, probabilities = np.stack([video for video, _ in routes]), np.array([p for _, p in routes])

    assert videos.shape[1:] == clip.frames.shape and videos.dtype == np.uint8
    assert len(videos) == len(probabilities) > 1 and probabilities.sum() == pytest.approx(1.0)
    assert (probabilities > 0).all()
    assert any((video == clip.frames).all() for video in videos)
    assert (videos[:, 0] == clip.frames[0]).all() and (videos[:, -1] == clip.frames[-1]).all()
    for video in videos[:: max(1, len(videos) // 8)]:
        assert score_clip(video).plausible
