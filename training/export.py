"""Export a training run as an `FVDMPipeline` folder with a model card, optionally to the Hub.

    python -m training.export --run runs/synthetic-32 --out models/fvdm-synthetic \\
        [--checkpoint runs/synthetic-32/checkpoints/step_0010000] [--fp16] \\
        [--eval-report report.json] [--push_to_hub owner/name]

The folder holds the EMA weights (safetensors), the scheduler the run trained with and, for
latent runs, the VAE; `FVDMPipeline.from_pretrained(folder)` or `fvdm.load_pipeline(folder)`
loads it. The trainer calls `export_run` itself at the end of a run (into run_dir/pipeline).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import torch
import yaml
from diffusers.training_utils import EMAModel

from fvdm.errors import FVDMInputError
from fvdm.loading import TRAINING_FACTS_FILE
from fvdm.backbones import DEFAULT_PRESETS, FrameAwareDenoiser, backbone_name, load_backbone_config
from fvdm.pipeline import FVDMPipeline
from fvdm.scheduler import FVDMScheduler
from training.config import DiffusionConfig, TrainConfig, config_to_dict, load_config
from training.data import load_vae

# Where accelerate's `save_state` puts the first object registered with `register_for_checkpointing`
# (the trainer registers exactly one: the EMA).
EMA_STATE_FILE = "custom_checkpoint_0.pkl"
# The network's config.json inside a run folder (runs written before the U-Net used "transformer").
MODEL_CONFIG_DIR = "model"


def build_scheduler(config: DiffusionConfig, clip_sample: bool = False) -> FVDMScheduler:
    """The noise schedule a run trains with and ships with."""
    return FVDMScheduler(
        num_train_timesteps=config.num_train_timesteps,
        beta_schedule=config.beta_schedule,
        prediction_type=config.prediction_type,
        variance_type="learned_range" if config.learn_sigma else "fixed_small",
        clip_sample=clip_sample,
        sampler=config.sampler,
    )


def make_pipeline(model: FrameAwareDenoiser, config: TrainConfig, vae=None) -> FVDMPipeline:
    """Pixel-space models clip their clean-frame estimates to [-1, 1] while sampling; latents are unbounded."""
    scheduler = build_scheduler(config.diffusion, clip_sample=vae is None)
    return FVDMPipeline.from_denoiser(model, scheduler, vae=vae, frame_guidance=config.diffusion.frame_guidance)


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint folder that run_dir/checkpoints/latest names (None before the first one)."""
    pointer = run_dir / "checkpoints" / "latest"
    return run_dir / "checkpoints" / pointer.read_text().strip() if pointer.is_file() else None


def checkpoint_step(checkpoint: Path) -> int:
    """The training step of a checkpoint folder, read from its name: step_0064000, or a kept copy
    of it with a suffix, step_0064000-keep."""
    match = re.match(r"step_(\d+)", checkpoint.name)
    if match is None:
        raise FVDMInputError(
            f"{checkpoint} is not named like a checkpoint: the name must start with step_ and the step number"
        )
    return int(match.group(1))


def read_report(path: str | Path) -> dict:
    """An evaluation report (JSON from training.evaluate) with the "markdown" table for the card."""
    try:
        report = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise FVDMInputError(f"could not read the evaluation report {path}: {error}") from error
    if not isinstance(report, dict) or not isinstance(report.get("markdown"), str):
        raise FVDMInputError(f"the evaluation report {path} has no \"markdown\" field")
    return report


def load_ema_model(run_dir: Path, checkpoint: Path) -> FrameAwareDenoiser:
    """The run's network (run_dir/model/config.json, either backbone) with the checkpoint's EMA weights."""
    folder = run_dir / MODEL_CONFIG_DIR
    cls, model_config = load_backbone_config(folder if folder.is_dir() else run_dir / "transformer")
    model = cls.from_config(model_config)
    ema = EMAModel(model.parameters())
    ema.load_state_dict(torch.load(checkpoint / EMA_STATE_FILE, map_location="cpu", weights_only=True))
    ema.copy_to(model.parameters())
    return model.eval()


