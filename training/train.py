"""Train a frame-aware video diffusion model (FVDM) with accelerate.

    python -m training.train --config training/configs/tiny.yaml [section.key=value ...] [--resume latest]
    accelerate launch --multi_gpu --num_processes 8 -m training.train --config training/configs/latent-256.yaml

The same command runs on a CPU, one GPU, or many GPUs and machines (DDP) under `accelerate
launch`. One training step:

    clips x0 [B, F, C, H, W]  (pixels in [-1, 1], or VAE latents)
    t  [B, F]  = probabilistic timestep sampling (PTSS): with probability p every frame gets its
                 own timestep, otherwise the clip shares one (p = 0 is a conventional model)
    x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise, frame by frame
    loss = MSE(model(x_t, t, labels), noise or v)  (+ the variational bound with learn_sigma)

Everything a run writes goes to `run.dir`: config.yaml, log.jsonl, tensorboard/, previews/,
checkpoints/step_XXXXXXX (+ a `latest` pointer), loss.png and pipeline/ (the exported model).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from accelerate import Accelerator, DistributedType
from accelerate.logging import get_logger
from accelerate.utils import ProjectConfiguration, set_seed
from diffusers.training_utils import EMAModel
from matplotlib.figure import Figure
from torch.utils.data import DataLoader, default_collate

from fvdm import schedules
from fvdm.errors import FVDMInputError
from fvdm.loading import load_pipeline
from fvdm.backbones import FrameAwareDenoiser, build_backbone
from fvdm.pipeline import FVDMPipeline, format_frames
from fvdm.precision import slow_bf16_warning
from fvdm.scheduler import FVDMScheduler
from fvdm.video_io import frames_to_grid, save_video
from training.config import TrainConfig, load_config, save_config
from training.data import StreamSampler, TrainingData, build_data, encode_video, load_vae, vae_scale_factor
from training.export import (
    MODEL_CONFIG_DIR, build_scheduler, checkpoint_step, export_run, latest_checkpoint, make_pipeline,
)

logger = get_logger(__name__)

# ----------------------------------------------------------------------------- the FVDM objective


def sample_timesteps(
    batch: int, frames: int, num_timesteps: int, p: float, mode: str = "batch", device: torch.device | str = "cpu",
    ramp_p: float = 0.0,
) -> torch.Tensor:
    """Probabilistic timestep sampling (PTSS, the FVDM paper): integer timesteps [batch, frames].

    With probability `p` a clip gets per-frame timesteps: independent t_f ~ U{0..T-1} (what teaches
    the model that frames may sit at different noise levels), or, for a share `ramp_p` of those
    clips, a ramp (`sample_ramps`). Otherwise one t ~ U{0..T-1} is repeated over all its frames
    (the usual synchronized video diffusion objective, which unconditional generation needs).
    mode "batch" flips one coin for the whole batch, as the official trainer does; "sample" flips
    one per clip. Both kinds are drawn every time so that the random stream does not depend on the
    coin; ramps are drawn only when `ramp_p` > 0, so runs without them keep their stream.
    """
    independent = torch.randint(0, num_timesteps, (batch, frames), device=device)
    shared = torch.randint(0, num_timesteps, (batch, 1), device=device).expand(batch, frames)
    coins = torch.rand(1 if mode == "batch" else batch, device=device) < p
    if ramp_p > 0:
        ramps = sample_ramps(batch, frames, num_timesteps, device)
        ramp_coins = torch.rand(1 if mode == "batch" else batch, device=device) < ramp_p
        independent = torch.where(ramp_coins[:, None], ramps, independent)
    return torch.where(coins[:, None], independent, shared)


def sample_ramps(batch: int, frames: int, num_timesteps: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Timesteps [batch, frames] that rise along the clip: earlier frames cleaner.

    t_f = clamp(start + slope * f, 0, T - 1) with slope ~ U(T / frames, T / 2) per frame and a
    start ~ U(-slope (frames - 1), T - 1), so that the ramp may sit anywhere along the clip. That is a
    time slice through the pyramid (about T / 11 per frame at 25 steps) and sequential (0.4 T per
    frame) sampling plans, the state in which each frame must follow the cleaner ones before it,
    and one that independent draws essentially never produce.
    """
    slope = num_timesteps * (1 / frames + (0.5 - 1 / frames) * torch.rand(batch, 1, device=device))
    low, high = -slope * (frames - 1), torch.full_like(slope, num_timesteps - 1)
    start = low + (high - low) * torch.rand(batch, 1, device=device)
    ramp = start + slope * torch.arange(frames, device=device)
    return ramp.round().clamp(0, num_timesteps - 1).long()


