"""What every tab of the page shares: the inputs that explain bad values, the error handling, the
ZeroGPU durations, the common widgets, and `Page`, the header's components handed to each tab."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import spaces

from demo.inputs import MAX_STEPS, MAX_UPLOAD_MB
from demo.sessions import Departures
from demo.tasks import DEFAULT_ORDERS, TaskResult, Tasks
from fvdm import schedules
from fvdm.errors import FVDMInputError
from fvdm.schedules import SEQUENTIAL_LAG, Plan

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DEFAULT_STEPS = 25
NO_COMPARISON = "none"
HEAVY = {"concurrency_id": "model", "concurrency_limit": 1}  # model runs: one queue, one at a time
PRIVATE = {"api_visibility": "private"}  # page-only events, not part of the API
log = logging.getLogger("fvdm.app")


def example_path(name: str) -> str:
    return str(EXAMPLES / name)


# ----------------------------------------------------------------------------- errors for the user


def refuse(message: str) -> gr.Error:
    """The `gr.Error` that shows `message` to the user; the server log gets one line, no traceback."""
    log.info("refused: %s", message)
    return gr.Error(message, print_exception=False)


def user_errors(fn):
    """Turn `FVDMInputError` into a refusal, for plain and generator handlers alike. Any other
    exception is a bug and keeps its traceback in the log."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def stream(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except FVDMInputError as error:
                raise refuse(str(error)) from None

        return stream

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except FVDMInputError as error:
            raise refuse(str(error)) from None

    return call


def preprocess_or_refuse(preprocess: Callable, payload, sentence: str):
    """`preprocess(payload)`, or a refusal with `sentence` when the payload cannot be read
    (Gradio's own checks, such as a slider's range, keep their sentences)."""
    try:
        return preprocess(payload)
    except gr.Error:
        raise
    except Exception:  # e.g. a string where a number belongs, None where a table belongs
        raise refuse(sentence) from None


class UploadedImage(gr.Image):
    """`gr.Image` (same page widget) whose unreadable uploads give a sentence instead of "Error"."""

    is_template = True  # Gradio: render with the parent's frontend

    def preprocess(self, payload):
        return preprocess_or_refuse(
            super().preprocess, payload,
            "That file could not be used as an image: upload a PNG, JPEG, WebP, BMP or GIF of at most "
            f"{MAX_UPLOAD_MB} MB.",
        )


class CheckedSlider(gr.Slider):
    """`gr.Slider` whose non-numbers (from API callers) give a sentence naming the slider."""

    is_template = True

    def preprocess(self, payload):
        sentence = f"{self.label} must be a number from {self.minimum:g} to {self.maximum:g}, got {payload!r}."
        return preprocess_or_refuse(super().preprocess, payload, sentence)


class CheckedNumber(gr.Number):
    """`gr.Number` whose non-numbers give a sentence naming the field."""

    is_template = True

    def preprocess(self, payload):
        sentence = f"{self.label} must be a whole number, got {payload!r}."
        return preprocess_or_refuse(super().preprocess, payload, sentence)


class PlanTable(gr.Dataframe):
    """The studio's per-frame table; a missing or malformed table gives a sentence with its shape."""

    is_template = True

    def preprocess(self, payload):
        sentence = (
            "The schedule table is missing or malformed: send {'headers': [...], 'data': [[frame, given, start, "
            "first, last], ...]} with one row per frame (the studio's Export shows a plan)."
        )
        return preprocess_or_refuse(super().preprocess, payload, sentence)


# ----------------------------------------------------------------------------- ZeroGPU


GPU_FRAMES = 16  # frames in one model call of the bundled models


def gpu_seconds(frames: int, steps, order: str = "together", repeats=1, calls_per_step: int = 1) -> int:
    """ZeroGPU time to ask for: generous for a tiny model, bounded because every input is. The work is
    `repeats` plans (videos, windows, models compared) of `frames` frames, each running the steps of
    its frame order (`schedules.order_steps`); `calls_per_step` is 2 for tasks with given frames,
    which an FVDM model may guide towards."""
    try:
        plan_steps = schedules.order_steps(int(frames), int(steps), order)
        work = int(frames) * plan_steps * int(repeats) * calls_per_step
    except (TypeError, ValueError, FVDMInputError):
        work = 0
    return int(min(300, 20 + work * 0.02))


