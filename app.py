"""FVDM demo: one tab per video task and a live per-frame schedule studio.

    python app.py [--model FOLDER_OR_PT_OR_HUB_ID ...] [--port 7860] [--share] [--allow-local-paths]

The same file is the Hugging Face Space (ZeroGPU). The page is laid out here; the work is done by
`demo.tasks` (plans from `fvdm.schedules`, sampling with cached `fvdm` pipelines).
"""

from __future__ import annotations

import argparse
import functools
import inspect
import os
from pathlib import Path

import spaces  # before anything touches CUDA (ZeroGPU)
import gradio as gr

from demo import render
from demo.inputs import MAX_LONG_FRAMES, MAX_STEPS, MAX_UPLOAD_MB, MAX_VIDEOS, read_plan_file
from demo.models import ModelCache
from demo.tasks import DEFAULT_ORDERS, TABLE_HEADERS, Tasks, plan_image, plan_to_rows, preset_plan, rows_to_plan
from fvdm.errors import FVDMInputError
from fvdm.pipeline import MAX_FRAME_GUIDANCE

EXAMPLES = Path(__file__).resolve().parent / "examples"
DEFAULT_STEPS = 25
NO_COMPARISON = "none"
PRESETS = {
    "Synchronous": "synchronous",
    "Image to video": "image_to_video",
    "Interpolation": "interpolation",
    "Prediction": "prediction",
    "Pyramid": "autoregressive",
    "Trapezoid": "trapezoid",
    "Random": "random",
}
INTRO = """# FVDM: a video diffusion model with a timestep per frame
One model, every task: each frame has its own noise level, so choosing which frames are **given** and
how each frame's noise **moves** turns the same checkpoint into unconditional generation, image to video,
interpolation, prediction and endless video. Every tab shows its plan as a heat map (frames x sampling
steps, colour = noise level); open it in the **Schedule studio** to edit it frame by frame."""
CSS = """
.heatmap img {object-fit: contain}
"""
STYLE = dict(css=CSS, theme=gr.themes.Soft())  # launch() options shared with the tests


class UploadedImage(gr.Image):
    """`gr.Image` (same page widget) whose unreadable uploads give a sentence instead of "Error"."""

    is_template = True  # Gradio: render with the parent's frontend

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except Exception:  # PIL raises many kinds (unidentified, truncated, decompression bomb)
            raise gr.Error(
                "That file could not be used as an image: upload a PNG, JPEG, WebP, BMP or GIF of at most "
                f"{MAX_UPLOAD_MB} MB."
            ) from None


def user_errors(fn):
    """Turn `FVDMInputError` into `gr.Error`, for plain and generator handlers alike."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def stream(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except FVDMInputError as error:
                raise gr.Error(str(error)) from None

        return stream

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except FVDMInputError as error:
            raise gr.Error(str(error)) from None

    return call


def gpu_seconds(frames: int, steps, videos=1, calls_per_step: int = 1) -> int:
    """ZeroGPU time to ask for: generous for a tiny model, bounded because every input is.
    `calls_per_step` is 2 for tasks with given frames, which an FVDM model may guide towards."""
    try:
        work = int(frames) * int(steps) * int(videos) * calls_per_step
    except (TypeError, ValueError):
        work = 0
    return int(min(300, 20 + work * 0.02))


def duration_from(steps_at: int, videos_at: int | None = None, calls_per_step: int = 1):
    """A `spaces.GPU` duration function that reads the steps (and videos) from the handler's arguments."""

    def duration(*args, **kwargs) -> int:
        return gpu_seconds(16, args[steps_at], 1 if videos_at is None else args[videos_at], calls_per_step)

    return duration


def example_path(name: str) -> str:
    return str(EXAMPLES / name)


