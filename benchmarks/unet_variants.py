"""The U-Net's motion paths at equal cost: seconds per CPU training step and per sampling forward.

    python -m benchmarks.unet_variants [--preset unet-cpu] [--batch 8] [--threads 1] [--repeats 5]

Variants of one preset, each with one path for motion switched off or on: (2+1)-D temporal
convolutions in every ResBlock, full space-time attention at the lowest resolution (8 x 8 x 16
frames = 1,024 tokens at 32 x 32) and temporal attention at each level. Every variant runs the same
bf16 training step (batch of 16-frame clips, per-frame timesteps) and a batch-1 forward without
gradients, interleaved in one process so that machine noise hits all alike. The JSON line gives
parameters, medians, and each variant's times as a ratio of the preset's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from fvdm.unet import UNET_PRESETS, FVDMUNet

# name -> overrides of the preset
VARIANTS: dict[str, dict] = {
    "preset": {},
    "no temporal conv": {"temporal_conv": False},
    "no space-time attention": {"spacetime_attention": False},
    "temporal attention at every level": {"temporal_attention": (0, 1, 2)},
    "2-D only (no motion path)": {"temporal_conv": False, "spacetime_attention": False, "temporal_attention": ()},
}


def training_step(model: FVDMUNet, optimizer: torch.optim.Optimizer, x: torch.Tensor, t: torch.Tensor) -> float:
    start = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = (model(x, t).float() - x).square().mean()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - start


@torch.no_grad()
def sampling_forward(model: FVDMUNet, x: torch.Tensor, t: torch.Tensor) -> float:
    start = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        model(x, t)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="unet-cpu", choices=list(UNET_PRESETS))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    shape = (args.batch, args.frames, 3, args.size, args.size)
    x, t = torch.randn(shape), torch.randint(0, 1000, shape[:2])
    x1, t1 = x[:1], t[:1]
    models = {name: FVDMUNet.from_preset(args.preset, sample_size=args.size, num_frames=args.frames, **overrides)
              for name, overrides in VARIANTS.items()}
    optimizers = {name: torch.optim.AdamW(model.parameters(), 1e-4) for name, model in models.items()}
    train_times: dict[str, list[float]] = {name: [] for name in models}
    sample_times: dict[str, list[float]] = {name: [] for name in models}
    for repeat in range(args.repeats + 1):  # the first round warms up and is dropped
        for name, model in models.items():
            step, forward = training_step(model, optimizers[name], x, t), sampling_forward(model, x1, t1)
            if repeat:
                train_times[name].append(step)
                sample_times[name].append(forward)
    base_train, base_sample = statistics.median(train_times["preset"]), statistics.median(sample_times["preset"])
    result = {
        "preset": args.preset, "batch": args.batch, "threads": args.threads, "variants": {
            name: {
                "parameters": sum(p.numel() for p in model.parameters()),
                "train_step_s": round(statistics.median(train_times[name]), 4),
                "train_ratio": round(statistics.median(train_times[name]) / base_train, 3),
                "forward_s": round(statistics.median(sample_times[name]), 4),
                "forward_ratio": round(statistics.median(sample_times[name]) / base_sample, 3),
            } for name, model in models.items()
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
