"""Tiny random pipelines shared by the CLI, loading and pipeline tests.

Fresh FVDM transformers are adaLN-Zero (they predict exactly zero), so every model here gets
random weights from `randomize`: then seeds, classes and guidance visibly change the output.
"""

from __future__ import annotations

from diffusers import AutoencoderKL
from test_models import official_state_dict, randomize

from fvdm import FVDMPipeline, FVDMScheduler, FVDMTransformer

__all__ = ["RESOLUTION", "WINDOW", "official_state_dict", "tiny_pipeline", "tiny_vae"]

WINDOW = 8  # frames per window of every tiny model
RESOLUTION = 16  # output side in pixels of every tiny pipeline, pixel or latent


def tiny_vae(seed: int = 0) -> AutoencoderKL:
    """A 2-level VAE (16 px <-> 8 x 8 x 4 latents), small enough to build in milliseconds."""
    vae = AutoencoderKL(
        block_out_channels=(8, 16),
        latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        norm_num_groups=8,
        layers_per_block=1,
        sample_size=RESOLUTION,
    )
    return randomize(vae, seed)


def tiny_pipeline(num_classes: int = 0, vae: AutoencoderKL | None = None, seed: int = 0) -> FVDMPipeline:
    """A random `tiny` preset at 16 x 16 px and 8 frames; latent space when `vae` is given."""
    in_channels = 3 if vae is None else vae.config.latent_channels
    scale = 1 if vae is None else 2 ** (len(vae.config.block_out_channels) - 1)
    transformer = FVDMTransformer.from_preset(
        "tiny", sample_size=RESOLUTION // scale, num_frames=WINDOW, in_channels=in_channels, num_classes=num_classes
    )
    pipe = FVDMPipeline(
        transformer=randomize(transformer, seed), scheduler=FVDMScheduler(clip_sample=vae is None), vae=vae
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe
