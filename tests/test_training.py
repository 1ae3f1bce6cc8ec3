"""training.train / config / export: PTSS, the loss, config parsing, runs end to end, exact resume
after SIGKILL, two-process DDP through `accelerate launch`, export and the model card."""

import contextlib
import dataclasses
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import torch
import yaml
from accelerate.state import AcceleratorState, GradientState
from helpers import tiny_vae
from safetensors.torch import load_file

from fvdm import FVDMPipeline, schedules
from fvdm.errors import FVDMInputError
from fvdm.loading import TRAINING_FACTS_FILE
from fvdm.models import FVDMTransformer
from fvdm.precision import slow_bf16_warning
from fvdm.unet import FVDMUNet
from fvdm.scheduler import FVDMScheduler
from fvdm.video_io import load_video, save_video
from training import train as trainer
from training.config import TrainConfig, config_from_dict, load_config, save_config
from training.export import export_run
from training.synthetic import WorldConfig, write_video_folder

pytestmark = pytest.mark.usefixtures("one_torch_thread")

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "training" / "configs" / "tiny.yaml"
QUIET = ["run.preview_every=0", "run.export=false"]


def run_training(run_dir: Path, *overrides: str, resume: str | None = None) -> Path:
    """One in-process run of the tiny config; accelerate's process-wide state is reset after it."""
    argv = ["--config", str(TINY), f"run.dir={run_dir}", *overrides] + (["--resume", resume] if resume else [])
    try:
        trainer.main(argv)
    finally:
        AcceleratorState._reset_state(reset_partial_state=True)
        GradientState._reset_state()
    return run_dir


def subprocess_env() -> dict:
    """Offline, and one thread per process: tiny models gain nothing from more on busy cores."""
    return {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(REPO),
            "OMP_NUM_THREADS": "1"}


def train_command(run_dir: Path, *overrides: str) -> list[str]:
    return [sys.executable, "-m", "training.train", "--config", str(TINY), f"run.dir={run_dir}", *overrides]


def read_log(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]


def final_state(run_dir: Path, step: int) -> tuple[dict, list]:
    """(model weights, EMA weights) of the checkpoint at `step`."""
    folder = run_dir / "checkpoints" / f"step_{step:07d}"
    ema = torch.load(folder / "custom_checkpoint_0.pkl", weights_only=True)
    return load_file(folder / "model.safetensors"), ema["shadow_params"]


# ----------------------------------------------------------------------------- PTSS and the loss


def independent_rows(t: torch.Tensor) -> torch.Tensor:
    """Which clips have per-frame timesteps (with T = 1000 and 8 frames, equal by chance: ~1e-21)."""
    return (t != t[:, :1]).any(dim=1)


@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_ptss_batch_mode_flips_one_coin_per_batch(p):
    torch.manual_seed(0)
    batches = [independent_rows(trainer.sample_timesteps(4, 8, 1000, p, "batch")) for _ in range(2000)]
    assert all(rows.all() or not rows.any() for rows in batches)  # never mixed within a batch
    share = np.mean([rows[0].item() for rows in batches])
    assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / 2000) + 1e-9


@pytest.mark.parametrize("p", [0.0, 0.2, 1.0])
def test_ptss_sample_mode_flips_one_coin_per_clip(p):
    torch.manual_seed(1)
    t = trainer.sample_timesteps(20000, 8, 1000, p, "sample")
    share = independent_rows(t).float().mean().item()
    assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / 20000) + 1e-9
    assert t.min() >= 0 and t.max() <= 999 and t.dtype == torch.long
    assert abs(t.float().mean().item() - 499.5) < 5  # uniform over 0..999 either way


def test_ptss_timesteps_are_uniform_in_both_kinds():
    torch.manual_seed(2)
    shared = trainer.sample_timesteps(5000, 4, 10, 0.0)
    independent = trainer.sample_timesteps(5000, 4, 10, 1.0)
    for t in (shared, independent):
        counts = torch.bincount(t.flatten(), minlength=10).float() / t.numel()
        assert torch.allclose(counts, torch.full((10,), 0.1), atol=0.01)



def test_ptss_ramps_rise_along_the_clip_with_the_plans_slopes():
    torch.manual_seed(3)
    t = trainer.sample_ramps(4000, 16, 1000)
    assert t.dtype == torch.long and t.min() >= 0 and t.max() <= 999
    assert (t[:, 1:] >= t[:, :-1]).all()  # earlier frames are never noisier
    rising = t[:, 1:] - t[:, :-1]
    inside = (t[:, 1:] > 0) & (t[:, :-1] < 999)  # steps the clamps leave alone
    slopes = rising[inside & (t[:, :-1] > 0) & (t[:, 1:] < 999)].float()
    assert slopes.min() >= 1000 / 16 - 1 and slopes.max() <= 500 + 1  # from the pyramid's to past the sequential's
    mixed = (t == 0).any(dim=1) & (t == 999).any(dim=1)
    assert 0.2 < mixed.float().mean() < 0.9  # clean frames before pure noise, as a plan has them mid-way
    assert (t[:, 0] == 0).float().mean() > 0.3 and (t[:, -1] == 999).float().mean() > 0.3  # the start moves the ramp along


