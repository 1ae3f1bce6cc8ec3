"""The two denoising networks and the contract the pipeline, trainer and exporter rely on.

Both backbones take `forward(x [B, F, C, H, W], t [B, F], class_labels [B] | None)` and return
[B, F, C_out, H, W]; both are diffusers models whose config holds `sample_size`, `num_frames`,
`in_channels`, `num_classes` and `learn_sigma`. Code outside the networks asks this module which
one a config or a saved folder holds, and never assumes a class.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

import torch

from fvdm.models import PRESETS, FVDMTransformer
from fvdm.unet import UNET_PRESETS, FVDMUNet

# backbone name (as in the trainer's `model.backbone`) -> its class, presets, and the pipeline
# component (and sub-folder) it is saved under, following diffusers' names.
BACKBONES: dict[str, type] = {"transformer": FVDMTransformer, "unet": FVDMUNet}
BACKBONE_PRESETS: dict[str, dict[str, dict]] = {"transformer": PRESETS, "unet": UNET_PRESETS}
DEFAULT_PRESETS = {"transformer": "tiny", "unet": "unet-tiny"}


class FrameAwareDenoiser(Protocol):
    """What the pipeline needs of a network: the forward contract and the config facts."""

    config: Any
    device: torch.device
    dtype: torch.dtype

    def __call__(self, x: torch.Tensor, t: torch.Tensor, class_labels: torch.Tensor | None = None) -> torch.Tensor:
        ...


def backbone_name(model: FrameAwareDenoiser) -> str:
    """"transformer" or "unet" for a network of either class."""
    for name, cls in BACKBONES.items():
        if isinstance(model, cls):
            return name
    raise TypeError(f"{type(model).__name__} is not an fvdm backbone ({', '.join(c.__name__ for c in BACKBONES.values())})")


def build_backbone(backbone: str, preset: str | None = None, **overrides) -> FrameAwareDenoiser:
    """A randomly initialised network: `backbone` "transformer" or "unet", a preset of its own, overrides."""
    if backbone not in BACKBONES:
        raise ValueError(f"unknown backbone {backbone!r}; choose one of {', '.join(BACKBONES)}")
    return BACKBONES[backbone].from_preset(preset or DEFAULT_PRESETS[backbone], **overrides)


def load_backbone_config(folder: str | os.PathLike) -> tuple[type, dict]:
    """The class and config saved in `folder` (a `save_config` / `save_pretrained` folder)."""
    config = FVDMTransformer.load_config(folder)
    for cls in BACKBONES.values():
        if config.get("_class_name") == cls.__name__:
            return cls, config
    raise ValueError(f"{folder} holds a {config.get('_class_name')!r}, not an fvdm backbone")
