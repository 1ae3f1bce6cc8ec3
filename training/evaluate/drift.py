"""Long-video drift: the share of plausible clips in each window-long stretch of long videos."""

from __future__ import annotations

from training.evaluate.clips import synthetic_clips
from training.evaluate.quality import window_plausibility
from training.evaluate.sampling import Sampler


def long_drift(
    sampler: Sampler, count: int, total_frames: int, window: int, steps: int, resolution: int, order: str = "together"
) -> dict:
    """Plausibility per window-long stretch of `count` long videos per model (context: half a window;
    each window's new frames in `order`), and of as many long real clips of the synthetic world as
    the reference."""
    context = window // 2
    shares = {}
    for method in sampler.models:
        with sampler.timed(f"synthetic/long/{method}"):
            videos = sampler.sample_long(method, count, total_frames, context, steps, order)
        shares[method] = window_plausibility(videos, window)
    shares["real"] = window_plausibility(synthetic_clips(count, total_frames, resolution), window)
    return {
        "clips": count, "frames": total_frames, "window": window, "context": context, "order": order,
        "share_plausible": shares,
    }