def gpu_duration(
    handler: Callable,
    calls_per_step: int = 1,
    frames: Callable[[dict], int] = lambda arguments: GPU_FRAMES,
    repeats: Callable[[dict], int] = lambda arguments: arguments.get("num_videos", 1),
) -> Callable[..., int]:
    """The ZeroGPU duration function of `handler`: it reads the handler's own arguments by name,
    `steps`, the frame `order` (where it has one), `frames(arguments)` per plan and
    `repeats(arguments)` plans, twice as many when a second model is compared."""
    signature = inspect.signature(handler)

    def duration(*args, **kwargs) -> int:
        try:
            bound = signature.bind_partial(*args, **kwargs)
        except TypeError:
            return gpu_seconds(0, 0)
        bound.apply_defaults()
        arguments = bound.arguments
        compared = 2 if arguments.get("compare") not in (None, "", NO_COMPARISON) else 1
        try:
            plans, per_plan = repeats(arguments) * compared, frames(arguments)
        except (TypeError, ValueError):
            return gpu_seconds(0, 0)
        return gpu_seconds(per_plan, arguments.get("steps"), arguments.get("order", "together"), plans, calls_per_step)

    return duration


def on_gpu(**duration_options) -> Callable[[Callable], Callable]:
    """`spaces.GPU` with the duration `gpu_duration(handler, **duration_options)` asks for."""

    def wrap(handler: Callable) -> Callable:
        return spaces.GPU(duration=gpu_duration(handler, **duration_options))(handler)

    return wrap


# ----------------------------------------------------------------------------- the page's parts


@dataclass
class Page:
    """The header every tab reads (model, comparison, frame guidance) and the shared services."""

    tasks: Tasks
    departures: Departures
    model: gr.Dropdown
    compare: gr.Dropdown
    frame_guidance: gr.Slider
    demo: gr.Blocks

    def compare_of(self, choice: str | None) -> str | None:
        return None if choice in (None, "", NO_COMPARISON) else choice


@dataclass
class PlanPanel:
    """A task tab's heat map of its plan, its "Open in studio" button, and how to make the plan."""

    heatmap: gr.Image
    button: gr.Button
    plan_fn: Callable[..., Plan]  # plan_fn(model, *knobs)
    knobs: Sequence[gr.components.Component]


def seed_and_steps() -> tuple[gr.Number, gr.Slider]:
    seed = CheckedNumber(0, label="Seed", precision=0, minimum=0)
    steps = CheckedSlider(1, MAX_STEPS, value=DEFAULT_STEPS, step=1, label="Sampling steps")
    return seed, steps


def frame_order(tab: str) -> gr.Radio:
    return gr.Radio(
        [("Together", "together"), ("Pyramid: first to last", "pyramid"),
         ("One at a time: each frame after the one before", "sequential")],
        value=DEFAULT_ORDERS[tab], label="Frame order",
        info="How the generated frames lose their noise: all at once; staggered from the first to the last (the "
        "same number of steps); or each frame over all the steps, starting when the one before it is "
        f"{SEQUENTIAL_LAG:.0%} done (objects stay whole more often, about 6 times the steps)",
    )


def shown(result: TaskResult) -> tuple[str, str, str]:
    """A task's result as the values of `result_outputs`."""
    return result.video, result.gif, result.info


def result_outputs() -> tuple[gr.Video, gr.File, gr.Markdown]:
    video = gr.Video(label="Result", autoplay=True, loop=True, buttons=["download"], elem_classes="result")
    gif = gr.File(label="GIF")
    info = gr.Markdown(label="Info")
    return video, gif, info


def plan_image() -> gr.Image:
    """A heat map of a plan, without the image toolbar (it would cover the colour bar's top)."""
    return gr.Image(label="Plan", show_label=False, interactive=False, elem_classes="heatmap", format="png", buttons=[])


def plan_panel(label: str = "The plan this tab runs") -> tuple[gr.Image, gr.Button]:
    with gr.Accordion(label, open=True):
        heatmap = plan_image()
        button = gr.Button("Open in studio", size="sm")
    return heatmap, button
