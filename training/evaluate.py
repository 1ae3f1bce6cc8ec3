"""Evaluate a model on held-out clips with ground truth, next to baselines, in one run.

    python -m training.evaluate --model fvdm --baseline baseline --out eval/report.json
    python -m training.evaluate --model runs/x/pipeline --clips 16 --steps 10 --tasks interpolation,prediction

What is measured (every method samples the same clips with the same seeds):

* Interpolation with K = 1 and K = 2 given frames at each end, and prediction from 4 given frames:
  PSNR and SSIM (`training.metrics`) of the generated frames only, averaged per clip, then over clips
  (mean, std and 95% confidence interval). Classical baselines: a cross-fade between the given ends
  (interpolation) and repeating the last given frame (prediction). Because every method scores the
  same clips, the report also gives the model minus each other method, paired clip by clip: its
  interval is the one that says whether the model beats a reference.
* The ceiling of interpolation with K = 1 on the synthetic world: every route its physics allows
  between the two given ends, with its probability (`training.posterior`), scored as a perfect
  sampler's draws and as their mean. It needs no model and shows how much of the gap to cross-fade
  any sampler could close: two end frames leave the objects' routes open.
* Prediction, image-to-video and unconditional generation run in both frame orders of
  `schedules.ORDERS`: all generated frames together, and the pyramid (one after the other, in the
  same number of steps), each a task of its own in the report ("prediction_pyramid", ...).
* Image-to-video (frame 0 given) and unconditional generation: the object-physics score of
  `training.physics` (share of plausible clips and the share passing each rule) and the sharpness
  figure, with the real clips themselves as the reference row.
* Long video (generated window by window with `FVDMPipeline.generate_long`, from an unconditional
  first window, half a window of context): the share of plausible clips in each window-long stretch,
  which shows whether quality drifts over time.
* One-step denoising: every clip noised to each level in `DENOISING_LEVELS` (all frames, the same
  noise for every method) and cleaned by one model call; PSNR of that estimate against the clip.
  No sampling, so it is cheap and smooth: it shows which noise levels a model has learned, and is
  the figure to watch while a model trains.
* With `--baseline`, a conventional model (trained with synchronized timesteps only) runs the same
  tasks zero-shot with `conditioning="replacement"`, the standard way to condition such a model.
* With `--i3d`, the FVD of every generated set against the real clips (`training.fvd`).
* Every model samples with the same step: the evaluated model's own (`scheduler.config.sampler`),
  or the one `--sampler` names (`--eta` adds DDIM noise). The FVDM model guides towards its given
  frames with its own `frame_guidance` (`--frame-guidance` overrides it); the conventional model,
  conditioned by replacement, has no such guidance.

The ground truth is the synthetic world at the model's frame count and resolution (eval seeds, never
trained on); `--video-folder` adds the same reconstruction tasks and image-to-video (sharpness, FVD;
the physics rules only hold for the synthetic world) on clips read from any folder of videos.
Class-conditional models are sampled with their null class.

The result is a JSON report (all numbers, the run's configuration and timings, and a `"markdown"`
field) plus the same Markdown tables in a `.md` file beside it, ready for the README or a model card.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from fvdm import schedules
from fvdm.baselines import cross_fade, repeat_last
from fvdm.errors import FVDMInputError
from fvdm.loading import load_pipeline
from fvdm.pipeline import FVDMPipeline
from fvdm.scheduler import SAMPLERS, check_sampler
from fvdm.video_io import load_video
from training.data import find_videos
from training.fvd import clip_features, frechet_distance, load_detector
from training.metrics import psnr, ssim, summarize
from training.physics import physics_score, sharpness
from training.posterior import interpolations
from training.synthetic import SyntheticVideoDataset, WorldConfig, eval_seed, make_clip

logger = logging.getLogger(__name__)

TASKS = ("interpolation", "prediction", "image_to_video", "unconditional", "long", "denoising")
DENOISING_LEVELS = (100, 300, 500, 700, 900)
INTERPOLATION_CONTEXTS = (1, 2)
PREDICTION_CONTEXT = 4
# Report keys -> table rows, in table order.
METHODS = {
    "fvdm": "FVDM",
    "conventional": "Conventional + replacement",
    "cross_fade": "Cross-fade",
    "repeat_last": "Repeat last frame",
    "real": "Real clips",
}
CONDITIONING = {"fvdm": "vectorized", "conventional": "replacement"}


# ----------------------------------------------------------------------------- the tasks


@dataclass(frozen=True)
class Task:
    """One sampling task: its report key, the plan every model samples, and, for tasks with
    ground truth for the generated frames, the classical baseline and its number of given frames."""

    name: str
    plan: schedules.Plan
    classic: str | None = None
    context: int = 0


def build_tasks(tasks: Sequence[str], num_frames: int, steps: int) -> list[Task]:
    """The sampling tasks among `tasks` ("long" and "denoising" aside), for a model of `num_frames` frames.

    Interpolation runs with its generated frames together; prediction, image-to-video and
    unconditional generation run in both frame orders (`schedules.ORDERS`), at the same number of
    steps. Building every plan first means a model too short for a task fails before any sampling."""
    built = []
    if "interpolation" in tasks:
        for k in INTERPOLATION_CONTEXTS:
            plan = _plan(schedules.interpolation, "interpolation", num_frames, steps, context=k)
            built.append(Task(f"interpolation_k{k}", plan, "cross_fade", k))
    for order in schedules.ORDERS:
        if "prediction" in tasks:
            plan = _plan(schedules.prediction, "prediction", num_frames, steps, context=PREDICTION_CONTEXT, order=order)
            built.append(Task(ordered("prediction", order), plan, "repeat_last", PREDICTION_CONTEXT))
    for order in schedules.ORDERS:
        if "image_to_video" in tasks:
            plan = _plan(schedules.image_to_video, "image_to_video", num_frames, steps, order=order)
            built.append(Task(ordered("image_to_video", order), plan))
        if "unconditional" in tasks:
            plan = _plan(schedules.synchronous, "unconditional", num_frames, steps, order=order)
            built.append(Task(ordered("unconditional", order), plan))
    return built


def ordered(task: str, order: str) -> str:
    """The report key of a task sampled in `order`: "image_to_video", "image_to_video_pyramid"."""
    return task if order == "together" else f"{task}_{order}"


def _plan(builder: Callable[..., schedules.Plan], task: str, num_frames: int, steps: int, **options) -> schedules.Plan:
    try:
        return builder(num_frames=num_frames, num_steps=steps, **options)
    except FVDMInputError as error:
        raise FVDMInputError(f"the model makes {num_frames}-frame clips, too few for {task}: {error}") from None


def task_titles(num_frames: int) -> dict[str, str]:
    """Column titles of the task keys."""
    titles = {f"interpolation_k{k}": f"Interp. K={k}" for k in INTERPOLATION_CONTEXTS}
    prediction = f"Pred. {PREDICTION_CONTEXT}→{num_frames - PREDICTION_CONTEXT}"
    for task, title in {"prediction": prediction, "image_to_video": "I2V", "unconditional": "Uncond."}.items():
        titles |= {ordered(task, order): f"{title} {order}".removesuffix(" together") for order in schedules.ORDERS}
    return titles


# ----------------------------------------------------------------------------- classical baselines


CLASSICS: dict[str, Callable[[torch.Tensor, int], torch.Tensor]] = {"cross_fade": cross_fade, "repeat_last": repeat_last}


# ----------------------------------------------------------------------------- ground truth


def synthetic_clips(count: int, num_frames: int, resolution: int) -> torch.Tensor:
    """The first `count` evaluation clips of the synthetic world, [N, F, 3, H, W] in [0, 1]."""
    dataset = SyntheticVideoDataset(WorldConfig(resolution=resolution, num_frames=num_frames), "eval", length=count)
    return torch.stack([(dataset[i]["video"] + 1) / 2 for i in range(count)]).clamp(0, 1)


def video_folder_clips(folder: str | os.PathLike, count: int, num_frames: int, resolution: int) -> torch.Tensor:
    """The first `num_frames` frames of up to `count` videos under `folder` (sorted paths), resized to
    cover the model's square and centre-cropped: [N, F, 3, H, W] in [0, 1]. Videos that are too short
    or unreadable are skipped with a warning."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise FVDMInputError(f"the video folder {root} does not exist")
    clips = []
    for path in find_videos(root):
        if len(clips) == count:
            break
        try:
            frames = load_video(path, num_frames=num_frames, size=(resolution, resolution))
        except FVDMInputError as error:
            logger.warning("skipping %s: %s", path, error)
            continue
        clips.append(torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255)
    if not clips:
        raise FVDMInputError(f"no video under {root} has {num_frames} readable frames")
    return torch.stack(clips)


