"""One-step denoising: PSNR of each model's clean estimate of clips noised to a few levels."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from training.evaluate.sampling import Sampler
from training.metrics import psnr, summarize

DENOISING_LEVELS = (100, 300, 500, 700, 900)


def denoising_psnr(sampler: Sampler, truth: torch.Tensor, levels: Sequence[int] = DENOISING_LEVELS) -> dict:
    """PSNR of every model's one-step clean estimate from each noise level: {method: {"t=500": ...}}."""
    scores = {}
    for method in sampler.models:
        with sampler.timed(f"synthetic/denoising/{method}"):
            scores[method] = {
                f"t={level}": summarize(psnr(sampler.denoise_once(method, truth, level), truth).mean(dim=1))
                for level in levels
            }
    return scores
