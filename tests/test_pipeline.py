"""FVDMPipeline on tiny random models: seeds, given frames, conditioning, callbacks, long videos, VAEs."""

from __future__ import annotations

import numpy as np
import PIL.Image
import pytest
import torch
from helpers import RESOLUTION, WINDOW, tiny_pipeline, tiny_vae

from fvdm import FVDMInputError, FVDMPipeline, FVDMScheduler, schedules
from fvdm.video_io import resize_center_crop, to_rgb_array

pytestmark = pytest.mark.usefixtures("one_torch_thread")

STEPS = 3


@pytest.fixture(scope="module")
def pipe() -> FVDMPipeline:
    return tiny_pipeline()


@pytest.fixture(scope="module")
def class_pipe() -> FVDMPipeline:
    return tiny_pipeline(num_classes=3)


def random_image(seed: int, size: tuple[int, int] = (RESOLUTION, RESOLUTION)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)


def first_random_plan_with_given() -> schedules.Plan:
    return next(plan for seed in range(100) if (plan := schedules.random_plan(WINDOW, STEPS, seed=seed)).given)


# ------------------------------------------------------------------------------- seeds and saving


def test_same_seed_same_video_other_seed_other_video(pipe):
    first = pipe(num_steps=STEPS, seed=1).frames
    assert first.shape == (1, WINDOW, RESOLUTION, RESOLUTION, 3) and first.dtype == np.float32
    np.testing.assert_array_equal(first, pipe(num_steps=STEPS, seed=1).frames)
    np.testing.assert_array_equal(first, pipe(num_steps=STEPS, generator=torch.Generator().manual_seed(1)).frames)
    assert not np.array_equal(first, pipe(num_steps=STEPS, seed=2).frames)


def test_save_and_load_give_the_same_video(pipe, tmp_path):
    pipe.save_pretrained(tmp_path)
    loaded = FVDMPipeline.from_pretrained(tmp_path)
    loaded.set_progress_bar_config(disable=True)
    plan = schedules.autoregressive(WINDOW, STEPS, lag=1)
    np.testing.assert_array_equal(loaded(plan=plan, seed=0).frames, pipe(plan=plan, seed=0).frames)


def test_the_model_s_own_sampler_is_the_default_for_clips_and_long_videos():
    ddpm = tiny_pipeline()
    ddpm.scheduler = FVDMScheduler.from_config(ddpm.scheduler.config, sampler="ddpm")
    plan = schedules.prediction(WINDOW, STEPS, context=1)
    given = {0: random_image(0)}

    def clip(**options) -> np.ndarray:
        return ddpm(plan=plan, given=given, seed=0, **options).frames

    def long(**options) -> np.ndarray:
        return np.concatenate(list(ddpm.generate_long(10, 3, num_steps=2, seed=0, **options)), axis=1)

    np.testing.assert_array_equal(clip(), clip(sampler="ddpm"))
    assert not np.allclose(clip(), clip(sampler="ddim"))
    np.testing.assert_array_equal(long(), long(sampler="ddpm"))
    assert not np.allclose(long(), long(sampler="ddim"))
    with pytest.raises(FVDMInputError, match="sampler must be one of ddim, ddpm; got 'heun'"):
        clip(sampler="heun")


def test_sampling_turns_the_noise_into_clean_frames(pipe):
    """With clip_sample the x0 estimates lie in [-1, 1]; the starting noise does not, so an output
    inside [-1, 1] that is not the clipped noise shows that every step ran."""
    latents = pipe(num_steps=STEPS, seed=5, output_type="latent").frames
    noise = torch.randn(latents.shape, generator=torch.Generator().manual_seed(5))
    assert noise.abs().max() > 1 and latents.abs().max() <= 1
    assert (latents - noise.clamp(-1, 1)).abs().mean() > 0.1
    assert latents.std() > 0.05  # not collapsed to a constant either


# ------------------------------------------------------------------------------- given frames


PLANS = {
    "image_to_video": lambda: schedules.image_to_video(WINDOW, STEPS, given=(0, 3)),
    "image_to_video_noisy_given": lambda: schedules.image_to_video(WINDOW, STEPS, given_level=100),
    "interpolation": lambda: schedules.interpolation(WINDOW, STEPS, context=2),
    "prediction": lambda: schedules.prediction(WINDOW, STEPS, context=3),
    "keyframes": lambda: schedules.keyframes(WINDOW, STEPS, [0, 4, 7]),
    "autoregressive": lambda: schedules.autoregressive(WINDOW, STEPS, given=(0,), lag=1),
    "trapezoid": lambda: schedules.trapezoid(WINDOW, STEPS, given=(0, 7)),
    "random": first_random_plan_with_given,
}
FORMATS = {
    "pil": PIL.Image.fromarray,
    "uint8": lambda array: array,
    "tensor": lambda array: torch.from_numpy(array).permute(2, 0, 1).float() / 255,
}


