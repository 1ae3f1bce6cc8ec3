"""Scores against the ground truth: PSNR and SSIM of the generated frames per clip, summarized over
clips, and the differences between methods (or frame orders) paired clip by clip."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

from training.evaluate.tasks import ordered
from training.metrics import psnr, ssim, summarize


def clip_scores(video: torch.Tensor, truth: torch.Tensor, frames: Sequence[int]) -> dict[str, torch.Tensor]:
    """PSNR and SSIM of `frames` against the truth, per clip the mean over those frames: [N] each."""
    index = list(frames)
    generated, target = video[:, index], truth[:, index]
    return {"psnr": psnr(generated, target).mean(dim=1), "ssim": ssim(generated, target).mean(dim=1)}


def summarize_scores(scores: dict[str, torch.Tensor]) -> dict[str, dict[str, float]]:
    """Per-clip scores (metric -> [N]) summarized over clips."""
    return {metric: summarize(values) for metric, values in scores.items()}


def frame_scores(video: torch.Tensor, truth: torch.Tensor, frames: Sequence[int]) -> dict[str, dict[str, float]]:
    """`clip_scores` summarized over clips."""
    return summarize_scores(clip_scores(video, truth, frames))


def paired_differences(scores: dict[str, dict[str, torch.Tensor]], reference: str = "fvdm") -> dict:
    """`reference` minus every other method, clip by clip, summarized over clips.

    All methods score the same clips, so most of the spread between clips (some clips are simply
    harder) cancels in the difference: its interval says whether one method beats another far more
    sharply than two overlapping per-method intervals can."""
    if reference not in scores:
        return {}
    return {
        method: {metric: summarize(scores[reference][metric] - values[metric]) for metric in values}
        for method, values in scores.items() if method != reference
    }


def order_differences(per_clip: dict[str, dict], methods: Iterable[str]) -> dict:
    """Each model's pyramid minus its together run of the same task, clip by clip (same clips, same
    seeds): {task: {method: {metric: summary}}} for the tasks run in both orders."""
    differences = {}
    for task, together in per_clip.items():
        pyramid = per_clip.get(ordered(task, "pyramid"))
        if pyramid is not None:
            differences[task] = {
                method: {metric: summarize(pyramid[method][metric] - values) for metric, values in scores.items()}
                for method, scores in together.items() if method in methods
            }
    return differences