def build_app(models: ModelCache) -> gr.Blocks:
    tasks = Tasks(models)
    allow_custom = models.allow_local_paths
    comparisons = [NO_COMPARISON, *models.labels]

    def compare_of(choice: str) -> str | None:
        return None if choice in (None, "", NO_COMPARISON) else choice

    # -- heavy handlers: one queue for all of them (one model run at a time on the device)

    @spaces.GPU(duration=duration_from(4, videos_at=2))
    @user_errors
    def generate(
        model, compare, num_videos, seed, steps, class_label, guidance, order=DEFAULT_ORDERS["generate"],
        progress=gr.Progress(track_tqdm=True),
    ):
        result = tasks.generate(model, compare_of(compare), num_videos, seed, steps, class_label, guidance, order)
        return result.video, result.gif, result.info

    @spaces.GPU(duration=duration_from(5, calls_per_step=2))
    @user_errors
    def image_to_video(
        model, compare, image, position, seed, steps, frame_guidance=None, order=DEFAULT_ORDERS["image_to_video"],
        progress=gr.Progress(track_tqdm=True),
    ):
        result = tasks.image_to_video(model, compare_of(compare), image, position, seed, steps, frame_guidance, order)
        return result.video, result.gif, result.info

    @spaces.GPU(duration=duration_from(8, calls_per_step=2))
    @user_errors
    def interpolate(
        model, compare, start, end, clip, context, between, seed, steps, frame_guidance=None,
        order=DEFAULT_ORDERS["interpolate"], progress=gr.Progress(track_tqdm=True),
    ):
        result = tasks.interpolate(
            model, compare_of(compare), start, end, clip, context, between, seed, steps, frame_guidance, order
        )
        return result.video, result.gif, result.info

    @spaces.GPU(duration=duration_from(5, calls_per_step=2))
    @user_errors
    def predict(
        model, compare, clip, context, seed, steps, frame_guidance=None, order=DEFAULT_ORDERS["predict"],
        progress=gr.Progress(track_tqdm=True),
    ):
        result = tasks.predict(model, compare_of(compare), clip, context, seed, steps, frame_guidance, order)
        return result.video, result.gif, result.info

    def long_duration(model, image, total, context, stride, seed, steps, *rest, **kwargs):
        windows = int(total) // max(1, int(stride)) + 1
        return gpu_seconds(16 * windows, steps, calls_per_step=2)

    @spaces.GPU(duration=long_duration)
    @user_errors
    def long_video(
        model, image, total_frames, context, stride, seed, steps, frame_guidance=None, order=DEFAULT_ORDERS["long"],
        previous=None,
    ):
        update = None
        updates = tasks.long_video(
            model, image, total_frames, context, stride, seed, steps, previous, frame_guidance, order
        )
        for update in updates:
            yield update.video, update.strip, None, update.info, update.frames
        if update is not None:
            yield update.video, update.strip, render.write_gif(render.enlarge(update.frames)), update.info, update.frames

    def extend_video(model, image, total_frames, context, stride, seed, steps, frame_guidance, order, previous):
        if previous is None:
            raise gr.Error("There is no video to extend yet: generate one first.")
        next_seed = int(seed) + 1
        yield from long_video(
            model, image, total_frames, context, stride, next_seed, steps, frame_guidance, order, previous
        )

    def studio_duration(model, rows, steps, *rest, **kwargs) -> int:
        return gpu_seconds(len(rows or []), steps, calls_per_step=2)

    @spaces.GPU(duration=studio_duration)
    @user_errors
    def studio_generate(model, rows, steps, gallery, clip, seed, preview_every, frame_guidance=None):
        for update in tasks.studio_generate(model, rows, steps, gallery, clip, seed, preview_every, frame_guidance):
            done = update.result is not None
            yield (
                update.strip, update.heatmap, update.result.video if done else None,
                update.result.gif if done else None, update.info,
            )

    # -- light handlers: plans and heat maps, never the model's weights beyond its frame count

    def plan_preview(rows, steps):
        try:
            plan = rows_to_plan(rows, steps)
        except FVDMInputError as error:
            return gr.skip(), f"⚠ **Invalid plan:** {error}"
        given = f"given frames {list(plan.given)}" if plan.given else "no given frames"
        return plan_image(plan), f"✔ **Valid plan:** {plan.num_frames} frames x {plan.num_steps} steps, {given}."

    @user_errors
    def apply_preset(preset, frames, steps, context, lag, block, seed):
        plan = preset_plan(PRESETS[preset], frames, steps, context, lag, block, seed)
        return plan_to_rows(plan), plan.num_steps

    @user_errors
    def resize_table(rows, frames, steps):
        count = int(frames)
        rows = [list(row) for row in (rows or [])][:count]
        for index in range(len(rows), count):
            rows.append([index, False, 999, 0, int(steps)])
        return [[index, *row[1:]] for index, row in enumerate(rows)]

    @user_errors
    def import_plan(file):
        plan = read_plan_file(file)
        return plan_to_rows(plan), plan.num_steps, gr.Slider(value=plan.num_frames, maximum=max(16, plan.num_frames))

    @user_errors
    def export_plan(rows, steps):
        path = render.output_path(".json")
        path.write_text(rows_to_plan(rows, steps).to_json() + "\n")
        return str(path)

    def attach_given(gallery, frame, image):
        if not image:
            raise gr.Error("Upload an image first, then attach it to a frame.")
        items = [item for item in (gallery or []) if item[1] != f"frame {int(frame)}"]
        return [*items, (image, f"frame {int(frame)}")]

    def tab_plan(plan_fn):
        @user_errors
        def show(model, *args):
            return plan_image(plan_fn(model, *args))

        return show

    def open_in_studio(plan_fn):
        @user_errors
        def open_(model, *args):
            plan = plan_fn(model, *args)
            return plan_to_rows(plan), plan.num_steps, plan.num_frames, gr.Tabs(selected="studio")

        return open_

    def on_model_change(model):
        try:
            pipe = models.get(model).pipe
        except FVDMInputError as error:
            raise gr.Error(str(error)) from None
        classes = pipe.num_classes
        return (
            gr.Dropdown(choices=["none", *map(str, range(classes))], value="none"),
            gr.Accordion(visible=classes > 0),
            f"*{model}: {pipe.num_frames} frames of {pipe.resolution} x {pipe.resolution} pixels per window"
            + (f", {classes} classes" if classes else "") + tasks.frame_guidance_fact(model) + "*",
        )

    # -- the page

    with gr.Blocks(title="FVDM: frame-aware video diffusion", delete_cache=(3600, 7200)) as demo:
        gr.Markdown(INTRO)
        with gr.Row(equal_height=True):
            model = gr.Dropdown(
                models.labels, value=models.default, label="Model", allow_custom_value=allow_custom, scale=3,
                info="A folder, official .pt or Hub id may be typed in" if allow_custom else None,
            )
            compare = gr.Dropdown(
                comparisons, value=NO_COMPARISON, label="Compare side by side with (same seed)", scale=3,
                info="The conventional baseline gets given frames by replacement",
            )
            frame_guidance = gr.Slider(
                0, MAX_FRAME_GUIDANCE, value=0, step=0.5, label="Frame guidance", scale=2,
                info="How hard an FVDM model pulls towards the given frames: 0 = the model's own, 1 = off",
            )
        model_facts = gr.Markdown()
        with gr.Tabs() as tabs:
            # 1. Generate
            with gr.Tab("Generate", id="generate"):
                with gr.Row():
                    with gr.Column(scale=2):
                        gen_videos = gr.Slider(1, MAX_VIDEOS, value=2, step=1, label="Videos side by side")
                        gen_seed, gen_steps = seed_and_steps()
                        gen_order = frame_order("generate")
                        with gr.Accordion("Class and guidance", open=True, visible=False) as gen_advanced:
                            gen_class = gr.Dropdown(["none"], value="none", label="Class")
                            gen_guidance = gr.Slider(1, 10, value=1, step=0.5, label="Guidance scale (classifier-free)")
                        gen_button = gr.Button("Generate", variant="primary")
                    with gr.Column(scale=3):
                        gen_video, gen_gif, gen_info = result_outputs()
                gen_heatmap, gen_open = plan_panel()
            # 2. Image to video
            with gr.Tab("Image to video", id="i2v"):
                with gr.Row():
                    with gr.Column(scale=2):
                        i2v_image = UploadedImage(type="filepath", label="Given frame", sources=["upload", "clipboard"], height=220)
                        i2v_position = gr.Slider(0, 15, value=0, step=1, label="Place the image at frame")
                        i2v_seed, i2v_steps = seed_and_steps()
                        i2v_order = frame_order("image_to_video")
                        i2v_button = gr.Button("Animate", variant="primary")
                    with gr.Column(scale=3):
                        i2v_video, i2v_gif, i2v_info = result_outputs()
                gr.Examples([[example_path(f"start-{n}.png")] for n in range(1, 5)], [i2v_image], label="Example frames")
                i2v_heatmap, i2v_open = plan_panel()
            # 3. Interpolate
            with gr.Tab("Interpolate", id="interpolate"):
                with gr.Row():
                    with gr.Column(scale=2):
                        with gr.Row():
                            int_start = UploadedImage(type="filepath", label="Start frame", sources=["upload", "clipboard"], height=200)
                            int_end = UploadedImage(type="filepath", label="End frame", sources=["upload", "clipboard"], height=200)
                        int_clip = gr.Video(label="…or a clip", sources=["upload"], height=200)
                        gr.Markdown(
                            "With a clip, its first K and last K frames are given, and the truth and a cross-fade are shown beside the result."
                        )
                        int_context = gr.Slider(1, 7, value=1, step=1, label="K: given frames at each end (K > 1 needs a clip)")
                        int_between = gr.Slider(1, 14, value=14, step=1, label="In-between frames")
                        int_seed, int_steps = seed_and_steps()
                        int_order = frame_order("interpolate")
                        int_button = gr.Button("Interpolate", variant="primary")
                    with gr.Column(scale=3):
                        int_video, int_gif, int_info = result_outputs()
                gr.Examples(
                    [[example_path(f"start-{n}.png"), example_path(f"end-{n}.png"), None] for n in (1, 2)]
                    + [[None, None, example_path(f"clip-{n}.mp4")] for n in (3, 4)],
                    [int_start, int_end, int_clip], label="Examples (end images, or clips)",
                )
                int_heatmap, int_open = plan_panel()
            # 4. Predict
            with gr.Tab("Predict", id="predict"):
                with gr.Row():
                    with gr.Column(scale=2):
                        pred_clip = gr.Video(label="Clip: its first K frames are given", sources=["upload"], height=220)
                        pred_context = gr.Slider(1, 15, value=4, step=1, label="K: given frames")
                        pred_seed, pred_steps = seed_and_steps()
                        pred_order = frame_order("predict")
                        pred_button = gr.Button("Predict", variant="primary")
                    with gr.Column(scale=3):
                        pred_video, pred_gif, pred_info = result_outputs()
                gr.Examples([[example_path(f"clip-{n}.mp4")] for n in range(1, 5)], [pred_clip], label="Example clips")
                pred_heatmap, pred_open = plan_panel()
            # 5. Long video
            with gr.Tab("Long video", id="long"):
                with gr.Row():
                    with gr.Column(scale=2):
                        long_image = UploadedImage(type="filepath", label="Start from an image (optional)", sources=["upload"], height=160)
                        long_total = gr.Slider(16, MAX_LONG_FRAMES, value=128, step=8, label="New frames")
                        long_context = gr.Slider(1, 15, value=8, step=1, label="Context frames (given to each window)")
                        long_stride = gr.Slider(1, 15, value=8, step=1, label="Stride (new frames per window)")
                        long_seed, long_steps = seed_and_steps()
                        long_order = frame_order("long")
                        with gr.Row():
                            long_button = gr.Button("Generate", variant="primary", min_width=80)
                            long_extend = gr.Button("Extend again", min_width=80)
                            long_stop = gr.Button("Stop", variant="stop", min_width=80)
                    with gr.Column(scale=3):
                        long_video_out = gr.Video(label="Video so far", autoplay=True, loop=True, buttons=["download"])
                        gr.Markdown("**Newest frames**")
                        long_strip = gr.Image(label="Newest frames", show_label=False, interactive=False, buttons=["download"])
                        long_gif = gr.File(label="GIF")
                        long_info = gr.Markdown()
                long_frames = gr.State(None)
                long_heatmap, long_open = plan_panel("The plan of one window")
            # 6. Schedule studio
            with gr.Tab("Schedule studio", id="studio"):
                gr.Markdown(
                    "One row per frame: **given** frames are supplied and held at their **start** level; a generated frame "
                    "holds its **start** level until step **first**, then descends to 0 at step **last**. Every edit redraws the plan."
                )
                with gr.Row():
                    studio_frames = gr.Slider(1, 16, value=16, step=1, label="Frames")
                    studio_steps = gr.Slider(1, MAX_STEPS, value=DEFAULT_STEPS, step=1, label="Sampling steps")
                    studio_context = gr.Slider(1, 8, value=2, step=1, label="K (interpolation / prediction)")
                    studio_lag = gr.Slider(0, 20, value=0, step=1, label="Lag (pyramid / trapezoid; 0 = auto)")
                    studio_block = gr.Slider(1, 8, value=1, step=1, label="Block size (pyramid)")
                with gr.Row():
                    preset_buttons = {name: gr.Button(name, size="sm") for name in PRESETS}
                with gr.Row():
                    with gr.Column(scale=2):
                        studio_table = gr.Dataframe(
                            value=plan_to_rows(preset_plan("interpolation", 16, DEFAULT_STEPS, context=2)),
                            headers=TABLE_HEADERS, datatype=["number", "bool", "number", "number", "number"],
                            type="array", interactive=True, static_columns=[0], max_height=720,
                            label="Per-frame schedule",
                        )
                        with gr.Accordion("Import / export the plan (JSON)", open=False):
                            with gr.Row():
                                studio_import = gr.File(label="Import a plan", file_types=[".json"])
                                with gr.Column():
                                    studio_export = gr.Button("Export plan (JSON)")
                                    studio_download = gr.File(label="Exported plan")
                    with gr.Column(scale=3):
                        studio_heatmap = gr.Image(label="Plan", show_label=False, interactive=False, elem_classes="heatmap", format="png")
                        studio_message = gr.Markdown()
                with gr.Accordion("Given frames", open=True):
                    with gr.Row():
                        studio_clip = gr.Video(
                            value=example_path("clip-1.mp4"), label="Take given frames from this clip (frame i for row i)",
                            sources=["upload"], height=200,
                        )
                        with gr.Column():
                            attach_frame = gr.Number(0, label="Attach an image to frame", precision=0, minimum=0, maximum=15)
                            attach_image = UploadedImage(type="filepath", label="Image", sources=["upload"], height=140)
                            with gr.Row():
                                attach_button = gr.Button("Attach", size="sm")
                                attach_clear = gr.Button("Clear attached", size="sm")
                        studio_gallery = gr.Gallery(label="Attached images (override the clip)", columns=4, height=200, interactive=False)
                with gr.Row():
                    studio_seed = gr.Number(0, label="Seed", precision=0, minimum=0)
                    studio_every = gr.Slider(1, 20, value=2, step=1, label="Show the estimates every … steps")
                    studio_button = gr.Button("Generate", variant="primary")
                    studio_stop = gr.Button("Stop", variant="stop")
                gr.Markdown("**Live:** the current clean-frame estimate of every frame, labelled with its noise level")
                studio_strip = gr.Image(label="Live estimates", show_label=False, interactive=False)
                with gr.Row():
                    studio_video = gr.Video(label="Result", autoplay=True, loop=True, buttons=["download"])
                    with gr.Column():
                        studio_gif = gr.File(label="GIF")
                        studio_info = gr.Markdown()

        # -- events
        heavy = dict(concurrency_id="model", concurrency_limit=1)
        private = dict(api_visibility="private")
        model_outputs = [gen_class, gen_advanced, model_facts]
        model.change(on_model_change, [model], model_outputs, **private)
        demo.load(on_model_change, [model], model_outputs, **private)

        gen_button.click(
            generate, [model, compare, gen_videos, gen_seed, gen_steps, gen_class, gen_guidance, gen_order],
            [gen_video, gen_gif, gen_info], api_name="generate", **heavy,
        )
        i2v_button.click(
            image_to_video, [model, compare, i2v_image, i2v_position, i2v_seed, i2v_steps, frame_guidance, i2v_order],
            [i2v_video, i2v_gif, i2v_info], api_name="image_to_video", **heavy,
        )
        int_button.click(
            interpolate,
            [model, compare, int_start, int_end, int_clip, int_context, int_between, int_seed, int_steps,
             frame_guidance, int_order],
            [int_video, int_gif, int_info], api_name="interpolate", **heavy,
        )
        pred_button.click(
            predict, [model, compare, pred_clip, pred_context, pred_seed, pred_steps, frame_guidance, pred_order],
            [pred_video, pred_gif, pred_info], api_name="predict", **heavy,
        )
        long_inputs = [
            model, long_image, long_total, long_context, long_stride, long_seed, long_steps, frame_guidance, long_order
        ]
        long_outputs = [long_video_out, long_strip, long_gif, long_info, long_frames]
        long_run = long_button.click(long_video, long_inputs, long_outputs, api_name="long_video", **heavy)
        long_more = long_extend.click(extend_video, [*long_inputs, long_frames], long_outputs, **heavy, **private)
        long_stop.click(None, cancels=[long_run, long_more], **private)

        studio_inputs = [
            model, studio_table, studio_steps, studio_gallery, studio_clip, studio_seed, studio_every, frame_guidance
        ]
        studio_run = studio_button.click(
            studio_generate, studio_inputs, [studio_strip, studio_heatmap, studio_video, studio_gif, studio_info],
            api_name="studio_generate", **heavy,
        )
        studio_stop.click(None, cancels=[studio_run], **private)
        studio_table.change(plan_preview, [studio_table, studio_steps], [studio_heatmap, studio_message], api_name="plan_preview")
        studio_steps.change(plan_preview, [studio_table, studio_steps], [studio_heatmap, studio_message], **private)
        demo.load(plan_preview, [studio_table, studio_steps], [studio_heatmap, studio_message], **private)
        studio_frames.release(resize_table, [studio_table, studio_frames, studio_steps], [studio_table], **private)
        for name, button in preset_buttons.items():
            button.click(
                functools.partial(apply_preset, name),
                [studio_frames, studio_steps, studio_context, studio_lag, studio_block, studio_seed],
                [studio_table, studio_steps], **private,
            )
        studio_import.upload(import_plan, [studio_import], [studio_table, studio_steps, studio_frames], **private)
        studio_export.click(export_plan, [studio_table, studio_steps], [studio_download], **private)
        attach_button.click(attach_given, [studio_gallery, attach_frame, attach_image], [studio_gallery], **private)
        attach_clear.click(lambda: [], None, [studio_gallery], **private)

        # every task tab: a live heat map of its plan, and "Open in studio"
        studio_targets = [studio_table, studio_steps, studio_frames, tabs]
        for heatmap, button, plan_fn, knobs in [
            (gen_heatmap, gen_open, tasks.generate_plan, [gen_steps, gen_order]),
            (i2v_heatmap, i2v_open, tasks.image_to_video_plan, [i2v_steps, i2v_position, i2v_order]),
            (int_heatmap, int_open, tasks.interpolate_plan, [int_steps, int_context, int_between, int_order]),
            (pred_heatmap, pred_open, tasks.predict_plan, [pred_steps, pred_context, pred_order]),
            (long_heatmap, long_open, tasks.long_plan, [long_steps, long_context, long_stride, long_order]),
        ]:
            show = tab_plan(plan_fn)
            for trigger in [model, *knobs]:
                trigger.change(show, [model, *knobs], [heatmap], **private)
            demo.load(show, [model, *knobs], [heatmap], **private)
            button.click(open_in_studio(plan_fn), [model, *knobs], studio_targets, **private)
    return demo


