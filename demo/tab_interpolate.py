"""The Interpolate tab: start and end images (K = 1), or the first K and last K frames of a clip."""

from __future__ import annotations

import gradio as gr

from demo import ui
from demo.tasks import DEFAULT_ORDERS


def build(page: ui.Page) -> ui.PlanPanel:

    @ui.on_gpu(calls_per_step=2)
    @ui.user_errors
    def interpolate(
        model, compare=ui.NO_COMPARISON, start=None, end=None, clip=None, context=1, between=14, seed=0,
        steps=ui.DEFAULT_STEPS, frame_guidance=None, order=DEFAULT_ORDERS["interpolate"],
        progress=gr.Progress(track_tqdm=True),
    ):
        return ui.shown(page.tasks.interpolate(
            model, page.compare_of(compare), start, end, clip, context, between, seed, steps, frame_guidance, order
        ))

    with gr.Tab("Interpolate", id="interpolate"):
        with gr.Row():
            with gr.Column(scale=2):
                with gr.Row():
                    start = ui.UploadedImage(type="filepath", label="Start frame", sources=["upload", "clipboard"], height=200)
                    end = ui.UploadedImage(type="filepath", label="End frame", sources=["upload", "clipboard"], height=200)
                clip = gr.Video(label="…or a clip", sources=["upload"], height=200)
                gr.Markdown(
                    "With a clip, its first K and last K frames are given, and the truth and a cross-fade are shown beside the result."
                )
                context = ui.CheckedSlider(1, 7, value=1, step=1, label="K: given frames at each end (K > 1 needs a clip)")
                between = ui.CheckedSlider(1, 14, value=14, step=1, label="In-between frames")
                seed, steps = ui.seed_and_steps()
                order = ui.frame_order("interpolate")
                button = gr.Button("Interpolate", variant="primary")
            with gr.Column(scale=3):
                outputs = ui.result_outputs()
        gr.Examples(
            [[ui.example_path(f"start-{n}.png"), ui.example_path(f"end-{n}.png"), None] for n in (1, 2)]
            + [[None, None, ui.example_path(f"clip-{n}.mp4")] for n in (3, 4)],
            [start, end, clip], label="Examples (end images, or clips)",
        )
        heatmap, open_button = ui.plan_panel()
    button.click(
        interpolate,
        [page.model, page.compare, start, end, clip, context, between, seed, steps, page.frame_guidance, order],
        list(outputs), api_name="interpolate", **ui.HEAVY,
    )
    return ui.PlanPanel(heatmap, open_button, page.tasks.interpolate_plan, [steps, context, between, order])
