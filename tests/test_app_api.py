"""The launched Gradio app through `gradio_client`, the way API users (and the benchmark) meet it:
every endpoint answers with a playable MP4 of the right length, streams arrive in order, bad
inputs come back as sentences, the app keeps serving, and each model is loaded once."""

from __future__ import annotations

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from conftest import app_model
from fvdm import schedules
from fvdm.video_io import load_video, probe_video

EXAMPLES = "examples"
TABLE_HEADERS = ["frame", "given", "start", "first", "last"]
API_NAMES = ["/generate", "/image_to_video", "/interpolate", "/predict", "/long_video", "/studio_generate", "/plan_preview"]


@pytest.fixture(scope="module")
def client(app_server) -> Client:
    return Client(app_server.url, verbose=False, download_files=True)


def table(plan: schedules.Plan) -> dict:
    from demo.tasks import plan_to_rows

    return {"headers": TABLE_HEADERS, "data": plan_to_rows(plan)}


def frames_of(path: str) -> int:
    return probe_video(path)["num_frames"]


def test_the_api_names_are_stable(client):
    assert set(API_NAMES) <= set(client.view_api(return_format="dict")["named_endpoints"])


def test_generate(client, app_server):
    model, other = app_server.labels
    video, gif, info = client.predict(model, other, 2, 7, 3, "none", 1, api_name="/generate")
    assert frames_of(video) == 16
    assert video.endswith(".mp4") and gif.endswith(".gif")
    assert "seed** 7" in info and "synchronous, sequential: 16 frames x 18 steps (3 per frame)" in info  # the default order
    height, width = load_video(video).shape[1:3]
    assert height > 2 * 192 and width > 2 * 192  # two videos (columns) for each of two models (rows)


def test_image_to_video(client, app_server):
    video, _, info = client.predict(
        app_server.labels[0], "none", handle_file(f"{EXAMPLES}/start-1.png"), 3, 0, 3, api_name="/image_to_video"
    )
    assert frames_of(video) == 16 and "given frames [3]" in info
    assert "frame guidance" not in info  # the model's own: off
    _, _, info = client.predict(
        app_server.labels[0], "none", handle_file(f"{EXAMPLES}/start-1.png"), 3, 0, 3, 2.5, api_name="/image_to_video"
    )
    assert "**sampler** DDIM, frame guidance 2.5 ·" in info


def test_task_tabs_take_the_frame_order_last_and_default_to_the_demo_s(client, app_server):
    model, image = app_server.labels[0], handle_file(f"{EXAMPLES}/start-1.png")
    _, _, info = client.predict(model, "none", image, 0, 0, 6, api_name="/image_to_video")
    # The tab's default order: each frame over all 6 steps, starting 2 steps after the one before.
    assert "**plan** image_to_video, sequential: 16 frames x 34 steps (6 per frame)" in info
    _, _, info = client.predict(model, "none", image, 0, 0, 6, 0, "pyramid", api_name="/image_to_video")
    assert "**plan** image_to_video, pyramid: 16 frames x 6 steps" in info
    _, _, info = client.predict(model, "none", image, 0, 0, 6, 0, "together", api_name="/image_to_video")
    assert "**plan** image_to_video: 16 frames x 6 steps" in info
    _, _, info = client.predict(model, "none", 1, 0, 6, "none", 1, "pyramid", api_name="/generate")
    assert "**plan** synchronous, pyramid: 16 frames x 6 steps" in info
    clip = handle_file(f"{EXAMPLES}/clip-2.mp4")
    _, _, info = client.predict(model, "none", clip, 4, 0, 6, 0, "together", api_name="/predict")
    assert "**plan** prediction: 16 frames" in info


def test_interpolate_images_and_clip(client, app_server):
    model = app_server.labels[0]
    start, end = handle_file(f"{EXAMPLES}/start-1.png"), handle_file(f"{EXAMPLES}/end-1.png")
    video, _, _ = client.predict(model, "none", start, end, None, 1, 6, 0, 3, api_name="/interpolate")
    assert frames_of(video) == 8
    clip = handle_file(f"{EXAMPLES}/clip-3.mp4")
    video, _, info = client.predict(model, "none", None, None, clip, 2, 10, 0, 3, api_name="/interpolate")
    assert frames_of(video) == 14 and "given frames [0, 1, 12, 13]" in info