@pytest.mark.parametrize("mode", ["batch", "sample"])
def test_ptss_ramp_share_replaces_independent_draws(mode):
    torch.manual_seed(4)
    draws = [trainer.sample_timesteps(8, 16, 1000, 0.5, mode, ramp_p=0.5) for _ in range(800)]
    t = torch.cat(draws)
    per_frame = independent_rows(t)
    ramp = per_frame & (t[:, 1:] >= t[:, :-1]).all(dim=1)  # an independent row rises by chance ~1e-13
    assert abs(per_frame.float().mean().item() - 0.5) < 0.05
    assert abs(ramp.float().mean().item() - 0.25) < 0.05
    if mode == "batch":  # one coin for the kind of the whole batch, too
        assert all(len(set(ramp[i * 8:(i + 1) * 8].tolist())) == 1 for i in range(800))


def test_ptss_without_ramps_keeps_the_random_stream():
    torch.manual_seed(5)
    before = trainer.sample_timesteps(16, 8, 1000, 0.3, "sample")
    torch.manual_seed(5)
    assert torch.equal(trainer.sample_timesteps(16, 8, 1000, 0.3, "sample", ramp_p=0.0), before)
    torch.manual_seed(5)
    assert not torch.equal(trainer.sample_timesteps(16, 8, 1000, 0.3, "sample", ramp_p=1.0), before)

def given_pattern(row: torch.Tensor) -> str:
    """Which of sample_given_frames' patterns a row of given flags is ("none" when nothing is given)."""
    frames, count = row.numel(), int(row.sum())
    if count == 0:
        return "none"
    if row[:count].all():
        return "prefix"
    half = count // 2
    if count % 2 == 0 and row[:half].all() and row[frames - half:].all():
        return "ends"
    return "scattered"


def test_given_frames_follow_the_conditional_tasks_patterns():
    torch.manual_seed(3)
    given = trainer.sample_given_frames(6000, 16, 1.0)
    assert given.shape == (6000, 16) and given.dtype == torch.bool
    assert not given.all(dim=1).any()  # always something to generate
    patterns = [given_pattern(row) for row in given]
    assert patterns.count("none") / len(patterns) < 0.01  # scattered keyframes that happen to miss every frame
    shares = {name: patterns.count(name) / len(patterns) for name in ("prefix", "ends", "scattered")}
    assert all(0.25 < share < 0.42 for share in shares.values()), shares  # 1/3 each (a few look alike)
    prefix_lengths = {int(row.sum()) for row, name in zip(given, patterns) if name == "prefix"}
    assert prefix_lengths == set(range(1, 9))  # 1 to frames / 2


@pytest.mark.parametrize("p", [0.0, 0.3])
def test_given_frames_go_to_a_share_p_of_the_clips(p):
    torch.manual_seed(4)
    before = torch.get_rng_state()
    given = trainer.sample_given_frames(20000, 16, p)
    if p == 0:  # nothing drawn: runs trained before the option existed reproduce exactly
        assert not given.any() and torch.equal(torch.get_rng_state(), before)
    share = given.any(dim=1).float().mean().item()
    assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / 20000) + 1e-9


def shifted_loss(config, x0: torch.Tensor, seed: int, where=None) -> tuple[float, torch.Tensor, torch.Tensor]:
    """`diffusion_loss` of a small transformer on `x0` (its draws from `seed`) and the x_t and t it
    was given; with `where(x_t, t)`, a [B, F] mask, its answer on those frames is moved by 100.
    Every call with the same `seed` builds the same model and draws the same timesteps and noise."""
    torch.manual_seed(seed)
    model = FVDMTransformer(sample_size=8, num_frames=8, in_channels=3, hidden_size=32, depth=2, num_heads=2,
                            patch_size=4)
    seen = {}

    def record(module, args):
        seen["x_t"], seen["t"] = args[0], args[1]

    def shift(module, args, output):
        return output + 100.0 * where(seen["x_t"], seen["t"]).float()[:, :, None, None, None]

    handles = [model.register_forward_pre_hook(record)] + ([model.register_forward_hook(shift)] if where else [])
    try:
        loss = trainer.diffusion_loss(model, trainer.build_scheduler(config.diffusion), x0, None, config).item()
    finally:
        for handle in handles:
            handle.remove()
    return loss, seen["x_t"], seen["t"]


