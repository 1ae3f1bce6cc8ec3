"""fvdm: Frame-aware Video Diffusion Models, where every frame has its own timestep.

    from fvdm import FVDMPipeline, schedules, load_pipeline
    pipe = load_pipeline()                                    # the bundled model
    plan = schedules.interpolation(num_frames=16, num_steps=25, context=1)
    video = pipe(plan=plan, given={0: first, 15: last}, seed=0).frames
"""

from fvdm import schedules
from fvdm.backbones import BACKBONES, build_backbone
from fvdm.errors import FVDMInputError
from fvdm.loading import bundled_models, load_pipeline
from fvdm.models import PRESETS, FVDMTransformer
from fvdm.pipeline import FVDMPipeline, FVDMPipelineOutput
from fvdm.scheduler import FVDMScheduler
from fvdm.unet import UNET_PRESETS, FVDMUNet

__version__ = "0.1.0"

__all__ = [
    "BACKBONES",
    "FVDMInputError",
    "FVDMPipeline",
    "FVDMPipelineOutput",
    "FVDMScheduler",
    "FVDMTransformer",
    "FVDMUNet",
    "PRESETS",
    "UNET_PRESETS",
    "build_backbone",
    "bundled_models",
    "load_pipeline",
    "schedules",
]
