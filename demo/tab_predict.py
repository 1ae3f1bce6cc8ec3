"""The Predict tab: the first K frames of a clip given, the rest predicted, beside the truth."""

from __future__ import annotations

import gradio as gr

from demo import ui
from demo.tasks import DEFAULT_ORDERS


def build(page: ui.Page) -> ui.PlanPanel:

    @ui.on_gpu(calls_per_step=2)
    @ui.user_errors
    def predict(
        model, compare=ui.NO_COMPARISON, clip=None, context=4, seed=0, steps=ui.DEFAULT_STEPS, frame_guidance=None,
        order=DEFAULT_ORDERS["predict"], progress=gr.Progress(track_tqdm=True),
    ):
        return ui.shown(
            page.tasks.predict(model, page.compare_of(compare), clip, context, seed, steps, frame_guidance, order)
        )

    with gr.Tab("Predict", id="predict"):
        with gr.Row():
            with gr.Column(scale=2):
                clip = gr.Video(label="Clip: its first K frames are given", sources=["upload"], height=220)
                context = ui.CheckedSlider(1, 15, value=4, step=1, label="K: given frames")
                seed, steps = ui.seed_and_steps()
                order = ui.frame_order("predict")
                button = gr.Button("Predict", variant="primary")
            with gr.Column(scale=3):
                outputs = ui.result_outputs()
        gr.Examples([[ui.example_path(f"clip-{n}.mp4")] for n in range(1, 5)], [clip], label="Example clips")
        heatmap, open_button = ui.plan_panel()
    button.click(
        predict, [page.model, page.compare, clip, context, seed, steps, page.frame_guidance, order], list(outputs),
        api_name="predict", **ui.HEAVY,
    )
    return ui.PlanPanel(heatmap, open_button, page.tasks.predict_plan, [steps, context, order])
