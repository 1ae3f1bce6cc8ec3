"""Training configuration: nested dataclasses, read from YAML and `section.key=value` overrides.

    config = load_config("training/configs/tiny.yaml", ["optim.lr=3e-4", "ptss.p=0.0"])

Every key has a default here, so a YAML file lists only what it changes. Values are checked
against the annotations (int, float, bool, str, `X | None`, `Literal[...]`) and a few ranges;
anything wrong -- an unknown key, a wrong type, an impossible value -- raises `FVDMInputError`
with one line that names the key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from fvdm.errors import FVDMInputError
from fvdm.pipeline import MAX_FRAME_GUIDANCE


@dataclass
class ModelConfig:
    """The network: a backbone, a size from its presets (`fvdm.PRESETS` for the transformer,
    `fvdm.UNET_PRESETS` for the U-Net), optionally with some of that size's fields replaced.

    Frames, frame size and channels are not set here: they follow the data section (and the VAE).
    """

    backbone: Literal["transformer", "unet"] = "transformer"
    preset: str | None = None  # None: the backbone's smallest ("tiny" / "unet-tiny")
    # transformer sizes
    hidden_size: int | None = None
    depth: int | None = None
    num_heads: int | None = None
    patch_size: int | None = None
    mlp_ratio: float = 4.0
    # U-Net sizes
    base_channels: int | None = None
    layers_per_level: int | None = None
    temporal_conv: bool | None = None  # a convolution over 3 neighbouring frames in every ResBlock
    spacetime_attention: bool | None = None  # full space-time attention at the lowest resolution
    class_conditional: bool = False  # condition on the data's labels (classes come from the data)
    class_dropout: float = 0.1  # share of labels replaced by the null class, for classifier-free guidance
    gradient_checkpointing: bool = False
    # start a new run from the network of a saved pipeline (an exported run, "fvdm", a Hub id)
    init_from: str | None = None

    def overrides(self) -> dict:
        """The size fields this config sets for its backbone (None means: the preset's)."""
        names = {
            "transformer": ("hidden_size", "depth", "num_heads", "patch_size", "mlp_ratio"),
            "unet": ("base_channels", "layers_per_level", "temporal_conv", "spacetime_attention"),
        }[self.backbone]
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}


@dataclass
class DiffusionConfig:
    num_train_timesteps: int = 1000
    beta_schedule: Literal["linear", "scaled_linear", "cosine"] = "linear"
    prediction_type: Literal["epsilon", "v_prediction"] = "epsilon"
    learn_sigma: bool = False  # also learn the variance (IDDPM hybrid loss: MSE + variational bound)
    # min_snr: weigh each frame's loss by min(SNR_t, gamma) relative to the target's own weighting
    # (Hang et al. 2023), which moves effort from nearly clean frames to noisy ones
    loss_weighting: Literal["none", "min_snr"] = "none"
    min_snr_gamma: float = 5.0
    sampler: Literal["ddim", "ddpm"] = "ddim"  # the exported model's default sampling step (and the previews')
    frame_guidance: float = 1.0  # the exported model's default pull towards given frames, 1 = off (and the previews')


@dataclass
class DataConfig:
    kind: Literal["synthetic", "folder"] = "synthetic"
    num_frames: int = 16
    size: int = 32  # frame side in pixels (square frames)
    channels: Literal[1, 3] = 3  # 1: grayscale (luma)
    num_workers: int = 0  # DataLoader worker processes
    # kind: synthetic (training.synthetic)
    min_objects: int = 1
    max_objects: int = 3
    label: Literal["shape", "count"] = "shape"
    train_clips: int | None = None  # None: a fresh clip for every sample; N: cycle through N clips
    # kind: folder (training.data.VideoFolderDataset)
    root: str | None = None
    stride: int = 1  # take every stride-th frame
    hflip: bool = False
    val_fraction: float = 0.1  # used when root has no train/ and val/ sub-folders
    labels: Literal["none", "folder"] = "none"  # folder: the class is the first sub-folder's name
    # latent space: a diffusers AutoencoderKL (local folder or Hub id); None trains on pixels
    vae: str | None = None