def export_run(
    run_dir: str | Path,
    out_dir: str | Path,
    checkpoint: str | Path | None = None,
    fp16: bool = False,
    eval_report: str | Path | None = None,
) -> Path:
    """Write the pipeline of `checkpoint` (default: the latest) and its model card into `out_dir`."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    if not (run_dir / "config.yaml").is_file():
        raise FVDMInputError(f"{run_dir} is not a training run (no config.yaml)")
    config = load_config(run_dir / "config.yaml")
    checkpoint = Path(checkpoint) if checkpoint else latest_checkpoint(run_dir)
    if checkpoint is None or not (checkpoint / EMA_STATE_FILE).is_file():
        raise FVDMInputError(f"no complete checkpoint to export in {run_dir} ({checkpoint or 'none yet'})")
    step = checkpoint_step(checkpoint)
    report = read_report(eval_report) if eval_report else None
    vae = load_vae(config.data.vae) if config.data.vae else None
    pipe = make_pipeline(load_ema_model(run_dir, checkpoint), config, vae)
    if fp16:  # storage only: from_pretrained loads float32 unless asked otherwise
        pipe.to(dtype=torch.float16)
    pipe.save_pretrained(out_dir, safe_serialization=True)
    (out_dir / "README.md").write_text(model_card(run_dir, config, pipe, step, report))
    facts = {"step": step, "config": config_to_dict(config)}
    (out_dir / TRAINING_FACTS_FILE).write_text(json.dumps(facts, indent=2) + "\n")
    return out_dir


def network_preset(config: TrainConfig) -> str:
    return config.model.preset or DEFAULT_PRESETS[config.model.backbone]


def network_sizes(network: FrameAwareDenoiser) -> str:
    """The sizes that tell one network of its backbone from another, for the model card."""
    c = network.config
    if backbone_name(network) == "transformer":
        return f"hidden {c.hidden_size}, depth {c.depth}, patch {c.patch_size}"
    widths = "/".join(str(c.base_channels * m) for m in c.channel_mult)
    motion = ["(2+1)-D convolutions"] * c.temporal_conv + ["space-time attention at the lowest level"] * c.spacetime_attention
    return f"channels {widths}, {c.layers_per_level} ResBlock(s) per level" + "".join(f", {m}" for m in motion)


def model_card(run_dir: Path, config: TrainConfig, pipe: FVDMPipeline, step: int, report: dict | None) -> str:
    """README.md for the Hub: front matter, what the model is, how to use it, how it was trained."""
    facts = json.loads((run_dir / "run.json").read_text())
    log = run_dir / "log.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines() if line] if log.is_file() else []
    final_loss = next((r["loss"] for r in reversed(records) if r["step"] <= step), None)
    network = pipe.denoiser
    num_params = sum(p.numel() for p in network.parameters())
    frames, size = network.config.num_frames, pipe.resolution
    ptss = config.ptss
    objectives = []
    if ptss.p > 0:
        objectives.append(f"FVDM: probabilistic timestep sampling with p = {ptss.p} ({ptss.mode} mode)")
    if ptss.p > 0 and ptss.ramp_p > 0:
        objectives.append(f"a share {ptss.ramp_p} of the per-frame draws are ramps (earlier frames cleaner)")
    if ptss.given_p > 0:
        objectives.append(f"given frames (clean, at t = 0, out of the loss) in a share {ptss.given_p} of the clips")
    kind = "; ".join(objectives) or "conventional baseline: one shared timestep per clip (PTSS p = 0)"
    # A model trained on per-frame timesteps makes one frame after another (the order that keeps
    # objects whole, README "Results"); a conventional one is given frames the standard zero-shot
    # way, by replacement.
    plan_options = ', order="sequential"' if objectives else ""
    call_options = "" if objectives else ', conditioning="replacement"'
    space = f"latents of the VAE `{config.data.vae}`" if config.data.vae else "pixels"
    front_matter = {
        "library_name": "diffusers",
        "license": "apache-2.0",
        "pipeline_tag": "image-to-video",
        "tags": ["fvdm", "video-diffusion", "frame-aware", "vectorized-timestep", "diffusers:FVDMPipeline"],
    }
    diffusion, batch = config.diffusion, facts["global_batch"]
    components = f"{type(network).__name__} + FVDMScheduler" + (" + AutoencoderKL" if config.data.vae else "")
    variance = ", learned variance" if diffusion.learn_sigma else ""
    rows = [
        ("pipeline", f"`FVDMPipeline` (`fvdm` package): {components}"),
        ("objective", kind),
        (backbone_name(network), f"preset `{network_preset(config)}`, {num_params / 1e6:.2f}M parameters, {network_sizes(network)}"),
        ("video", f"{frames} frames of {size}x{size}, {config.data.channels} channel(s), diffused in {space}"),
        ("prediction", (f"{diffusion.prediction_type}, {diffusion.beta_schedule} betas, "
                        f"{diffusion.num_train_timesteps} steps{variance}")),
        ("sampling", f"{diffusion.sampler.upper()} by default (`sampler=` picks the other){_guidance_note(diffusion)}"),
        ("classes", str(network.config.num_classes) if network.config.num_classes else "unconditional"),
        ("training", (f"{step} steps at global batch {batch} ({step * batch} clips), "
                      f"{facts['num_processes']} process(es), EMA {config.optim.ema_decay}"
                      + (f", from the weights of `{config.model.init_from}`" if config.model.init_from else ""))),
        ("final training loss", f"{final_loss:.4f}" if final_loss is not None else "n/a"),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    evaluation = report["markdown"].strip() if report else "No evaluation report was given at export time."
    return f"""---
{yaml.safe_dump(front_matter, sort_keys=False).strip()}
---

