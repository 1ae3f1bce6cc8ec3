"""Seconds per CPU training step: bf16 autocast with the math or the flash attention kernel, and float32.

    python -m benchmarks.training [--config training/configs/synthetic-32.yaml] [--repeats 5] [--threads N] [section.key=value ...]

`fvdm.attention.dot_product_attention` pins SDPA to its math kernel (`CPU_TRAINING_KERNEL`) for half-precision
training on the CPU, because PyTorch's CPU flash-attention backward is slow on short sequences;
float32 keeps the flash kernel. This benchmark measures that choice: every variant runs the same
steps (same model, batch and timesteps), interleaved in one process so that the ratios are fair on
a noisy machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import time

import torch
from torch.nn.attention import SDPBackend
from torch.utils.data import default_collate

import fvdm.attention as attention
from training.config import load_config
from training.data import build_data
from training.train import build_model, build_scheduler, diffusion_loss

KERNELS = {"math": SDPBackend.MATH, "flash": SDPBackend.FLASH_ATTENTION}


@contextlib.contextmanager
def cpu_training_kernel(name: str):
    """Run the model's CPU training attention on one SDPA kernel (`fvdm.attention.CPU_TRAINING_KERNEL`)."""
    shipped = attention.CPU_TRAINING_KERNEL
    attention.CPU_TRAINING_KERNEL = KERNELS[name]
    try:
        yield
    finally:
        attention.CPU_TRAINING_KERNEL = shipped


def time_step(model, optimizer, scheduler, clips, config, kernel: str, bf16: bool) -> float:
    start = time.perf_counter()
    with cpu_training_kernel(kernel), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss = diffusion_loss(model, scheduler, clips, None, config)
        loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="training/configs/synthetic-32.yaml")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("overrides", nargs="*", help="config changes as in training.train, e.g. optim.batch_size=16")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    config = load_config(args.config, args.overrides)
    torch.manual_seed(0)
    data = build_data(config.data, config.run.seed)
    model = build_model(config, data, None)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    scheduler = build_scheduler(config.diffusion)
    clips = default_collate([data.train[i] for i in range(config.optim.batch_size)])["video"]
    variants = {"math_bf16": ("math", True), "flash_bf16": ("flash", True), "fp32": ("flash", False)}  # fp32 never pins
    for kernel, bf16 in variants.values():
        time_step(model, optimizer, scheduler, clips, config, kernel, bf16)  # warm-up
    timings = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, (kernel, bf16) in variants.items():
            timings[name].append(time_step(model, optimizer, scheduler, clips, config, kernel, bf16))
    medians = {name: round(statistics.median(values), 3) for name, values in timings.items()}
    print(json.dumps({
        "benchmark": "training_step",
        "config": args.config,
        "overrides": args.overrides,
        "threads": torch.get_num_threads(),
        "batch": config.optim.batch_size,
        "parameters_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
        "median_s_per_step": medians,
        "bf16_math_over_flash_speedup": round(medians["flash_bf16"] / medians["math_bf16"], 2),
        "bf16_math_over_fp32_speedup": round(medians["fp32"] / medians["math_bf16"], 2),
    }))


if __name__ == "__main__":
    main()