# ----------------------------------------------------------------------------- sampling


@dataclass
class Sampler:
    """Samples every model (method key -> pipeline) in batches with the same seeds: batch b of any
    task uses seed `seed + b`, so all methods start from the same noise. Records wall time per set."""

    models: dict[str, FVDMPipeline]
    seed: int
    batch_size: int
    autocast_dtype: torch.dtype | None = None
    sampler: str | None = None  # None: each model's own
    eta: float = 0.0
    frame_guidance: float | None = None  # for the vectorized (FVDM) model; None: its own
    timings: dict[str, float] = field(default_factory=dict)

    def _batches(self, count: int) -> Iterator[tuple[int, slice]]:
        for number, start in enumerate(range(0, count, self.batch_size)):
            yield number, slice(start, min(start + self.batch_size, count))

    @contextmanager
    def timed(self, key: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.timings[key] = round(time.perf_counter() - start, 3)
        logger.info("%s: %.1f s", key, self.timings[key])

    def _frame_guidance(self, method: str) -> float | None:
        """Frame guidance applies to vectorized conditioning; replacement runs without it."""
        return self.frame_guidance if CONDITIONING[method] == "vectorized" else None

    def sample(self, method: str, plan: schedules.Plan, truth: torch.Tensor) -> torch.Tensor:
        """One clip per truth clip [N, F, 3, H, W] following `plan`, its given frames taken from the
        truth; returns [N, F, 3, H, W] in [0, 1] on the CPU."""
        pipe = self.models[method]
        videos = []
        for number, part in self._batches(len(truth)):
            given = {index: truth[part, index] for index in plan.given}
            output = pipe(
                plan=plan, given=given, num_videos=part.stop - part.start, seed=self.seed + number, output_type="pt",
                autocast_dtype=self.autocast_dtype, conditioning=CONDITIONING[method], sampler=self.sampler,
                eta=self.eta, frame_guidance=self._frame_guidance(method),
            )
            videos.append(output.frames.float().cpu())
        return torch.cat(videos)

    @torch.no_grad()
    def denoise_once(self, method: str, truth: torch.Tensor, level: int) -> torch.Tensor:
        """Every truth clip [N, F, 3, H, W] noised to `level` on all frames, then the model's one-step
        clean estimate of it, [N, F, 3, H, W] in [0, 1]. Batch b draws its noise from seed `seed + b`."""
        pipe = self.models[method]
        estimates = []
        for number, part in self._batches(len(truth)):
            clips = truth[part].to(pipe.device)
            batch, frames = clips.shape[:2]
            clean = pipe.encode_pixels(clips.flatten(0, 1)).unflatten(0, (batch, frames))
            noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(self.seed + number))
            t = torch.full((batch, frames), level, device=clean.device)
            noisy = pipe.scheduler.add_noise(clean, noise.to(clean.device), t)
            output = pipe.predict(noisy, t, autocast_dtype=self.autocast_dtype)
            estimate = pipe.scheduler.step(output, t, torch.zeros_like(t), noisy).pred_original_sample
            estimates.append(pipe.decode_latents(estimate).cpu())
        return torch.cat(estimates)

    def sample_long(self, method: str, count: int, total_frames: int, context: int, steps: int) -> np.ndarray:
        """`count` long videos [N, total_frames, H, W, 3] from `generate_long`."""
        pipe = self.models[method]
        videos = []
        for number, part in self._batches(count):
            chunks = pipe.generate_long(
                total_frames, context_frames=context, num_steps=steps, num_videos=part.stop - part.start,
                seed=self.seed + number, autocast_dtype=self.autocast_dtype, conditioning=CONDITIONING[method],
                sampler=self.sampler, eta=self.eta, frame_guidance=self._frame_guidance(method),
            )
            videos.append(np.concatenate(list(chunks), axis=1))
        return np.concatenate(videos)


