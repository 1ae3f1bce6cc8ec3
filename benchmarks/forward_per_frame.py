"""Cost of a per-frame timestep: forward time with t [B, F] (all different) over t [B] (shared).

    python -m benchmarks.forward_per_frame                     # tiny preset, CPU
    python -m benchmarks.forward_per_frame --preset XL/2 --size 32 --channels 4 --dtype bf16   # GPU

The two variants run interleaved in one process so machine noise hits both alike; the JSON line
reports medians and their ratio (target <= 1.03).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from fvdm.models import PRESETS, FVDMTransformer

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def timed(fn, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="tiny", choices=list(PRESETS))
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--dtype", default="fp32", choices=list(DTYPES))
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()

    device, dtype = torch.device(args.device), DTYPES[args.dtype]
    model = FVDMTransformer.from_preset(
        args.preset, sample_size=args.size, num_frames=args.frames, in_channels=args.channels
    ).to(device).eval()
    if dtype != torch.float32:
        model.to(dtype=dtype)
    x = torch.randn(args.batch, args.frames, args.channels, args.size, args.size, device=device, dtype=dtype)
    shared = torch.randint(0, 1000, (args.batch,), device=device)
    per_frame = torch.randint(0, 1000, (args.batch, args.frames), device=device)

    times = {"shared_t": [], "per_frame_t": []}
    with torch.inference_mode():
        for _ in range(3):  # warm-up
            model(x, shared), model(x, per_frame)
        for _ in range(args.repeats):
            times["shared_t"].append(timed(lambda: model(x, shared), device))
            times["per_frame_t"].append(timed(lambda: model(x, per_frame), device))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(json.dumps({
        "benchmark": "forward_per_frame",
        "preset": args.preset,
        "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
        "input": [args.batch, args.frames, args.channels, args.size, args.size],
        "device": str(device),
        "dtype": args.dtype,
        "shared_t_ms": round(medians["shared_t"] * 1e3, 3),
        "per_frame_t_ms": round(medians["per_frame_t"] * 1e3, 3),
        "ratio": round(medians["per_frame_t"] / medians["shared_t"], 4),
    }))


if __name__ == "__main__":
    main()