@pytest.mark.parametrize("form", FORMATS)
@pytest.mark.parametrize("name", PLANS)
def test_given_frames_come_back_bit_identical(pipe, name, form):
    plan = PLANS[name]()
    images = {index: random_image(index) for index in plan.given}
    out = pipe(plan=plan, given={i: FORMATS[form](image) for i, image in images.items()}, seed=0, num_videos=2).frames
    for index, image in images.items():
        for video in out:
            np.testing.assert_array_equal(video[index], image.astype(np.float32) / 255)
    for index in plan.generated:
        assert not any(np.array_equal(out[0, index], image.astype(np.float32) / 255) for image in images.values())


@pytest.mark.parametrize(
    "image",
    [
        PIL.Image.fromarray(np.random.default_rng(0).integers(0, 256, (20, 30, 4), dtype=np.uint8), "RGBA"),
        PIL.Image.fromarray(np.random.default_rng(1).integers(0, 256, (17, 23), dtype=np.uint8), "L"),
        np.random.default_rng(2).integers(0, 256, (33, 15, 3), dtype=np.uint8),
    ],
    ids=["rgba", "grayscale", "odd-size-array"],
)
def test_other_image_modes_and_sizes_are_accepted(pipe, image):
    out = pipe(plan=schedules.image_to_video(WINDOW, STEPS), given={0: image}, seed=0).frames
    expected = resize_center_crop(to_rgb_array(image), (RESOLUTION, RESOLUTION))
    np.testing.assert_array_equal(out[0, 0], expected.astype(np.float32) / 255)


def test_given_images_must_match_the_plan(pipe):
    plan = schedules.interpolation(WINDOW, STEPS)
    with pytest.raises(FVDMInputError, match=r"gives frames \[0, 7\] but images were passed for frames \[0\]"):
        pipe(plan=plan, given={0: random_image(0)})
    with pytest.raises(FVDMInputError, match="images were passed for frames"):
        pipe(plan=schedules.synchronous(WINDOW, STEPS), given={2: random_image(0)})


def test_too_many_frames_is_refused(pipe):
    with pytest.raises(FVDMInputError, match=f"at most {WINDOW} frames"):
        pipe(plan=schedules.synchronous(WINDOW + 1, STEPS))


def test_fewer_frames_than_the_window(pipe):
    assert pipe(plan=schedules.prediction(5, STEPS), given={0: random_image(0)}, seed=0).frames.shape[1] == 5


def test_out_of_range_image_tensor_is_refused(pipe):
    with pytest.raises(FVDMInputError, match=r"\[0, 1\]"):
        pipe(plan=schedules.image_to_video(WINDOW, STEPS), given={0: torch.full((3, RESOLUTION, RESOLUTION), 2.0)})


# ------------------------------------------------------------------------------- classes and guidance


def test_class_labels_and_guidance_change_the_video(class_pipe):
    def run(**kwargs):
        return class_pipe(num_steps=STEPS, seed=0, **kwargs).frames

    plain = run(class_labels=1)
    assert not np.array_equal(plain, run(class_labels=2))
    assert not np.array_equal(plain, run(class_labels=1, guidance_scale=4.0))
    both = class_pipe(num_steps=STEPS, seed=0, num_videos=2, class_labels=[1, 2]).frames
    # one label per video; a batch of two rounds differently from a batch of one on some CPUs
    np.testing.assert_allclose(both[0], plain[0], atol=2e-3)
    assert np.abs(both[1] - plain[0]).max() > 0.05
    with pytest.raises(FVDMInputError, match="0..2"):
        run(class_labels=3)


def test_guidance_and_labels_need_a_class_conditional_model(pipe):
    with pytest.raises(FVDMInputError, match="guidance needs a class-conditional model"):
        pipe(num_steps=STEPS, guidance_scale=3.0)
    with pytest.raises(FVDMInputError, match="not class-conditional"):
        pipe(num_steps=STEPS, class_labels=0)


# ------------------------------------------------------------------------------- frame guidance


