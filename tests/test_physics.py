"""The physics score: real clips of the world pass, clips that break its rules fail."""

import math

import numpy as np
import pytest
import torch
from test_models import randomize

from fvdm import FVDMPipeline, FVDMScheduler, FVDMTransformer
from fvdm.errors import FVDMInputError
from training.physics import physics_score, score_clip, sharpness, to_uint8_frames
from training.synthetic import (
    BACKGROUND,
    PALETTE,
    ObjectSpec,
    WorldConfig,
    bounce,
    eval_seed,
    make_clip,
    render_frames,
)

REAL = [make_clip(eval_seed(i)) for i in range(80)]
FAKES = REAL[:50]


def gaussian_blur(frames: np.ndarray, sigma: float) -> np.ndarray:
    """Blur every frame (the background stays the background)."""
    size = frames.shape[1]
    offsets = np.arange(size)[:, None] - np.arange(size)[None, :]
    kernel = np.exp(-offsets**2 / (2 * sigma**2))
    kernel /= kernel.sum(axis=1, keepdims=True)
    excess = frames.astype(np.float64) - BACKGROUND
    blurred = np.einsum("ij,fjwc->fiwc", kernel, np.einsum("ij,fhjc->fhic", kernel, excess))
    return np.clip(np.rint(blurred + BACKGROUND), 0, 255).astype(np.uint8)


def rotate_hue(frames: np.ndarray, total_degrees: float) -> np.ndarray:
    """Turn the hue of frame t by t / (F - 1) * total_degrees (rotation about the grey axis)."""
    out = []
    axis = np.ones(3) / math.sqrt(3)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    for t, frame in enumerate(frames):
        angle = math.radians(total_degrees * t / (len(frames) - 1))
        rotation = np.eye(3) + math.sin(angle) * cross + (1 - math.cos(angle)) * cross @ cross
        out.append(frame.astype(np.float64) @ rotation.T)
    return np.clip(np.rint(np.stack(out)), 0, 255).astype(np.uint8)


def without_last_object_after(clip, frame: int) -> np.ndarray:
    """The clip with its front object vanishing at `frame`."""
    rest = clip.objects[:-1]
    later = render_frames(rest, clip.positions[frame:, :-1], clip.frames.shape[1])
    return np.concatenate([clip.frames[:frame], later])


