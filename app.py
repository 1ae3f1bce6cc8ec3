"""FVDM demo: one tab per video task and a live per-frame schedule studio.

    python app.py [--model FOLDER_OR_PT_OR_HUB_ID ...] [--port 7860] [--share] [--allow-local-paths]

The same file is the Hugging Face Space (ZeroGPU). This file lays out the header and puts the tabs
together; each tab is built by its `demo.tab_*` module, and the work is done by `demo.tasks` (plans
from `fvdm.schedules`, sampling with cached `fvdm` pipelines).
"""

from __future__ import annotations

import argparse
import logging
import os
import re

import spaces  # noqa: F401  (imported before anything touches CUDA, for ZeroGPU)
import gradio as gr

from demo import tab_generate, tab_image_to_video, tab_interpolate, tab_long_video, tab_predict, tab_studio
from demo.inputs import MAX_UPLOAD_MB
from demo.models import ModelCache
from demo.sessions import Departures
from demo.tasks import Tasks, counted, plan_image, plan_to_rows
from demo.ui import EXAMPLES, NO_COMPARISON, PRIVATE, CheckedSlider, Page, PlanPanel, refuse, user_errors
from fvdm.errors import FVDMInputError
from fvdm.pipeline import MAX_FRAME_GUIDANCE

INTRO = """# FVDM: a video diffusion model with a timestep per frame
One model, every task: each frame has its own noise level, so choosing which frames are **given** and
how each frame's noise **moves** turns the same checkpoint into unconditional generation, image to video,
interpolation, prediction and endless video. Every tab shows its plan as a heat map (frames x sampling
steps, colour = noise level); open it in the **Schedule studio** to edit it frame by frame.

**The bundled model is a toy:** a small FVDM (and a conventional baseline) trained on a CPU on a
synthetic world of coloured shapes (circles, squares, triangles) that move and bounce, 16 frames of
32 x 32 pixels. Expect coloured shapes, not scenes. To serve a real model, start the app with `python app.py --model FOLDER_OR_HUB_ID`
(repeatable), or set `FVDM_MODELS` (a comma- or newline-separated list; on a Space, a variable in its
settings)."""
CSS = """
.heatmap img {object-fit: contain}
.result video {max-height: 384px; max-width: 100%; width: auto; margin: 0 auto; image-rendering: pixelated}
"""
CACHE = (600, 1800)  # Gradio's delete_cache: every 10 minutes, delete the files older than 30 minutes
STYLE = dict(css=CSS, theme=gr.themes.Soft(), allowed_paths=[str(EXAMPLES)])  # launch() options shared with the tests


def frame_guidance_label(own: float) -> str:
    """The frame guidance slider's label: what 0 means for this model."""
    return f"Frame guidance (0 = auto: {own:g}{', off' if own == 1 else ''})"


def header(models: ModelCache) -> tuple[gr.Dropdown, gr.Dropdown, gr.Slider, gr.Markdown]:
    """The model picker, the comparison picker, the frame guidance and the line of model facts."""
    allow_custom = models.allow_local_paths
    with gr.Row(equal_height=True):
        model = gr.Dropdown(
            models.labels, value=models.default, label="Model", allow_custom_value=allow_custom, scale=3,
            info="A folder, official .pt or Hub id may be typed in" if allow_custom else None,
        )
        compare = gr.Dropdown(
            [NO_COMPARISON, *models.labels], value=NO_COMPARISON, label="Compare side by side with (same seed)",
            scale=3, info="The conventional baseline gets given frames by replacement",
        )
        frame_guidance = CheckedSlider(
            0, MAX_FRAME_GUIDANCE, value=0, step=0.5, label="Frame guidance (0 = auto)", scale=2,
            info="How hard an FVDM model pulls its frames towards the given ones: 1 = off, higher = harder",
        )
    return model, compare, frame_guidance, gr.Markdown()


def model_facts(tasks: Tasks, model: str) -> str:
    pipe = tasks.models.get(model).pipe
    classes = f", {counted(pipe.num_classes, 'class', 'classes')}" if pipe.num_classes else ""
    size = f"{pipe.resolution} x {pipe.resolution} pixels"
    guidance = tasks.frame_guidance_fact(model)
    return f"*{model}: {counted(pipe.num_frames, 'frame')} of {size} per window{classes}{guidance}*"


def wire_plan_panels(page: Page, panels: list[PlanPanel], studio: tab_studio.Studio, tabs: gr.Tabs) -> None:
    """Every task tab: a live heat map of its plan, and "Open in studio" to edit it there."""
    for panel in panels:
        show = user_errors(lambda model, *knobs, plan_fn=panel.plan_fn: plan_image(plan_fn(model, *knobs)))
        inputs = [page.model, *panel.knobs]
        for trigger in inputs:
            trigger.change(show, inputs, [panel.heatmap], **PRIVATE)
        page.demo.load(show, inputs, [panel.heatmap], **PRIVATE)

        @user_errors
        def open_in_studio(model, *knobs, plan_fn=panel.plan_fn):
            plan = plan_fn(model, *knobs)
            return plan_to_rows(plan), plan.num_steps, plan.num_frames, gr.Tabs(selected="studio")

        panel.button.click(open_in_studio, inputs, [studio.table, studio.steps, studio.frames, tabs], **PRIVATE)


def build_app(models: ModelCache, cache: tuple[int, int] = CACHE) -> gr.Blocks:
    """The page: the header, a tab per task and the studio. `cache` is Gradio's `delete_cache`
    (every, age) in seconds: the page's files older than `age` are deleted every `every` seconds."""
    tasks = Tasks(models)
    with gr.Blocks(title="FVDM: frame-aware video diffusion", delete_cache=cache) as demo:
        gr.Markdown(INTRO)
        model, compare, frame_guidance, facts = header(models)
        page = Page(tasks, Departures(), model, compare, frame_guidance, demo)
        with gr.Tabs() as tabs:
            generate_panel, class_label, class_box = tab_generate.build(page)
            panels = [
                generate_panel, tab_image_to_video.build(page), tab_interpolate.build(page),
                tab_predict.build(page), tab_long_video.build(page),
            ]
            studio = tab_studio.build(page)
        wire_plan_panels(page, panels, studio, tabs)

        def on_model_change(label: str):
            try:
                pipe = tasks.models.get(label).pipe
            except FVDMInputError as error:
                raise refuse(str(error)) from None
            return (
                gr.Dropdown(choices=["none", *map(str, range(pipe.num_classes))], value="none"),
                gr.Accordion(visible=pipe.num_classes > 0),
                model_facts(tasks, label),
                gr.Slider(label=frame_guidance_label(tasks.frame_guidance(label))),
            )

        outputs = [class_label, class_box, facts, frame_guidance]
        model.change(on_model_change, [model], outputs, **PRIVATE)
        demo.load(on_model_change, [model], outputs, **PRIVATE)
        demo.unload(page.departures.leave)
    return demo


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="The FVDM demo (Gradio).")
    parser.add_argument(
        "--model", action="append", default=env_models(),
        help="an extra model for the picker: a saved pipeline folder, an official .pt checkpoint or a Hub id "
        "(repeatable; default: the list in FVDM_MODELS, separated by commas or newlines)",
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


def env_models() -> list[str]:
    """The models named in FVDM_MODELS (commas or newlines between them), as repeated --model would."""
    return [name.strip() for name in re.split(r"[,\n]", os.environ.get("FVDM_MODELS", "")) if name.strip()]


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
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
