"""CPU (or GPU) time to sample one 16-frame video with the bundled model: fp32 against bf16 autocast,
DDIM against DDPM steps, image-to-video with and without guidance towards the given frame, and in
every frame order (the pyramid takes the same number of steps, so it should cost the same; the
sequential order, the demo's default for Generate and Image to video, takes 165 steps for image to
video and 175 unconditionally where the others take 25).

    python -m benchmarks.sampling [--model fvdm] [--steps 25] [--repeats 5] [--threads N]

All variants run in the same process, alternating, so the ratios are fair on a noisy machine.
Frame guidance adds a second model call per step whenever frames are given (not for unconditional
videos). The issue's target is well under 2 s per video at the default 25 steps on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import time

import torch

from fvdm import load_pipeline, schedules

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fvdm", help="bundled name, folder or Hub id (default: the bundled FVDM)")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    pipe = load_pipeline(args.model)
    pipe.set_progress_bar_config(disable=True)
    image = torch.rand(1, 3, pipe.resolution, pipe.resolution, generator=torch.Generator().manual_seed(0))
    variants = {}
    for precision, dtype in (("fp32", None), ("bf16_autocast", torch.bfloat16)):
        for task, (builder, sampler, frame_guidance) in TASKS.items():
            plan = builder(pipe.num_frames, args.steps)
            given = {index: image for index in plan.given}
            variants[f"{precision}_{task}"] = (plan, given, dtype, sampler, frame_guidance)
    for variant in variants.values():
        time_video(pipe, *variant)  # warm-up
    timings = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, variant in variants.items():
            timings[name].append(time_video(pipe, *variant))
    medians = {name: round(statistics.median(values), 3) for name, values in timings.items()}
    print(json.dumps({
        "benchmark": "sampling",
        "model": args.model,
        "device": str(pipe.device),
        "threads": torch.get_num_threads(),
        "frames": pipe.num_frames,
        "resolution": pipe.resolution,
        "steps": args.steps,
        "default_sampler": pipe.scheduler.config.sampler,
        "default_frame_guidance": pipe.config.frame_guidance,
        "median_s_per_video": medians,
        "bf16_speedup": round(medians["fp32_unconditional_ddpm"] / medians["bf16_autocast_unconditional_ddpm"], 2),
        "ddpm_over_ddim_bf16": round(
            medians["bf16_autocast_unconditional_ddpm"] / medians["bf16_autocast_unconditional_ddim"], 2
        ),
        "guided_over_unguided_bf16": round(
            medians["bf16_autocast_image_to_video_ddpm_default"]
            / medians["bf16_autocast_image_to_video_ddpm_unguided"], 2
        ),
        "pyramid_over_together_bf16": round(
            medians["bf16_autocast_image_to_video_ddpm_pyramid"]
            / medians["bf16_autocast_image_to_video_ddpm_default"], 2
        ),
        "target_s": 2.0,
    }))


if __name__ == "__main__":
    main()