@dataclass
class PTSSConfig:
    """Probabilistic timestep sampling: with probability p, every frame gets its own timestep."""

    p: float = 0.2
    mode: Literal["batch", "sample"] = "batch"  # batch: one coin per step (official); sample: one per clip
    # Share of clips trained the way the conditional tasks sample: some frames given clean at t = 0
    # (a prefix, both ends or scattered keyframes) and left out of the loss. 0 is the paper's PTSS.
    given_p: float = 0.0
    # Share of the per-frame clips whose timesteps rise along the clip (earlier frames cleaner), the
    # state the pyramid and sequential frame orders sample in; 0 draws only independent ones.
    ramp_p: float = 0.0


@dataclass
class OptimConfig:
    lr: float = 1e-4
    weight_decay: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.999
    schedule: Literal["constant", "cosine"] = "constant"  # after the linear warm-up
    warmup_steps: int = 0
    min_lr: float = 0.0  # where the cosine schedule ends
    max_grad_norm: float = 1.0  # 0 disables clipping
    batch_size: int = 8  # clips per process and micro-batch
    grad_accum: int = 1  # micro-batches per optimizer step
    ema_decay: float = 0.9999


@dataclass
class RunConfig:
    dir: str = "runs/default"
    steps: int = 1000  # optimizer steps
    seed: int = 0
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    log_every: int = 10
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    preview_every: int = 0  # 0: no previews
    preview_steps: int = 10  # sampling steps per preview video
    export: bool = True  # write run_dir/pipeline at the end


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    data: DataConfig = field(default_factory=DataConfig)
    ptss: PTSSConfig = field(default_factory=PTSSConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)


def load_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> TrainConfig:
    """Defaults, then the YAML file at `path`, then `section.key=value` overrides (YAML values)."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FVDMInputError(f"config file {path} does not exist")
        data = yaml.safe_load(path.read_text()) or {}
        if not isinstance(data, dict):
            raise FVDMInputError(f"{path} must hold a mapping of sections (model:, data:, ...)")
    for override in overrides:
        apply_override(data, override)
    return config_from_dict(data)


def apply_override(data: dict[str, Any], override: str) -> None:
    """Set `section.key=value` in the nested dict `data`; the value is parsed as YAML."""
    key, sep, raw = override.partition("=")
    parts = key.strip().split(".")
    if not sep or len(parts) != 2 or not all(parts):
        raise FVDMInputError(f"override {override!r} must look like section.key=value, e.g. optim.lr=3e-4")
    section = data.setdefault(parts[0], {})
    if not isinstance(section, dict):
        raise FVDMInputError(f"config section {parts[0]!r} must be a mapping")
    section[parts[1]] = yaml.safe_load(raw) if raw.strip() else None


def config_from_dict(data: Mapping[str, Any]) -> TrainConfig:
    """Build and check a `TrainConfig` from nested mappings; missing keys keep their defaults."""
    sections = {}
    for name, value in data.items():
        section_type = _field_types(TrainConfig).get(name)
        if section_type is None:
            sections = ", ".join(_field_types(TrainConfig))
            raise FVDMInputError(f"unknown config section {name!r}; sections are {sections}")
        if not isinstance(value, Mapping):
            raise FVDMInputError(f"config section {name!r} must be a mapping of keys, got {value!r}")
        sections[name] = _build_section(name, section_type, value)
    config = TrainConfig(**sections)
    check_config(config)
    return config


def config_to_dict(config: TrainConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)


def save_config(config: TrainConfig, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(config_to_dict(config), sort_keys=False))


def _field_types(cls: type) -> dict[str, Any]:
    """Field name -> resolved annotation (the module uses postponed annotations)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _build_section(section: str, cls: type, values: Mapping[str, Any]):
    annotations = _field_types(cls)
    kwargs = {}
    for key, value in values.items():
        if key not in annotations:
            raise FVDMInputError(f"unknown config key '{section}.{key}'; {section} has {', '.join(annotations)}")
        kwargs[key] = _coerce(f"{section}.{key}", value, annotations[key])
    return cls(**kwargs)


