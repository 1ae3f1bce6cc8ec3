"""FVDMUNet: a pixel-space video U-Net whose timestep is a vector, one value per frame.

The layout of a DDPM U-Net (2-D ResBlocks at every resolution, skip connections, attention at
the low resolutions), made frame-aware and given a path for motion:

    t [B, F] --sin-cos + MLP--> e [B, F, E]   (+ class embedding [B, E], broadcast over frames)

* every ResBlock is FiLM-modulated (scale, shift) by its *own frame's* e[b, f], so a frame at
  t = 0 and a frame at t = 999 in the same clip are processed as what they are;
* motion: each ResBlock can end with a temporal convolution over 3 neighbouring frames at every
  pixel ((2+1)-D), attention over the frames at one pixel (`temporal_attention` levels), and one
  full space-time attention over every pixel of every frame at the lowest resolution
  (`spacetime_attention`: 8 x 8 x 16 frames = 1,024 tokens at 32 x 32).

Every block that mixes frames or pixels starts as the identity (zero-initialised output), and
every attention block is modulated per frame too, so the network starts as a per-frame image
denoiser and learns how frames talk to each other.

`forward(x [B, F, C, H, W], t [B, F] (or [B], or a scalar), class_labels [B] | None)` returns
[B, F, C_out, H, W], the same contract and config facts (`sample_size`, `num_frames`,
`in_channels`, `num_classes`, `learn_sigma`) as `FVDMTransformer`, so the pipeline, the trainer
and the exporter take either.

Shapes: B batch, F frames, C channels, H x W frame size; blocks work on [B * F, C, H, W].
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from fvdm.attention import dot_product_attention
from fvdm.timesteps import expand_timesteps

# name -> U-Net sizes. Levels are counted from the first (after the patch step) down. "unet-cpu"
# is the bundled models' size (3.7M parameters; at 32 x 32 its levels are 16, 8 and 4 pixels wide),
# the larger ones are for GPUs and 64 px and up.
UNET_PRESETS: dict[str, dict] = {
    "unet-tiny": dict(patch_size=1, base_channels=16, channel_mult=(1, 2), layers_per_level=1,
                      temporal_attention=(1,), spatial_attention=(), spacetime_attention=True, head_channels=16),
    "unet-cpu": dict(patch_size=2, base_channels=32, channel_mult=(1, 2, 4), layers_per_level=1,
                     temporal_attention=(1, 2), spatial_attention=(2,), spacetime_attention=True, head_channels=32),
    "unet-S": dict(patch_size=2, base_channels=64, channel_mult=(1, 2, 3, 4), layers_per_level=2,
                   temporal_attention=(1, 2, 3), spatial_attention=(2, 3), spacetime_attention=True, head_channels=64),
    "unet-B": dict(patch_size=2, base_channels=128, channel_mult=(1, 2, 3, 4), layers_per_level=2,
                   temporal_attention=(1, 2, 3), spatial_attention=(2, 3), spacetime_attention=True, head_channels=64),
}


def timestep_features(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Integer timesteps [...] -> sinusoidal features [..., dim] (cos then sin, periods up to 10,000)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[..., None] * freqs
    return torch.cat([angles.cos(), angles.sin()], dim=-1)


def frame_positions(frames: int, dim: int, device: torch.device) -> torch.Tensor:
    """Fixed sin-cos embedding of the frame index: [F, dim]."""
    return timestep_features(torch.arange(frames, device=device), dim)


def group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, channels // 4) or 1, channels, eps=1e-6)


def zero(module: nn.Module) -> nn.Module:
    """Zero a layer's parameters, so the residual branch it closes starts as nothing."""
    for parameter in module.parameters():
        nn.init.zeros_(parameter)
    return module


class FrameFiLM(nn.Module):
    """Per-frame scale and shift from the frame's embedding: e [B * F, E] -> two [B * F, C, 1, 1]."""

    def __init__(self, embed_dim: int, channels: int):
        super().__init__()
        self.proj = zero(nn.Linear(embed_dim, 2 * channels))

    def forward(self, h: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        scale, shift = self.proj(F.silu(e)).chunk(2, dim=-1)
        shape = (h.shape[0], h.shape[1]) + (1,) * (h.dim() - 2)
        return h * (1 + scale.reshape(shape)) + shift.reshape(shape)


class TemporalConv(nn.Module):
    """A convolution over 3 neighbouring frames at every pixel: [B * F, C, H, W] -> same."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = group_norm(channels)
        self.conv = zero(nn.Conv3d(channels, channels, kernel_size=(3, 1, 1), padding=(1, 0, 0)))

    def forward(self, h: torch.Tensor, frames: int) -> torch.Tensor:
        bf, c, height, width = h.shape
        x = F.silu(self.norm(h)).reshape(bf // frames, frames, c, height, width).transpose(1, 2)  # [B, C, F, H, W]
        out = self.conv(x).transpose(1, 2).reshape(bf, c, height, width)
        return h + out


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv, FiLM by the frame's embedding, GroupNorm-SiLU-conv, skip; then (2+1)-D."""

    def __init__(self, in_channels: int, out_channels: int, embed_dim: int, temporal_conv: bool):
        super().__init__()
        self.norm1 = group_norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm2 = group_norm(out_channels)
        self.film = FrameFiLM(embed_dim, out_channels)
        self.conv2 = zero(nn.Conv2d(out_channels, out_channels, 3, padding=1))
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()
        self.temporal = TemporalConv(out_channels) if temporal_conv else None

    def forward(self, x: torch.Tensor, e: torch.Tensor, frames: int) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.film(self.norm2(h), e)))
        h = self.skip(x) + h
        return self.temporal(h, frames) if self.temporal is not None else h


