"""Sampling every model with the same seeds: clips following a plan, one-step denoising estimates
and long videos, each set timed."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch

from fvdm import schedules
from fvdm.pipeline import FVDMPipeline

logger = logging.getLogger(__name__)

CONDITIONING = {"fvdm": "vectorized", "conventional": "replacement"}


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

    def sample_long(
        self, method: str, count: int, total_frames: int, context: int, steps: int, order: str = "together"
    ) -> np.ndarray:
        """`count` long videos [N, total_frames, H, W, 3] from `generate_long`, each window in `order`."""
        pipe = self.models[method]
        videos = []
        for number, part in self._batches(count):
            chunks = pipe.generate_long(
                total_frames, context_frames=context, num_steps=steps, num_videos=part.stop - part.start,
                seed=self.seed + number, autocast_dtype=self.autocast_dtype, conditioning=CONDITIONING[method],
                sampler=self.sampler, eta=self.eta, frame_guidance=self._frame_guidance(method), order=order,
            )
            videos.append(np.concatenate(list(chunks), axis=1))
        return np.concatenate(videos)