def test_given_frames_enter_clean_at_t0_and_are_left_out_of_the_loss():
    """The model sees given frames exactly (x_t == x0, t == 0), and whatever it answers on them does
    not change the loss, while an answer changed on a generated frame does."""
    config = load_config(TINY, ["ptss.given_p=1.0", "ptss.p=0.5", "diffusion.prediction_type=v_prediction"])
    x0 = torch.rand(4, 8, 3, 8, 8) * 2 - 1

    def is_given(x_t, t):
        return (x_t == x0).all(dim=(2, 3, 4))  # noised frames never equal x0 exactly

    plain, x_t, t = shifted_loss(config, x0, 5)
    given = is_given(x_t, t)
    assert given.any() and (~given).any(dim=1).all()
    assert (t[given] == 0).all()
    assert shifted_loss(config, x0, 5, is_given)[0] == pytest.approx(plain, rel=1e-6)
    assert shifted_loss(config, x0, 5, lambda x_t, t: ~is_given(x_t, t))[0] > plain + 1000


def test_frames_a_ramp_leaves_at_t0_are_out_of_the_loss():
    """Ramps leave frames at t = 0, where the target cannot be seen: what the model answers there
    does not count, while an answer changed on a frame with noise does."""
    config = load_config(TINY, ["ptss.p=1.0", "ptss.ramp_p=1.0", "diffusion.prediction_type=v_prediction"])
    x0 = torch.rand(16, 8, 3, 8, 8) * 2 - 1
    plain, _, t = shifted_loss(config, x0, 6)
    assert (t == 0).any() and (t > 0).any()
    assert shifted_loss(config, x0, 6, lambda x_t, t: t == 0)[0] == pytest.approx(plain, rel=1e-6)
    assert shifted_loss(config, x0, 6, lambda x_t, t: t > 0)[0] > plain + 1000


def test_label_dropout_uses_the_null_class():
    torch.manual_seed(0)
    labels = torch.randint(0, 3, (10000,))
    dropped = trainer.drop_labels(labels, null_class=3, p=0.1)
    changed = dropped != labels
    assert torch.all(dropped[changed] == 3)
    assert abs(changed.float().mean().item() - 0.1) < 0.01
    assert torch.equal(trainer.drop_labels(labels, 3, 0.0), labels)


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
def test_min_snr_weights_cap_the_clean_levels_in_clean_frame_terms(prediction_type):
    """Times the target's own weight on the clean-frame error (SNR, or SNR + 1 for v), the loss
    weighs each level by min(SNR, gamma)."""
    scheduler = FVDMScheduler(prediction_type=prediction_type)
    t = torch.tensor([[1, 50, 200, 500, 999]])
    weights = trainer.min_snr_weight(scheduler, t, gamma=5.0)
    abar = scheduler.alphas_cumprod[t].float()
    snr = abar / (1 - abar)
    own = snr + 1 if prediction_type == "v_prediction" else snr
    assert torch.allclose(weights * own, snr.clamp(max=5.0), rtol=1e-4)
    assert (weights[0, :2] < 1).all() and weights.max() <= 1 + 1e-6


def test_min_snr_weighting_changes_the_loss_and_trains(tmp_path):
    clips = torch.rand(2, 4, 3, 16, 16) * 2 - 1
    model = FVDMTransformer.from_preset("tiny", sample_size=16, num_frames=4, hidden_size=32)
    losses = {}
    for weighting in ("none", "min_snr"):
        config = load_config(TINY, [f"diffusion.loss_weighting={weighting}", "diffusion.prediction_type=v_prediction"])
        torch.manual_seed(0)
        losses[weighting] = trainer.diffusion_loss(model, FVDMScheduler(prediction_type="v_prediction"), clips, None, config)
    assert losses["min_snr"] < losses["none"]  # every weight is at most 1, most below
    run_training(tmp_path / "min-snr", "diffusion.loss_weighting=min_snr", "run.steps=2", *QUIET)


