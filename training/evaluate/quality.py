"""Scores of clips that need no ground truth for their frames: sharpness, the synthetic world's
physics (per clip set, or per window of long videos) and FVD against real clips."""

from __future__ import annotations

import numpy as np
import torch

from training.fvd import clip_features, frechet_distance
from training.physics import physics_score, sharpness


def clip_quality(clips, synthetic: bool) -> dict:
    """Sharpness, plus the physics score when the clips come from the synthetic world."""
    quality: dict = {"sharpness": sharpness(clips)}
    if synthetic:
        quality["physics"] = physics_score(clips)
    return quality


def window_plausibility(videos: np.ndarray | torch.Tensor, window: int) -> list[float]:
    """Share of plausible clips in each full `window`-frame stretch of long videos [N, L, ...]."""
    return [
        physics_score(videos[:, start : start + window])["share_plausible"]
        for start in range(0, videos.shape[1] - window + 1, window)
    ]


class FVDScorer:
    """FVD of clip sets against one set of real clips, whose features are computed once."""

    def __init__(self, detector: torch.jit.ScriptModule, real: torch.Tensor, batch_size: int) -> None:
        self.detector, self.batch_size = detector, batch_size
        self.real_features = clip_features(detector, real, batch_size)

    def __call__(self, clips: torch.Tensor) -> float:
        return frechet_distance(clip_features(self.detector, clips, self.batch_size), self.real_features)