def with_frame_guidance(pipe: FVDMPipeline, strength: float) -> FVDMPipeline:
    guided = FVDMPipeline(transformer=pipe.transformer, scheduler=pipe.scheduler, frame_guidance=strength)
    guided.set_progress_bar_config(disable=True)
    return guided


def test_frame_guidance_extrapolates_away_from_the_prediction_without_the_given_frames(class_pipe):
    """prediction = cond + (g - 1)(cond - null class) + (f - 1)(cond - unseen), every branch in one batch,
    where `unseen` swaps the given frames for pure noise at the top level."""
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(2, WINDOW, 3, RESOLUTION, RESOLUTION, generator=generator)
    noise = torch.randn(latents.shape, generator=generator)
    t = torch.tensor([[0, 0, 400, 400, 400, 400, 400, 0]]).expand(2, -1)
    labels = torch.tensor([1, 2])
    unseen = class_pipe._without_given(latents, t, (0, 1, 7), noise)
    torch.testing.assert_close(unseen[0][:, [0, 1, 7]], noise[:, [0, 1, 7]], rtol=0, atol=0)
    torch.testing.assert_close(unseen[0][:, 2:7], latents[:, 2:7], rtol=0, atol=0)
    assert unseen[1][0].tolist() == [999, 999, 400, 400, 400, 400, 400, 999]
    model = class_pipe.transformer
    cond, null, without = (model(x, times, y) for x, times, y in [
        (latents, t, labels), (latents, t, torch.full((2,), 3)), (*unseen, labels)])
    both = class_pipe.predict(latents, t, labels, guidance_scale=3.0, frame_guidance=2.5, unseen=unseen)
    torch.testing.assert_close(both, cond + 2.0 * (cond - null) + 1.5 * (cond - without), rtol=1e-4, atol=1e-4)
    frames_only = class_pipe.predict(latents, t, labels, frame_guidance=2.5, unseen=unseen)
    torch.testing.assert_close(frames_only, cond + 1.5 * (cond - without), rtol=1e-4, atol=1e-4)


def test_the_model_s_own_frame_guidance_is_the_default_and_is_saved(pipe, tmp_path):
    guided = with_frame_guidance(pipe, 2.0)
    guided.save_pretrained(tmp_path)
    loaded = FVDMPipeline.from_pretrained(tmp_path)
    loaded.set_progress_bar_config(disable=True)
    assert loaded.config.frame_guidance == 2.0 and pipe.config.frame_guidance == 1.0
    plan, given = schedules.interpolation(WINDOW, STEPS, context=1), {0: random_image(0), 7: random_image(1)}

    def clip(model: FVDMPipeline, **options) -> np.ndarray:
        return model(plan=plan, given=given, seed=0, **options).frames

    default = clip(loaded)
    np.testing.assert_array_equal(default, clip(pipe, frame_guidance=2.0))
    assert np.abs(default - clip(loaded, frame_guidance=1.0)).max() > 0.01
    np.testing.assert_array_equal(clip(loaded, frame_guidance=1.0), clip(pipe))
    for index, image in given.items():  # guidance moves the generated frames only
        np.testing.assert_array_equal((default[0, index] * 255).round().astype(np.uint8), image)
    # Without given frames there is nothing to guide towards: no extra model call, no extra noise.
    np.testing.assert_array_equal(loaded(num_steps=STEPS, seed=0).frames, pipe(num_steps=STEPS, seed=0).frames)

    def long(model: FVDMPipeline, **options) -> np.ndarray:
        return np.concatenate(list(model.generate_long(10, 3, num_steps=2, seed=0, **options)), axis=1)

    np.testing.assert_array_equal(long(loaded), long(pipe, frame_guidance=2.0))
    assert not np.allclose(long(loaded), long(pipe))


def test_frame_guidance_values_and_replacement(pipe):
    plan, given = schedules.prediction(WINDOW, STEPS, context=2), {0: random_image(0), 1: random_image(1)}
    for bad in (0.5, 10.5, float("nan"), "strong"):
        with pytest.raises(FVDMInputError, match="frame guidance must be a number from 1 to 10"):
            pipe(plan=plan, given=given, frame_guidance=bad)
        with pytest.raises(FVDMInputError, match="frame guidance must be a number from 1 to 10"):
            with_frame_guidance(pipe, bad)
    with pytest.raises(FVDMInputError, match="frame guidance needs vectorized conditioning"):
        pipe(plan=plan, given=given, frame_guidance=2.0, conditioning="replacement")
    # Replacement ignores a model's default guidance: the given frames are not held apart to guide towards.
    replaced = with_frame_guidance(pipe, 3.0)(plan=plan, given=given, seed=0, conditioning="replacement").frames
    np.testing.assert_array_equal(replaced, pipe(plan=plan, given=given, seed=0, conditioning="replacement").frames)


