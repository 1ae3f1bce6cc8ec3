"""The one rule for timestep shapes shared by the model and the scheduler."""

from __future__ import annotations

import torch


def expand_timesteps(t, batch: int, frames: int, device: torch.device | str) -> torch.Tensor:
    """A scalar, [B] or [B, F] timestep as a long tensor [B, F]: a clip's t applies to all its frames."""
    t = torch.as_tensor(t, device=device).long()
    if t.dim() == 0:
        t = t.expand(batch)
    if t.dim() == 1:
        t = t[:, None].expand(batch, frames)
    if t.shape != (batch, frames):
        raise ValueError(f"timesteps must be a scalar, [B] or [B, F] = [{batch}, {frames}]; got {tuple(t.shape)}")
    return t