# ----------------------------------------------------------------------------- scoring


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


def interpolation_ceiling(count: int, num_frames: int, resolution: int) -> dict:
    """What a perfect sampler of the synthetic world scores at interpolation from one frame at each
    end, on the first `count` evaluation clips (the clips the models interpolate): every route the
    world allows between the two ends and its posterior probability (`training.posterior`).

    Per clip: the number of routes; the probability that a draw is the true clip (it then scores the
    PSNR cap); the expected PSNR and SSIM of a draw that takes another route (clips with a single
    route have none); and the scores of the posterior mean, the answer with the least expected squared
    error. Exact, so no sampling noise; about 40 s for 64 clips of 16 frames at 32 x 32 on 2 CPU
    cores, growing with the number of pixels."""
    config = WorldConfig(resolution=resolution, num_frames=num_frames)
    per_clip = [_route_scores(make_clip(eval_seed(index), config), config) for index in range(count)]
    routes = [clip["routes"] for clip in per_clip]
    summary = {"clips": count, "routes": {"median": float(np.median(routes)), "max": max(routes)}}
    for key in ("truth_probability", "other_psnr", "other_ssim", "mean_psnr", "mean_ssim"):
        values = [clip[key] for clip in per_clip if key in clip]
        if values:
            summary[key] = summarize(values)
    return summary


