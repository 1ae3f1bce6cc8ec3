"""The Long video tab: window after window, each streamed into the page; Stop keeps what was made,
Extend again continues from the end. Work stops when the page or client leaves."""

from __future__ import annotations

import gradio as gr

from demo import render, ui
from demo.inputs import MAX_LONG_FRAMES
from demo.tasks import DEFAULT_ORDERS


def windows(arguments: dict) -> int:
    """How many windows of up to 16 frames a long video of these arguments runs (an upper bound)."""
    return int(arguments["total_frames"]) // max(1, int(arguments["stride"])) + 1


def build(page: ui.Page) -> ui.PlanPanel:

    @ui.on_gpu(calls_per_step=2, repeats=windows)
    @ui.user_errors
    def long_video(
        model, image=None, total_frames=128, context=8, stride=8, seed=0, steps=ui.DEFAULT_STEPS, frame_guidance=None,
        order=DEFAULT_ORDERS["long"], previous=None, request: gr.Request | None = None,
    ):
        update = None
        updates = page.tasks.long_video(
            model, image, total_frames, context, stride, seed, steps, previous, frame_guidance, order,
            stop=page.departures.watch(request),
        )
        for update in updates:
            yield update.video, update.strip, None, update.info, update.frames
        if update is not None and not page.departures.gone(request):
            gif = render.write_gif(render.enlarge(update.frames))
            yield update.video, update.strip, gif, update.info, update.frames

    def extend_video(
        model, image, total_frames, context, stride, seed, steps, frame_guidance, order, previous,
        request: gr.Request | None = None,
    ):
        if previous is None:
            raise ui.refuse("There is no video to extend yet: generate one first.")
        yield from long_video(
            model, image, total_frames, context, stride, int(seed) + 1, steps, frame_guidance, order, previous, request
        )

    with gr.Tab("Long video", id="long"):
        with gr.Row():
            with gr.Column(scale=2):
                image = ui.UploadedImage(type="filepath", label="Start from an image (optional)", sources=["upload"], height=160)
                total = ui.CheckedSlider(16, MAX_LONG_FRAMES, value=128, step=8, label="New frames")
                context = ui.CheckedSlider(1, 15, value=8, step=1, label="Context frames (given to each window)")
                stride = ui.CheckedSlider(1, 15, value=8, step=1, label="Stride (new frames per window)")
                gr.Markdown("Context + stride is at most the model's frames per window.")
                seed, steps = ui.seed_and_steps()
                order = ui.frame_order("long")
                with gr.Row():
                    generate = gr.Button("Generate", variant="primary", min_width=80)
                    extend = gr.Button("Extend again", min_width=80)
                    stop = gr.Button("Stop", variant="stop", min_width=80)
            with gr.Column(scale=3):
                video = gr.Video(
                    label="Video so far", autoplay=True, loop=True, buttons=["download"], elem_classes="result"
                )
                gr.Markdown("**Newest frames**")
                strip = gr.Image(label="Newest frames", show_label=False, interactive=False, buttons=["download"])
                gif = gr.File(label="GIF")
                info = gr.Markdown(label="Info")
        frames = gr.State(None)
        heatmap, open_button = ui.plan_panel("The plan of one window")
    inputs = [page.model, image, total, context, stride, seed, steps, page.frame_guidance, order]
    outputs = [video, strip, gif, info, frames]
    run = generate.click(long_video, inputs, outputs, api_name="long_video", **ui.HEAVY)
    more = extend.click(extend_video, [*inputs, frames], outputs, **ui.HEAVY, **ui.PRIVATE)
    stop.click(None, cancels=[run, more], **ui.PRIVATE)
    return ui.PlanPanel(heatmap, open_button, page.tasks.long_plan, [steps, context, stride, order])