def drop_labels(labels: torch.Tensor, null_class: int, p: float) -> torch.Tensor:
    """Replace a share `p` of the labels by the null class (classifier-free guidance training)."""
    return torch.where(torch.rand(labels.shape, device=labels.device) < p, null_class, labels)


def sample_given_frames(batch: int, frames: int, p: float, device: torch.device | str = "cpu") -> torch.Tensor:
    """Which frames each clip is given [batch, frames] (bool): the conditional tasks' patterns.

    A share `p` of the clips is given frames the way the pipeline's plans give them: a prefix of 1
    to frames/2 frames (image-to-video, prediction, long-video context), the first and last 1 to
    frames/4 frames (interpolation), or scattered keyframes (each frame with probability 1/4, so
    now and then none). At least one frame of every clip is left to generate. With `p` = 0 nothing
    is drawn, so the random stream, and with it every run trained before this option, is unchanged.
    """
    if p == 0:
        return torch.zeros(batch, frames, dtype=torch.bool, device=device)
    index = torch.arange(frames, device=device)
    pattern = torch.randint(0, 3, (batch, 1), device=device)
    prefix = index < torch.randint(1, max(frames // 2, 1) + 1, (batch, 1), device=device)
    end = torch.randint(1, max(frames // 4, 1) + 1, (batch, 1), device=device)
    ends = (index < end) | (index >= frames - end)
    scattered = torch.rand(batch, frames, device=device) < 0.25
    given = torch.where(pattern == 0, prefix, torch.where(pattern == 1, ends, scattered))
    given &= ~given.all(dim=1, keepdim=True)  # a clip with every frame given is trained like the rest
    return given & (torch.rand(batch, 1, device=device) < p)


def diffusion_loss(
    model: torch.nn.Module, scheduler: FVDMScheduler, x0: torch.Tensor, labels: torch.Tensor | None, config: TrainConfig
) -> torch.Tensor:
    """MSE between the model's prediction and the scheduler's target (noise or v) over the frames
    with noise in them: given frames (`ptss.given_p`) go in clean at t = 0, as the pipeline holds
    them, and a frame at t = 0 has nothing to learn from (its target, the noise or v = the noise,
    cannot be seen in it); the ramps of `ptss.ramp_p` leave many frames there, as a plan leaves
    the frames it has finished."""
    batch, frames, channels = x0.shape[:3]
    t = sample_timesteps(
        batch, frames, len(scheduler), config.ptss.p, config.ptss.mode, x0.device, config.ptss.ramp_p
    )
    given = sample_given_frames(batch, frames, config.ptss.given_p, x0.device)
    t = t.masked_fill(given, 0)
    noise = torch.randn_like(x0)
    x_t = torch.where(given[:, :, None, None, None], x0, scheduler.add_noise(x0, noise, t))
    output = model(x_t, t, labels).float()
    prediction = output[:, :, :channels]
    per_frame = F.mse_loss(prediction, scheduler.training_target(x0, noise, t), reduction="none").mean(dim=(2, 3, 4))
    if config.diffusion.learn_sigma:
        per_frame = per_frame + variational_bound(scheduler, x0, x_t, t, prediction.detach(), output[:, :, channels:])
    if config.diffusion.loss_weighting == "min_snr":
        per_frame = per_frame * min_snr_weight(scheduler, t, config.diffusion.min_snr_gamma)
    noisy = (t > 0).float()
    return (per_frame * noisy).sum() / noisy.sum().clamp(min=1)


def min_snr_weight(scheduler: FVDMScheduler, t: torch.Tensor, gamma: float) -> torch.Tensor:
    """Min-SNR-gamma loss weights [B, F]: min(SNR, gamma) over what the target already weighs.

    In terms of the clean frame, an epsilon loss weighs each level by SNR and a v loss by SNR + 1;
    dividing those out and multiplying by min(SNR, gamma) caps the weight of nearly clean frames.
    """
    abar = scheduler.alphas_cumprod.to(t.device)[t].float()
    snr = abar / (1 - abar)
    own = snr + 1 if scheduler.config.prediction_type == "v_prediction" else snr
    return snr.clamp(max=gamma) / own


def variational_bound(
    scheduler: FVDMScheduler, x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor,
    prediction: torch.Tensor, variance_value: torch.Tensor,
) -> torch.Tensor:
    """IDDPM's variational-bound term per frame [B, F], in bits per dimension.

    The model's mean comes from the detached prediction, so this term trains only the learned
    variance, interpolated in log space between the posterior variance and beta_t exactly as
    `FVDMScheduler(variance_type="learned_range")` samples with it. KL(q(x_{t-1} | x_t, x_0) ||
    p(x_{t-1} | x_t)) for t > 0; at t = 0 the decoder's negative log-likelihood of x_0 on a
    256-level grid (for latents this is only a rough proxy, as in DiT).
    """
    betas, abar = scheduler.betas.to(x0.device), scheduler.alphas_cumprod.to(x0.device)  # float64 [T]
    abar_prev = F.pad(abar[:-1], (1, 0), value=1.0)
    posterior_var = betas * (1 - abar_prev) / (1 - abar)
    tables = {  # float64 [T] tables, read at t and broadcast over the pixels of each frame
        "min_log": torch.cat([posterior_var[1:2], posterior_var[1:]]).log(),  # t = 0 clipped to t = 1 (IDDPM)
        "max_log": betas.log(),
        "coef_x0": betas * abar_prev.sqrt() / (1 - abar),
        "coef_xt": (1 - abar_prev) * (1 - betas).sqrt() / (1 - abar),
        "abar": abar,
    }
    at = {name: table[t][..., None, None, None].float() for name, table in tables.items()}

    pred_x0, _ = scheduler._split_prediction(prediction, x_t, at["abar"])
    true_mean = at["coef_x0"] * x0 + at["coef_xt"] * x_t
    model_mean = at["coef_x0"] * pred_x0 + at["coef_xt"] * x_t
    fraction = (variance_value + 1) / 2
    min_log = at["min_log"]
    model_log_var = fraction * at["max_log"] + (1 - fraction) * min_log

    kl = 0.5 * (-1 + model_log_var - min_log + (min_log - model_log_var).exp()
                + (true_mean - model_mean) ** 2 * (-model_log_var).exp())
    nll = -discretized_gaussian_log_likelihood(x0, model_mean, 0.5 * model_log_var)
    per_frame = torch.where(t[..., None, None, None] == 0, nll, kl).flatten(2).mean(2)
    return per_frame / math.log(2.0)


def discretized_gaussian_log_likelihood(x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """log P(x) for x in [-1, 1] quantized to 256 levels under N(mean, exp(log_scale)^2), elementwise."""
    inv_std = torch.exp(-log_scale)
    cdf_plus = torch.special.ndtr(inv_std * (x - mean + 1 / 255))
    cdf_min = torch.special.ndtr(inv_std * (x - mean - 1 / 255))
    log_cdf_plus = cdf_plus.clamp(min=1e-12).log()
    log_one_minus_cdf_min = (1 - cdf_min).clamp(min=1e-12).log()
    log_cdf_delta = (cdf_plus - cdf_min).clamp(min=1e-12).log()
    return torch.where(x < -0.999, log_cdf_plus, torch.where(x > 0.999, log_one_minus_cdf_min, log_cdf_delta))


def learning_rate(step: int, config: TrainConfig) -> float:
    """Linear warm-up over `warmup_steps`, then constant, or cosine down to `min_lr` at the last step."""
    optim = config.optim
    if step < optim.warmup_steps:
        return optim.lr * (step + 1) / optim.warmup_steps
    if optim.schedule == "constant":
        return optim.lr
    progress = (step - optim.warmup_steps) / max(1, config.run.steps - optim.warmup_steps)
    return optim.min_lr + 0.5 * (optim.lr - optim.min_lr) * (1 + math.cos(math.pi * progress))


# ----------------------------------------------------------------------------- model and data


def build_model(config: TrainConfig, data: TrainingData, vae) -> FrameAwareDenoiser:
    """The network for this data: frames, size and channels from the data (and the VAE)."""
    size, channels = config.data.size, config.data.channels
    if vae is not None:
        if size % vae_scale_factor(vae):
            raise FVDMInputError(f"data.size {size} must be a multiple of the VAE's factor {vae_scale_factor(vae)}")
        size, channels = size // vae_scale_factor(vae), vae.config.latent_channels
    m = config.model
    try:
        return build_backbone(
            m.backbone,
            m.preset,
            **m.overrides(),
            sample_size=size,
            num_frames=config.data.num_frames,
            in_channels=channels,
            num_classes=data.num_classes if m.class_conditional else 0,
            learn_sigma=config.diffusion.learn_sigma,
        )
    except ValueError as error:  # an unknown preset or sizes that do not fit together
        raise FVDMInputError(f"model: {error}") from error


def initialize_from(model: FrameAwareDenoiser, source: str) -> None:
    """Start from the weights of a saved pipeline (an exported run, a bundled model, a Hub id): how a
    run continues in a new place from what an earlier one shipped. Its network must be the same."""
    trained = load_pipeline(source, device="cpu", dtype=torch.float32).denoiser
    as_saved = lambda value: list(value) if isinstance(value, tuple) else value  # noqa: E731 (JSON has lists)
    ours = {key: as_saved(value) for key, value in model.config.items() if not key.startswith("_")}
    theirs = {key: as_saved(trained.config.get(key)) for key in ours}
    if type(trained) is not type(model) or ours != theirs:
        changed = sorted(key for key in ours if ours[key] != theirs[key])
        raise FVDMInputError(f"model.init_from {source} holds a different network ({type(trained).__name__}"
                             f"{', differing in ' + ', '.join(changed) if changed else ''}): match its model and data settings")
    model.load_state_dict(trained.state_dict())


def train_loader(data: TrainingData, config: TrainConfig, accelerator: Accelerator, start_batch: int) -> DataLoader:
    """This process's share of the training stream, from micro-batch `start_batch` on."""
    sampler = StreamSampler(
        len(data.train), config.optim.batch_size, seed=config.run.seed, shuffle=data.shuffle,
        rank=accelerator.process_index, world_size=accelerator.num_processes, start_batch=start_batch,
    )
    return DataLoader(
        data.train, batch_size=config.optim.batch_size, sampler=sampler, num_workers=config.data.num_workers,
        pin_memory=accelerator.device.type == "cuda", drop_last=True,
        generator=torch.Generator().manual_seed(config.run.seed),  # else starting it draws from the global RNG
    )


# ----------------------------------------------------------------------------- checkpoints


def find_checkpoint(run_dir: Path, resume: str | None) -> Path | None:
    """The checkpoint folder `--resume` names: "latest" (None when the run has none yet) or a path."""
    if resume is None:
        return None
    if resume == "latest":
        return latest_checkpoint(run_dir)
    checkpoint = Path(resume)
    if not (checkpoint.is_dir() and checkpoint.name.startswith("step_")):
        raise FVDMInputError(f"--resume {resume}: not a checkpoint folder (checkpoints/step_XXXXXXX) or 'latest'")
    if checkpoint.parent.resolve() != (run_dir / "checkpoints").resolve():
        raise FVDMInputError(f"--resume continues the same run: {checkpoint} is not in {run_dir / 'checkpoints'}")
    return checkpoint


def write_atomically(path: Path, text: str) -> None:
    """Readers see the old or the new content, never a partial file, whenever the writer dies."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def save_checkpoint(accelerator: Accelerator, run_dir: Path, step: int, keep: int) -> None:
    """Save model, optimizer, EMA, grad scaler and every process's RNG for `step`.

    The state goes to a hidden folder first; only once complete is it renamed to step_XXXXXXX and
    the `latest` pointer replaced, so a kill at any moment leaves `latest` naming a whole checkpoint.
    """
    folder = run_dir / "checkpoints"
    final = folder / f"step_{step:07d}"
    partial = folder / f".partial_{final.name}"
    if accelerator.is_main_process and partial.exists():
        shutil.rmtree(partial)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(partial))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        os.replace(partial, final)
        write_atomically(folder / "latest", final.name)
        for old in sorted(folder.glob("step_*"))[:-keep]:
            shutil.rmtree(old)
    accelerator.wait_for_everyone()


def start_timeline(run_dir: Path, checkpoint: Path) -> float:
    """Resuming from `checkpoint`: drop what a killed run wrote after it (newer checkpoints, log
    lines past its step) and return the training seconds logged up to it."""
    step, folder = checkpoint_step(checkpoint), run_dir / "checkpoints"
    write_atomically(folder / "latest", checkpoint.name)
    for stale in [*folder.glob(".partial_*"), *(p for p in folder.glob("step_*") if checkpoint_step(p) > step)]:
        shutil.rmtree(stale)
    log = run_dir / "log.jsonl"
    if not log.is_file():
        return 0.0
    kept = [line for line in log.read_text().splitlines() if line and json.loads(line)["step"] <= step]
    write_atomically(log, "".join(line + "\n" for line in kept))
    return json.loads(kept[-1])["seconds"] if kept else 0.0


# ----------------------------------------------------------------------------- previews and plots


def video_frames(video: torch.Tensor | np.ndarray) -> np.ndarray:
    """Clips [B, F, C, H, W] (tensor) or [B, F, H, W, C] (array), values in [0, 1] -> [B, F, H, W, 3]."""
    if isinstance(video, torch.Tensor):
        video = format_frames(video, "np")
    return np.repeat(video, 3, axis=-1) if video.shape[-1] == 1 else video


@torch.no_grad()
def render_preview(pipe: FVDMPipeline, clips: torch.Tensor, labels: torch.Tensor | None, num_steps: int,
                   autocast_dtype: torch.dtype | None) -> np.ndarray:
    """One grid clip [2F, H', W', 3] from fixed seeds, four columns, two evaluation clips a, b:

        image-to-video   | truth a | made a | truth b | made b |   (frame 0 given)
        interpolation    | truth a | made a | truth b | made b |   (first and last frame given)
        unconditional, long | video 1 | video 2 | long 1 | long 2 |   (long: 2F frames, sliding window)

    Clips of F frames play twice so that every cell lasts 2F frames.
    """
    frames, batch = pipe.num_frames, clips.shape[0]
    truth = (clips + 1) / 2

    def sample(plan: schedules.Plan) -> np.ndarray:
        given = {index: pipe.encode_pixels(truth[:, index]) for index in plan.given}
        latents = pipe.denoise(plan, given, batch, torch.Generator().manual_seed(0), labels=labels,
                               autocast_dtype=autocast_dtype)
        return video_frames(pipe.decode_latents(latents))

    truth_frames = video_frames(truth)
    cells = []
    for plan in (schedules.image_to_video(num_frames=frames, num_steps=num_steps),
                 schedules.interpolation(num_frames=frames, num_steps=num_steps)):
        made = sample(plan)
        cells += [truth_frames[0], made[0], truth_frames[1], made[1]]
    unconditional = sample(schedules.synchronous(num_frames=frames, num_steps=num_steps))
    long = np.concatenate(list(pipe.generate_long(
        2 * frames, context_frames=frames // 2, num_steps=num_steps, num_videos=batch, seed=0,
        class_labels=labels, autocast_dtype=autocast_dtype,
    )), axis=1)
    cells += [unconditional[0], unconditional[1], video_frames(long)[0], video_frames(long)[1]]
    return frames_to_grid([np.resize(cell, (2 * frames, *cell.shape[1:])) for cell in cells], ncols=4)


def write_preview(pipe: FVDMPipeline, eval_clips: dict, config: TrainConfig, stem: Path) -> None:
    """`render_preview` of the evaluation clips, saved as stem.mp4 and stem.gif."""
    device = pipe.denoiser.device
    labels = eval_clips["label"].to(device) if pipe.num_classes else None
    autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(config.run.mixed_precision)
    grid = render_preview(pipe, eval_clips["video"].to(device), labels, config.run.preview_steps, autocast_dtype)
    upscale = max(1, 128 // config.data.size)  # tiny frames are hard to see in a player
    for suffix in (".mp4", ".gif"):
        save_video(grid, stem.with_suffix(suffix), upscale=upscale)


def report_processes(accelerator: Accelerator, model: torch.nn.Module, clips: int, run_dir: Path) -> None:
    """Add every process's share of the work to run.json: the clips it trained on and a checksum of
    its final weights. Equal checksums on every rank show that the gradients were averaged across
    processes (each process draws its own noise, so unsynchronized processes would drift apart)."""
    weights = torch.cat([p.detach().double().flatten() for p in accelerator.unwrap_model(model).parameters()])
    mine = torch.tensor([[clips, weights.sum().item(), weights.square().sum().item()]], dtype=torch.float64,
                        device=accelerator.device)
    everyone = accelerator.gather(mine).cpu().tolist()
    if accelerator.is_main_process:
        facts = json.loads((run_dir / "run.json").read_text())
        facts["processes"] = [
            {"rank": rank, "clips": int(row[0]), "weights_checksum": [row[1], row[2]]} for rank, row in enumerate(everyone)
        ]
        write_atomically(run_dir / "run.json", json.dumps(facts, indent=2))


def plot_loss(log_path: Path, out_path: Path) -> None:
    records = [json.loads(line) for line in log_path.read_text().splitlines() if line]
    figure = Figure(figsize=(6, 4))
    axes = figure.add_subplot()
    axes.plot([r["step"] for r in records], [r["loss"] for r in records])
    axes.set(xlabel="step", ylabel="training loss", yscale="log", title=out_path.parent.name)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(out_path, dpi=120)


# ----------------------------------------------------------------------------- the training run


def train(config: TrainConfig, resume: str | None = None) -> Path:
    """Train (or continue) the run in `config.run.dir`; returns that folder."""
    run_dir = Path(config.run.dir)
    accelerator = Accelerator(
        gradient_accumulation_steps=config.optim.grad_accum,
        mixed_precision=config.run.mixed_precision,
        log_with="tensorboard",
        project_config=ProjectConfiguration(project_dir=str(run_dir), logging_dir=str(run_dir)),
    )
    deepspeed = accelerator.distributed_type == DistributedType.DEEPSPEED
    zero3 = deepspeed and accelerator.state.deepspeed_plugin.zero_stage == 3
    if accelerator.distributed_type == DistributedType.FSDP or zero3:
        raise FVDMInputError("FSDP and ZeRO-3 shard the weights, which the EMA, previews and export need whole: "
                             "use DDP or DeepSpeed ZeRO-2")
    main_process, device = accelerator.is_main_process, accelerator.device
    checkpoint = find_checkpoint(run_dir, resume)
    if resume is None and (run_dir / "checkpoints" / "latest").is_file():
        raise FVDMInputError(f"{run_dir} already holds a run: continue it with --resume latest or pick another run.dir")
    step = checkpoint_step(checkpoint) if checkpoint else 0

    # Model, EMA, optimizer. The same seed on every process gives every process the same weights.
    set_seed(config.run.seed)
    data = build_data(config.data, config.run.seed)
    vae = load_vae(config.data.vae).to(device) if config.data.vae else None
    model = build_model(config, data, vae)
    if config.model.init_from and checkpoint is None:
        initialize_from(model, config.model.init_from)
    if config.model.gradient_checkpointing:
        model.enable_gradient_checkpointing()
    ema = EMAModel(model.parameters(), decay=config.optim.ema_decay)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.optim.lr, betas=(config.optim.beta1, config.optim.beta2),
        weight_decay=config.optim.weight_decay,
    )
    if deepspeed:  # DeepSpeed cannot infer it without a prepared DataLoader
        accelerator.state.deepspeed_plugin.deepspeed_config["train_micro_batch_size_per_gpu"] = config.optim.batch_size
    model, optimizer = accelerator.prepare(model, optimizer)
    accelerator.register_for_checkpointing(ema)
    scheduler = build_scheduler(config.diffusion)
    null_class = accelerator.unwrap_model(model).config.num_classes

    # From here on each process draws its own noise; a checkpoint restores exactly these streams.
    set_seed(config.run.seed, device_specific=True)
    seconds_before = 0.0
    if checkpoint:
        if main_process:
            seconds_before = start_timeline(run_dir, checkpoint)
        accelerator.wait_for_everyone()
        accelerator.load_state(str(checkpoint))
        ema.to(device)  # accelerate loads custom states onto the CPU
        logger.info(f"resumed from {checkpoint} at step {step}")
    else:
        if resume:
            logger.info(f"no checkpoint in {run_dir / 'checkpoints'} yet: starting from scratch")
        if main_process:  # a log without a checkpoint belongs to an attempt that is being redone
            (run_dir / "log.jsonl").unlink(missing_ok=True)

    global_batch = config.optim.batch_size * config.optim.grad_accum * accelerator.num_processes
    if main_process:
        (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        save_config(config, run_dir / "config.yaml")
        accelerator.unwrap_model(model).save_config(run_dir / MODEL_CONFIG_DIR)
        run_facts = {"data": data.description, "num_processes": accelerator.num_processes, "global_batch": global_batch}
        (run_dir / "run.json").write_text(json.dumps(run_facts, indent=2))
    accelerator.init_trackers("tensorboard")
    num_params = sum(p.numel() for p in model.parameters())
    logger.info(f"{num_params / 1e6:.2f}M parameters, {accelerator.num_processes} process(es), global batch "
                f"{global_batch}, data: {data.description}")
    warning = slow_bf16_warning(device) if config.run.mixed_precision == "bf16" else None
    if warning:
        logger.warning(f"{warning} (run.mixed_precision=no)")

    batches = iter(train_loader(data, config, accelerator, start_batch=step * config.optim.grad_accum))
    previews = main_process and config.run.preview_every > 0
    eval_clips = default_collate([data.eval[i] for i in range(2)]) if previews else None
    preview_pipe = None  # built on first use: a copy of the model that receives the EMA weights
    loss_sum, loss_count = torch.zeros((), device=device), 0
    started = window_start = time.perf_counter()
    window_step = step

    while step < config.run.steps:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, config)
        for _ in range(config.optim.grad_accum):
            batch = next(batches)
            x0 = batch["video"].to(device, non_blocking=True)
            if vae is not None:
                x0 = encode_video(vae, x0)
            labels = None
            if null_class:
                labels = drop_labels(batch["label"].to(device), null_class, config.model.class_dropout)
            with accelerator.accumulate(model):
                loss = diffusion_loss(model, scheduler, x0, labels, config)
                accelerator.backward(loss)
                if accelerator.sync_gradients and config.optim.max_grad_norm > 0:
                    accelerator.clip_grad_norm_(model.parameters(), config.optim.max_grad_norm)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            loss_sum += loss.detach()
            loss_count += 1
        step += 1
        ema.step(accelerator.unwrap_model(model).parameters())
        last = step == config.run.steps

        if step % config.run.log_every == 0 or last:
            mean_loss = accelerator.reduce(loss_sum, "mean").item() / loss_count
            now = time.perf_counter()
            record = {
                "step": step, "loss": mean_loss, "lr": optimizer.param_groups[0]["lr"],
                "clips_per_s": (step - window_step) * global_batch / (now - window_start),
                "seconds": seconds_before + now - started,
            }
            accelerator.log({"loss": mean_loss, "lr": record["lr"], "clips_per_s": record["clips_per_s"]}, step=step)
            if main_process:
                with open(run_dir / "log.jsonl", "a") as log:
                    log.write(json.dumps(record) + "\n")
            logger.info(f"step {step}: loss {mean_loss:.4f}, lr {record['lr']:.2e}, "
                        f"{record['clips_per_s']:.1f} clips/s")
            loss_sum.zero_()
            loss_count, window_start, window_step = 0, now, step

        if previews and (step % config.run.preview_every == 0 or last):
            if preview_pipe is None:
                network = accelerator.unwrap_model(model)
                preview_pipe = make_pipeline(type(network).from_config(network.config).to(device), config, vae)
                preview_pipe.set_progress_bar_config(disable=True)
            ema.copy_to(preview_pipe.denoiser.parameters())
            write_preview(preview_pipe, eval_clips, config, run_dir / "previews" / f"step_{step:07d}")

        if step % config.run.checkpoint_every == 0 or last:
            save_checkpoint(accelerator, run_dir, step, config.run.keep_checkpoints)

    report_processes(accelerator, model, clips=step * config.optim.batch_size * config.optim.grad_accum,
                     run_dir=run_dir)
    bad_files = getattr(data.train, "bad_files", [])
    if bad_files:
        logger.warning(f"skipped {len(bad_files)} unreadable or too short video(s): {', '.join(map(str, bad_files))}")
    if main_process and (run_dir / "log.jsonl").is_file():
        plot_loss(run_dir / "log.jsonl", run_dir / "loss.png")
    if main_process and config.run.export:
        export_run(run_dir, run_dir / "pipeline")
        logger.info(f"exported the EMA model to {run_dir / 'pipeline'}")
    accelerator.wait_for_everyone()
    # The DDP wrapper goes before the process group: freed after it, its reducer drops the group's
    # last reference and gloo's teardown can deadlock (a worker thread waits for the GIL that the
    # joining main thread holds), so a finished rank would never exit.
    del model, optimizer
    accelerator.free_memory()
    accelerator.end_training()  # closes the trackers and the process group
    return run_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train an FVDM video diffusion model.")
    parser.add_argument("--config", help="YAML file (training/configs/*.yaml); defaults apply to missing keys")
    parser.add_argument("--resume", help="'latest' (continue this run.dir; starts fresh if it has no checkpoint) "
                                         "or a checkpoint folder run_dir/checkpoints/step_XXXXXXX")
    parser.add_argument("overrides", nargs="*", help="section.key=value, e.g. optim.lr=3e-4 ptss.p=0.0")
    args = parser.parse_intermixed_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s", level=logging.INFO)
    logging.getLogger("accelerate").setLevel(logging.WARNING)  # it reports every file of every checkpoint
    try:
        train(load_config(args.config, args.overrides), resume=args.resume)
    except FVDMInputError as error:
        raise SystemExit(f"error: {error}") from None


if __name__ == "__main__":
    main()