def speckled(frames: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """The clip with `share` of its pixels replaced by saturated noise."""
    out = frames.copy()
    hit = rng.random(frames.shape[:3]) < share
    out[hit] = (rng.random((hit.sum(), 3)) > 0.5) * 255
    return out


def single_object_clip(positions: np.ndarray, radius: float = 5.0) -> np.ndarray:
    """A red circle at `positions` [F, 2]."""
    obj = ObjectSpec("circle", PALETTE[0], radius)
    return render_frames([obj], positions[:, None, :], 32)


def test_real_clips_are_plausible_and_every_object_is_found():
    scores = [score_clip(clip.frames) for clip in REAL]
    summary = physics_score(clip.frames for clip in REAL)
    assert summary["share_plausible"] >= 0.97
    for rule in ("scene_ok", "count_ok", "colour_ok", "size_ok", "motion_ok", "edges_ok"):
        assert summary[rule] >= 0.97
    found = np.mean([s.num_objects == len(c.objects) for s, c in zip(scores, REAL, strict=True)])
    assert found >= 0.97
    assert summary["mean_objects"] == pytest.approx(np.mean([s.num_objects for s in scores]))
    # Only an object hidden behind another at the first or last frame looks like it came or went.
    assert summary["share_appearing"] <= 0.05 and summary["share_vanishing"] <= 0.05


NOISE = {
    "uniform": lambda rng, shape: rng.integers(0, 256, shape),
    "gaussian around grey": lambda rng, shape: 128 + 64 * rng.standard_normal(shape),
    # Channels of 0 or 255 (untrained models, clamped) make small pure-colour blobs that pass
    # the count rule almost half of the time: only the scene rule sees that it is noise.
    "saturated": lambda rng, shape: (rng.random(shape) > 0.5) * 255,
}


@pytest.mark.parametrize("kind", NOISE)
def test_noise_breaks_the_scene_rule(kind):
    noise = NOISE[kind](np.random.default_rng(0), (40, 16, 32, 32, 3))
    summary = physics_score(np.clip(np.rint(noise), 0, 255).astype(np.uint8))
    assert summary["share_plausible"] <= 0.05
    assert summary["scene_ok"] <= 0.05


def test_an_untrained_model_is_implausible(one_torch_thread):
    """Its clamped samples are mostly saturated noise (3 of these 16 passed before the scene
    rule)."""
    transformer = randomize(FVDMTransformer.from_preset("tiny", sample_size=32, num_frames=16))
    pipe = FVDMPipeline(transformer, FVDMScheduler(clip_sample=True))
    pipe.set_progress_bar_config(disable=True)
    frames = pipe(num_videos=16, num_steps=4, seed=0, output_type="np").frames
    summary = physics_score((frames * 255).round().astype(np.uint8))
    assert summary["share_plausible"] <= 0.05
    assert summary["scene_ok"] <= 0.05


def test_speckles_on_real_clips_break_the_scene_rule():
    """The background still fills most of each frame, but much of what is lit is noise."""
    rng = np.random.default_rng(2)
    scores = [score_clip(speckled(clip.frames, 0.1, rng)) for clip in FAKES]
    assert np.mean([s.scene_ok for s in scores]) <= 0.05
    assert all(s.min_background_share >= 0.5 and s.object_share < 0.8 for s in scores)
    assert np.mean([s.count_ok for s in scores]) >= 0.9  # the objects are all still there


def test_shuffled_frames_break_the_motion_rule():
    rng = np.random.default_rng(1)
    shuffled = [clip.frames[rng.permutation(16)] for clip in FAKES]
    summary = physics_score(shuffled)
    assert summary["share_plausible"] <= 0.2
    assert summary["motion_ok"] <= 0.2
    assert summary["count_ok"] >= 0.9  # the objects are all still there


def test_an_object_vanishing_halfway_breaks_the_count_rule():
    clips = [without_last_object_after(clip, 8) for clip in FAKES]
    summary = physics_score(clips)
    assert summary["share_plausible"] <= 0.2
    assert summary["count_ok"] <= 0.2
    assert summary["share_vanishing"] >= 0.95 and summary["share_appearing"] <= 0.1
    assert score_clip(clips[0]).vanishing == 1


def test_an_object_appearing_halfway_is_told_apart_from_one_vanishing():
    clips = [without_last_object_after(clip, 8)[::-1] for clip in FAKES]  # played backwards
    summary = physics_score(clips)
    assert summary["count_ok"] <= 0.2
    assert summary["share_appearing"] >= 0.95 and summary["share_vanishing"] <= 0.1
    assert score_clip(clips[0]).appearing == 1


def test_heavy_blur_breaks_the_edge_rule_and_lowers_sharpness():
    blurred = [gaussian_blur(clip.frames, sigma=1.5) for clip in FAKES]
    summary = physics_score(blurred)
    assert summary["share_plausible"] <= 0.2
    assert summary["edges_ok"] <= 0.2
    real = [clip.frames for clip in FAKES]
    assert sharpness(blurred) < 0.2 * sharpness(real)


def test_colour_drift_breaks_the_colour_rule():
    drifting = [rotate_hue(clip.frames, 90.0) for clip in FAKES]
    summary = physics_score(drifting)
    assert summary["share_plausible"] <= 0.2
    assert summary["colour_ok"] <= 0.2


def test_bounces_pass_only_at_walls():
    low, high = np.array([[5.0, 5.0]]), np.array([[27.0, 27.0]])
    bounced, velocity = bounce(np.array([[20.0, 16.0]]), np.array([[1.5, 0.3]]), low, high, 16)
    assert (np.diff(np.sign(velocity[:, 0, 0])) != 0).any()  # it does hit the right wall
    assert score_clip(single_object_clip(bounced[:, 0])).motion_ok
    # A turn in mid-air, far from any wall: the object reverses at x = 18.5 in frame 7.
    x = 8 + 1.5 * (7 - np.abs(np.arange(16) - 7))
    midair = np.stack([x, np.full(16, 16.0)], axis=1)
    score = score_clip(single_object_clip(midair))
    assert not score.motion_ok and score.max_motion_residual > 0.6


def test_accelerating_and_growing_objects_fail():
    t = np.arange(16.0)
    accelerating = np.stack([5.5 + 0.09 * t**2, np.full(16, 16.0)], axis=1)  # 0.18 px/frame^2
    assert not score_clip(single_object_clip(accelerating)).motion_ok
    steady = np.stack([6 + 1.2 * t, np.full(16, 16.0)], axis=1)
    assert score_clip(single_object_clip(steady)).plausible
    growing = np.concatenate([single_object_clip(steady[i:i + 1], radius=3 + 0.2 * i)
                              for i in range(16)])
    score = score_clip(growing)
    assert not score.size_ok and score.max_size_change > 0.35


def test_two_objects_of_one_colour_are_counted_as_a_duplicate():
    red = ObjectSpec("square", PALETTE[0], 4.0)
    positions = np.zeros((16, 2, 2))
    positions[:, 0] = [8.0, 8.0]
    positions[:, 1] = [24.0, 24.0]
    score = score_clip(render_frames([red, red], positions, 32))
    assert not score.count_ok


def test_score_reads_float_and_channels_first_clips():
    frames = REAL[0].frames
    as_unit = frames.astype(np.float32) / 255
    as_tensor = torch.from_numpy(as_unit * 2 - 1).permute(0, 3, 1, 2)  # [F, 3, H, W] in [-1, 1]
    assert np.array_equal(to_uint8_frames(as_unit), frames)
    assert np.array_equal(to_uint8_frames(as_tensor), frames)
    assert score_clip(as_tensor) == score_clip(frames)
    batch = torch.stack([as_tensor, as_tensor])
    assert physics_score(batch) == physics_score([frames, frames])


def test_bad_inputs_are_rejected():
    with pytest.raises(FVDMInputError):
        score_clip(np.zeros((16, 32, 32), dtype=np.uint8))
    with pytest.raises(FVDMInputError):
        physics_score([])
    with pytest.raises(FVDMInputError):
        sharpness([])


def test_an_empty_clip_has_no_objects_and_fails_every_object_rule():
    score = score_clip(np.full((16, 32, 32, 3), BACKGROUND, dtype=np.uint8))
    assert score.num_objects == 0 and score.min_clean_frames == 0 and not score.plausible
    assert score.scene_ok  # a plain background, only without objects
    assert not (score.count_ok or score.colour_ok or score.size_ok or score.motion_ok
                or score.edges_ok)


def test_motion_needs_three_clean_observations():
    positions = np.array([[10.0, 16.0], [11.0, 16.0], [12.0, 16.0]])
    assert score_clip(single_object_clip(positions)).plausible
    score = score_clip(single_object_clip(positions[:2]))
    assert score.colour_ok and score.size_ok and score.edges_ok and not score.motion_ok


def test_larger_worlds_score_as_well():
    config = WorldConfig(resolution=64, num_frames=12)
    clips = [make_clip(eval_seed(i), config) for i in range(15)]
    summary = physics_score(clip.frames for clip in clips)
    assert summary["share_plausible"] >= 0.9
    assert summary["mean_objects"] == pytest.approx(np.mean([len(c.objects) for c in clips]))