def test_learning_rate_warms_up_then_follows_the_schedule():
    config = load_config(TINY, ["optim.lr=1.0", "optim.warmup_steps=10", "run.steps=110"])
    assert trainer.learning_rate(0, config) == pytest.approx(0.1)
    assert trainer.learning_rate(9, config) == pytest.approx(1.0)
    assert trainer.learning_rate(100, config) == 1.0
    cosine = load_config(TINY, ["optim.lr=1.0", "optim.min_lr=0.1", "optim.warmup_steps=10",
                                "optim.schedule=cosine", "run.steps=110"])
    assert trainer.learning_rate(10, cosine) == pytest.approx(1.0)
    assert trainer.learning_rate(60, cosine) == pytest.approx(0.55)
    assert trainer.learning_rate(110, cosine) == pytest.approx(0.1)


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
def test_variational_bound_vanishes_for_the_true_posterior(prediction_type):
    """A perfect prediction with the posterior variance (value -1) has KL 0; anything else costs."""
    scheduler = FVDMScheduler(prediction_type=prediction_type, variance_type="learned_range")
    torch.manual_seed(0)
    x0, noise = torch.rand(2, 3, 3, 4, 4) * 2 - 1, torch.randn(2, 3, 3, 4, 4)
    t = torch.tensor([[5, 500, 999], [1, 20, 300]])
    x_t = scheduler.add_noise(x0, noise, t)
    perfect = scheduler.training_target(x0, noise, t)
    at_posterior = torch.full_like(x0, -1.0)
    assert trainer.variational_bound(scheduler, x0, x_t, t, perfect, at_posterior).abs().max() < 1e-4
    wrong_variance = trainer.variational_bound(scheduler, x0, x_t, t, perfect, torch.ones_like(x0))
    wrong_mean = trainer.variational_bound(scheduler, x0, x_t, t, perfect + 0.5, at_posterior)
    assert (wrong_mean > 0).all() and (wrong_variance >= 0).all()
    # early steps matter most: later ones have posterior variance ~ beta and an x_0 error that barely moves the mean
    assert wrong_mean[t < 100].min() > 1e-3 and wrong_variance[t < 100].min() > 1e-3


def test_variational_bound_at_t0_is_the_decoder_likelihood():
    """At t = 0 the term is -log2 P(x_0's 8-bit bin) under N(model mean, the clipped posterior variance)."""
    scheduler = FVDMScheduler(variance_type="learned_range")
    x0 = torch.rand(1, 2, 3, 4, 4) * 1.8 - 0.9  # interior values: no edge bins
    t = torch.zeros(1, 2, dtype=torch.long)
    x_t = scheduler.add_noise(x0, torch.randn_like(x0), t)
    eps = (x_t - scheduler.alphas_cumprod[0].sqrt() * x0) / (1 - scheduler.alphas_cumprod[0]).sqrt()
    bits = trainer.variational_bound(scheduler, x0, x_t, t, eps.float(), -torch.ones_like(x0))
    betas, abar = scheduler.betas, scheduler.alphas_cumprod
    sigma = (betas[1] * (1 - abar[0]) / (1 - abar[1])).sqrt()  # t = 0's variance is clipped to t = 1's
    expected = -torch.log2(2 * torch.special.ndtr(1 / 255 / sigma) - 1)
    assert torch.allclose(bits, expected.float().expand_as(bits), rtol=1e-3)
    off = trainer.variational_bound(scheduler, x0, x_t, t, eps.float() + 1.0, -torch.ones_like(x0))
    assert torch.all(off > bits + 1)


# ----------------------------------------------------------------------------- configuration


def test_overrides_are_parsed_and_type_checked():
    config = load_config(TINY, ["optim.lr=3e-4", "ptss.p=0", "ptss.mode=sample", "data.vae=null",
                                "model.class_conditional=true", "run.steps=7"])
    assert config.optim.lr == 3e-4 and isinstance(config.ptss.p, float) and config.ptss.p == 0.0
    assert config.ptss.mode == "sample" and config.model.class_conditional and config.run.steps == 7
    assert config.data.size == 16  # from the YAML file; untouched keys keep the file's values
    assert load_config(TINY, ["run.mixed_precision=no"]).run.mixed_precision == "no"  # not YAML's false


@pytest.mark.parametrize("override, message", [
    ("optim.lrr=1", "unknown config key 'optim.lrr'"),
    ("optimizer.lr=1", "unknown config section 'optimizer'"),
    ("optim.lr=fast", "optim.lr must be float"),
    ("run.steps=2.5", "run.steps must be int"),
    ("run.export=1", "run.export must be bool"),
    ("ptss.mode=frame", "ptss.mode must be one of batch, sample"),
    ("ptss.p=1.5", r"ptss.p must lie in \[0, 1\]"),
    ("ptss.given_p=-0.1", r"ptss.given_p must lie in \[0, 1\]"),
    ("ptss.ramp_p=1.5", r"ptss.ramp_p must lie in \[0, 1\]"),
    ("diffusion.frame_guidance=0.5", r"diffusion.frame_guidance must lie in \[1, 10\]"),
    ("data.kind=folder", "needs data.root"),
    ("lr=1", "must look like section.key=value"),
    ("model.backbone=lstm", "model.backbone must be one of transformer, unet"),
    ("model.gradient_checkpointing=true model.backbone=unet", "for the transformer backbone only"),
])
def test_bad_overrides_are_one_line_errors(override, message):
    with pytest.raises(FVDMInputError, match=message) as error:
        load_config(TINY, override.split())
    assert "\n" not in str(error.value)