# {run_dir.name}

A frame-aware video diffusion model (FVDM): the {backbone_name(network)} takes one diffusion timestep per
frame, so one model does unconditional generation, image-to-video, interpolation and long-video
extension, each a different per-frame sampling plan (`fvdm.schedules`).

| | |
| --- | --- |
{table}

## Usage

```python
from fvdm import FVDMPipeline, schedules

pipe = FVDMPipeline.from_pretrained("path/to/this/folder")
plan = schedules.image_to_video(num_frames={frames}, num_steps=25{plan_options})
video = pipe(plan=plan, given={{0: first_frame}}, seed=0{call_options}).frames
# video: [1, {frames}, {size}, {size}, 3], floats in [0, 1]
```

## Training data

Trained on {facts['data']}.

## Evaluation

{evaluation}

## Training configuration

Trained with `python -m training.train` (the `training` package of the fvdm repository):

```yaml
{yaml.safe_dump(config_to_dict(config), sort_keys=False).strip()}
```
"""


def _guidance_note(diffusion: DiffusionConfig) -> str:
    if diffusion.frame_guidance == 1.0:
        return ""
    return f"; guidance {diffusion.frame_guidance:g} towards the given frames (`frame_guidance=1` turns it off)"


def push_to_hub(folder: Path, repo_id: str) -> None:
    from huggingface_hub import create_repo, upload_folder

    create_repo(repo_id, exist_ok=True)
    upload_folder(folder_path=str(folder), repo_id=repo_id, commit_message="Upload FVDM pipeline")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Export a training run as an FVDMPipeline folder.")
    parser.add_argument("--run", required=True, help="the run folder (run.dir of the training config)")
    parser.add_argument("--out", required=True, help="folder to write the pipeline into")
    parser.add_argument("--checkpoint", help="a checkpoint folder of the run (default: the latest)")
    parser.add_argument("--fp16", action="store_true", help="store the weights in float16 (half the size)")
    parser.add_argument("--eval-report", help="JSON from training.evaluate with a 'markdown' field for the card")
    parser.add_argument("--push_to_hub", metavar="REPO", help="also upload the folder to this Hub repository")
    args = parser.parse_args(argv)
    try:
        out = export_run(args.run, args.out, args.checkpoint, fp16=args.fp16, eval_report=args.eval_report)
    except FVDMInputError as error:
        raise SystemExit(f"error: {error}") from None
    print(f"wrote {out}")
    if args.push_to_hub:
        push_to_hub(out, args.push_to_hub)
        print(f"uploaded to https://huggingface.co/{args.push_to_hub}")


if __name__ == "__main__":
    main()