def seed_and_steps() -> tuple[gr.Number, gr.Slider]:
    seed = gr.Number(0, label="Seed", precision=0, minimum=0)
    steps = gr.Slider(1, MAX_STEPS, value=DEFAULT_STEPS, step=1, label="Sampling steps")
    return seed, steps


def frame_order(tab: str) -> gr.Radio:
    return gr.Radio(
        [("Together", "together"), ("Pyramid: first to last", "pyramid")], value=DEFAULT_ORDERS[tab],
        label="Frame order", info="How the generated frames lose their noise: all at once, or one after the other "
        "from the first to the last (the same number of steps)",
    )


def result_outputs() -> tuple[gr.Video, gr.File, gr.Markdown]:
    video = gr.Video(label="Result", autoplay=True, loop=True, buttons=["download"], height=420)
    gif = gr.File(label="GIF")
    info = gr.Markdown()
    return video, gif, info


def plan_panel(label: str = "The plan this tab runs") -> tuple[gr.Image, gr.Button]:
    with gr.Accordion(label, open=True):
        heatmap = gr.Image(label="Plan", show_label=False, interactive=False, elem_classes="heatmap", format="png")
        button = gr.Button("Open in studio", size="sm")
    return heatmap, button


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="The FVDM demo (Gradio).")
    parser.add_argument(
        "--model", action="append", default=[],
        help="an extra model for the picker: a saved pipeline folder, an official .pt checkpoint or a Hub id (repeatable)",
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--share", action="store_true", help="also serve on a public gradio.live link")
    parser.add_argument(
        "--allow-local-paths", action="store_true",
        default=os.environ.get("FVDM_ALLOW_LOCAL_PATHS", "") == "1",
        help="let page users type model folders / Hub ids into the picker (only on a machine you trust them with)",
    )
    parser.add_argument("--queue-size", type=int, default=int(os.environ.get("FVDM_QUEUE_SIZE", 16)))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    models = ModelCache(args.model, allow_local_paths=args.allow_local_paths)
    models.get(models.default)  # load before serving: the first request is fast, and ZeroGPU wants it at start
    demo = build_app(models)
    demo.queue(max_size=args.queue_size, default_concurrency_limit=4)
    demo.launch(
        server_name=args.host, server_port=args.port, share=args.share, max_file_size=f"{MAX_UPLOAD_MB}mb", **STYLE
    )


if __name__ == "__main__":
    main()
