"""`convert`: an official FVDM .pt checkpoint -> a diffusers folder that `--model` loads."""

from __future__ import annotations

import argparse
from pathlib import Path

from fvdm.cli.arguments import int_in
from fvdm.cli.files import writing
from fvdm.cli.info import describe
from fvdm.errors import FVDMInputError
from fvdm.official import pipeline_from_official_checkpoint


def add_parser(commands) -> None:
    """The `convert` subcommand: the checkpoint, the folder to write, and what the checkpoint cannot tell."""
    sub = commands.add_parser(
        "convert",
        help="official .pt checkpoint -> diffusers folder",
        description="Convert a checkpoint of the official FVDM trainer into a folder that --model loads.",
    )
    sub.set_defaults(handler=run)
    sub.add_argument("checkpoint", type=Path, help="the official .pt / .pth / .ckpt file")
    sub.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="the folder to write")
    sub.add_argument("--vae", metavar="FOLDER", help="the VAE folder, for latent-space checkpoints")
    sub.add_argument("--heads", type=int_in(1), metavar="N", help="attention heads (default: inferred from the width)")


def run(args: argparse.Namespace) -> None:
    """Convert, save, and describe the model written."""
    if args.out_dir.exists() and not args.out_dir.is_dir():
        raise FVDMInputError(f"{args.out_dir} exists and is not a folder")
    pipe = pipeline_from_official_checkpoint(args.checkpoint, vae=args.vae, num_heads=args.heads)
    with writing(args.out_dir):
        pipe.save_pretrained(args.out_dir)
    print(f"converted {args.checkpoint} -> {args.out_dir} (load it with --model {args.out_dir})")
    print("\n".join(describe(pipe)))
