"""The models shipped in fvdm/pretrained: they load with no argument, run every task at their own
size, keep given frames exactly, and say how they were trained. A smoke test, not a quality test
(quality is measured by `python -m training.evaluate`, see README.md)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fvdm import bundled_models, load_pipeline, schedules
from fvdm.loading import BUNDLED_MODELS, TRAINING_FACTS_FILE, default_conditioning

pytestmark = pytest.mark.usefixtures("one_torch_thread")
STEPS = 4  # a smoke test: the default is 25


@pytest.fixture(scope="module")
def pipe():
    return load_pipeline()


def test_both_models_ship_as_safetensors_with_a_card_and_their_training_facts():
    assert set(bundled_models()) == {"fvdm", "baseline"}
    for name, folder in BUNDLED_MODELS.items():
        weights = list(folder.rglob("*.safetensors"))
        assert len(weights) == 1 and weights[0].stat().st_size < 8_000_000
        assert not list(folder.rglob("*.bin")) and not list(folder.rglob("*.pt"))
        assert "library_name: diffusers" in (folder / "README.md").read_text()
        facts = json.loads((folder / TRAINING_FACTS_FILE).read_text())
        assert (facts["config"]["ptss"]["p"] > 0) == (name == "fvdm")
        # Both sample with DDPM by default, the sampler they were evaluated with (docs/results/eval.md).
        assert load_pipeline(name).scheduler.config.sampler == facts["config"]["diffusion"]["sampler"] == "ddpm"
        # FVDM guides towards its given frames as evaluated; the baseline, conditioned by replacement, cannot.
        guidance = load_pipeline(name).config.frame_guidance
        assert guidance == facts["config"]["diffusion"]["frame_guidance"] == (2.0 if name == "fvdm" else 1.0)
    assert default_conditioning(None) == "vectorized" and default_conditioning("baseline") == "replacement"


def test_the_default_model_is_the_fvdm_one(pipe):
    assert pipe.denoiser.device.type == "cpu"
    assert (pipe.num_frames, pipe.resolution) == (16, 32)
    fvdm_weights = load_pipeline("fvdm").denoiser.state_dict()
    for key, value in pipe.denoiser.state_dict().items():
        assert value.equal(fvdm_weights[key])


def random_frames(count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(count)]


@pytest.mark.parametrize(
    "plan",
    [
        schedules.synchronous(16, STEPS),
        schedules.image_to_video(16, STEPS),
        schedules.interpolation(16, STEPS, context=2),
        schedules.prediction(16, STEPS, context=4),
        schedules.autoregressive(16, STEPS, lag=1, block_size=4, given=(0,)),
    ],
    ids=lambda plan: plan.name,
)
def test_every_task_runs_at_the_model_size_and_keeps_given_frames(pipe, plan):
    images = dict(zip(plan.given, random_frames(len(plan.given))))
    video = pipe(plan=plan, given=images, seed=0, output_type="np").frames[0]
    assert video.shape == (16, 32, 32, 3) and np.isfinite(video).all()
    for index, image in images.items():
        np.testing.assert_array_equal((video[index] * 255).round().astype(np.uint8), image)
    assert np.ptp(video[list(plan.generated)]) > 0.1  # not a blank video (at 4 steps a sample from nothing is faint)


def test_long_video_and_the_baseline_with_replacement(pipe):
    chunks = list(pipe.generate_long(24, context_frames=8, num_steps=STEPS, seed=0))
    assert sum(chunk.shape[1] for chunk in chunks) == 24
    baseline = load_pipeline("baseline")
    first, last = random_frames(2, seed=1)
    plan = schedules.interpolation(16, STEPS)
    video = baseline(plan=plan, given={0: first, 15: last}, seed=0, conditioning="replacement").frames[0]
    np.testing.assert_array_equal((video[15] * 255).round().astype(np.uint8), last)