def test_predict(client, app_server):
    clip = handle_file(f"{EXAMPLES}/clip-2.mp4")
    video, _, info = client.predict(app_server.labels[0], "none", clip, 4, 0, 3, api_name="/predict")
    assert frames_of(video) == 16 and "given frames [0, 1, 2, 3]" in info


def test_long_video_streams_growing_videos_in_order(client, app_server):
    job = client.submit(app_server.labels[0], None, 40, 8, 8, 0, 2, api_name="/long_video")
    updates = list(job)
    made = [int(update[3].split("**")[1].split()[0]) for update in updates]
    assert made[:4] == [16, 24, 32, 40]  # a full first window, then 8 new frames per window
    assert [frames_of(update[0]) for update in updates[:4]] == [16, 16, 32, 40]  # re-encoded when doubled, and at the end
    assert updates[-1][2].endswith(".gif") and frames_of(updates[-1][0]) == 40


def test_studio_streams_estimates_then_the_video(client, app_server):
    plan = schedules.interpolation(16, 4, context=1)
    job = client.submit(
        app_server.labels[0], table(plan), 4, [], handle_file(f"{EXAMPLES}/clip-1.mp4"), 0, 2, api_name="/studio_generate"
    )
    updates = list(job)
    assert [update[4].split(" ·")[0] for update in updates[:2]] == ["step 2 / 4", "step 4 / 4"]
    assert all(update[2] is None for update in updates[:-1])
    assert frames_of(updates[-1][2]) == 16


def test_plan_preview_draws_valid_plans_and_explains_invalid_ones(client):
    image, message = client.predict(table(schedules.autoregressive(16, 10, lag=2)), 10 + 2 * 15, api_name="/plan_preview")
    assert message.startswith("✔ **Valid plan:**") and Image.open(image).size[0] >= 600
    bad = table(schedules.synchronous(16, 10))
    bad["data"][4][3:] = [7, 3]
    image, message = client.predict(bad, 10, api_name="/plan_preview")
    assert message.startswith("⚠ **Invalid plan:** frame 4: last active step 3 must come after the first active step 7")


@pytest.mark.parametrize(
    ("endpoint", "arguments", "sentence"),
    [
        ("/image_to_video", ("notes.png", 0, 0, 3), "That file could not be used as an image"),
        ("/image_to_video", (None, 0, 0, 3), "Please upload a first frame"),
        ("/predict", ("broken.mp4", 4, 0, 3), "The uploaded video could not be used"),
        ("/predict", ("clip", 4, 0, 500), "Value 500 is greater than maximum value 100"),
        ("/generate", (9, 0, 3, "none", 1), "Value 9 is greater than maximum value 4"),
        ("/interpolate", (None, None, None, 1, 14, 0, 3), "Please upload a start image"),
        ("/image_to_video", ("start", 0, 0, 3, 0.5), r"Frame guidance must be 0 \(the model's own\) or a number"),
        ("/predict", ("clip", 4, 0, 3, 11), "Value 11 is greater than maximum value 10"),
        ("/predict", ("clip", 4, 0, 3, 0, "sideways"),
         r"Value: 'sideways' .* is not in the list of choices: \['together', 'pyramid', 'sequential'\]"),
    ],
)
def test_bad_inputs_are_sentences_and_the_app_keeps_serving(client, app_server, tmp_path, endpoint, arguments, sentence):
    (tmp_path / "notes.png").write_text("this is not a picture")
    (tmp_path / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(300))
    files = {
        "notes.png": tmp_path / "notes.png", "broken.mp4": tmp_path / "broken.mp4",
        "clip": f"{EXAMPLES}/clip-1.mp4", "start": f"{EXAMPLES}/start-1.png",
    }
    arguments = tuple(handle_file(str(files[a])) if isinstance(a, str) and a in files else a for a in arguments)
    with pytest.raises(AppError, match=sentence):
        client.predict(app_server.labels[0], "none", *arguments, api_name=endpoint)
    video, _, _ = client.predict(app_server.labels[0], "none", 1, 0, 1, "none", 1, api_name="/generate")
    assert frames_of(video) == 16