def test_the_cli_turns_config_errors_into_a_message(capsys):
    with pytest.raises(SystemExit, match="error: unknown config key 'optim.lrr'"):
        trainer.main(["--config", str(TINY), "optim.lrr=1"])


@pytest.mark.parametrize("path", sorted((REPO / "training" / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_load_and_round_trip(path, tmp_path):
    config = load_config(path)
    save_config(config, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml") == config
    assert config_from_dict({}) == TrainConfig()


@pytest.mark.parametrize("name, preset", [("synthetic-32", "cpu-small"), ("synthetic-32-unet", "unet-cpu")])
def test_the_bundled_pair_differs_only_in_ptss_and_folder(name, preset):
    fvdm = load_config(REPO / "training" / "configs" / f"{name}.yaml")
    baseline = load_config(REPO / "training" / "configs" / f"{name}-baseline.yaml")
    assert (fvdm.ptss.p, fvdm.ptss.given_p, baseline.ptss.p, baseline.ptss.given_p) == (0.2, 0.5, 0.0, 0.0)
    assert (fvdm.model, fvdm.data, fvdm.optim) == (baseline.model, baseline.data, baseline.optim)
    # FVDM alone guides towards given frames: the baseline is conditioned by replacement, without guidance
    assert dataclasses.replace(fvdm.diffusion, frame_guidance=1.0) == baseline.diffusion
    assert fvdm.diffusion.sampler == "ddpm" and fvdm.diffusion.frame_guidance == 2.0
    assert fvdm.model.preset == preset and fvdm.run.mixed_precision == "bf16"
    assert (fvdm.run.seed, fvdm.run.steps) == (baseline.run.seed, baseline.run.steps)  # the same budget


# ----------------------------------------------------------------------------- runs


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """8 steps of the tiny config with previews and export (shared by several tests)."""
    return run_training(tmp_path_factory.mktemp("runs") / "tiny", "run.steps=8", "run.log_every=2",
                        "run.checkpoint_every=2", "run.preview_every=4", "diffusion.sampler=ddpm",
                        "diffusion.frame_guidance=2")


def test_a_run_writes_logs_checkpoints_previews_and_a_pipeline(tiny_run):
    records = read_log(tiny_run)
    assert [r["step"] for r in records] == [2, 4, 6, 8]
    assert all(math.isfinite(r["loss"]) and r["clips_per_s"] > 0 and r["lr"] == 1e-3 for r in records)
    assert records[-1]["seconds"] > records[0]["seconds"]
    checkpoints = tiny_run / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["latest", "step_0000006", "step_0000008"]  # keep 2
    assert (checkpoints / "latest").read_text() == "step_0000008"
    assert list((tiny_run / "tensorboard").glob("events.out.tfevents.*"))
    assert (tiny_run / "loss.png").stat().st_size > 0
    assert load_config(tiny_run / "config.yaml").run.steps == 8
    # previews: 3 rows x 4 columns of 2F = 8-frame cells, 16 px frames shown 8x larger, 2 px gaps
    grid = load_video(tiny_run / "previews" / "step_0000008.mp4")
    assert grid.shape == (8, 3 * 128 + 2 * 16, 4 * 128 + 3 * 16, 3)
    assert (tiny_run / "previews" / "step_0000004.gif").is_file()
    # the image-to-video cell starts from the ground truth's first frame (top row: truth, made)
    first = load_video(tiny_run / "previews" / "step_0000008.gif", num_frames=1)[0]
    assert np.abs(first[:128, :128].astype(int) - first[:128, 144:272].astype(int)).mean() < 3


def test_the_exported_pipeline_loads_and_generates(tiny_run):
    pipe = FVDMPipeline.from_pretrained(tiny_run / "pipeline")
    pipe.set_progress_bar_config(disable=True)
    frames = pipe(plan=schedules.interpolation(num_frames=4, num_steps=2), given={0: torch.zeros(1, 3, 16, 16),
                  3: torch.ones(1, 3, 16, 16)}, seed=0).frames
    assert frames.shape == (1, 4, 16, 16, 3) and np.isfinite(frames).all()
    assert frames[0, 0].max() == 0 and frames[0, 3].min() == 1  # given frames come back as given
    assert pipe.scheduler.config.clip_sample  # pixel models keep their clean-frame estimates in range
    assert pipe.scheduler.config.sampler == "ddpm"  # the run's diffusion.sampler is the model's default
    assert pipe.config.frame_guidance == 2.0  # and so is its diffusion.frame_guidance
    # the transformer holds the EMA weights, not the last training weights
    ema = final_state(tiny_run, 8)[1]
    assert all(torch.equal(p, e) for p, e in zip(pipe.transformer.parameters(), ema))
    card = (tiny_run / "pipeline" / "README.md").read_text()
    front = yaml.safe_load(card.split("---")[1])
    assert front["library_name"] == "diffusers" and front["license"] == "apache-2.0" and "fvdm" in front["tags"]
    assert "8 steps" in card and "p = 0.2" in card and "bouncing-shapes" in card and "DDPM by default" in card
    assert "guidance 2 towards the given frames" in card
    assert 'schedules.image_to_video(num_frames=4, num_steps=25, order="sequential")' in card and "replacement" not in card


def test_the_unet_backbone_trains_resumes_and_exports_a_unet_pipeline(tmp_path):
    run_dir = run_training(tmp_path / "unet", "model.backbone=unet", "run.steps=4", "run.checkpoint_every=2",
                           "run.log_every=2", "run.preview_every=4", "run.preview_steps=2")
    assert (run_dir / "previews" / "step_0000004.mp4").is_file()
    run_training(run_dir, "model.backbone=unet", "run.steps=6", "run.checkpoint_every=2", "run.log_every=2", *QUIET,
                 resume="latest")
    assert [r["step"] for r in read_log(run_dir)] == [2, 4, 6]
    out = export_run(run_dir, tmp_path / "exported", fp16=True)
    assert (out / "unet" / "diffusion_pytorch_model.safetensors").is_file() and not (out / "transformer").exists()
    pipe = FVDMPipeline.from_pretrained(out)
    assert isinstance(pipe.denoiser, FVDMUNet) and pipe.num_frames == 4 and pipe.resolution == 16
    ema = final_state(run_dir, 6)[1]
    assert all(torch.equal(p.float(), e.half().float()) for p, e in zip(pipe.denoiser.parameters(), ema))
    card = (out / "README.md").read_text()
    assert "FVDMUNet + FVDMScheduler" in card and "preset `unet-tiny`" in card and "6 steps" in card
    assert "the unet takes one diffusion timestep per" in card


def test_a_new_run_can_start_from_an_exported_pipeline(tiny_run, tmp_path):
    run_dir = run_training(tmp_path / "continued", f"model.init_from={tiny_run / 'pipeline'}", "run.steps=1",
                           "optim.lr=1e-12", "optim.warmup_steps=0", *QUIET)
    shipped = FVDMPipeline.from_pretrained(tiny_run / "pipeline").transformer
    weights = final_state(run_dir, 1)[0]
    for name, value in shipped.state_dict().items():  # one step at a negligible learning rate
        assert torch.allclose(weights[name], value, atol=1e-6), name
    card = (export_run(run_dir, tmp_path / "exported") / "README.md").read_text()
    assert f"process(es), EMA 0.99, from the weights of `{tiny_run / 'pipeline'}` |" in card
    with pytest.raises(SystemExit, match="holds a different network.*differing in hidden_size"):
        run_training(tmp_path / "other", f"model.init_from={tiny_run / 'pipeline'}", "model.hidden_size=64", *QUIET)
    with pytest.raises(SystemExit, match="holds a different network \\(FVDMTransformer"):
        run_training(tmp_path / "unet", f"model.init_from={tiny_run / 'pipeline'}", "model.backbone=unet", *QUIET)


def test_export_cli_with_fp16_storage_and_an_evaluation_table(tiny_run, tmp_path):
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"markdown": "| metric | value |\n| --- | --- |\n| FVD | 123.4 |"}))
    out = tmp_path / "exported"
    from training.export import main as export_main

    export_main(["--run", str(tiny_run), "--out", str(out), "--fp16", "--eval-report", str(report),
                 "--checkpoint", str(tiny_run / "checkpoints" / "step_0000006")])
    weights = load_file(out / "transformer" / "diffusion_pytorch_model.safetensors")
    assert all(w.dtype == torch.float16 for w in weights.values())
    card = (out / "README.md").read_text()
    assert "| FVD | 123.4 |" in card and "6 steps" in card
    assert FVDMPipeline.from_pretrained(out).transformer.config.num_frames == 4


def test_export_of_a_folder_that_is_not_a_run_fails_clearly(tiny_run, tmp_path):
    with pytest.raises(FVDMInputError, match="not a training run"):
        export_run(tmp_path, tmp_path / "out")
    (tmp_path / "report.json").write_text(json.dumps({"fvd": 1.0}))
    with pytest.raises(FVDMInputError, match='has no "markdown" field'):
        export_run(tiny_run, tmp_path / "out", eval_report=tmp_path / "report.json")
    renamed = tmp_path / "best"
    shutil.copytree(tiny_run / "checkpoints" / "step_0000006", renamed)
    with pytest.raises(FVDMInputError, match="must start with step_ and the step number"):
        export_run(tiny_run, tmp_path / "out", checkpoint=renamed)
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_a_kept_copy_of_a_checkpoint_exports_with_its_step(tiny_run, tmp_path):
    kept = tmp_path / "step_0000006-keep"
    shutil.copytree(tiny_run / "checkpoints" / "step_0000006", kept)
    export_run(tiny_run, tmp_path / "out", checkpoint=kept)
    assert json.loads((tmp_path / "out" / TRAINING_FACTS_FILE).read_text())["step"] == 6
    assert "6 steps" in (tmp_path / "out" / "README.md").read_text()


def test_loss_goes_down_when_overfitting_a_few_clips(tmp_path):
    run = run_training(tmp_path / "overfit", "data.train_clips=4", "ptss.p=0.0", "optim.lr=3e-3",
                       "optim.batch_size=4", "run.steps=80", "run.log_every=10", "run.checkpoint_every=80", *QUIET)
    losses = [r["loss"] for r in read_log(run)]
    assert np.mean(losses[-2:]) < 0.7 * np.mean(losses[:2]), losses  # typically ~0.55
    export_run(run, tmp_path / "exported")
    card = (tmp_path / "exported" / "README.md").read_text()  # a conventional model: replacement, no order
    assert 'seed=0, conditioning="replacement").frames\n' in card and "order=" not in card


def test_every_option_at_once_trains(tmp_path, caplog):
    """Class labels with dropout, learned variance, v-prediction, accumulation, cosine warm-up, bf16,
    given frames, timestep ramps."""
    run = run_training(
        tmp_path / "options", "model.class_conditional=true", "diffusion.learn_sigma=true",
        "diffusion.prediction_type=v_prediction", "optim.grad_accum=2", "optim.schedule=cosine",
        "optim.warmup_steps=2", "run.mixed_precision=bf16", "data.channels=1", "run.steps=3",
        "run.log_every=1", "run.preview_every=3", "model.gradient_checkpointing=true", "ptss.given_p=0.5",
        "ptss.ramp_p=0.5",
    )
    assert all(math.isfinite(r["loss"]) for r in read_log(run))
    pipe = FVDMPipeline.from_pretrained(run / "pipeline")
    assert pipe.transformer.config.num_classes == 3 and pipe.transformer.out_channels == 2
    assert pipe.scheduler.config.variance_type == "learned_range"
    assert pipe.scheduler.config.prediction_type == "v_prediction"
    assert json.loads((run / "run.json").read_text())["global_batch"] == 4
    assert load_video(run / "previews" / "step_0000003.gif").shape[0] == 8
    card = (run / "pipeline" / "README.md").read_text()
    assert "probabilistic timestep sampling with p = 0.2" in card and "given frames" in card and "a share 0.5" in card
    assert "a share 0.5 of the per-frame draws are ramps" in card
    warning = slow_bf16_warning("cpu")  # bf16 on a CPU that emulates it is logged once
    assert sum(bool(warning) and warning in r.getMessage() for r in caplog.records) == (1 if warning else 0)


def test_training_on_a_video_folder_survives_bad_files(tmp_path, caplog):
    root = tmp_path / "videos"
    write_video_folder(root, 4, WorldConfig(resolution=16, num_frames=6))
    (root / "corrupt.mp4").write_bytes(np.random.default_rng(0).bytes(3000))
    save_video(np.zeros((2, 16, 16, 3), np.uint8), root / "short.mp4")
    # 6 files, no validation split, 2 clips a step: 3 steps read every file once
    run_training(tmp_path / "folder", "data.kind=folder", f"data.root={root}", "data.val_fraction=0.0",
                 "run.steps=3", "run.preview_every=3", "data.hflip=true")
    messages = [r.getMessage() for r in caplog.records]
    summary = [m for m in messages if "skipped 2 unreadable" in m]
    assert len(summary) == 1 and "corrupt.mp4" in summary[0] and "short.mp4" in summary[0]
    assert sum("skipping unreadable" in m for m in messages) == 2  # each reported once
    assert (tmp_path / "folder" / "pipeline" / "model_index.json").is_file()


def test_a_new_run_refuses_to_overwrite_an_old_one(tiny_run):
    with pytest.raises(SystemExit, match="already holds a run: continue it with --resume latest"):
        run_training(tiny_run)


def test_resume_only_continues_a_checkpoint_of_the_same_run(tiny_run, tmp_path):
    with pytest.raises(SystemExit, match="--resume continues the same run"):
        run_training(tmp_path / "other", resume=str(tiny_run / "checkpoints" / "step_0000008"))


def test_a_missing_data_folder_stops_with_one_line(tmp_path):
    with pytest.raises(SystemExit, match="error: the data folder .* does not exist"):
        run_training(tmp_path / "run", "data.kind=folder", f"data.root={tmp_path / 'nothing'}")


def test_latent_training_with_a_vae_exports_it(tmp_path):
    vae_dir = tmp_path / "vae"
    tiny_vae().save_pretrained(vae_dir)
    run = run_training(tmp_path / "latent", f"data.vae={vae_dir}", "model.patch_size=2", "run.steps=2",
                       "run.preview_every=2")
    pipe = FVDMPipeline.from_pretrained(run / "pipeline")
    assert pipe.vae is not None and pipe.transformer.config.in_channels == 4
    assert not pipe.scheduler.config.clip_sample  # latents are not bounded to [-1, 1]
    assert pipe.transformer.config.sample_size == 8 and pipe.resolution == 16
    pipe.set_progress_bar_config(disable=True)
    assert pipe(num_steps=2, seed=0).frames.shape == (1, 4, 16, 16, 3)


# ----------------------------------------------------------------------------- resume and DDP


def test_resume_after_sigkill_reproduces_an_uninterrupted_run(tmp_path):
    steps = ["run.steps=30", "run.checkpoint_every=3", "run.log_every=3", "optim.batch_size=3", *QUIET]
    whole = subprocess.run(train_command(tmp_path / "whole", *steps), env=subprocess_env(), capture_output=True,
                           check=False)
    assert whole.returncode == 0, whole.stderr.decode()[-2000:]

    killed_dir = tmp_path / "killed"
    process = subprocess.Popen(train_command(killed_dir, *steps), env=subprocess_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    latest = killed_dir / "checkpoints" / "latest"
    deadline = time.monotonic() + 120
    while not latest.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL  # killed mid-run, not finished
    interrupted_at = latest.read_text()
    assert interrupted_at < "step_0000030"

    resumed = subprocess.run(train_command(killed_dir, *steps, "--resume", "latest"), env=subprocess_env(),
                             capture_output=True, check=False)
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    assert f"resumed from {killed_dir / 'checkpoints' / interrupted_at}" in resumed.stderr.decode()

    (weights_a, ema_a), (weights_b, ema_b) = final_state(tmp_path / "whole", 30), final_state(killed_dir, 30)
    assert weights_a.keys() == weights_b.keys()
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)
    assert all(torch.equal(a, b) for a, b in zip(ema_a, ema_b))
    # the log holds each step once, with the same losses: lines the killed run wrote past its checkpoint are gone
    assert without_timing(read_log(killed_dir)) == without_timing(read_log(tmp_path / "whole"))


def without_timing(records: list[dict]) -> list[dict]:
    return [{key: value for key, value in r.items() if key not in ("seconds", "clips_per_s")} for r in records]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_process_group(command: list[str], env: dict[str, str], seconds: float) -> tuple[int, str]:
    """Run `command` in its own process group; (exit status, stderr). A run past `seconds` fails the test
    after killing the launcher and every process it started (torch's launcher may start its ranks in
    sessions of their own, which a process-group kill misses); stderr goes through a file, so that a
    surviving rank cannot hold the test up by keeping a pipe open."""
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=log, text=True,
                                   start_new_session=True)
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            for child in [*psutil.Process(process.pid).children(recursive=True), process]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
            process.wait()
            log.seek(0)
            pytest.fail(f"{' '.join(command[:4])} ... did not finish in {seconds} s:\n{log.read()[-3000:]}")
        log.seek(0)
        return process.returncode, log.read()


