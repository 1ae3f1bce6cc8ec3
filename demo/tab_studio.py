"""The Schedule studio: the per-frame timestep editor (one row per frame), presets, a heat map
redrawn on every edit, given frames from a clip or attached per row, JSON import and export, and
generation that streams the clean-frame estimate of every frame."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import gradio as gr

from demo import render, ui
from demo.inputs import MAX_STEPS, read_plan_file
from demo.tasks import TABLE_HEADERS, plan_image, plan_size, plan_to_rows, preset_plan, rows_to_plan
from fvdm.errors import FVDMInputError

PRESETS = {
    "Synchronous": "synchronous",
    "Image to video": "image_to_video",
    "Interpolation": "interpolation",
    "Prediction": "prediction",
    "Pyramid": "autoregressive",
    "Trapezoid": "trapezoid",
    "Random": "random",
}
HELP = (
    "One row per frame: **given** frames are supplied and held at their **start** level; a generated frame "
    "holds its **start** level until step **first**, then descends to 0 at step **last**. Every edit redraws the plan."
)


@dataclass
class Studio:
    """What the task tabs' "Open in studio" buttons fill in."""

    table: gr.Dataframe
    steps: gr.Slider
    frames: gr.Slider


def table_rows(arguments: dict) -> int:
    rows = arguments["rows"]
    return len(rows) if isinstance(rows, list) else ui.GPU_FRAMES


def resize_table(rows, frames, steps) -> list[list]:
    """The table cut or padded (with noisy generated rows) to `frames` rows, renumbered."""
    count = int(frames)
    rows = [list(row) for row in (rows or [])][:count]
    for index in range(len(rows), count):
        rows.append([index, False, 999, 0, int(steps)])
    return [[index, *row[1:]] for index, row in enumerate(rows)]


def attach_given(gallery, frame, image) -> list[tuple[str, str]]:
    if not image:
        raise ui.refuse("Upload an image first, then attach it to a frame.")
    items = [item for item in (gallery or []) if item[1] != f"frame {int(frame)}"]
    return [*items, (image, f"frame {int(frame)}")]


@ui.user_errors
def apply_preset(preset, frames, steps, context, lag, block, seed):
    plan = preset_plan(PRESETS[preset], frames, steps, context, lag, block, seed)
    return plan_to_rows(plan), plan.num_steps


@ui.user_errors
def import_plan(file):
    plan = read_plan_file(file)
    return plan_to_rows(plan), plan.num_steps, gr.Slider(value=plan.num_frames, maximum=max(16, plan.num_frames))


@ui.user_errors
def export_plan(rows, steps) -> str:
    path = render.output_path(".json")
    path.write_text(rows_to_plan(rows, steps).to_json() + "\n")
    return str(path)


