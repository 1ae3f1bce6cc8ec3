"""The Image to video tab: an image placed at any frame, the rest generated."""

from __future__ import annotations

import gradio as gr

from demo import ui
from demo.tasks import DEFAULT_ORDERS


def build(page: ui.Page) -> ui.PlanPanel:

    @ui.on_gpu(calls_per_step=2)
    @ui.user_errors
    def image_to_video(
        model, compare=ui.NO_COMPARISON, image=None, position=0, seed=0, steps=ui.DEFAULT_STEPS, frame_guidance=None,
        order=DEFAULT_ORDERS["image_to_video"], progress=gr.Progress(track_tqdm=True),
    ):
        return ui.shown(page.tasks.image_to_video(
            model, page.compare_of(compare), image, position, seed, steps, frame_guidance, order
        ))

    with gr.Tab("Image to video", id="i2v"):
        with gr.Row():
            with gr.Column(scale=2):
                image = ui.UploadedImage(type="filepath", label="Given frame", sources=["upload", "clipboard"], height=220)
                position = ui.CheckedSlider(0, 15, value=0, step=1, label="Place the image at frame")
                seed, steps = ui.seed_and_steps()
                order = ui.frame_order("image_to_video")
                button = gr.Button("Animate", variant="primary")
            with gr.Column(scale=3):
                outputs = ui.result_outputs()
        gr.Examples([[ui.example_path(f"start-{n}.png")] for n in range(1, 5)], [image], label="Example frames")
        heatmap, open_button = ui.plan_panel()
    button.click(
        image_to_video, [page.model, page.compare, image, position, seed, steps, page.frame_guidance, order],
        list(outputs), api_name="image_to_video", **ui.HEAVY,
    )
    return ui.PlanPanel(heatmap, open_button, page.tasks.image_to_video_plan, [steps, position, order])