def _route_scores(clip, config: WorldConfig, chunk: int = 32) -> dict[str, float]:
    """`interpolation_ceiling` for one clip, scoring its routes `chunk` at a time (bounded memory)."""
    truth = _unit_clips(clip.frames[None])
    generated = range(1, len(clip.frames) - 1)
    routes, truth_probability, other_probability = 0, 0.0, 0.0
    other = {"psnr": 0.0, "ssim": 0.0}  # probability-weighted sums over the routes that are not the truth
    mean = torch.zeros_like(truth, dtype=torch.float64)  # the posterior mean, accumulated
    route_iterator = interpolations(clip, config)
    while batch := list(itertools.islice(route_iterator, chunk)):
        videos = np.stack([video for video, _ in batch])
        probability = torch.tensor([p for _, p in batch], dtype=torch.float64)
        candidates = _unit_clips(videos)
        is_truth = torch.from_numpy((videos == clip.frames).all(axis=(1, 2, 3, 4)))
        scores = clip_scores(candidates, truth.expand_as(candidates), generated)
        weight = probability * ~is_truth
        for metric in other:
            other[metric] += float((weight * scores[metric].double()).sum())
        routes += len(batch)
        truth_probability += float(probability[is_truth].sum())
        other_probability += float(weight.sum())
        mean += (probability.view(-1, 1, 1, 1, 1) * candidates.double()).sum(dim=0, keepdim=True)
    result = {"routes": routes, "truth_probability": truth_probability}
    if other_probability > 0:
        result |= {f"other_{metric}": total / other_probability for metric, total in other.items()}
    mean_scores = clip_scores(mean.float(), truth, generated)
    return result | {f"mean_{metric}": float(value) for metric, value in mean_scores.items()}


def _unit_clips(frames: np.ndarray) -> torch.Tensor:
    """uint8 clips [N, F, H, W, 3] -> float [N, F, 3, H, W] in [0, 1]."""
    return torch.from_numpy(frames).permute(0, 1, 4, 2, 3).float() / 255


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


def long_drift(sampler: Sampler, count: int, total_frames: int, window: int, steps: int, resolution: int) -> dict:
    """Plausibility per window-long stretch of `count` long videos per model (context: half a window),
    and of as many long real clips of the synthetic world as the reference."""
    context = window // 2
    shares = {}
    for method in sampler.models:
        with sampler.timed(f"synthetic/long/{method}"):
            videos = sampler.sample_long(method, count, total_frames, context, steps)
        shares[method] = window_plausibility(videos, window)
    shares["real"] = window_plausibility(synthetic_clips(count, total_frames, resolution), window)
    return {"clips": count, "frames": total_frames, "window": window, "context": context, "share_plausible": shares}


# ----------------------------------------------------------------------------- the whole run