def test_a_bad_studio_plan_and_unknown_models_are_refused(client, app_server):
    bad = table(schedules.synchronous(16, 4))
    bad["data"][2][2] = "lots"
    with pytest.raises(AppError, match="frame 2: start level must be a whole number"):
        client.predict(app_server.labels[0], bad, 4, [], None, 0, 2, api_name="/studio_generate")
    with pytest.raises(AppError, match="/etc/passwd is not in the list of choices"):
        client.predict("/etc/passwd", "none", 1, 0, 1, "none", 1, api_name="/generate")


def test_two_models_are_each_loaded_once_and_reused(client, app_server):
    first, second = app_server.labels
    for model, other in [(first, second), (second, first), (first, "none")]:
        client.predict(model, other, 1, 0, 1, "none", 1, api_name="/generate")
    assert app_server.models.load_counts[first] == 1 and app_server.models.load_counts[second] == 1


def test_the_hosted_app_cannot_be_made_to_read_server_files(client, app_server):
    with pytest.raises((AppError, ValueError)):
        client.predict(
            app_server.labels[0], "none", {"path": "/etc/hostname", "meta": {"_type": "gradio.FileData"}}, 0, 0, 1,
            api_name="/image_to_video",
        )
    assert np.isfinite(frames_of(client.predict(app_server.labels[0], "none", 1, 0, 1, "none", 1, api_name="/generate")[0]))


def test_zero_gpu_durations_follow_the_request_size():
    """Each handler asks ZeroGPU for time by what its own arguments ask of the model (read by name)."""
    from demo import ui as app
    from demo.tab_long_video import windows
    from demo.tab_studio import table_rows

    def generate(model, compare, num_videos, seed, steps, class_label, guidance, order="together"):
        pass

    def image_to_video(model, compare="none", image=None, position=0, seed=0, steps=25, frame_guidance=None,
                       order="sequential"):
        pass

    def long_video(model, image=None, total_frames=128, context=8, stride=8, seed=0, steps=25, frame_guidance=None,
                   order="sequential"):
        pass

    def duration(handler, *args, **options):
        return app.gpu_duration(handler, **options)(*args)

    assert duration(generate, "m", "none", 1, 0, 25, "none", 1) == app.gpu_seconds(16, 25)
    assert duration(generate, "m", "none", 4, 0, 25, "none", 1) == app.gpu_seconds(16, 25, repeats=4)
    assert duration(generate, "m", "baseline", 1, 0, 25, "none", 1) == app.gpu_seconds(16, 25, repeats=2)  # compared
    assert duration(generate, "m", "none", 4, 0, 100, "none", 1) <= 300
    # the sequential order runs 25 + 10 x 15 steps at 25 steps a frame, and given frames need two calls a step
    sequential = duration(image_to_video, "m", "none", "x.png", 0, 0, 25, calls_per_step=2)
    assert sequential == 20 + int(16 * 175 * 2 * 0.02) == app.gpu_seconds(16, 25, "sequential", calls_per_step=2)
    assert duration(image_to_video, "m", "none", "x.png", 0, 0, 25, None, "together", calls_per_step=2) == 36
    assert duration(long_video, "m", None, 32, 8, 8, 0, 4, None, "together", calls_per_step=2, repeats=windows) == (
        app.gpu_seconds(16, 4, repeats=5, calls_per_step=2)
    )

    def studio_generate(model, rows, steps=25, gallery=None):
        pass

    assert duration(studio_generate, "m", [[0, True, 0, 0, 0]] * 8, 10, calls_per_step=2, frames=table_rows) == (
        app.gpu_seconds(8, 10, calls_per_step=2)
    )
    assert app.gpu_seconds(16, "not a number") == 20 == duration(generate, "m", "none", "two", 0, 25, "none", 1)
    assert duration(generate, "too", "many", "arguments", 0, 25, "none", 1, "together", "extra") == 20