def _coerce(key: str, value: Any, expected: Any) -> Any:
    """`value` checked (and int -> float widened) against the annotation `expected`."""
    if typing.get_origin(expected) in (typing.Union, types.UnionType):
        options = typing.get_args(expected)
        if value is None and type(None) in options:
            return None
        (expected,) = [option for option in options if option is not type(None)]
    if typing.get_origin(expected) is Literal:
        choices = typing.get_args(expected)
        if value is False and "no" in choices:  # YAML 1.1 reads a bare `no` as false
            return "no"
        if not isinstance(value, bool) and value in choices:
            return value
        raise FVDMInputError(f"{key} must be one of {', '.join(map(str, choices))}; got {value!r}")
    if expected is float:
        if isinstance(value, str):  # YAML 1.1 reads "3e-4" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif isinstance(value, expected) and not (expected is int and isinstance(value, bool)):
        return value
    raise FVDMInputError(f"{key} must be {expected.__name__}; got {value!r}")


def check_config(config: TrainConfig) -> None:
    """Ranges and combinations that the types alone do not rule out."""
    m, d, data, o, r = config.model, config.diffusion, config.data, config.optim, config.run
    rules = [
        (0 <= config.ptss.p <= 1, "ptss.p must lie in [0, 1]"),
        (0 <= config.ptss.given_p <= 1, "ptss.given_p must lie in [0, 1]"),
        (0 <= config.ptss.ramp_p <= 1, "ptss.ramp_p must lie in [0, 1]"),
        (0 <= m.class_dropout < 1, "model.class_dropout must lie in [0, 1)"),
        (m.backbone == "transformer" or not m.gradient_checkpointing,
         "model.gradient_checkpointing is for the transformer backbone only"),
        (d.num_train_timesteps >= 2, "diffusion.num_train_timesteps must be at least 2"),
        (d.min_snr_gamma > 0, "diffusion.min_snr_gamma must be > 0"),
        (1 <= d.frame_guidance <= MAX_FRAME_GUIDANCE,
         f"diffusion.frame_guidance must lie in [1, {MAX_FRAME_GUIDANCE:g}] (1 = off)"),
        (data.num_frames >= 3, "data.num_frames must be at least 3 (previews interpolate between two frames)"),
        (data.size >= 8, "data.size must be at least 8"),
        (data.stride >= 1 and data.num_workers >= 0, "data.stride must be >= 1 and data.num_workers >= 0"),
        (0 <= data.val_fraction < 1, "data.val_fraction must lie in [0, 1)"),
        (data.train_clips is None or data.train_clips >= 1, "data.train_clips must be at least 1 (or null)"),
        (data.train_clips is None or data.kind == "synthetic", "data.train_clips applies to synthetic data only"),
        (data.kind != "folder" or data.root is not None, "data.kind: folder needs data.root, the video folder"),
        (data.vae is None or data.channels == 3, "a VAE encodes RGB: set data.channels: 3 with data.vae"),
        (not m.class_conditional or data.kind == "synthetic" or data.labels == "folder",
         "model.class_conditional with folder data needs data.labels: folder"),
        (o.lr > 0 and 0 <= o.min_lr <= o.lr, "optim.lr must be > 0 and optim.min_lr in [0, lr]"),
        (o.batch_size >= 1 and o.grad_accum >= 1, "optim.batch_size and optim.grad_accum must be at least 1"),
        (o.warmup_steps >= 0 and o.max_grad_norm >= 0, "optim.warmup_steps and optim.max_grad_norm must be >= 0"),
        (0 <= o.ema_decay <= 1, "optim.ema_decay must lie in [0, 1]"),
        (r.steps >= 1 and r.log_every >= 1, "run.steps and run.log_every must be at least 1"),
        (r.checkpoint_every >= 1 and r.keep_checkpoints >= 1,
         "run.checkpoint_every and run.keep_checkpoints must be at least 1"),
        (r.preview_every >= 0 and r.preview_steps >= 1, "run.preview_every must be >= 0 and run.preview_steps >= 1"),
    ]
    for ok, message in rules:
        if not ok:
            raise FVDMInputError(message)
