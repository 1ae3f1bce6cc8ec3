"""FVDMTransformer: a video DiT whose timestep is a vector, one value per frame.

Latte-style layout: patchify every frame, then alternate spatial blocks (attention over the
patches of one frame) and temporal blocks (attention over the frames at one patch position).
Every block is modulated with adaLN-Zero by a *per-frame* conditioning vector c[b, f]:

    t [B, F] --sin-cos + MLP--> c [B, F, D]   (+ class embedding [B, D], broadcast over frames)

Spatial blocks see each frame with its own c; temporal blocks modulate each frame of a temporal
sequence by that frame's c (token-wise). The modulation is computed once on [B, F, D] and
broadcast over patches, never per patch. Parameter names follow the official FVDM trainer so
that its checkpoints load by name (see `fvdm.official`).

Shapes: B batch, F frames, C channels, H x W frame size, p patch, P = (H/p)(W/p) patches, D width.
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

# name -> (hidden_size, num_heads, depth, patch_size); depth counts spatial + temporal blocks.
PRESETS: dict[str, dict[str, int]] = {
    "tiny": dict(hidden_size=64, num_heads=2, depth=2, patch_size=4),
    "cpu-small": dict(hidden_size=192, num_heads=3, depth=8, patch_size=4),
    "T/2": dict(hidden_size=192, num_heads=3, depth=6, patch_size=2),
    "S/2": dict(hidden_size=384, num_heads=6, depth=12, patch_size=2),
    "B/2": dict(hidden_size=768, num_heads=12, depth=12, patch_size=2),
    "L/2": dict(hidden_size=1024, num_heads=16, depth=24, patch_size=2),
    "XL/2": dict(hidden_size=1152, num_heads=16, depth=28, patch_size=2),
}


def sincos_1d(dim: int, positions: torch.Tensor) -> torch.Tensor:
    """Fixed sin-cos embedding of float positions [N] -> [N, dim] (first half sin, second cos)."""
    freqs = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2))
    angles = positions.double()[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1).float()


def sincos_2d(dim: int, grid_h: int, grid_w: int) -> torch.Tensor:
    """Fixed 2-D sin-cos embedding [grid_h * grid_w, dim], tokens in row-major (h, w) order."""
    ys, xs = torch.meshgrid(torch.arange(grid_h), torch.arange(grid_w), indexing="ij")
    return torch.cat([sincos_1d(dim // 2, xs.flatten()), sincos_1d(dim // 2, ys.flatten())], dim=1)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale) + shift


class TimestepEmbedder(nn.Module):
    """Integer timesteps of any shape [...] -> [..., D]: sinusoidal (256) then a 2-layer MLP."""

    def __init__(self, hidden_size: int, frequency_size: int = 256):
        super().__init__()
        self.frequency_size = frequency_size
        self.mlp = nn.Sequential(
            nn.Linear(frequency_size, hidden_size), nn.SiLU(), nn.Linear(hidden_size, hidden_size)
        )

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.frequency_size // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, device=t.device) / half)
        angles = t.float()[..., None] * freqs
        embedding = torch.cat([angles.cos(), angles.sin()], dim=-1)
        return self.mlp(embedding.to(self.mlp[0].weight.dtype))


class LabelEmbedder(nn.Module):
    """Class labels [B] -> [B, D]. Row `num_classes` is the null class used for guidance."""

    def __init__(self, num_classes: int, hidden_size: int):
        super().__init__()
        self.embedding_table = nn.Embedding(num_classes + 1, hidden_size)

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        return self.embedding_table(labels)


class PatchEmbed(nn.Module):
    """[N, C, H, W] -> [N, P, D] with a strided convolution, tokens in row-major order."""

    def __init__(self, patch_size: int, in_channels: int, hidden_size: int):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, hidden_size, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    """Multi-head self-attention over the second-to-last axis of x [..., L, D] (`dot_product_attention`)."""

    def __init__(self, hidden_size: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(hidden_size, 3 * hidden_size)
        self.proj = nn.Linear(hidden_size, hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        *lead, length, width = x.shape
        qkv = self.qkv(x.reshape(-1, length, width)).view(-1, length, 3, self.num_heads, width // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each [N, heads, L, head_dim]
        out = dot_product_attention(q, k, v)
        out = out.transpose(1, 2).reshape(*lead, length, width)
        return self.proj(out)


class Mlp(nn.Module):
    def __init__(self, hidden_size: int, mlp_ratio: float):
        super().__init__()
        inner = int(hidden_size * mlp_ratio)
        self.fc1 = nn.Linear(hidden_size, inner)
        self.fc2 = nn.Linear(inner, hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class TransformerBlock(nn.Module):
    """adaLN-Zero block on tokens x [..., L, D], conditioned by c broadcastable to [..., L, D]."""

    def __init__(self, hidden_size: int, num_heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden_size, num_heads)
        self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(hidden_size, mlp_ratio)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 6 * hidden_size))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(6, dim=-1)
        x = x + gate_msa * self.attn(modulate(self.norm1(x), shift_msa, scale_msa))
        return x + gate_mlp * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))


class FinalLayer(nn.Module):
    """Per-frame adaLN, then a linear map from each token to its p * p * C_out pixels."""

    def __init__(self, hidden_size: int, patch_size: int, out_channels: int):
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(hidden_size, patch_size * patch_size * out_channels)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=-1)
        return self.linear(modulate(self.norm_final(x), shift, scale))


class FVDMTransformer(ModelMixin, ConfigMixin):
    """Video transformer with a vectorized timestep: `forward(x [B,F,C,H,W], t [B,F]) -> [B,F,C_out,H,W]`.

    `C_out = 2 * in_channels` when `learn_sigma` (noise prediction first, then the variance
    interpolation value). `num_classes > 0` adds class conditioning with a null class at index
    `num_classes` (what `class_labels=None` uses, and classifier-free guidance's unconditional half).
    """

    _supports_gradient_checkpointing = True

    @register_to_config
    def __init__(
        self,
        sample_size: int = 32,
        num_frames: int = 16,
        in_channels: int = 3,
        patch_size: int = 4,
        hidden_size: int = 192,
        depth: int = 8,
        num_heads: int = 3,
        mlp_ratio: float = 4.0,
        num_classes: int = 0,
        learn_sigma: bool = False,
    ):
        super().__init__()
        if depth % 2 or sample_size % patch_size or hidden_size % num_heads:
            raise ValueError(
                "depth must be even (spatial + temporal pairs), sample_size a multiple of patch_size "
                f"and hidden_size of num_heads; got depth={depth}, sample_size={sample_size}, "
                f"patch_size={patch_size}, hidden_size={hidden_size}, num_heads={num_heads}"
            )
        self.out_channels = 2 * in_channels if learn_sigma else in_channels
        grid = sample_size // patch_size
        self.x_embedder = PatchEmbed(patch_size, in_channels, hidden_size)
        self.t_embedder = TimestepEmbedder(hidden_size)
        self.y_embedder = LabelEmbedder(num_classes, hidden_size) if num_classes > 0 else None
        self.register_buffer("pos_embed", sincos_2d(hidden_size, grid, grid)[None])  # [1, P, D]
        self.register_buffer("temp_embed", sincos_1d(hidden_size, torch.arange(num_frames))[None])  # [1, F, D]
        self.blocks_spatial = nn.ModuleList(
            TransformerBlock(hidden_size, num_heads, mlp_ratio) for _ in range(depth // 2)
        )
        self.blocks_temp = nn.ModuleList(
            TransformerBlock(hidden_size, num_heads, mlp_ratio) for _ in range(depth // 2)
        )
        self.final_layer = FinalLayer(hidden_size, patch_size, self.out_channels)
        self.gradient_checkpointing = False
        self.initialize_weights()

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "FVDMTransformer":
        """Build a randomly initialised model from a named size in `PRESETS`, e.g. `"S/2"`."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})

    def initialize_weights(self) -> None:
        """Xavier linears, small-normal embeddings, and zeroed adaLN / output layers (adaLN-Zero)."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        conv = self.x_embedder.proj
        nn.init.xavier_uniform_(conv.weight.view(conv.weight.shape[0], -1))
        nn.init.zeros_(conv.bias)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        if self.y_embedder is not None:
            nn.init.normal_(self.y_embedder.embedding_table.weight, std=0.02)
        for block in [*self.blocks_spatial, *self.blocks_temp, self.final_layer]:
            nn.init.zeros_(block.adaLN_modulation[-1].weight)
            nn.init.zeros_(block.adaLN_modulation[-1].bias)
        nn.init.zeros_(self.final_layer.linear.weight)
        nn.init.zeros_(self.final_layer.linear.bias)

    def conditioning(self, t: torch.Tensor, class_labels: torch.Tensor | None, batch: int, frames: int) -> torch.Tensor:
        """Per-frame conditioning c [B, F, D] from t (scalar, [B] or [B, F]) and optional labels [B]."""
        c = self.t_embedder(expand_timesteps(t, batch, frames, self.pos_embed.device))
        if self.y_embedder is not None:
            if class_labels is None:
                class_labels = torch.full((batch,), self.config.num_classes, device=c.device)
            c = c + self.y_embedder(class_labels.to(c.device))[:, None]
        return c

    def _run(self, block: nn.Module, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        if self.gradient_checkpointing and torch.is_grad_enabled():
            return self._gradient_checkpointing_func(block, x, c)
        return block(x, c)

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, class_labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        batch, frames, channels, height, width = x.shape
        if frames > self.temp_embed.shape[1]:
            raise ValueError(f"this model was built for at most {self.temp_embed.shape[1]} frames; got {frames}")
        p = self.config.patch_size
        c = self.conditioning(t, class_labels, batch, frames)  # [B, F, D]
        c = c.to(self.pos_embed.dtype)

        tokens = self.x_embedder(x.reshape(batch * frames, channels, height, width)) + self.pos_embed
        tokens = tokens.view(batch, frames, -1, tokens.shape[-1])  # [B, F, P, D]
        c_spatial = c[:, :, None]  # [B, F, 1, D]: one modulation per frame, shared by its patches
        c_temporal = c[:, None]  # [B, 1, F, D]: token-wise, shared by every patch position
        for i, (spatial, temporal) in enumerate(zip(self.blocks_spatial, self.blocks_temp)):
            tokens = self._run(spatial, tokens, c_spatial)
            tokens = tokens.transpose(1, 2)  # [B, P, F, D]
            if i == 0:
                tokens = tokens + self.temp_embed[:, :frames]
            tokens = self._run(temporal, tokens, c_temporal)
            tokens = tokens.transpose(1, 2)  # [B, F, P, D]
        out = self.final_layer(tokens, c_spatial)  # [B, F, P, p * p * C_out]
        return self.unpatchify(out, height // p, width // p)

    def unpatchify(self, tokens: torch.Tensor, grid_h: int, grid_w: int) -> torch.Tensor:
        """[B, F, P, p * p * C] (channels read as (p, q, c)) -> [B, F, C, H, W]."""
        batch, frames = tokens.shape[:2]
        p, c = self.config.patch_size, self.out_channels
        x = tokens.reshape(batch, frames, grid_h, grid_w, p, p, c)
        x = torch.einsum("bfhwpqc->bfchpwq", x)
        return x.reshape(batch, frames, c, grid_h * p, grid_w * p)