class FrameAttention(nn.Module):
    """Multi-head self-attention over tokens grouped one of three ways, modulated per frame.

    `over="space"`: the pixels of one frame, [B * F, H * W]; `"time"`: the frames at one pixel,
    [B * H * W, F]; `"spacetime"`: every pixel of every frame of a clip, [B, F * H * W]. Time and
    space-time tokens carry a fixed frame-index embedding; convolutions already locate pixels.
    """

    def __init__(self, channels: int, embed_dim: int, head_channels: int, over: str):
        super().__init__()
        self.over = over
        self.heads = max(1, channels // head_channels)
        self.norm = group_norm(channels)
        self.film = FrameFiLM(embed_dim, channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.out = zero(nn.Linear(channels, channels))

    def forward(self, h: torch.Tensor, e: torch.Tensor, frames: int) -> torch.Tensor:
        bf, c, height, width = h.shape
        batch, pixels = bf // frames, height * width
        x = self.film(self.norm(h), e)
        x = x.reshape(batch, frames, c, pixels).permute(0, 1, 3, 2)  # [B, F, P, C]
        if self.over != "space":
            x = x + frame_positions(frames, c, h.device).to(x.dtype)[None, :, None]
        if self.over == "space":
            tokens = x.reshape(batch * frames, pixels, c)
        elif self.over == "time":
            tokens = x.transpose(1, 2).reshape(batch * pixels, frames, c)
        else:
            tokens = x.reshape(batch, frames * pixels, c)
        q, k, v = self.qkv(tokens).reshape(tokens.shape[0], tokens.shape[1], 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        attended = dot_product_attention(q, k, v).transpose(1, 2).reshape(tokens.shape)
        out = self.out(attended)
        if self.over == "time":
            out = out.reshape(batch, pixels, frames, c).transpose(1, 2)
        out = out.reshape(batch, frames, pixels, c).permute(0, 1, 3, 2).reshape(bf, c, height, width)
        return h + out


class Level(nn.Module):
    """The blocks at one resolution: ResBlocks, each followed by this level's attention blocks."""

    def __init__(self, channels_in: list[int], channels: int, embed_dim: int, head_channels: int,
                 attention: tuple[str, ...], temporal_conv: bool):
        super().__init__()
        self.resblocks = nn.ModuleList(ResBlock(c_in, channels, embed_dim, temporal_conv) for c_in in channels_in)
        self.attentions = nn.ModuleList(
            nn.ModuleList(FrameAttention(channels, embed_dim, head_channels, over) for over in attention)
            for _ in channels_in
        )


class FVDMUNet(ModelMixin, ConfigMixin):
    """Video U-Net with a vectorized timestep: `forward(x [B,F,C,H,W], t [B,F]) -> [B,F,C_out,H,W]`.

    `C_out = 2 * in_channels` when `learn_sigma`. `num_classes > 0` adds class conditioning with a
    null class at index `num_classes`, as in `FVDMTransformer`.
    """

    _supports_gradient_checkpointing = False

    @register_to_config
    def __init__(
        self,
        sample_size: int = 32,
        num_frames: int = 16,
        in_channels: int = 3,
        patch_size: int = 1,
        base_channels: int = 32,
        channel_mult: tuple[int, ...] = (1, 2, 2),
        layers_per_level: int = 1,
        temporal_conv: bool = True,
        temporal_attention: tuple[int, ...] = (1, 2),
        spatial_attention: tuple[int, ...] = (2,),
        spacetime_attention: bool = True,
        head_channels: int = 32,
        num_classes: int = 0,
        learn_sigma: bool = False,
    ):
        super().__init__()
        levels = len(channel_mult)
        if sample_size % (patch_size * 2 ** (levels - 1)):
            raise ValueError(f"sample_size {sample_size} must be divisible by patch_size * 2^{levels - 1} "
                             f"= {patch_size * 2 ** (levels - 1)} for {levels} levels")
        if any(level >= levels for level in (*temporal_attention, *spatial_attention)):
            raise ValueError(f"attention levels must lie in 0..{levels - 1}; got {temporal_attention}, {spatial_attention}")
        self.out_channels = 2 * in_channels if learn_sigma else in_channels
        embed_dim = 4 * base_channels
        self.time_mlp = nn.Sequential(nn.Linear(base_channels, embed_dim), nn.SiLU(), nn.Linear(embed_dim, embed_dim))
        self.label_embedding = nn.Embedding(num_classes + 1, embed_dim) if num_classes > 0 else None
        self.conv_in = nn.Conv2d(in_channels * patch_size**2, base_channels, 3, padding=1)

        def attention(level: int) -> tuple[str, ...]:
            return ("space",) * (level in spatial_attention) + ("time",) * (level in temporal_attention)

        widths = [base_channels * m for m in channel_mult]
        skips = [base_channels]  # channels of every skip the down path stores, in order
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        channels = base_channels
        for level, width in enumerate(widths):
            inputs = [channels] + [width] * (layers_per_level - 1)
            self.down.append(Level(inputs, width, embed_dim, head_channels, attention(level), temporal_conv))
            channels = width
            skips += [width] * layers_per_level
            if level < levels - 1:
                self.downsample.append(nn.Conv2d(width, width, 3, stride=2, padding=1))
                skips.append(width)

        middle = ("spacetime",) if spacetime_attention else attention(levels - 1)
        self.middle = Level([channels, channels], channels, embed_dim, head_channels, (), temporal_conv)
        self.middle_attention = nn.ModuleList(FrameAttention(channels, embed_dim, head_channels, over) for over in middle)

        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for level in reversed(range(levels)):
            width = widths[level]
            inputs = []
            for _ in range(layers_per_level + 1):
                inputs.append(channels + skips.pop())
                channels = width
            self.up.append(Level(inputs, width, embed_dim, head_channels, attention(level), temporal_conv))
            if level > 0:
                self.upsample.append(nn.Conv2d(width, width, 3, padding=1))
        self.norm_out = group_norm(channels)
        self.conv_out = zero(nn.Conv2d(channels, self.out_channels * patch_size**2, 3, padding=1))

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "FVDMUNet":
        """Build a randomly initialised U-Net from a named size in `UNET_PRESETS`, e.g. `"unet-cpu"`."""
        if name not in UNET_PRESETS:
            raise ValueError(f"unknown U-Net preset {name!r}; choose one of {', '.join(UNET_PRESETS)}")
        return cls(**{**UNET_PRESETS[name], **overrides})

    def conditioning(self, t: torch.Tensor, class_labels: torch.Tensor | None, batch: int, frames: int) -> torch.Tensor:
        """Per-frame embedding e [B, F, E] from t (scalar, [B] or [B, F]) and optional labels [B]."""
        t = expand_timesteps(t, batch, frames, self.conv_in.weight.device)
        e = self.time_mlp(timestep_features(t, self.config.base_channels))
        if self.label_embedding is not None:
            if class_labels is None:
                class_labels = torch.full((batch,), self.config.num_classes, device=e.device)
            e = e + self.label_embedding(class_labels.to(e.device))[:, None]
        return e

    @staticmethod
    def _level(level: Level, h: torch.Tensor, e: torch.Tensor, frames: int, skips: list | None,
               stored: list | None) -> torch.Tensor:
        """Run one level; the up path pops a skip before each ResBlock, the down path stores after."""
        for resblock, attentions in zip(level.resblocks, level.attentions):
            if skips is not None:
                h = torch.cat([h, skips.pop()], dim=1)
            h = resblock(h, e, frames)
            for attention in attentions:
                h = attention(h, e, frames)
            if stored is not None:
                stored.append(h)
        return h

    def forward(self, x: torch.Tensor, t: torch.Tensor, class_labels: torch.Tensor | None = None) -> torch.Tensor:
        batch, frames, channels, height, width = x.shape
        if frames > self.config.num_frames:
            raise ValueError(f"this model was built for at most {self.config.num_frames} frames; got {frames}")
        e = self.conditioning(t, class_labels, batch, frames)
        e = e.to(self.conv_in.weight.dtype).reshape(batch * frames, -1)  # [B * F, E]

        p = self.config.patch_size
        pixels = F.pixel_unshuffle(x.reshape(batch * frames, channels, height, width), p)  # [B * F, C p^2, H/p, W/p]
        h = self.conv_in(pixels)  # [B * F, c, H/p, W/p]
        skips = [h]
        for index, level in enumerate(self.down):
            h = self._level(level, h, e, frames, None, skips)
            if index < len(self.downsample):
                h = self.downsample[index](h)
                skips.append(h)
        for resblock in self.middle.resblocks[:1]:
            h = resblock(h, e, frames)
        for attention in self.middle_attention:
            h = attention(h, e, frames)
        for resblock in self.middle.resblocks[1:]:
            h = resblock(h, e, frames)
        for index, level in enumerate(self.up):
            h = self._level(level, h, e, frames, skips, None)
            if index < len(self.upsample):
                h = self.upsample[index](F.interpolate(h, scale_factor=2.0, mode="nearest"))
        out = F.pixel_shuffle(self.conv_out(F.silu(self.norm_out(h))), p)
        return out.reshape(batch, frames, self.out_channels, height, width)
