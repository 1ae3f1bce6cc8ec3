"""One section of the report: every sampling task and method on one set of ground-truth clips,
with frame scores for the reconstruction tasks and clip quality for the generation tasks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

from training.evaluate.quality import FVDScorer, clip_quality
from training.evaluate.reconstruction import clip_scores, order_differences, paired_differences, summarize_scores
from training.evaluate.sampling import Sampler
from training.evaluate.tasks import CLASSICS, Task


def task_videos(sampler: Sampler, task: Task, truth: torch.Tensor, section: str) -> Iterator[tuple[str, torch.Tensor]]:
    """(method, clips) for every model and the task's classical baseline, one set at a time."""
    for method in sampler.models:
        with sampler.timed(f"{section}/{task.name}/{method}"):
            video = sampler.sample(method, task.plan, truth)
        yield method, video
    if task.classic:
        yield task.classic, CLASSICS[task.classic](truth, task.context)


def evaluate_section(
    sampler: Sampler,
    truth: torch.Tensor,
    tasks: Sequence[Task],
    synthetic: bool,
    name: str,
    fvd_scorer: FVDScorer | None = None,
) -> dict:
    """Every task and method on one set of ground-truth clips [N, F, 3, H, W]: frame scores for
    tasks with a classical baseline ("reconstruction"), clip quality for the others ("generation")."""
    section: dict = {"clips": len(truth), "reconstruction": {}, "generation": {}, "paired": {}}
    per_clip: dict[str, dict] = {}  # task -> method -> metric -> [N], for the tasks with ground truth
    for task in tasks:
        entries = section["reconstruction" if task.classic else "generation"][task.name] = {}
        for method, video in task_videos(sampler, task, truth, name):
            if task.classic:
                per_clip.setdefault(task.name, {})[method] = clip_scores(video, truth, task.plan.generated)
                entry = summarize_scores(per_clip[task.name][method])
            else:
                entry = clip_quality(video, synthetic)
            if fvd_scorer:
                entry["fvd"] = fvd_scorer(video)
            entries[method] = entry
        if task.classic:
            section["paired"][task.name] = paired_differences(per_clip[task.name])
    section["orders"] = order_differences(per_clip, sampler.models)
    section["real"] = clip_quality(truth, synthetic)
    return section
