"""CPU (or GPU) time to sample one 16-frame video with the bundled model: fp32 against bf16 autocast
(where bf16 is the faster one here: `fvdm.precision`), DDIM against DDPM steps, image-to-video
with and without guidance towards the given frame, and in every frame order (the pyramid takes the
same number of steps, so it should cost the same; the sequential order, the demo's default for
Generate and Image to video, takes 165 steps for image to video and 175 unconditionally where the
others take 25).

    python -m benchmarks.sampling [--model fvdm] [--steps 25] [--repeats 5] [--threads N] [--precisions fp32,bf16]

All variants run in the same process, alternating, so the ratios are fair on a noisy machine.
Frame guidance adds a second model call per step whenever frames are given (not for unconditional
videos). The target (issue 17): at most 0.5 s per unconditional video and 0.8 s per guided image
to video at the default 25 steps, together, on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import time

import torch

from fvdm import load_pipeline, schedules
from fvdm.precision import cpu_bf16_speedup, fastest_cpu_autocast

# name -> (plan builder, sampler, frame guidance; None = the model's own)
TASKS = {
    "unconditional_ddim": (schedules.synchronous, "ddim", None),
    "unconditional_ddpm": (schedules.synchronous, "ddpm", None),
    "unconditional_ddpm_sequential": (functools.partial(schedules.synchronous, order="sequential"), "ddpm", None),
    "image_to_video_ddpm_unguided": (schedules.image_to_video, "ddpm", 1.0),
    "image_to_video_ddpm_default": (schedules.image_to_video, "ddpm", None),
    "image_to_video_ddpm_pyramid": (functools.partial(schedules.image_to_video, order="pyramid"), "ddpm", None),
    "image_to_video_ddpm_sequential": (functools.partial(schedules.image_to_video, order="sequential"), "ddpm", None),
}


def time_video(pipe, plan, given, autocast_dtype, sampler, frame_guidance) -> float:
    start = time.perf_counter()
    pipe(plan=plan, given=given, seed=0, autocast_dtype=autocast_dtype, sampler=sampler, frame_guidance=frame_guidance)
    return time.perf_counter() - start


PRECISIONS = {"fp32": None, "bf16": torch.bfloat16}


def default_precisions(device: torch.device) -> str:
    """Both, except on a CPU that emulates bf16 (`fvdm.precision`: 15-25x slower, minutes per
    sequential video), where float32 alone."""
    return "fp32" if device.type == "cpu" and not fastest_cpu_autocast() else "fp32,bf16"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fvdm", help="bundled name, folder or Hub id (default: the bundled FVDM)")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--precisions", help="comma-separated among fp32,bf16 (default: both where bf16 is "
                        "faster on this CPU, else fp32 alone)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.precisions and any(name not in PRECISIONS for name in args.precisions.split(",")):
        parser.error(f"--precisions: comma-separated among {', '.join(PRECISIONS)}")
    pipe = load_pipeline(args.model)
    pipe.set_progress_bar_config(disable=True)
    precisions = (args.precisions or default_precisions(pipe.device)).split(",")
    image = torch.rand(1, 3, pipe.resolution, pipe.resolution, generator=torch.Generator().manual_seed(0))
    variants = {}
    for precision in precisions:
        for task, (builder, sampler, frame_guidance) in TASKS.items():
            plan = builder(pipe.num_frames, args.steps)
            given = {index: image for index in plan.given}
            variants[f"{precision}_{task}"] = (plan, given, PRECISIONS[precision], sampler, frame_guidance)
    for variant in variants.values():
        time_video(pipe, *variant)  # warm-up
    timings = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, variant in variants.items():
            timings[name].append(time_video(pipe, *variant))
    medians = {name: round(statistics.median(values), 3) for name, values in timings.items()}
    demo = "bf16" if pipe.device.type == "cpu" and fastest_cpu_autocast() else "fp32"
    at = demo if demo in precisions else precisions[0]  # the ratios below, at the demo's precision
    print(json.dumps({
        "benchmark": "sampling",
        "model": args.model,
        "device": str(pipe.device),
        "threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_bf16_speedup_probe": round(cpu_bf16_speedup(), 3),
        "demo_precision": demo,
        "frames": pipe.num_frames,
        "resolution": pipe.resolution,
        "steps": args.steps,
        "default_sampler": pipe.scheduler.config.sampler,
        "default_frame_guidance": pipe.config.frame_guidance,
        "median_s_per_video": medians,
        **({"bf16_speedup": ratio(medians, "fp32_unconditional_ddpm", "bf16_unconditional_ddpm")}
           if len(precisions) == 2 else {}),
        "ratios_at": at,
        "ddpm_over_ddim": ratio(medians, f"{at}_unconditional_ddpm", f"{at}_unconditional_ddim"),
        "guided_over_unguided": ratio(medians, f"{at}_image_to_video_ddpm_default", f"{at}_image_to_video_ddpm_unguided"),
        "pyramid_over_together": ratio(medians, f"{at}_image_to_video_ddpm_pyramid", f"{at}_image_to_video_ddpm_default"),
        "sequential_over_together": ratio(
            medians, f"{at}_image_to_video_ddpm_sequential", f"{at}_image_to_video_ddpm_default"
        ),
        "target_s": {"unconditional": 0.5, "image_to_video_guided": 0.8},
    }))


def ratio(medians: dict[str, float], slower: str, faster: str) -> float:
    """How many times the `slower` variant's median time is the `faster` one's."""
    return round(medians[slower] / medians[faster], 2)


if __name__ == "__main__":
    main()
