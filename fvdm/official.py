"""Load checkpoints written by the official FVDM trainer.

Those files are torch `.pt` archives holding `{"ema": state_dict}` (sometimes the bare state
dict, sometimes with a `_orig_mod.` or `module.` prefix from torch.compile / DDP). They carry no
config, so the model shape is read off the tensors. They are opened with
`torch.load(weights_only=True)`: no pickled code from the file ever runs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch

from fvdm.errors import FVDMInputError
from fvdm.models import FVDMTransformer
from fvdm.pipeline import FVDMPipeline
from fvdm.scheduler import FVDMScheduler

PREFIXES = ("_orig_mod.", "module.")


def read_official_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The EMA weights of an official checkpoint, with compile / DDP prefixes removed."""
    path = Path(path)
    if not path.is_file():
        raise FVDMInputError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a bad archive; all mean "unreadable"
        raise FVDMInputError(f"cannot read {path} as a weights-only torch checkpoint: {error}") from error
    state = payload.get("ema", payload) if isinstance(payload, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise FVDMInputError(f"{path} holds no state dict (expected {{'ema': state_dict}})")
    cleaned = {}
    for key, value in state.items():
        for prefix in PREFIXES:
            key = key.removeprefix(prefix)
        cleaned[key] = value
    return cleaned


def infer_config(state: dict[str, torch.Tensor], num_heads: int | None = None) -> dict:
    """FVDMTransformer config from the tensors' shapes.

    Heads are not stored: the official sizes use 64-dim heads except XL (1152 wide, 16 heads).
    """
    try:
        patch_weight = state["x_embedder.proj.weight"]  # [D, C, p, p]
        hidden, in_channels, patch = patch_weight.shape[:3]
        grid = int(round(state["pos_embed"].shape[1] ** 0.5))
        out_features = state["final_layer.linear.weight"].shape[0]
        fc1 = state["blocks_spatial.0.mlp.fc1.weight"]
        num_frames = state["temp_embed"].shape[1]
    except KeyError as error:
        raise FVDMInputError(f"not an FVDM checkpoint: tensor {error.args[0]} is missing") from error
    pairs = {int(m.group(1)) for key in state if (m := re.match(r"blocks_spatial\.(\d+)\.", key))}
    num_classes = state["y_embedder.embedding_table.weight"].shape[0] - 1 if "y_embedder.embedding_table.weight" in state else 0
    if num_heads is None:
        num_heads = 16 if hidden == 1152 else max(1, hidden // 64)
    if hidden % num_heads:
        raise FVDMInputError(f"{num_heads} attention heads do not divide the width {hidden}; pass a divisor of {hidden}")
    return dict(
        sample_size=grid * patch,
        num_frames=num_frames,
        in_channels=in_channels,
        patch_size=patch,
        hidden_size=hidden,
        depth=2 * len(pairs),
        num_heads=num_heads,
        mlp_ratio=fc1.shape[0] / hidden,
        num_classes=num_classes,
        learn_sigma=out_features == 2 * in_channels * patch * patch,
    )


def load_official_transformer(path: str | os.PathLike, num_heads: int | None = None) -> FVDMTransformer:
    """An FVDMTransformer with the official checkpoint's EMA weights (strict: every tensor used)."""
    state = read_official_state_dict(path)
    model = FVDMTransformer(**infer_config(state, num_heads))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise FVDMInputError(
            f"{path} does not match the FVDM layout: missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}"
        )
    return model


def pipeline_from_official_checkpoint(path: str | os.PathLike, vae=None, num_heads: int | None = None):
    """A ready FVDMPipeline: the official diffusion settings (linear betas, epsilon, learned variance)."""
    transformer = load_official_transformer(path, num_heads)
    scheduler = FVDMScheduler(
        variance_type="learned_range" if transformer.config.learn_sigma else "fixed_small",
        clip_sample=transformer.config.in_channels == 3,
    )
    autoencoder = None
    if vae is not None:
        from diffusers import AutoencoderKL

        try:
            autoencoder = AutoencoderKL.from_pretrained(vae)
        except (OSError, ValueError) as error:  # diffusers' "no config.json" / bad repo id
            raise FVDMInputError(f"cannot load the VAE from {vae}: {str(error).splitlines()[0]}") from error
    elif transformer.config.in_channels != 3:
        raise FVDMInputError(
            f"{path} works in a VAE latent space ({transformer.config.in_channels} channels); pass the VAE it was "
            "trained with (for the paper's models a local copy of stabilityai/sd-vae-ft-ema) as vae= / --vae"
        )
    return FVDMPipeline(transformer=transformer, scheduler=scheduler, vae=autoencoder)