def evaluate(
    pipe: FVDMPipeline,
    baseline: FVDMPipeline | None = None,
    clips: int = 64,
    steps: int = 25,
    seed: int = 0,
    tasks: Sequence[str] = TASKS,
    long_frames: int = 128,
    long_clips: int = 16,
    video_folder: str | os.PathLike | None = None,
    i3d: str | os.PathLike | None = None,
    autocast_dtype: torch.dtype | None = None,
    batch_size: int = 16,
    sampler: str | None = None,
    eta: float = 0.0,
    frame_guidance: float | None = None,
) -> dict:
    """Evaluate `pipe` (and the conventional `baseline`, sampled with replacement) on `clips` held-out
    clips; see the module docstring. Returns the report: {"config", "synthetic", ["video_folder"],
    "timings", "markdown"}. Inputs are checked, and the ground truth loaded, before any sampling.

    `long_clips` long videos of `long_frames` frames are made per model; each costs about
    `2 * long_frames / num_frames` times as much as a clip of the other tasks. `batch_size` clips are
    sampled at once; `autocast_dtype` (e.g. torch.bfloat16) runs the transformer under autocast;
    `sampler` ("ddim" or "ddpm"; default: `pipe`'s own) and `eta` choose the sampling step, the
    same for every model; `frame_guidance` (default: `pipe`'s own) guides `pipe` towards its given frames.
    """
    started = time.perf_counter()
    tasks = _check_tasks(tasks)
    _check_inputs(pipe, baseline, tasks, long_frames, clips=clips, steps=steps, long_clips=long_clips, batch_size=batch_size)
    sampler = check_sampler(sampler or pipe.scheduler.config.sampler)
    if not eta >= 0:
        raise FVDMInputError(f"eta must be at least 0; got {eta}")
    frame_guidance = pipe.resolve_frame_guidance(frame_guidance)
    frames, resolution = pipe.num_frames, pipe.resolution
    sample_tasks = build_tasks(tasks, frames, steps)
    truth = {"synthetic": synthetic_clips(clips, frames, resolution)}
    if video_folder is not None:
        truth["video_folder"] = video_folder_clips(video_folder, clips, frames, resolution)
    detector = load_detector(i3d, pipe.device) if i3d is not None else None
    if detector is not None and min(len(real) for real in truth.values()) < 2:
        raise FVDMInputError("FVD needs at least 2 clips")

    models = {"fvdm": pipe} | ({"conventional": baseline} if baseline else {})
    runner = Sampler(models, seed, batch_size, autocast_dtype, sampler, eta, frame_guidance)
    result: dict = {"config": run_config(
        pipe, baseline, clips=clips, steps=steps, seed=seed, tasks=list(tasks), long_frames=long_frames,
        long_clips=long_clips, batch_size=batch_size, autocast=_optional_str(autocast_dtype), sampler=sampler, eta=eta,
        frame_guidance=frame_guidance, video_folder=_optional_str(video_folder), i3d=_optional_str(i3d),
        eval_seeds=[eval_seed(0), eval_seed(clips - 1)],
    )}
    for name, real in truth.items():
        synthetic = name == "synthetic"
        section_tasks = [task for task in sample_tasks if synthetic or task.plan.given]  # no unconditional runs
        scorer = FVDScorer(detector, real, batch_size) if detector is not None else None
        result[name] = evaluate_section(runner, real, section_tasks, synthetic, name, scorer)
    if "interpolation" in tasks:
        with runner.timed("synthetic/interpolation_ceiling"):
            result["synthetic"]["interpolation_ceiling"] = interpolation_ceiling(clips, frames, resolution)
    if "denoising" in tasks:
        result["synthetic"]["denoising"] = denoising_psnr(runner, truth["synthetic"])
    if "long" in tasks:
        result["synthetic"]["long"] = long_drift(runner, long_clips, long_frames, frames, steps, resolution)
    result["timings"] = {**runner.timings, "total": round(time.perf_counter() - started, 3)}
    result["markdown"] = to_markdown(result)
    return result


def _check_tasks(tasks: Sequence[str]) -> tuple[str, ...]:
    """The known tasks in `tasks`, in the order of `TASKS`."""
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown or not tasks:
        raise FVDMInputError(f"tasks must be among {', '.join(TASKS)}; got {', '.join(tasks) or 'none'}")
    return tuple(task for task in TASKS if task in tasks)


def _check_inputs(
    pipe: FVDMPipeline, baseline: FVDMPipeline | None, tasks: Sequence[str], long_frames: int, **counts: int
) -> None:
    for name, value in counts.items():
        if value < 1:
            raise FVDMInputError(f"{name} must be at least 1; got {value}")
    frames, resolution = pipe.num_frames, pipe.resolution
    if baseline is not None and (baseline.num_frames, baseline.resolution) != (frames, resolution):
        raise FVDMInputError(
            f"the baseline makes {baseline.num_frames} frames of {baseline.resolution} px and the model "
            f"{frames} frames of {resolution} px; compare models of the same shape"
        )
    if "long" in tasks and not 2 <= frames <= long_frames:
        raise FVDMInputError(
            f"long videos need a model of at least 2 frames and long_frames of at least its {frames}; got {long_frames}"
        )


def _optional_str(value: object) -> str | None:
    """The value for the JSON config: a path or dtype as text ("bfloat16", not "torch.bfloat16")."""
    return None if value is None else str(value).removeprefix("torch.")


def _name(pipe: FVDMPipeline) -> str | None:
    """Where the pipeline was loaded from (None for one built in memory); relative to the working
    folder when inside it, so that committed reports name no machine's folders."""
    if not pipe.name_or_path:
        return None
    path = Path(pipe.name_or_path)
    return str(path.relative_to(Path.cwd()) if path.is_absolute() and path.is_relative_to(Path.cwd()) else path)


def run_config(pipe: FVDMPipeline, baseline: FVDMPipeline | None, **options) -> dict:
    """What was evaluated, and how: the models, their shape and size, the options, the software."""
    return {
        "model": _name(pipe),
        "baseline": _name(baseline) if baseline is not None else None,
        "num_frames": pipe.num_frames,
        "resolution": pipe.resolution,
        "parameters": sum(parameter.numel() for parameter in pipe.transformer.parameters()),
        **options,
        "device": str(pipe.device),
        "torch": torch.__version__,
    }


