"""Whether bf16 autocast speeds this CPU up or slows it down, measured rather than assumed.

On a CPU with bf16 instructions (AVX512-BF16 or AMX on x86) bf16 autocast about halves a step of
the bundled models. On one without them (AVX2 only: most laptops and many cloud machines) PyTorch
emulates bf16 and the same forward pass is 15-25x slower: measured on an AVX2 AMD EPYC, the bundled
U-Net took 106 ms per 16-frame forward in float32 and 1,585 ms under bf16 autocast. The instruction
flags do not tell the whole story (oneDNN picks kernels at run time), so `cpu_bf16_speedup` times a
small convolution and matrix product, the operations the models spend their time in, both ways.
"""

from __future__ import annotations

import functools
import sys
import time

import torch

# bf16 must beat float32 by this much to be worth its rounding: a close race keeps float32.
MIN_SPEEDUP = 1.2


def _probe_seconds(bf16: bool) -> float:
    """Best of three timings of the probe workload (after one warm-up run), in seconds."""
    generator = torch.Generator().manual_seed(0)
    conv = torch.nn.Conv2d(64, 64, 3, padding=1)
    linear = torch.nn.Linear(256, 256)
    images = torch.randn(2, 64, 16, 16, generator=generator)
    tokens = torch.randn(512, 256, generator=generator)
    best = float("inf")
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for attempt in range(4):
            started = time.perf_counter()
            conv(images).sum() + linear(tokens).sum()
            if attempt:
                best = min(best, time.perf_counter() - started)
    return best


@functools.cache
def cpu_bf16_speedup() -> float:
    """float32 time over bf16-autocast time of the probe on this CPU (> 1: bf16 is faster).
    Measured once per process (about 0.1-0.5 s)."""
    return _probe_seconds(bf16=False) / _probe_seconds(bf16=True)


def autocast_for_speedup(speedup: float) -> torch.dtype | None:
    """The autocast dtype worth using at a measured bf16 speed-up: bf16, or None for float32."""
    return torch.bfloat16 if speedup >= MIN_SPEEDUP else None


def fastest_cpu_autocast() -> torch.dtype | None:
    """bf16 where this CPU runs it faster than float32, else None (plain float32)."""
    return autocast_for_speedup(cpu_bf16_speedup())


def slow_bf16_warning(device: torch.device | str) -> str | None:
    """One line for a user who asked for bf16 on a device where it is slower than float32, else None."""
    if torch.device(device).type != "cpu":
        return None
    speedup = cpu_bf16_speedup()
    if speedup >= 1:
        return None
    return (f"warning: bf16 autocast runs {1 / speedup:.0f}x slower than float32 on this CPU (it has no bf16 "
            f"instructions); leave bf16 off here")


def warn_if_slow_bf16(device: torch.device | str) -> None:
    """Print `slow_bf16_warning` to stderr, for a command line whose user asked for bf16."""
    warning = slow_bf16_warning(device)
    if warning:
        print(warning, file=sys.stderr)
