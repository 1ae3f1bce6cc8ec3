"""The Generate tab: unconditional videos side by side (a class and guidance for class-conditional models)."""

from __future__ import annotations

import gradio as gr

from demo import ui
from demo.inputs import MAX_VIDEOS
from demo.tasks import DEFAULT_ORDERS


def build(page: ui.Page) -> tuple[ui.PlanPanel, gr.Dropdown, gr.Accordion]:
    """The tab, its plan panel, and the class picker (shown by the header for class-conditional models)."""

    @ui.on_gpu()
    @ui.user_errors
    def generate(
        model, compare, num_videos, seed, steps, class_label, guidance, order=DEFAULT_ORDERS["generate"],
        progress=gr.Progress(track_tqdm=True),
    ):
        return ui.shown(page.tasks.generate(
            model, page.compare_of(compare), num_videos, seed, steps, class_label, guidance, order
        ))

    with gr.Tab("Generate", id="generate"):
        with gr.Row():
            with gr.Column(scale=2):
                videos = ui.CheckedSlider(1, MAX_VIDEOS, value=2, step=1, label="Videos side by side")
                seed, steps = ui.seed_and_steps()
                order = ui.frame_order("generate")
                with gr.Accordion("Class and guidance", open=True, visible=False) as advanced:
                    class_label = gr.Dropdown(["none"], value="none", label="Class")
                    guidance = ui.CheckedSlider(1, 10, value=1, step=0.5, label="Guidance scale (classifier-free)")
                button = gr.Button("Generate", variant="primary")
            with gr.Column(scale=3):
                outputs = ui.result_outputs()
        heatmap, open_button = ui.plan_panel()
    button.click(
        generate, [page.model, page.compare, videos, seed, steps, class_label, guidance, order], list(outputs),
        api_name="generate", **ui.HEAVY,
    )
    return ui.PlanPanel(heatmap, open_button, page.tasks.generate_plan, [steps, order]), class_label, advanced
