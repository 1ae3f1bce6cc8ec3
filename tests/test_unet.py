"""FVDMUNet: the shape contract, per-frame conditioning, save/load, and the pipeline around it."""

from __future__ import annotations

import pytest
import torch
from test_models import randomize

from fvdm import FVDMPipeline, FVDMScheduler, FVDMTransformer, FVDMUNet, build_backbone, load_pipeline, schedules
from fvdm.backbones import backbone_name, load_backbone_config
from fvdm.errors import FVDMInputError
from fvdm.unet import UNET_PRESETS

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FRAMES, SIZE = 6, 8
# no path between frames: each frame is its own image, so frame i can depend only on t_i
NO_MOTION = dict(temporal_conv=False, temporal_attention=(), spacetime_attention=False)


def tiny(seed: int = 0, **overrides) -> FVDMUNet:
    model = FVDMUNet.from_preset("unet-tiny", sample_size=SIZE, num_frames=FRAMES, **overrides)
    return randomize(model, seed)


def inputs(batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, FRAMES, 3, SIZE, SIZE, generator=generator)
    return x, torch.randint(0, 1000, (batch, FRAMES), generator=generator)


@pytest.mark.parametrize("name", list(UNET_PRESETS))
def test_every_preset_has_the_right_output_shape(name):
    """Small presets run for real; big ones on the meta device (shapes only, no memory)."""
    device = torch.device("meta") if UNET_PRESETS[name]["base_channels"] > 32 else torch.device("cpu")
    with device:
        model = FVDMUNet.from_preset(name, sample_size=32, num_frames=4, num_classes=5, learn_sigma=True)
        out = model(torch.randn(2, 4, 3, 32, 32), torch.randint(0, 1000, (2, 4)), torch.tensor([1, 5]))
    assert out.shape == (2, 4, 6, 32, 32) and out.dtype == torch.float32


def test_a_fresh_unet_predicts_zero_and_every_output_block_is_zeroed():
    """Like adaLN-Zero: the network starts by predicting 0, and blocks that mix frames start as identity."""
    model = FVDMUNet.from_preset("unet-tiny", sample_size=SIZE, num_frames=FRAMES)
    x, t = inputs()
    assert torch.equal(model(x, t), torch.zeros(2, FRAMES, 3, SIZE, SIZE))


@pytest.mark.parametrize("shape", [(), (2,), (2, FRAMES)])
def test_scalar_batch_and_per_frame_timesteps_agree(shape):
    model = tiny()
    x, _ = inputs()
    full = torch.full((2, FRAMES), 321)
    assert torch.allclose(model(x, torch.full(shape, 321)), model(x, full))


def test_fewer_frames_than_the_window_run_and_more_are_refused():
    model = tiny()
    x, t = inputs()
    assert model(x[:, :3], t[:, :3]).shape == (2, 3, 3, SIZE, SIZE)
    with pytest.raises(ValueError, match="at most 6 frames"):
        model(torch.randn(1, FRAMES + 1, 3, SIZE, SIZE), torch.zeros(1, FRAMES + 1))


def test_without_a_motion_path_each_frame_depends_only_on_its_own_timestep():
    model = tiny(**NO_MOTION)
    x, t = inputs()
    changed = t.clone()
    changed[:, 2] = (t[:, 2] + 500) % 1000
    before, after = model(x, t), model(x, changed)
    others = [f for f in range(FRAMES) if f != 2]
    assert torch.allclose(before[:, others], after[:, others], atol=1e-5)
    assert (before[:, 2] - after[:, 2]).abs().mean() > 1e-2


def test_per_frame_conditioning_is_the_frames_own_not_the_clips():
    """A clip whose frames sit at two levels gives each frame what a clip all at its level gives it."""
    model = tiny(**NO_MOTION)
    x, _ = inputs(batch=1)
    mixed = torch.tensor([[0, 999, 0, 999, 0, 999]])
    out = model(x, mixed)
    for level in (0, 999):
        frames = (mixed[0] == level).nonzero().flatten()
        same = model(x, torch.full((1, FRAMES), level))
        assert torch.allclose(out[:, frames], same[:, frames], atol=1e-5)


@pytest.mark.parametrize("path", [
    dict(temporal_conv=True, temporal_attention=(), spacetime_attention=False),
    dict(temporal_conv=False, temporal_attention=(1,), spacetime_attention=False),
    dict(temporal_conv=False, temporal_attention=(), spacetime_attention=True),
])
def test_each_motion_path_carries_information_between_frames(path):
    """With any one path on, changing frame 0's content changes the next frame's output."""
    model = tiny(**path)
    x, t = inputs()
    moved = x.clone()
    moved[:, 0] += 1.0
    assert (model(x, t)[:, 1] - model(moved, t)[:, 1]).abs().mean() > 1e-3