# ------------------------------------------------------------------------------- callbacks and output types


def test_callback_runs_once_per_step_with_the_requested_tensors(pipe):
    plan = schedules.autoregressive(WINDOW, STEPS, lag=1)
    calls = []

    def callback(pipeline, step, t_from, tensors):
        calls.append((step, t_from.clone(), {name: value.clone() for name, value in tensors.items()}))
        return {}

    result = pipe(
        plan=plan,
        seed=0,
        output_type="latent",
        callback_on_step_end=callback,
        callback_on_step_end_tensor_inputs=["latents", "pred_original_sample"],
    )
    assert [step for step, _, _ in calls] == list(range(plan.num_steps))
    for step, t_from, tensors in calls:
        assert torch.equal(t_from[0], plan.timesteps[step])
        assert set(tensors) == {"latents", "pred_original_sample"}
        assert tensors["latents"].shape == (1, WINDOW, 3, RESOLUTION, RESOLUTION)
    torch.testing.assert_close(calls[-1][2]["latents"], result.frames, rtol=0, atol=0)


def test_interrupt_stops_early_and_returns_the_latest_estimate(pipe):
    seen = []

    def callback(pipeline, step, t_from, tensors):
        seen.append(tensors["pred_original_sample"].clone())
        if step == 1:
            pipeline.request_interrupt()

    frames = pipe(
        num_steps=6, seed=0, callback_on_step_end=callback, callback_on_step_end_tensor_inputs=["pred_original_sample"]
    ).frames
    assert len(seen) == 2 and pipe.interrupt
    expected = ((seen[-1] + 1) / 2).clamp(0, 1).permute(0, 1, 3, 4, 2).numpy()
    np.testing.assert_allclose(frames, expected, atol=1e-6)
    assert pipe(num_steps=2, seed=0).frames.shape == frames.shape and not pipe.interrupt  # the flag resets


def test_output_types(pipe):
    plan, given = schedules.image_to_video(WINDOW, STEPS), {0: random_image(0)}
    array = pipe(plan=plan, given=given, seed=0).frames
    tensor = pipe(plan=plan, given=given, seed=0, output_type="pt").frames
    pil = pipe(plan=plan, given=given, seed=0, output_type="pil").frames
    latent = pipe(plan=plan, given=given, seed=0, output_type="latent").frames
    assert tensor.shape == (1, WINDOW, 3, RESOLUTION, RESOLUTION)
    np.testing.assert_array_equal(tensor.permute(0, 1, 3, 4, 2).numpy(), array)
    assert len(pil) == 1 and len(pil[0]) == WINDOW and pil[0][0].size == (RESOLUTION, RESOLUTION)
    np.testing.assert_array_equal(np.array(pil[0][0]), random_image(0))
    assert latent.shape == (1, WINDOW, 3, RESOLUTION, RESOLUTION)
    with pytest.raises(ValueError, match="output_type"):
        pipe(num_steps=STEPS, output_type="gif")


def test_bf16_autocast_on_cpu_runs(pipe):
    full = pipe(num_steps=STEPS, seed=0).frames
    half = pipe(num_steps=STEPS, seed=0, autocast_dtype=torch.bfloat16).frames
    assert half.dtype == np.float32 and np.isfinite(half).all()
    assert np.abs(half - full).mean() < 0.1


# ------------------------------------------------------------------------------- long videos


def record_windows(pipe: FVDMPipeline, monkeypatch) -> list[tuple]:
    """Patch `pipe.denoise` to remember (plan, given latents, result) for every window."""
    windows = []
    original = pipe.denoise

    def denoise(plan, given_latents, **kwargs):
        result = original(plan, given_latents, **kwargs)
        windows.append((plan, {i: v.clone() for i, v in given_latents.items()}, result.clone()))
        return result

    monkeypatch.setattr(pipe, "denoise", denoise)
    return windows


