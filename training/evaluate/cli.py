"""The command line, `python -m training.evaluate`: its options, and a run that writes the JSON
report and the Markdown beside it."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import torch

from fvdm.errors import FVDMInputError
from fvdm.loading import load_pipeline
from fvdm.pipeline import FVDMPipeline
from fvdm.precision import warn_if_slow_bf16
from fvdm.scheduler import SAMPLERS
from fvdm.schedules import ORDERS
from training.evaluate.report import evaluate
from training.evaluate.tasks import TASKS


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
    parser.add_argument(
        "--orders", default=",".join(ORDERS),
        help=f"comma-separated frame orders of prediction, image to video and unconditional generation, among {','.join(ORDERS)}",
    )
    parser.add_argument(
        "--long-order", default="together", choices=ORDERS, help="frame order of each long-video window (default together)"
    )
    parser.add_argument("--batch-size", type=int, default=16, help="clips sampled at once (default 16)")
    parser.add_argument("--bf16", action="store_true", help="run the model under bfloat16 autocast")
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
    if args.bf16:
        warn_if_slow_bf16(pipe.device)
    result = evaluate(
        pipe, baseline, clips=args.clips, steps=args.steps, seed=args.seed,
        tasks=[task.strip() for task in args.tasks.split(",") if task.strip()],
        long_frames=args.long_frames, long_clips=args.long_clips, video_folder=args.video_folder, i3d=args.i3d,
        autocast_dtype=torch.bfloat16 if args.bf16 else None, batch_size=args.batch_size,
        sampler=args.sampler, eta=args.eta, frame_guidance=args.frame_guidance,
        orders=[order.strip() for order in args.orders.split(",") if order.strip()], long_order=args.long_order,
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