def test_class_labels_change_the_output_and_none_is_the_null_class():
    model = tiny(num_classes=3)
    x, t = inputs()
    null = model(x, t, torch.tensor([3, 3]))
    assert torch.allclose(model(x, t), null)
    assert not torch.allclose(model(x, t, torch.tensor([0, 1])), null)


def test_sizes_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match="divisible"):
        FVDMUNet(sample_size=30, patch_size=2, channel_mult=(1, 2, 2))
    with pytest.raises(ValueError, match="attention levels"):
        FVDMUNet(channel_mult=(1, 2), temporal_attention=(3,))
    with pytest.raises(ValueError, match="unknown U-Net preset"):
        FVDMUNet.from_preset("unet-XXL")


def test_a_patch_step_keeps_the_contract():
    model = tiny(patch_size=2, channel_mult=(1, 2), temporal_attention=(1,))
    x, t = inputs()
    assert model(x, t).shape == x.shape


def test_bf16_autocast_matches_float32():
    model = tiny()
    x, t = inputs()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        half = model(x, t).float()
    full = model(x, t)
    assert (half - full).norm() <= 0.03 * full.norm()


def test_save_and_load_round_trip_exactly(tmp_path):
    model = tiny(num_classes=2, learn_sigma=True)
    model.save_pretrained(tmp_path / "unet")
    loaded = FVDMUNet.from_pretrained(tmp_path / "unet").eval()
    x, t = inputs()
    assert torch.equal(model(x, t), loaded(x, t))
    cls, config = load_backbone_config(tmp_path / "unet")
    assert cls is FVDMUNet and tuple(config["channel_mult"]) == (1, 2)


def test_backbones_are_named_and_built_by_name():
    assert backbone_name(tiny()) == "unet"
    assert backbone_name(FVDMTransformer.from_preset("tiny")) == "transformer"
    assert isinstance(build_backbone("unet"), FVDMUNet)
    assert isinstance(build_backbone("transformer", "tiny"), FVDMTransformer)
    with pytest.raises(ValueError, match="unknown backbone"):
        build_backbone("lstm")
    with pytest.raises(TypeError, match="not an fvdm backbone"):
        backbone_name(torch.nn.Linear(1, 1))


# ----------------------------------------------------------------------------- the pipeline


def unet_pipeline(seed: int = 0, frame_guidance: float = 1.0) -> FVDMPipeline:
    pipe = FVDMPipeline.from_denoiser(tiny(seed), FVDMScheduler(clip_sample=True), frame_guidance=frame_guidance)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_the_pipeline_holds_a_unet_as_its_unet_component():
    pipe = unet_pipeline()
    assert pipe.unet is pipe.denoiser and pipe.transformer is None
    assert (pipe.num_frames, pipe.resolution, pipe.num_classes) == (FRAMES, SIZE, 0)
    with pytest.raises(FVDMInputError, match="exactly one network"):
        FVDMPipeline(transformer=FVDMTransformer.from_preset("tiny"), unet=tiny(), scheduler=FVDMScheduler())
    with pytest.raises(FVDMInputError, match="exactly one network"):
        FVDMPipeline(transformer=None, scheduler=FVDMScheduler())


@pytest.mark.parametrize("frame_guidance", [1.0, 2.0])
def test_given_frames_come_out_bit_exact(frame_guidance):
    pipe = unet_pipeline(frame_guidance=frame_guidance)
    first = torch.rand(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(3))
    plan = schedules.image_to_video(num_frames=FRAMES, num_steps=3, order="pyramid")
    video = pipe(plan=plan, given={0: first}, seed=0, output_type="pt").frames
    assert torch.equal(video[0, 0], first[0])
    assert not torch.equal(video[0, 1], first[0])


def test_a_saved_unet_pipeline_loads_through_load_pipeline(tmp_path):
    pipe = unet_pipeline(frame_guidance=2.0)
    pipe.save_pretrained(tmp_path / "pipe")
    assert (tmp_path / "pipe" / "unet" / "diffusion_pytorch_model.safetensors").is_file()
    assert not (tmp_path / "pipe" / "transformer").exists()
    loaded = load_pipeline(tmp_path / "pipe", device="cpu")
    assert isinstance(loaded.denoiser, FVDMUNet) and loaded.config.frame_guidance == 2.0
    plan = schedules.synchronous(num_frames=FRAMES, num_steps=2)
    ours = pipe(plan=plan, seed=4, output_type="pt").frames
    theirs = loaded(plan=plan, seed=4, output_type="pt").frames
    assert torch.equal(ours, theirs)
