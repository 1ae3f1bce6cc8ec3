"""The demo's work functions (`demo.tasks`, `demo.inputs`, `demo.render`), called directly on tiny
16-frame models: plans, given frames kept exactly, references, streaming, errors in words."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import app_model
from PIL import Image

from demo import render
from demo.inputs import check_int, given_images_by_frame, read_clip, read_image, read_plan_file
from demo.models import ModelCache
from demo.tasks import Tasks, plan_to_rows, preset_plan, rows_to_plan, short_name
from fvdm import schedules
from fvdm.errors import FVDMInputError
from fvdm.video_io import probe_video, save_video, to_uint8

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> ModelCache:
    root = tmp_path_factory.mktemp("demo-models")
    models = [str(app_model(root / "a", 0)), str(app_model(root / "b", 1, sampler="ddpm", frame_guidance=2.0))]
    return ModelCache(models, device="cpu", include_bundled=False)


@pytest.fixture(scope="module")
def tasks(models) -> Tasks:
    return Tasks(models)


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory):
    """A 20-frame 64 x 64 clip of moving stripes (bigger than the model: the app crops and scales)."""
    x = np.arange(64)
    frames = np.stack([np.broadcast_to(((x[None, :] + 3 * t) % 16 < 8)[..., None] * 255, (64, 64, 3)) for t in range(20)])
    return str(save_video(frames.astype(np.uint8), tmp_path_factory.mktemp("clip") / "stripes.mp4"))


@pytest.fixture(scope="module")
def image_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("image") / "start.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 40, 4), dtype=np.uint8), "RGBA").save(path)
    return str(path)


def labels(models):
    return models.labels[0], models.labels[1]


# ----------------------------------------------------------------------------- plans and the table


def test_table_rows_round_trip_every_preset():
    for name in ("synchronous", "image_to_video", "interpolation", "prediction", "autoregressive", "trapezoid", "random"):
        plan = preset_plan(name, 16, 12, context=2, lag=2, block_size=2, seed=3)
        rows = plan_to_rows(plan)
        assert [row[0] for row in rows] == list(range(16))
        assert rows_to_plan(rows, plan.num_steps).timesteps.equal(plan.timesteps)


def test_bad_tables_and_numbers_are_sentences():
    rows = plan_to_rows(schedules.synchronous(4, 10))
    rows[2][3], rows[2][4] = 6, 6  # last == first
    with pytest.raises(FVDMInputError, match="frame 2: last active step 6 must come after"):
        rows_to_plan(rows, 10)
    with pytest.raises(FVDMInputError, match="empty"):
        rows_to_plan([], 10)
    with pytest.raises(FVDMInputError, match="between 1 and 100, got 0"):
        rows_to_plan(plan_to_rows(schedules.synchronous(4, 10)), 0)
    with pytest.raises(FVDMInputError, match="whole number"):
        check_int(2.5, "The seed", 0, 10)
    with pytest.raises(FVDMInputError, match="must be a number"):
        check_int("many", "The seed", 0, 10)
    with pytest.raises(FVDMInputError, match="Unknown preset"):
        preset_plan("zigzag", 16, 10)


# ----------------------------------------------------------------------------- inputs


def test_images_of_any_mode_and_size_become_model_frames(image_file, tmp_path):
    assert read_image(image_file, 32, "a frame").shape == (32, 32, 3)  # RGBA 40 x 48 -> RGB 32 x 32
    gray = tmp_path / "gray.png"
    Image.fromarray(np.zeros((10, 30), np.uint8), "L").save(gray)
    assert read_image(str(gray), 32, "a frame").shape == (32, 32, 3)
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(FVDMInputError, match="A frame could not be used: Could not read notes.png: the file is corrupt"):
        read_image(str(text), 32, "a frame")
    with pytest.raises(FVDMInputError, match="Please upload a start image"):
        read_image(None, 32, "a start image")
    huge = tmp_path / "huge.png"
    Image.new("RGB", (5000, 4000)).save(huge)
    with pytest.raises(FVDMInputError, match="A frame could not be used: .*pixels"):
        read_image(str(huge), 32, "a frame")


def test_clips_are_checked(clip_file, tmp_path):
    assert read_clip(clip_file, 16, 32).shape == (16, 32, 32, 3)
    with pytest.raises(FVDMInputError, match="could not be used"):
        read_clip(clip_file, 40, 32)  # the clip has 20 frames
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x13" * 500)
    with pytest.raises(FVDMInputError, match="The uploaded video could not be used"):
        read_clip(str(broken), 16, 32)


def test_given_images_are_matched_by_caption(image_file):
    images = given_images_by_frame([(image_file, "frame 3"), [image_file, "Frame 7"]], 32)
    assert sorted(images) == [3, 7] and images[3].shape == (32, 32, 3)
    with pytest.raises(FVDMInputError, match="captions must read 'frame N'"):
        given_images_by_frame([(image_file, "the cat")], 32)


def test_plan_files(tmp_path):
    good = tmp_path / "plan.json"
    good.write_text(schedules.interpolation(8, 5, context=2).to_json())
    assert read_plan_file(str(good)).given == (0, 1, 6, 7)
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "timesteps": [[5, 3], [9, 0]], "given": []}')
    with pytest.raises(FVDMInputError):
        read_plan_file(str(bad))
    binary = tmp_path / "image.json"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(FVDMInputError, match="not text"):
        read_plan_file(str(binary))


# ----------------------------------------------------------------------------- rendering


def test_captioned_panels_and_strips():
    clip = np.random.default_rng(0).random((6, 32, 32, 3))
    tiled = render.captioned_panels([("a", clip), ("b", clip)])
    assert tiled.dtype == np.uint8 and tiled.shape[0] == 6
    assert tiled.shape[2] == 2 * 192 + 4  # two 6x enlarged panels and the padding between them
    np.testing.assert_array_equal(tiled[:, render.CAPTION_PX :: 6, :192:6][:, :32, :32], to_uint8(clip))
    strip = render.frame_strip(clip, [f"f{i}" for i in range(6)], given=[0], per_row=4)
    assert strip.shape[0] > strip.shape[1] / 4  # two rows
    assert tuple(strip[0, 0]) == render.GIVEN_COLOR


# ----------------------------------------------------------------------------- the tabs


def frame_count(path: str) -> int:
    return probe_video(path)["num_frames"]


def test_generate_several_videos_side_by_side_and_seeded(tasks, models):
    model, _ = labels(models)
    result = tasks.generate(model, None, 2, 5, 3)
    assert frame_count(result.video) == 16 and result.gif.endswith(".gif")
    assert [caption for caption, _ in result.panels] == [f"{short_name(model)} #1", f"{short_name(model)} #2"]
    assert "seed** 5" in result.info and "synchronous, sequential: 16 frames x 18 steps (3 per frame)" in result.info
    assert "**sampler** DDIM ·" in result.info  # model "a" samples with DDIM, "b" with DDPM
    again = tasks.generate(model, None, 2, 5, 3)
    np.testing.assert_array_equal(result.panels[0][1], again.panels[0][1])
    assert not np.array_equal(result.panels[0][1], result.panels[1][1])


def test_image_to_video_keeps_the_image_exactly_anywhere(tasks, models, image_file):
    model, other = labels(models)
    result = tasks.image_to_video(model, other, image_file, 5, 0, 3)
    expected = read_image(image_file, 32, "x")
    assert result.plan.given == (5,) and len(result.panels) == 2  # the model and the comparison model
    # each model samples its own way: "b" with DDPM and guidance towards the given frame
    assert "**sampler** DDIM / DDPM, frame guidance 2 ·" in result.info
    for _, clip in result.panels:
        np.testing.assert_array_equal(to_uint8(clip[5]), expected)


@pytest.mark.parametrize("order", ["pyramid", "sequential"])
def test_every_task_tab_runs_the_frame_order_it_is_given(tasks, models, image_file, clip_file, order):
    model, _ = labels(models)
    steps = 6
    plans = {
        "generate": tasks.generate(model, None, 1, 0, steps, None, 1.0, order).plan,
        "i2v": tasks.image_to_video(model, None, image_file, 2, 0, steps, None, order).plan,
        "interpolate": tasks.interpolate(model, None, None, None, clip_file, 2, 6, 0, steps, None, order).plan,
        "predict": tasks.predict(model, None, clip_file, 4, 0, steps, None, order).plan,
    }
    assert plans["generate"] == schedules.synchronous(16, steps, order=order)
    assert plans["i2v"] == schedules.image_to_video(16, steps, given=(2,), order=order)
    assert plans["interpolate"] == schedules.interpolation(10, steps, context=2, order=order)
    assert plans["predict"] == schedules.prediction(16, steps, context=4, order=order)
    assert tasks.long_plan(model, steps, 8, 4, order) == schedules.prediction(12, steps, context=8, order=order)
    result = tasks.image_to_video(model, None, image_file, 2, 0, steps, None, order)
    size = {"pyramid": "6 steps", "sequential": "34 steps (6 per frame)"}[order]
    assert f"**plan** image_to_video, {order}: 16 frames x {size}" in result.info
    np.testing.assert_array_equal(to_uint8(result.panels[0][1][2]), read_image(image_file, 32, "x"))
    together = tasks.image_to_video(model, None, image_file, 2, 0, steps, None, "together")
    assert not np.array_equal(together.panels[0][1], result.panels[0][1])
    updates = list(tasks.long_video(model, None, 8, 8, 4, 0, steps, order=order))
    assert len(updates[-1].frames) == 8
    with pytest.raises(FVDMInputError, match="The frame order must be one of together, pyramid, sequential; got 'sideways'"):
        tasks.predict(model, None, clip_file, 4, 0, steps, None, "sideways")


def test_image_to_video_defaults_to_the_sequential_order(tasks, models, image_file):
    model, _ = labels(models)
    result = tasks.image_to_video(model, None, image_file, 0, 0, 4)
    assert result.plan == schedules.image_to_video(16, 4, order="sequential")
    assert tasks.image_to_video_plan(model, 4) == result.plan


def test_frame_guidance_is_the_model_s_own_unless_asked(tasks, models, image_file):
    model, other = labels(models)  # "a" has no frame guidance of its own, "b" guides with 2

    def animate(label: str, *strength):
        return tasks.image_to_video(label, None, image_file, 0, 0, 2, *strength)

    own = animate(other)
    assert "frame guidance 2 ·" in own.info and tasks.frame_guidance_fact(other) == ", frame guidance 2 by default"
    np.testing.assert_array_equal(animate(other, 0).panels[0][1], own.panels[0][1])  # 0 = the model's own
    off = animate(other, 1)
    assert "frame guidance" not in off.info and not np.array_equal(off.panels[0][1], own.panels[0][1])
    assert "frame guidance 3 ·" in animate(model, 3).info and tasks.frame_guidance_fact(model) == ""
    with pytest.raises(FVDMInputError, match=r"Frame guidance must be 0 \(the model's own\) or a number from 1 to 10"):
        animate(model, 0.5)


def test_the_conventional_baseline_is_never_frame_guided():
    bundled = Tasks(ModelCache(device="cpu"))
    fvdm, baseline = bundled.models.labels
    assert bundled.models.get(baseline).conditioning == "replacement"
    assert bundled.frame_guidance(baseline) == bundled.frame_guidance(baseline, 4) == 1.0
    assert bundled.frame_guidance(fvdm, 3) == 3.0


def test_the_conventional_baseline_runs_a_pyramid_task_with_its_frames_together(image_file):
    bundled = Tasks(ModelCache(device="cpu"))
    fvdm, baseline = bundled.models.labels
    compared = bundled.image_to_video(fvdm, baseline, image_file, 0, 0, 6, None, "pyramid")
    alone = bundled.image_to_video(baseline, None, image_file, 0, 0, 6, None, "together")
    assert "**plan** image_to_video, pyramid" in compared.info
    assert "**sampler** DDPM, frame guidance 2 / DDPM, frames together ·" in compared.info
    np.testing.assert_array_equal(compared.panels[1][1], alone.panels[0][1])  # the same video as run together
    pyramid = schedules.image_to_video(16, 6, order="pyramid")
    assert bundled.plan_for(fvdm, pyramid) == pyramid
    assert bundled.plan_for(baseline, pyramid) == schedules.image_to_video(16, 6)
    sequential = schedules.image_to_video(16, 6, order="sequential")  # 34 steps, 6 per frame
    assert bundled.plan_for(baseline, sequential) == schedules.image_to_video(16, 6)
    updates = list(bundled.long_video(baseline, None, 4, 8, 4, 0, 6, order="pyramid"))
    assert ", frames together ·" in updates[-1].info


def test_interpolate_from_a_clip_shows_truth_and_cross_fade(tasks, models, clip_file):
    model, _ = labels(models)
    result = tasks.interpolate(model, None, None, None, clip_file, 2, 6, 0, 3)
    truth = read_clip(clip_file, 10, 32)
    assert result.plan.num_frames == 10 and result.plan.given == (0, 1, 8, 9)
    assert [caption for caption, _ in result.panels] == [short_name(model), "truth", "cross-fade"]
    generated = to_uint8(result.panels[0][1])
    np.testing.assert_array_equal(generated[[0, 1, 8, 9]], truth[[0, 1, 8, 9]])
    assert frame_count(result.video) == 10
    fade = result.panels[2][1]
    np.testing.assert_allclose(fade[5], 3 / 7 * truth[1] + 4 / 7 * truth[8], atol=0.5)


def test_interpolate_between_two_images_and_k_rules(tasks, models, image_file):
    model, _ = labels(models)
    result = tasks.interpolate(model, None, image_file, image_file, None, 1, 4, 0, 2)
    assert result.plan.num_frames == 6 and result.plan.given == (0, 5)
    with pytest.raises(FVDMInputError, match="needs a clip"):
        tasks.interpolate(model, None, image_file, image_file, None, 2, 4, 0, 2)
    with pytest.raises(FVDMInputError, match="Please upload an end image"):
        tasks.interpolate(model, None, image_file, None, None, 1, 4, 0, 2)
    with pytest.raises(FVDMInputError, match="between 1 and 12"):
        tasks.interpolate(model, None, image_file, image_file, None, 2, 13, 0, 2)


def test_predict_keeps_the_context_and_shows_repeat_last(tasks, models, clip_file):
    model, _ = labels(models)
    result = tasks.predict(model, None, clip_file, 4, 0, 2)
    truth = read_clip(clip_file, 16, 32)
    np.testing.assert_array_equal(to_uint8(result.panels[0][1][:4]), truth[:4])
    repeat = result.panels[2][1]
    assert result.panels[2][0] == "repeat last" and (repeat[4:] == truth[3]).all()


def test_long_video_streams_windows_and_extends(tasks, models):
    model, _ = labels(models)
    updates = list(tasks.long_video(model, None, 24, 8, 4, 0, 2))
    assert [len(update.frames) for update in updates] == [12, 16, 20, 24]  # first window: 8 + 4 frames
    assert [frame_count(update.video) for update in updates] == [12, 12, 12, 24]  # re-encoded when doubled
    assert "5 DDIM steps (2 per frame)" in updates[-1].info  # sequential by default: 4 new frames, a step apart
    together = list(tasks.long_video(model, None, 4, 8, 4, 0, 2, order="together"))
    assert "2 DDIM steps" in together[-1].info and "per frame" not in together[-1].info
    more = list(tasks.long_video(model, None, 8, 8, 8, 1, 2, previous=updates[-1].frames))
    assert [len(update.frames) for update in more] == [32]
    np.testing.assert_array_equal(more[-1].frames[:24], updates[-1].frames)


def test_long_video_runs_the_steps_its_plan_shows(tasks, models):
    """The sequential order spreads each window's steps over its frames; the window must run that plan,
    not one rebuilt from the plan's own (already spread) step count."""
    model, _ = labels(models)
    calls = []
    hook = models.get(model).pipe.denoiser.register_forward_hook(lambda *_: calls.append(1))
    try:
        list(tasks.long_video(model, None, 4, 8, 4, 0, 2, order="sequential"))  # one unconditional window
    finally:
        hook.remove()
    assert len(calls) == schedules.synchronous(12, 2, order="sequential").num_steps  # 1 model call a step


