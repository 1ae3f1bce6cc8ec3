"""Classical, model-free answers to the conditional tasks: the references a model must beat.

Both work on clips [N, F, 3, H, W] (any float range) and read only the given frames.
"""

from __future__ import annotations

import torch


def cross_fade(video: torch.Tensor, context: int) -> torch.Tensor:
    """Interpolation baseline on clips [N, F, 3, H, W]: the frames between the given ends blend
    linearly from the last given start frame (context - 1) to the first given end frame (F - context).
    Only the given frames of `video` are read; they come back unchanged."""
    frames = video.shape[1]
    start, end = context - 1, frames - context
    weights = ((torch.arange(frames, dtype=video.dtype) - start) / (end - start)).view(1, frames, 1, 1, 1)
    blend = (1 - weights) * video[:, start : start + 1] + weights * video[:, end : end + 1]
    out = video.clone()
    out[:, start + 1 : end] = blend[:, start + 1 : end]
    return out


def repeat_last(video: torch.Tensor, context: int) -> torch.Tensor:
    """Prediction baseline on clips [N, F, 3, H, W]: every frame after the `context` given ones
    repeats the last given frame."""
    out = video.clone()
    out[:, context:] = video[:, context - 1 : context]
    return out