def test_long_video_chunks_and_held_context(pipe, monkeypatch):
    windows = record_windows(pipe, monkeypatch)
    chunks = list(pipe.generate_long(total_frames=13, context_frames=3, num_steps=2, seed=0))
    assert [chunk.shape[1] for chunk in chunks] == [8, 5]  # a full first window, then 5 of 8 - 3 new frames
    assert all(chunk.shape[2:] == (RESOLUTION, RESOLUTION, 3) for chunk in chunks)
    (first_plan, first_given, first), (second_plan, second_given, second) = windows
    assert first_plan.given == () and first_given == {}
    assert second_plan.given == (0, 1, 2)
    for i in range(3):  # the second window is given the end of the first, and holds it exactly
        torch.testing.assert_close(second_given[i], first[:, WINDOW - 3 + i], rtol=0, atol=0)
        torch.testing.assert_close(second[:, i], first[:, WINDOW - 3 + i], rtol=0, atol=0)
    np.testing.assert_array_equal(chunks[1], pipe.decode_latents(second[:, 3:8]).permute(0, 1, 3, 4, 2).numpy())


def test_long_video_windows_follow_the_frame_order(pipe, monkeypatch):
    windows = record_windows(pipe, monkeypatch)
    chunks = list(pipe.generate_long(total_frames=13, context_frames=3, num_steps=6, seed=0, order="pyramid"))
    assert [chunk.shape[1] for chunk in chunks] == [8, 5]
    plans = [plan for plan, _, _ in windows]
    assert plans == [
        schedules.synchronous(WINDOW, 6, order="pyramid"), schedules.prediction(WINDOW, 6, context=3, order="pyramid")
    ]
    with pytest.raises(FVDMInputError, match="frame order must be one of together, pyramid"):
        next(pipe.generate_long(12, 4, order="backwards"))


def test_long_video_is_seeded_and_can_start_from_an_image(pipe):
    def run(seed: int, **kwargs) -> np.ndarray:
        return np.concatenate(list(pipe.generate_long(10, 3, num_steps=2, seed=seed, **kwargs)), axis=1)

    first = run(0)
    assert first.shape == (1, 10, RESOLUTION, RESOLUTION, 3)
    np.testing.assert_array_equal(first, run(0))
    assert not np.array_equal(first, run(1))
    sizes = [chunk.shape[1] for chunk in pipe.generate_long(10, 3, init_frames=[random_image(0)], num_steps=2, seed=0)]
    assert sizes == [7, 3]  # the image is the first window's context and is not repeated


def test_long_video_with_context_noise_and_bad_numbers(pipe):
    chunks = list(pipe.generate_long(12, 4, num_steps=2, context_noise=200, seed=0, num_videos=2))
    assert [chunk.shape[:2] for chunk in chunks] == [(2, 8), (2, 4)]
    with pytest.raises(FVDMInputError, match="between 1 and 7"):
        next(pipe.generate_long(12, WINDOW))
    with pytest.raises(FVDMInputError, match="stride must be between 1 and 4"):
        next(pipe.generate_long(12, 4, stride=5))


def test_long_video_stride_sets_the_new_frames_per_window(pipe, monkeypatch):
    windows = record_windows(pipe, monkeypatch)
    chunks = list(pipe.generate_long(total_frames=7, context_frames=3, stride=2, num_steps=2, seed=0))
    assert [chunk.shape[1] for chunk in chunks] == [5, 2]  # a first window of 3 + 2 frames, then 2 new per window
    assert [plan.num_frames for plan, _, _ in windows] == [5, 5]
    assert windows[1][0].given == (0, 1, 2)
    with pytest.raises(FVDMInputError, match="at least 1"):
        next(pipe.generate_long(0, 2))


# ------------------------------------------------------------------------------- latent space


def test_latent_pipeline_keeps_given_frames_in_pixel_space():
    pipe = tiny_pipeline(vae=tiny_vae())
    assert pipe.resolution == RESOLUTION and pipe.transformer.config.sample_size == RESOLUTION // 2
    plan = schedules.interpolation(WINDOW, STEPS)
    start, end = random_image(0), random_image(1)
    out = pipe(plan=plan, given={0: PIL.Image.fromarray(start), 7: end}, seed=0).frames
    assert out.shape == (1, WINDOW, RESOLUTION, RESOLUTION, 3)
    np.testing.assert_array_equal(out[0, 0], start.astype(np.float32) / 255)
    np.testing.assert_array_equal(out[0, 7], end.astype(np.float32) / 255)
    assert 0 <= out.min() and out.max() <= 1 and out[0, 1:7].std() > 0
    latents = pipe(plan=plan, given={0: start, 7: end}, seed=0, output_type="latent").frames
    assert latents.shape == (1, WINDOW, 4, RESOLUTION // 2, RESOLUTION // 2)