def test_every_model_handler_asks_zero_gpu_for_its_own_work(monkeypatch, tmp_path):
    """The duration each tab's handler would ask ZeroGPU for, from the inputs the page sends by default."""
    import spaces

    import app
    from demo import ui
    from demo.models import ModelCache

    durations = {}

    def recording_gpu(task=None, *, duration=None, size=None):
        def keep(handler):
            durations[handler] = duration
            return handler

        return keep

    monkeypatch.setattr(spaces, "GPU", recording_gpu)
    demo = app.build_app(ModelCache([str(app_model(tmp_path / "m", 0))], device="cpu", include_bundled=False))
    asked = {
        event.api_name: durations[event.fn](*[component.value for component in event.inputs])
        for event in demo.fns.values() if event.fn in durations
    }
    assert asked == {
        "generate": ui.gpu_seconds(16, 25, "sequential", repeats=2),  # two videos side by side
        "image_to_video": ui.gpu_seconds(16, 25, "sequential", calls_per_step=2),
        "interpolate": ui.gpu_seconds(16, 25, "together", calls_per_step=2),
        "predict": ui.gpu_seconds(16, 25, "pyramid", calls_per_step=2),
        "long_video": 300,  # 17 windows of 175 steps at most: the cap
        "studio_generate": ui.gpu_seconds(16, 25, calls_per_step=2),
    }
    assert asked["image_to_video"] > asked["predict"]  # the sequential order runs 175 steps, the pyramid 25


def test_unreadable_inputs_and_impossible_plans_are_sentences(client, app_server):
    model = app_server.labels[0]
    with pytest.raises(AppError, match="Sampling steps must be a number from 1 to 100, got 'abc'"):
        client.predict(model, "none", 1, 0, "abc", "none", 1, api_name="/generate")
    with pytest.raises(AppError, match="The schedule table is missing or malformed"):
        client.predict(model, None, 4, [], None, 0, 2, api_name="/studio_generate")
    with pytest.raises(AppError, match=r"Context \+ stride must be at most 16.*got 15 \+ 15.*stride to at most 1"):
        client.predict(model, None, 32, 15, 15, 0, 2, api_name="/long_video")
    too_long = table(schedules.synchronous(40, 4))
    _, message = client.predict(too_long, 4, model, api_name="/plan_preview")
    assert message.startswith("⚠ **Invalid plan:** This model makes at most 16 frames at once; the plan has 40 rows")
    with pytest.raises(AppError, match="the plan has 40 rows"):
        client.predict(model, too_long, 4, [], None, 0, 2, api_name="/studio_generate")


def test_one_frame_and_one_step_are_singular(client, app_server):
    _, message = client.predict(table(schedules.synchronous(1, 1)), 1, app_server.labels[0], api_name="/plan_preview")
    assert message == "✔ **Valid plan:** 1 frame x 1 step, no given frames."
    updates = list(client.submit(app_server.labels[0], None, 16, 15, 1, 0, 1, api_name="/long_video"))
    assert "15 context + 1 new frame per window, 1 DDIM step ·" in updates[-1][3]


def test_the_api_names_every_output_and_every_optional_input(client):
    endpoints = client.view_api(return_format="dict")["named_endpoints"]
    for name in API_NAMES:
        assert not [r["label"] for r in endpoints[name]["returns"] if r["label"].startswith("value_")], name
    optional = {
        "/image_to_video": ["image"], "/interpolate": ["start", "end", "clip"], "/predict": ["clip"],
        "/long_video": ["image"], "/studio_generate": ["clip"],
    }
    for name, parameters in optional.items():
        given = {p["parameter_name"]: p for p in endpoints[name]["parameters"]}
        for parameter in parameters:
            optional_none = given[parameter]["parameter_has_default"] and given[parameter]["parameter_default"] is None
            assert optional_none, (name, parameter)


def test_fvdm_models_lists_the_models_like_repeated_model_flags(monkeypatch):
    import app

    monkeypatch.setenv("FVDM_MODELS", "owner/fvdm-ucf101, runs/a/pipeline\n  runs/b.pt\n")
    assert app.parse_args([]).model == ["owner/fvdm-ucf101", "runs/a/pipeline", "runs/b.pt"]
    assert app.parse_args(["--model", "c"]).model == ["owner/fvdm-ucf101", "runs/a/pipeline", "runs/b.pt", "c"]
    monkeypatch.delenv("FVDM_MODELS")
    assert app.parse_args([]).model == []


def test_the_frame_guidance_label_shows_what_auto_means_for_the_model():
    import app

    assert app.frame_guidance_label(2.0) == "Frame guidance (0 = auto: 2)"
    assert app.frame_guidance_label(1.0) == "Frame guidance (0 = auto: 1, off)"
