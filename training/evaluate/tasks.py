"""The sampling tasks of an evaluation: which plans every model samples, their report keys and
column titles, and the classical baseline each reconstruction task is compared with."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from fvdm import schedules
from fvdm.baselines import cross_fade, repeat_last
from fvdm.errors import FVDMInputError

TASKS = ("interpolation", "prediction", "image_to_video", "unconditional", "long", "denoising")
INTERPOLATION_CONTEXTS = (1, 2)
PREDICTION_CONTEXT = 4


@dataclass(frozen=True)
class Task:
    """One sampling task: its report key, the plan every model samples, and, for tasks with
    ground truth for the generated frames, the classical baseline and its number of given frames."""

    name: str
    plan: schedules.Plan
    classic: str | None = None
    context: int = 0


def build_tasks(
    tasks: Sequence[str], num_frames: int, steps: int, orders: Sequence[str] = schedules.ORDERS
) -> list[Task]:
    """The sampling tasks among `tasks` ("long" and "denoising" aside), for a model of `num_frames` frames.

    Interpolation runs with its generated frames together; prediction, image-to-video and
    unconditional generation run in each of `orders` (`schedules.ORDERS`), at `steps` steps per
    frame. Building every plan first means a model too short for a task fails before any sampling."""
    orders = check_orders(orders)
    built = []
    if "interpolation" in tasks:
        for k in INTERPOLATION_CONTEXTS:
            plan = _plan(schedules.interpolation, "interpolation", num_frames, steps, context=k)
            built.append(Task(f"interpolation_k{k}", plan, "cross_fade", k))
    for order in orders:
        if "prediction" in tasks:
            plan = _plan(schedules.prediction, "prediction", num_frames, steps, context=PREDICTION_CONTEXT, order=order)
            built.append(Task(ordered("prediction", order), plan, "repeat_last", PREDICTION_CONTEXT))
    for order in orders:
        if "image_to_video" in tasks:
            plan = _plan(schedules.image_to_video, "image_to_video", num_frames, steps, order=order)
            built.append(Task(ordered("image_to_video", order), plan))
        if "unconditional" in tasks:
            plan = _plan(schedules.synchronous, "unconditional", num_frames, steps, order=order)
            built.append(Task(ordered("unconditional", order), plan))
    return built


def known_subset(values: Sequence[str], known: Sequence[str], what: str) -> tuple[str, ...]:
    """`values` (at least one, each among `known`) in the order of `known`; `what` names them in the error."""
    unknown = sorted(set(values) - set(known))
    if unknown or not values:
        raise FVDMInputError(f"{what} must be among {', '.join(known)}; got {', '.join(values) or 'none'}")
    return tuple(value for value in known if value in values)


def check_tasks(tasks: Sequence[str]) -> tuple[str, ...]:
    """The known tasks in `tasks`, in the order of `TASKS`."""
    return known_subset(tasks, TASKS, "tasks")


def check_orders(orders: Sequence[str]) -> tuple[str, ...]:
    """The known frame orders in `orders`, in the order of `schedules.ORDERS`."""
    return known_subset(orders, schedules.ORDERS, "orders")


def ordered(task: str, order: str) -> str:
    """The report key of a task sampled in `order`: "image_to_video", "image_to_video_pyramid"."""
    return task if order == "together" else f"{task}_{order}"


def _plan(builder: Callable[..., schedules.Plan], task: str, num_frames: int, steps: int, **options) -> schedules.Plan:
    try:
        return builder(num_frames=num_frames, num_steps=steps, **options)
    except FVDMInputError as error:
        raise FVDMInputError(f"the model makes {num_frames}-frame clips, too few for {task}: {error}") from None


def task_titles(num_frames: int) -> dict[str, str]:
    """Column titles of the task keys."""
    titles = {f"interpolation_k{k}": f"Interp. K={k}" for k in INTERPOLATION_CONTEXTS}
    prediction = f"Pred. {PREDICTION_CONTEXT}→{num_frames - PREDICTION_CONTEXT}"
    for task, title in {"prediction": prediction, "image_to_video": "I2V", "unconditional": "Uncond."}.items():
        titles |= {ordered(task, order): f"{title} {order}".removesuffix(" together") for order in schedules.ORDERS}
    return titles



CLASSICS: dict[str, Callable[[torch.Tensor, int], torch.Tensor]] = {"cross_fade": cross_fade, "repeat_last": repeat_last}