def test_studio_streams_estimates_then_the_result(tasks, models, image_file, clip_file):
    model, _ = labels(models)
    rows = plan_to_rows(schedules.interpolation(16, 6, context=1))
    updates = list(tasks.studio_generate(model, rows, 6, [(image_file, "frame 0")], clip_file, 0, 2))
    assert [update.result is None for update in updates] == [True, True, True, False]
    assert [update.info.split(" ·")[0] for update in updates[:3]] == ["step 2 / 6", "step 4 / 6", "step 6 / 6"]
    assert "**sampler** DDIM ·" in updates[-1].info
    video = to_uint8(updates[-1].result.panels[0][1])
    np.testing.assert_array_equal(video[0], read_image(image_file, 32, "x"))  # the attached image wins
    np.testing.assert_array_equal(video[15], read_clip(clip_file, 16, 32)[15])  # the clip gives the rest
    with pytest.raises(FVDMInputError, match=r"Frames \[0, 15\] are marked given but have no image"):
        next(tasks.studio_generate(model, rows, 6, [], None, 0, 2))


def test_stopping_the_studio_stops_the_sampler(tasks, models, clip_file):
    model, _ = labels(models)
    rows = plan_to_rows(schedules.synchronous(16, 50))
    stream = tasks.studio_generate(model, rows, 50, [], clip_file, 0, 1)
    next(stream)
    stream.close()  # what Gradio does when the page presses Stop
    pipe = models.get(model).pipe
    assert pipe.interrupt  # the worker was asked to stop and has finished
    assert len(list(tasks.studio_generate(model, plan_to_rows(schedules.synchronous(16, 2)), 2, [], None, 0, 1))) == 3


def test_models_load_once_and_unknown_models_are_refused(models, tasks, tmp_path):
    model, other = labels(models)
    tasks.generate(model, other, 1, 0, 1)
    tasks.generate(other, model, 1, 0, 1)
    assert models.load_counts[model] == 1 and models.load_counts[other] == 1
    with pytest.raises(FVDMInputError, match="Unknown model '/etc'"):
        tasks.generate("/etc", None, 1, 0, 1)
    trusting = ModelCache([], device="cpu", include_bundled=False, allow_local_paths=True)
    assert trusting.get(model).pipe.num_frames == 16  # typed paths are allowed only when the server says so
