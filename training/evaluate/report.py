"""The whole run: check the inputs, load the ground truth, run every task on every model, and
gather the report (its configuration, the numbers, the timings and the Markdown)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from fvdm import schedules
from fvdm.errors import FVDMInputError
from fvdm.pipeline import FVDMPipeline
from fvdm.scheduler import check_sampler
from training.evaluate.ceiling import interpolation_ceiling
from training.evaluate.clips import synthetic_clips, video_folder_clips
from training.evaluate.denoising import denoising_psnr
from training.evaluate.drift import long_drift
from training.evaluate.markdown import to_markdown
from training.evaluate.quality import FVDScorer
from training.evaluate.sampling import Sampler
from training.evaluate.sections import evaluate_section
from training.evaluate.tasks import TASKS, build_tasks, check_orders, check_tasks, known_subset
from training.fvd import load_detector
from training.synthetic import eval_seed


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
    orders: Sequence[str] = schedules.ORDERS,
    long_order: str = "together",
) -> dict:
    """Evaluate `pipe` (and the conventional `baseline`, sampled with replacement) on `clips` held-out
    clips; see the module docstring. Returns the report: {"config", "synthetic", ["video_folder"],
    "timings", "markdown"}. Inputs are checked, and the ground truth loaded, before any sampling.

    `long_clips` long videos of `long_frames` frames are made per model; each costs about
    `2 * long_frames / num_frames` times as much as a clip of the other tasks. `batch_size` clips are
    sampled at once; `autocast_dtype` (e.g. torch.bfloat16) runs the model under autocast;
    `sampler` ("ddim" or "ddpm"; default: `pipe`'s own) and `eta` choose the sampling step, the
    same for every model; `frame_guidance` (default: `pipe`'s own) guides `pipe` towards its given frames.
    Prediction, image-to-video and unconditional generation run in each frame order of `orders`;
    each window of the long videos in `long_order` (one order: a long video costs the most).
    """
    started = time.perf_counter()
    tasks = check_tasks(tasks)
    _check_inputs(pipe, baseline, tasks, long_frames, clips=clips, steps=steps, long_clips=long_clips, batch_size=batch_size)
    sampler = check_sampler(sampler or pipe.scheduler.config.sampler)
    if not eta >= 0:
        raise FVDMInputError(f"eta must be at least 0; got {eta}")
    frame_guidance = pipe.resolve_frame_guidance(frame_guidance)
    frames, resolution = pipe.num_frames, pipe.resolution
    orders = check_orders(orders)
    (long_order,) = known_subset([long_order], schedules.ORDERS, "long_order")
    sample_tasks = build_tasks(tasks, frames, steps, orders)
    truth = {"synthetic": synthetic_clips(clips, frames, resolution)}
    if video_folder is not None:
        truth["video_folder"] = video_folder_clips(video_folder, clips, frames, resolution)
    detector = load_detector(i3d, pipe.device) if i3d is not None else None
    if detector is not None and min(len(real) for real in truth.values()) < 2:
        raise FVDMInputError("FVD needs at least 2 clips")

    models = {"fvdm": pipe} | ({"conventional": baseline} if baseline else {})
    runner = Sampler(models, seed, batch_size, autocast_dtype, sampler, eta, frame_guidance)
    result: dict = {"config": run_config(
        pipe, baseline, clips=clips, steps=steps, seed=seed, tasks=list(tasks), orders=list(orders), long_order=long_order,
        long_frames=long_frames, long_clips=long_clips, batch_size=batch_size, autocast=_optional_str(autocast_dtype),
        sampler=sampler, eta=eta, frame_guidance=frame_guidance, video_folder=_optional_str(video_folder), i3d=_optional_str(i3d),
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
        result["synthetic"]["long"] = long_drift(runner, long_clips, long_frames, frames, steps, resolution, long_order)
    result["timings"] = {**runner.timings, "total": round(time.perf_counter() - started, 3)}
    result["markdown"] = to_markdown(result)
    return result


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
    network = pipe.denoiser  # whatever its class: transformer or U-Net
    return {
        "model": _name(pipe),
        "baseline": _name(baseline) if baseline is not None else None,
        "num_frames": pipe.num_frames,
        "resolution": pipe.resolution,
        "parameters": sum(parameter.numel() for parameter in network.parameters()),
        **options,
        "device": str(pipe.device),
        "torch": torch.__version__,
    }