# ----------------------------------------------------------------------------- Markdown

METRIC_TITLES = {"psnr": "PSNR", "ssim": "SSIM", "plausible": "plausible", "sharpness": "sharpness", "fvd": "FVD"}
RULE_TITLES = {"share_plausible": "Plausible", "scene_ok": "Scene", "count_ok": "Count", "colour_ok": "Colour",
               "size_ok": "Size", "motion_ok": "Motion", "edges_ok": "Edges"}


def to_markdown(result: dict) -> str:
    """The report's tables: per data set, methods x task metrics, the physics rules, FVD, drift."""
    config = result["config"]
    titles = task_titles(config["num_frames"])
    lines = [
        f"## Evaluation of {config['model'] or 'an in-memory model'}",
        "",
        (
            f"{config['steps']} {_sampler_title(config)} sampling steps{_guidance_title(config)}, "
            f"seed {config['seed']}, {config['num_frames']} frames of "
            f"{config['resolution']} x {config['resolution']} px; run time {_duration(result['timings']['total'])}. "
            "PSNR (dB) and SSIM: generated frames only, mean ± 95% CI over clips. Plausible: share of clips "
            "obeying the synthetic world's physics. Sharpness: variance of the Laplacian (real clips as reference)."
        ),
        "",
    ]
    lines += _section_markdown("Synthetic world, held-out clips", result["synthetic"], titles, physics=True)
    if "interpolation_ceiling" in result["synthetic"]:
        lines += _ceiling_markdown(result["synthetic"])
    if "denoising" in result["synthetic"]:
        lines += _denoising_markdown(result["synthetic"]["denoising"])
    if "long" in result["synthetic"]:
        lines += _drift_markdown(result["synthetic"]["long"])
    if "video_folder" in result:
        lines += _section_markdown(f"Video folder {config['video_folder']}", result["video_folder"], titles, physics=False)
    return "\n".join(lines).rstrip() + "\n"


def _sampler_title(config: dict) -> str:
    """"DDIM", "DDIM (eta 0.5)" or "DDPM"."""
    sampler, eta = config["sampler"], config["eta"]
    return sampler.upper() + (f" (eta {eta:g})" if sampler == "ddim" and eta else "")


def _guidance_title(config: dict) -> str:
    """", frame guidance 2 for FVDM" ("" without guidance, and in reports from before it existed)."""
    strength = config.get("frame_guidance", 1.0)
    return f", frame guidance {strength:g} for FVDM" if strength != 1.0 else ""


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _section_markdown(title: str, section: dict, titles: dict[str, str], physics: bool) -> list[str]:
    columns = [("reconstruction", task, metric) for task in section["reconstruction"] for metric in ("psnr", "ssim")]
    generation_metrics = ("plausible", "sharpness") if physics else ("sharpness",)
    columns += [("generation", task, metric) for task in section["generation"] for metric in generation_metrics]
    methods = [m for m in METHODS if any(_entry(section, m, group, task) for group, task, _ in columns)]
    header = ["Method", *(f"{titles[task]} {METRIC_TITLES[metric]}" for _, task, metric in columns)]
    rows = [
        [METHODS[m], *(_format(metric, _value(_entry(section, m, group, task), metric)) for group, task, metric in columns)]
        for m in methods
    ]
    lines = [f"### {title} ({section['clips']} clips)", "", *_table(header, rows), ""]
    lines += _paired_markdown(section.get("paired", {}), titles)
    lines += _orders_markdown(section.get("orders", {}), titles)
    if physics and section["generation"]:
        lines += _rules_markdown(section, titles)
    return lines + _fvd_markdown(section, titles)


def _entry(section: dict, method: str, group: str, task: str) -> dict | None:
    """The scores of `method` on `task`; the real clips stand in for every generation task."""
    if method == "real":
        return section["real"] if group == "generation" else None
    return section[group][task].get(method)


def _value(entry: dict | None, metric: str):
    if entry is None:
        return None
    if metric == "plausible":
        return entry.get("physics", {}).get("share_plausible")
    return entry.get(metric)


def _format(metric: str, value, signed: bool = False) -> str:
    if value is None:
        return "–"
    if metric in ("psnr", "ssim"):
        digits, sign = (2 if metric == "psnr" else 3), ("+" if signed else "")
        return f"{value['mean']:{sign}.{digits}f} ± {value['ci95']:.{digits}f}"
    if metric == "plausible":
        return f"{100 * value:.1f}%"
    return f"{value:.0f}" if metric == "sharpness" else f"{value:.1f}"