@pytest.mark.parametrize("backbone", ["transformer", "unet"])
def test_two_processes_train_together_under_accelerate_launch(tmp_path, backbone):
    run_dir = tmp_path / "ddp"
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        "--main_process_port", str(free_port()), "-m", "training.train", "--config", str(TINY),
        f"run.dir={run_dir}", "run.steps=3", "run.log_every=1", "run.checkpoint_every=3", *QUIET,
        f"model.backbone={backbone}",
    ]
    env = {**subprocess_env(), "ACCELERATE_USE_CPU": "true"}  # DDP over gloo on CPU processes
    returncode, stderr = run_process_group(command, env, seconds=240)  # about 10 s when all is well
    assert returncode == 0, stderr[-3000:]
    facts = json.loads((run_dir / "run.json").read_text())
    assert facts["num_processes"] == 2 and facts["global_batch"] == 4
    ranks = facts["processes"]
    # both processes trained on their own clips, and DDP kept their weights identical
    assert [r["rank"] for r in ranks] == [0, 1] and all(r["clips"] == 3 * 2 for r in ranks)
    assert ranks[0]["weights_checksum"] == ranks[1]["weights_checksum"]
    assert [r["step"] for r in read_log(run_dir)] == [1, 2, 3]  # the main process logs once per step