def build(page: ui.Page) -> Studio:

    @ui.on_gpu(calls_per_step=2, frames=table_rows)
    @ui.user_errors
    def studio_generate(
        model, rows, steps=ui.DEFAULT_STEPS, gallery=None, clip=None, seed=0, preview_every=2, frame_guidance=None,
        request: gr.Request | None = None,
    ):
        updates = page.tasks.studio_generate(
            model, rows, steps, gallery, clip, seed, preview_every, frame_guidance, stop=page.departures.watch(request)
        )
        for update in updates:
            done = update.result is not None
            yield (
                update.strip, update.heatmap, update.result.video if done else None,
                update.result.gif if done else None, update.info,
            )

    def plan_preview(rows, steps, model=None):
        try:
            plan = page.tasks.studio_plan(model or page.tasks.models.default, rows, steps)
        except FVDMInputError as error:
            return gr.skip(), f"⚠ **Invalid plan:** {error}"
        given = f"given frames {list(plan.given)}" if plan.given else "no given frames"
        return plan_image(plan), f"✔ **Valid plan:** {plan_size(plan)}, {given}."

    with gr.Tab("Schedule studio", id="studio"):
        gr.Markdown(HELP)
        with gr.Row():
            frames = ui.CheckedSlider(1, 16, value=16, step=1, label="Frames")
            steps = ui.CheckedSlider(1, MAX_STEPS, value=ui.DEFAULT_STEPS, step=1, label="Sampling steps")
            context = ui.CheckedSlider(1, 8, value=2, step=1, label="K (interpolation / prediction)")
            lag = ui.CheckedSlider(0, 20, value=0, step=1, label="Lag (pyramid / trapezoid; 0 = auto)")
            block = ui.CheckedSlider(1, 8, value=1, step=1, label="Block size (pyramid)")
        with gr.Row():
            presets = {name: gr.Button(name, size="sm") for name in PRESETS}
        with gr.Row():
            with gr.Column(scale=2):
                table = ui.PlanTable(
                    value=plan_to_rows(preset_plan("interpolation", 16, ui.DEFAULT_STEPS, context=2)),
                    headers=TABLE_HEADERS, datatype=["number", "bool", "number", "number", "number"],
                    type="array", interactive=True, static_columns=[0], max_height=720, label="Per-frame schedule",
                )
                with gr.Accordion("Import / export the plan (JSON)", open=False):
                    with gr.Row():
                        import_file = gr.File(label="Import a plan", file_types=[".json"])
                        with gr.Column():
                            export = gr.Button("Export plan (JSON)")
                            download = gr.File(label="Exported plan")
            with gr.Column(scale=3):
                heatmap = ui.plan_image()
                message = gr.Markdown(label="Validity")
        with gr.Accordion("Given frames", open=True):
            with gr.Row():
                with gr.Column():
                    gr.Markdown("**Take given frames from this clip** (frame i for row i)")
                    clip = gr.Video(label="Clip", show_label=False, sources=["upload"], height=200)
                    gr.Examples([[ui.example_path("clip-1.mp4")]], [clip], label="Example clip")
                with gr.Column():
                    attach_frame = ui.CheckedNumber(0, label="Attach an image to frame", precision=0, minimum=0, maximum=15)
                    attach_image = ui.UploadedImage(type="filepath", label="Image", sources=["upload"], height=140)
                    with gr.Row():
                        attach = gr.Button("Attach", size="sm")
                        clear = gr.Button("Clear attached", size="sm")
                gallery = gr.Gallery(label="Attached images (override the clip)", columns=4, height=200, interactive=False)
        with gr.Row():
            seed = ui.CheckedNumber(0, label="Seed", precision=0, minimum=0)
            every = ui.CheckedSlider(1, 20, value=2, step=1, label="Show the estimates every … steps")
            generate = gr.Button("Generate", variant="primary")
            stop = gr.Button("Stop", variant="stop")
        gr.Markdown("**Live:** the current clean-frame estimate of every frame, labelled with its noise level")
        strip = gr.Image(label="Live estimates", show_label=False, interactive=False)
        with gr.Row():
            video = gr.Video(label="Result", autoplay=True, loop=True, buttons=["download"], elem_classes="result")
            with gr.Column():
                gif = gr.File(label="GIF")
                info = gr.Markdown(label="Info")

    inputs = [page.model, table, steps, gallery, clip, seed, every, page.frame_guidance]
    outputs = [strip, heatmap, video, gif, info]
    run = generate.click(studio_generate, inputs, outputs, api_name="studio_generate", **ui.HEAVY)
    stop.click(None, cancels=[run], **ui.PRIVATE)
    preview = [table, steps, page.model]
    table.change(plan_preview, preview, [heatmap, message], api_name="plan_preview")
    for trigger in (steps.change, page.model.change, page.demo.load):
        trigger(plan_preview, preview, [heatmap, message], **ui.PRIVATE)
    frames.release(resize_table, [table, frames, steps], [table], **ui.PRIVATE)
    for name, button in presets.items():
        button.click(
            functools.partial(apply_preset, name), [frames, steps, context, lag, block, seed], [table, steps], **ui.PRIVATE
        )
    import_file.upload(import_plan, [import_file], [table, steps, frames], **ui.PRIVATE)
    export.click(export_plan, [table, steps], [download], **ui.PRIVATE)
    attach.click(attach_given, [gallery, attach_frame, attach_image], [gallery], **ui.PRIVATE)
    clear.click(lambda: [], None, [gallery], **ui.PRIVATE)
    page.demo.load(lambda: ui.example_path("clip-1.mp4"), None, [clip], **ui.PRIVATE)  # the page starts with a clip
    return Studio(table, steps, frames)