def _paired_markdown(paired: dict, titles: dict[str, str]) -> list[str]:
    """FVDM minus each other method on the same clips, per reconstruction task."""
    columns = [(task, metric) for task, by_method in paired.items() if by_method for metric in ("psnr", "ssim")]
    methods = [m for m in METHODS if any(m in paired[task] for task, _ in columns)]
    if not methods:
        return []
    header = ["FVDM minus", *(f"{titles[task]} {METRIC_TITLES[metric]}" for task, metric in columns)]
    rows = [[METHODS[m], *(_format(metric, paired[task].get(m, {}).get(metric), signed=True) for task, metric in columns)]
            for m in methods]
    return [
        "#### Paired differences: FVDM minus each method on the same clips (mean ± 95% CI; positive: FVDM is better)",
        "", *_table(header, rows), "",
    ]


def _orders_markdown(orders: dict, titles: dict[str, str]) -> list[str]:
    """Each model's pyramid minus its together run, per task run in both orders."""
    if not orders:
        return []
    columns = [(task, metric) for task in orders for metric in ("psnr", "ssim")]
    header = ["Pyramid minus together", *(f"{titles[task]} {METRIC_TITLES[metric]}" for task, metric in columns)]
    methods = [m for m in METHODS if any(m in by_method for by_method in orders.values())]
    rows = [
        [METHODS[m], *(_format(metric, orders[task].get(m, {}).get(metric), signed=True) for task, metric in columns)]
        for m in methods
    ]
    return [
        "#### Frame order: each model's pyramid minus its together run, on the same clips and seeds (mean ± 95% CI)",
        "", *_table(header, rows), "",
    ]


def _rules_markdown(section: dict, titles: dict[str, str]) -> list[str]:
    entries = [(titles[task], METHODS[m], entry) for task, by_method in section["generation"].items()
               for m, entry in by_method.items()]
    entries.append(("–", METHODS["real"], section["real"]))
    header = ["Task", "Method", *RULE_TITLES.values(), "Objects / clip"]
    rows = [
        [task, method, *(_format("plausible", entry["physics"][rule]) for rule in RULE_TITLES),
         f"{entry['physics']['mean_objects']:.2f}"]
        for task, method, entry in entries
    ]
    return ["#### Physics rules: share of clips passing each", "", *_table(header, rows, text_columns=2), ""]


def _fvd_markdown(section: dict, titles: dict[str, str]) -> list[str]:
    by_task = {**section["reconstruction"], **section["generation"]}
    tasks = [task for task, by_method in by_task.items() if any("fvd" in entry for entry in by_method.values())]
    if not tasks:
        return []
    methods = [m for m in METHODS if any(m in by_task[task] for task in tasks)]
    rows = [[METHODS[m], *(_format("fvd", by_task[task].get(m, {}).get("fvd")) for task in tasks)] for m in methods]
    return ["#### FVD against the real clips (lower is better)", "", *_table(["Method", *(titles[t] for t in tasks)], rows), ""]


def _ceiling_markdown(section: dict) -> list[str]:
    """The models and cross-fade at interpolation K=1 next to a perfect sampler of the world."""
    ceiling = section["interpolation_ceiling"]
    scores = section["reconstruction"]["interpolation_k1"]
    rows = [[METHODS[m], _format("psnr", entry["psnr"]), _format("ssim", entry["ssim"])] for m, entry in scores.items()]
    truth_share = ceiling["truth_probability"]["mean"]
    if "other_psnr" in ceiling:
        rows.append([f"Perfect sampler, a draw of another route ({100 * (1 - truth_share):.0f}% of draws)",
                     _format("psnr", ceiling["other_psnr"]), _format("ssim", ceiling["other_ssim"])])
    rows.append(["Posterior mean of every route (a blur)", _format("psnr", ceiling["mean_psnr"]),
                 _format("ssim", ceiling["mean_ssim"])])
    return [
        "#### Interpolation K=1: what a perfect sampler of the world scores",
        "",
        (
            f"The two end frames leave each object's route open (straight, or bouncing off a wall): "
            f"{ceiling['routes']['median']:g} routes per clip fit both ends "
            f"(median; at most {ceiling['routes']['max']}), "
            f"and a perfect sampler of the world draws the true clip {100 * truth_share:.0f}% of the time (scoring "
            "the PSNR cap). PSNR and SSIM score one ground truth, so a sharp draw of another route loses twice "
            "(where its objects are and where they should be); the posterior mean, every route blurred together, "
            "has the least expected squared error of any answer."
        ),
        "",
        *_table(["Interp. K=1", "PSNR", "SSIM"], rows),
        "",
    ]


