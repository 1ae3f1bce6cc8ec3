"""`info`: describe a model, its network's config and what it means (window, resolution, classes,
size, scheduler). `convert` prints the same description of what it wrote."""

from __future__ import annotations

import argparse

import torch

from fvdm.cli.arguments import add_model_options
from fvdm.loading import load_pipeline
from fvdm.pipeline import FVDMPipeline


def add_parser(commands) -> None:
    """The `info` subcommand: a model to describe."""
    sub = commands.add_parser("info", help="describe a model", description="Print a model's config and size.")
    sub.set_defaults(handler=run)
    add_model_options(sub)


def run(args: argparse.Namespace) -> None:
    """Load the model on the CPU and print where it came from and its description."""
    pipe = load_pipeline(args.model, device="cpu", vae=args.vae)
    print(f"model: {args.model or 'fvdm (bundled)'}")
    print("\n".join(describe(pipe)))


def describe(pipe: FVDMPipeline) -> list[str]:
    """The network's config, then what it means: window, resolution, classes, size, scheduler."""
    network = pipe.denoiser  # whatever its class: transformer or U-Net
    name = type(network).__name__
    config = network.config
    lines = [f"{name} config:"] + [f"  {key}: {value}" for key, value in config.items() if not key.startswith("_")]
    if pipe.vae is None:
        space = "pixel space"
    else:
        space = f"VAE latents: {config.sample_size}x{config.sample_size}x{config.in_channels}, x{pipe.vae_scale_factor}"
    if pipe.num_classes:
        classes = f"{pipe.num_classes} (--class 0..{pipe.num_classes - 1}; --guidance works)"
    else:
        classes = "none (unconditional)"
    parameters = f"{count_parameters(network):,} ({name})"
    if pipe.vae is not None:
        parameters += f" + {count_parameters(pipe.vae):,} (VAE)"
    scheduler = pipe.scheduler.config
    return lines + [
        f"frames per window: {pipe.num_frames}",
        f"resolution: {pipe.resolution}x{pipe.resolution} px ({space})",
        f"classes: {classes}",
        f"parameters: {parameters}",
        (
            f"scheduler: {scheduler.prediction_type} prediction, {scheduler.beta_schedule} betas, "
            f"{scheduler.variance_type} variance, clip_sample={scheduler.clip_sample}"
        ),
        f"sampling: {scheduler.sampler.upper()} steps, frame guidance {pipe.config.frame_guidance:g} (1 = off)",
    ]


def count_parameters(model: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())