def _denoising_markdown(denoising: dict) -> list[str]:
    levels = list(next(iter(denoising.values())))
    rows = [
        [METHODS[method].removesuffix(" + replacement"), *(_format("psnr", scores[level]) for level in levels)]
        for method, scores in denoising.items()
    ]
    return [
        "#### One-step denoising: PSNR (dB) of the clean estimate from noise level t, all frames noised",
        "",
        *_table(["Method", *levels], rows),
        "",
    ]


def _drift_markdown(long: dict) -> list[str]:
    window = long["window"]
    shares = long["share_plausible"]
    spans = [f"{w * window}–{(w + 1) * window - 1}" for w in range(len(next(iter(shares.values()))))]
    rows = [[METHODS[m], *(_format("plausible", share) for share in values)] for m, values in shares.items()]
    return [
        (
            f"#### Long video: share of plausible clips per {window}-frame window "
            f"({long['clips']} videos of {long['frames']} frames, {long['context']} context frames)"
        ),
        "",
        *_table(["Method", *spans], rows),
        "",
    ]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], text_columns: int = 1) -> list[str]:
    """A Markdown table: the first `text_columns` columns left-aligned, the numbers right-aligned."""
    return [
        "| " + " | ".join(header) + " |",
        "|:--" * text_columns + "|--:" * (len(header) - text_columns) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


# ----------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.evaluate",
        description="Evaluate an FVDM model (and a conventional baseline) on held-out clips with ground truth.",
    )
    parser.add_argument("--model", required=True, help="model folder, official .pt, Hub id or bundled name (fvdm)")
    parser.add_argument("--baseline", help="conventional model (trained with p = 0), sampled with replacement")
    parser.add_argument("--out", required=True, help="JSON report; the Markdown tables go beside it (.md)")
    parser.add_argument("--clips", type=int, default=64, help="held-out clips per task (default 64)")
    parser.add_argument("--steps", type=int, default=25, help="sampling steps (default 25)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument("--long-frames", type=int, default=128, help="frames of each long video (default 128)")
    parser.add_argument("--long-clips", type=int, default=16, help="long videos per model (default 16)")
    parser.add_argument("--video-folder", help="also evaluate on clips from this folder of videos")
    parser.add_argument("--i3d", help="I3D TorchScript file (e.g. i3d_torchscript.pt) to compute FVD; never downloaded")
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated subset of {','.join(TASKS)}")
    parser.add_argument("--batch-size", type=int, default=16, help="clips sampled at once (default 16)")
    parser.add_argument("--bf16", action="store_true", help="run the transformer under bfloat16 autocast")
    parser.add_argument("--sampler", choices=SAMPLERS, help="sampling step for every model (default: the model's own)")
    parser.add_argument("--eta", type=float, default=0.0, help="DDIM noise, 0 = deterministic (default 0)")
    parser.add_argument(
        "--frame-guidance", type=float, help="guidance towards the given frames, 1 = off (default: the model's own)"
    )
    return parser


def load_for_evaluation(source: str) -> FVDMPipeline:
    pipe = load_pipeline(source)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def run(args: argparse.Namespace) -> dict:
    """Load the models, evaluate, write the JSON report and the Markdown beside it."""
    out = Path(args.out).expanduser()
    if out.suffix.lower() == ".md":
        raise FVDMInputError("--out names the JSON report; the Markdown is written beside it as .md")
    pipe = load_for_evaluation(args.model)
    baseline = load_for_evaluation(args.baseline) if args.baseline else None
    result = evaluate(
        pipe, baseline, clips=args.clips, steps=args.steps, seed=args.seed,
        tasks=[task.strip() for task in args.tasks.split(",") if task.strip()],
        long_frames=args.long_frames, long_clips=args.long_clips, video_folder=args.video_folder, i3d=args.i3d,
        autocast_dtype=torch.bfloat16 if args.bf16 else None, batch_size=args.batch_size,
        sampler=args.sampler, eta=args.eta, frame_guidance=args.frame_guidance,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")
    out.with_suffix(".md").write_text(result["markdown"])
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """The command line; a bad input ends it with one line "error: ..." (exit status 1)."""
    from diffusers.utils import logging as diffusers_logging

    args = build_parser().parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s", level=logging.INFO)
    diffusers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()
    try:
        result = run(args)
    except FVDMInputError as error:
        raise SystemExit("error: " + " ".join(str(error).split())) from None
    print(result["markdown"], end="")
    print(f"wrote {args.out} and {Path(args.out).with_suffix('.md')}")


if __name__ == "__main__":
    main()
