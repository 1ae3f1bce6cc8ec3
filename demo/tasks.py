"""One method per tab: check the inputs, build the plan with `fvdm.schedules`, sample with the
cached pipelines, write the result. Anything a user can fix raises `FVDMInputError` with a sentence.

Nothing here knows about Gradio: `app.py` turns these methods into events and errors into
`gr.Error`, and the tests call them directly too.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from demo import render
from demo.inputs import (
    MAX_LONG_FRAMES,
    MAX_STEPS,
    MAX_VIDEOS,
    check_int,
    check_seed,
    check_steps,
    given_images_by_frame,
    read_clip,
    read_image,
)
from demo.models import ModelCache
from fvdm import schedules
from fvdm.baselines import cross_fade, repeat_last
from fvdm.errors import FVDMInputError
from fvdm.heatmap import render_plan
from fvdm.pipeline import MAX_FRAME_GUIDANCE, format_frames
from fvdm.video_io import to_uint8

TABLE_HEADERS = ["frame", "given", "start", "first", "last"]
# The frame order each tab runs in unless told: the library's per-task default (`schedules.TASK_ORDERS`).
# Long video in the sequential order takes about 4.6 minutes (278 s) for 128 frames on 2 CPU cores
# against 69 s together, but together the bundled FVDM loses its objects within a few windows.
DEFAULT_ORDERS = {
    "generate": schedules.TASK_ORDERS["synchronous"], "image_to_video": schedules.TASK_ORDERS["image_to_video"],
    "interpolate": schedules.TASK_ORDERS["interpolation"], "predict": schedules.TASK_ORDERS["prediction"],
    "long": schedules.TASK_ORDERS["long"],
}
log = logging.getLogger("fvdm.app")


def never() -> bool:
    """The default `stop` of the streaming tasks: run to the end."""
    return False


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """"1 frame", "16 frames": a number with its noun in the singular or plural (default: noun + "s")."""
    return f"{number} {noun}" if number == 1 else f"{number} {plural or noun + 's'}"


def plan_size(plan: schedules.Plan) -> str:
    return f"{counted(plan.num_frames, 'frame')} x {counted(plan.num_steps, 'step')}"


def per_frame_note(plan: schedules.Plan) -> str:
    """" (25 per frame)" where a frame takes fewer steps than the plan (the sequential order), else ""."""
    per_frame = schedules.task_steps(plan)
    return "" if per_frame == plan.num_steps else f" ({per_frame} per frame)"


def plan_summary(plan: schedules.Plan) -> str:
    """The plan's size, and its steps per frame where that differs."""
    return plan_size(plan) + per_frame_note(plan)


class ClientLeft(Exception):
    """Raised in the studio's sampling thread to end a run whose client has gone."""


@dataclass
class TaskResult:
    video: str  # MP4 path: every clip of the result side by side, captioned
    gif: str  # the same as a GIF, for download
    info: str  # Markdown: model, seed, plan, time
    plan: schedules.Plan
    panels: list[tuple[str, np.ndarray]]  # (caption, clip [F, H, W, 3]) at the model's size, as shown


@dataclass
class LongUpdate:
    video: str  # MP4 of the video so far (refreshed each time it has doubled, and at the end)
    strip: np.ndarray  # the newest frames, labelled with their frame numbers
    info: str
    frames: np.ndarray  # uint8 [N, H, W, 3]: the whole video so far (for "Extend again")


@dataclass
class StudioUpdate:
    strip: np.ndarray  # current clean-frame estimates, labelled with their noise levels
    heatmap: np.ndarray  # the plan with the current step marked
    info: str
    result: TaskResult | None = None  # set on the last update


# ----------------------------------------------------------------------------- plans


def plan_image(plan: schedules.Plan, current_step: int | None = None) -> np.ndarray:
    title = f"{plan.name}: {plan_size(plan)}"
    return np.asarray(render_plan(plan, title=title, current_step=current_step))


def plan_to_rows(plan: schedules.Plan) -> list[list]:
    """The studio table for a plan: [frame, given, start, first, last] per frame."""
    return [[index, row["given"], row["start"], row["first"], row["last"]] for index, row in enumerate(schedules.to_table(plan))]


def rows_to_plan(rows: Sequence[Sequence] | None, num_steps) -> schedules.Plan:
    """The studio table (with or without its frame column) -> a validated plan."""
    steps = check_steps(num_steps)
    values = [list(row)[-4:] for row in rows or () if row is not None and len(row) >= 4]
    if not values:
        raise FVDMInputError("The table is empty: it needs one row per frame.")
    return schedules.from_table(values, steps, name="custom")


def preset_plan(name: str, num_frames, num_steps, context=1, lag=None, block_size=1, seed=0) -> schedules.Plan:
    """The studio's preset buttons: a builder from `fvdm.schedules.BUILDERS` with the studio's knobs."""
    frames = check_int(num_frames, "The number of frames", 1, 1024)
    steps = check_steps(num_steps)
    k = check_int(context, "The number of context frames", 1, frames)
    lag = None if lag in (None, "", 0) else check_int(lag, "The lag", 0, MAX_STEPS)
    if name == "synchronous":
        return schedules.synchronous(frames, steps)
    if name == "image_to_video":
        return schedules.image_to_video(frames, steps)
    if name == "interpolation":
        return schedules.interpolation(frames, steps, context=k)
    if name == "prediction":
        return schedules.prediction(frames, steps, context=k)
    if name == "autoregressive":
        return schedules.autoregressive(frames, steps, lag=lag, block_size=check_int(block_size, "The block size", 1, frames))
    if name == "trapezoid":
        return schedules.trapezoid(frames, steps, lag=lag)
    if name == "random":
        return schedules.random_plan(frames, steps, seed=check_seed(seed))
    raise FVDMInputError(f"Unknown preset {name!r}.")


# ----------------------------------------------------------------------------- the tasks


class Tasks:
    def __init__(self, models: ModelCache):
        self.models = models

    # -- helpers shared by the tabs

    def num_frames(self, label: str) -> int:
        return self.models.get(label).pipe.num_frames

    def resolution(self, label: str) -> int:
        return self.models.get(label).pipe.resolution

    def _sample(
        self, label: str, plan: schedules.Plan, given: Mapping[int, np.ndarray], seed: int,
        num_videos: int = 1, class_label=None, guidance_scale: float = 1.0, frame_guidance=None,
    ) -> np.ndarray:
        """[B, F, H, W, 3] floats in [0, 1] from model `label`, with its own way of giving frames."""
        model = self.models.get(label)
        output = model.pipe(
            plan=plan, given=dict(given), seed=seed, num_videos=num_videos, class_labels=class_label,
            guidance_scale=guidance_scale, autocast_dtype=model.autocast_dtype, conditioning=model.conditioning,
            frame_guidance=self.frame_guidance(label, frame_guidance),
        )
        return output.frames

    def frame_guidance(self, label: str, requested=None) -> float:
        """The frame guidance model `label` samples with: `requested` (None or 0: the model's own) for
        an FVDM model; always 1 for a conventional one, which gets its given frames by replacement."""
        model = self.models.get(label)
        if requested == 0 or model.conditioning != "vectorized":
            requested = None  # the model's own; replacement (a conventional model) is never guided
        try:
            return model.pipe.resolve_frame_guidance(requested, model.conditioning)
        except FVDMInputError:
            raise FVDMInputError(
                "Frame guidance must be 0 (the model's own) or a number from 1 to "
                f"{MAX_FRAME_GUIDANCE:g}; got {requested}."
            ) from None

    def frame_guidance_fact(self, label: str) -> str:
        """", frame guidance 2 by default" for the model facts line ("" when its own is off)."""
        strength = self.frame_guidance(label)
        return f", frame guidance {strength:g} by default" if strength != 1.0 else ""

    def sampling_note(
        self, labels: Sequence[str], plan: schedules.Plan, frame_guidance=None, together: Sequence[str] = ()
    ) -> str:
        """How the models sample `plan`, each its own way: "DDPM", "DDPM, frame guidance 2", or
        "DDIM / DDPM" when compared models differ; ", frames together" for the models in `together`,
        which ran the task with its frames together instead of in the plan's pyramid or sequential order."""
        return " / ".join(dict.fromkeys(
            self._sampler(label) + self._guidance_note(label, plan, frame_guidance)
            + (", frames together" if label in together else "")
            for label in labels
        ))

    def plan_for(self, label: str, plan: schedules.Plan) -> schedules.Plan:
        """The task plan model `label` runs: `plan`, or for a conventional model (which has one timestep
        for all frames, so it cannot follow a staggered order) the same task with its frames together."""
        if self.models.get(label).conditioning == "vectorized":
            return plan
        return schedules.reorder(plan, "together")

    def _sampler(self, label: str) -> str:
        return self.models.get(label).pipe.scheduler.config.sampler.upper()

    def _guidance_note(self, label: str, plan: schedules.Plan, frame_guidance=None) -> str:
        """", frame guidance 2" when the model guides towards the plan's given frames, else ""."""
        strength = self.frame_guidance(label, frame_guidance)
        return f", frame guidance {strength:g}" if plan.given and strength != 1.0 else ""

    def _models(self, model: str, compare: str | None) -> list[str]:
        labels = [model]
        if compare and compare != model:
            labels.append(compare)
        return labels

    def _run(
        self, model: str, compare: str | None, plan: schedules.Plan, given: Mapping[int, np.ndarray], seed,
        references: Sequence[tuple[str, np.ndarray]] = (), num_videos: int = 1, class_label=None,
        guidance_scale: float = 1.0, frame_guidance=None,
    ) -> TaskResult:
        """Sample `plan` with the model (and the comparison model, same seed; each runs `plan_for` it),
        add reference clips (truth, classical baselines), and write one captioned side-by-side video."""
        seed = check_seed(seed)
        started = time.perf_counter()
        panels, labels = [], self._models(model, compare)
        plans = {label: self.plan_for(label, plan) for label in labels}
        for label in labels:
            videos = self._sample(
                label, plans[label], given, seed, num_videos, class_label, guidance_scale, frame_guidance
            )
            name = short_name(label)
            panels += [(name if num_videos == 1 else f"{name} #{i + 1}", video) for i, video in enumerate(videos)]
        seconds = time.perf_counter() - started
        panels += list(references)
        ncols = num_videos if num_videos > 1 else len(panels)
        together = [label for label in labels if plans[label] != plan]
        sampling = self.sampling_note(labels, plan, frame_guidance, together)
        return finished_result(" vs ".join(labels), seed, plan, sampling, seconds, panels, ncols)

    # -- the tabs

    def generate(
        self, model: str, compare: str | None, num_videos, seed, steps, class_label=None, guidance=1.0,
        order=DEFAULT_ORDERS["generate"],
    ) -> TaskResult:
        plan = self.generate_plan(model, steps, order)
        count = check_int(num_videos, "The number of videos", 1, MAX_VIDEOS)
        label = None if class_label in (None, "", "none") else check_int(class_label, "The class", 0, 10**6)
        return self._run(model, compare, plan, {}, seed, num_videos=count, class_label=label, guidance_scale=float(guidance))

    def generate_plan(self, model: str, steps, order=DEFAULT_ORDERS["generate"]) -> schedules.Plan:
        return schedules.synchronous(self.num_frames(model), check_steps(steps), order=order)

    def image_to_video(
        self, model: str, compare: str | None, image, position, seed, steps, frame_guidance=None,
        order=DEFAULT_ORDERS["image_to_video"],
    ) -> TaskResult:
        plan = self.image_to_video_plan(model, steps, position, order)
        frame = read_image(image, self.resolution(model), "a first frame")
        return self._run(model, compare, plan, {plan.given[0]: frame}, seed, frame_guidance=frame_guidance)

    def image_to_video_plan(
        self, model: str, steps, position=0, order=DEFAULT_ORDERS["image_to_video"]
    ) -> schedules.Plan:
        frames = self.num_frames(model)
        index = check_int(position, "The position of the image", 0, frames - 1)
        return schedules.image_to_video(frames, check_steps(steps), given=(index,), order=order)

    def interpolate(
        self, model: str, compare: str | None, start, end, clip, context, between, seed, steps, frame_guidance=None,
        order=DEFAULT_ORDERS["interpolate"],
    ) -> TaskResult:
        plan = self.interpolate_plan(model, steps, context, between, order)
        k, frames, resolution = len(plan.given) // 2, plan.num_frames, self.resolution(model)
        references = []
        if clip:
            truth = read_clip(clip, frames, resolution)
            given = {index: truth[index] for index in plan.given}
            fade = cross_fade(torch.from_numpy(truth[None]).float(), k)[0].round().numpy().astype(np.uint8)
            references = [("truth", truth), ("cross-fade", fade)]
        elif k > 1:
            raise FVDMInputError("More than one context frame at each end needs a clip: upload one, or set K to 1.")
        else:
            given = {0: read_image(start, resolution, "a start image"), frames - 1: read_image(end, resolution, "an end image")}
        return self._run(model, compare, plan, given, seed, references=references, frame_guidance=frame_guidance)

    def interpolate_plan(
        self, model: str, steps, context=1, between=None, order=DEFAULT_ORDERS["interpolate"]
    ) -> schedules.Plan:
        window = self.num_frames(model)
        k = check_int(context, "The number of context frames K", 1, (window - 1) // 2)
        between = window - 2 * k if between in (None, "") else check_int(between, "The number of in-between frames", 1, window - 2 * k)
        return schedules.interpolation(2 * k + between, check_steps(steps), context=k, order=order)

    def predict(
        self, model: str, compare: str | None, clip, context, seed, steps, frame_guidance=None,
        order=DEFAULT_ORDERS["predict"],
    ) -> TaskResult:
        plan = self.predict_plan(model, steps, context, order)
        k = len(plan.given)
        truth = read_clip(clip, plan.num_frames, self.resolution(model))
        repeat = repeat_last(torch.from_numpy(truth[None]), k)[0].numpy()
        references = [("truth", truth), ("repeat last", repeat)]
        given = {i: truth[i] for i in plan.given}
        return self._run(model, compare, plan, given, seed, references=references, frame_guidance=frame_guidance)

    def predict_plan(self, model: str, steps, context=4, order=DEFAULT_ORDERS["predict"]) -> schedules.Plan:
        window = self.num_frames(model)
        k = check_int(context, "The number of given frames K", 1, window - 1)
        return schedules.prediction(window, check_steps(steps), context=k, order=order)

    def long_plan(self, model: str, steps, context=8, stride=None, order=DEFAULT_ORDERS["long"]) -> schedules.Plan:
        """One window of the long video: `context` given frames, then `stride` new ones."""
        window = self.num_frames(model)
        k = check_int(context, "The number of context frames", 1, window - 1)
        stride = window - k if stride in (None, "") else check_int(stride, "The stride", 1, window - 1)
        if k + stride > window:
            raise FVDMInputError(
                f"Context + stride must be at most {window}, the frames this model makes at once; got {k} + {stride}. "
                f"With {counted(k, 'context frame')}, set the stride to at most {window - k}, or lower the context."
            )
        return schedules.prediction(k + stride, check_steps(steps), context=k, order=order)

    def long_video(
        self, model: str, image, total_frames, context, stride, seed, steps, previous: np.ndarray | None = None,
        frame_guidance=None, order=DEFAULT_ORDERS["long"], stop: Callable[[], bool] = never,
    ) -> Iterator[LongUpdate]:
        """Stream a long video window by window; with `previous` frames, continue from their end.
        `stop()` is asked after every window: when it says True (the client left), no more are made."""
        plan = self.long_plan(model, steps, context, stride, order)
        total = check_int(total_frames, "The length", 1, MAX_LONG_FRAMES)
        seed = check_seed(seed)
        loaded = self.models.get(model)
        strength = self.frame_guidance(model, frame_guidance)
        together = self.plan_for(model, plan) != plan  # a conventional model runs its windows together
        start = [] if previous is None else list(previous)
        if len(start) + total > 4 * MAX_LONG_FRAMES:
            raise FVDMInputError(f"The video would pass {4 * MAX_LONG_FRAMES} frames; start a new one.")
        init = start[-plan.num_frames :] if start else ([read_image(image, loaded.pipe.resolution, "a first frame")] if image else None)
        frames = [np.asarray(frame) for frame in start]
        video, video_frames = None, 0
        started = time.perf_counter()
        chunks = loaded.pipe.generate_long(  # rebuilds `plan` for every window from what it was built with
            total, context_frames=len(plan.given), stride=plan.num_frames - len(plan.given), init_frames=init,
            num_steps=schedules.task_steps(plan), seed=seed, autocast_dtype=loaded.autocast_dtype,
            conditioning=loaded.conditioning, frame_guidance=strength, order="together" if together else order,
        )
        for chunk in chunks:
            if stop():
                chunks.close()
                log.info("long video stopped after %d of %d new frames: the client left", len(frames) - len(start), total)
                return
            frames += list(to_uint8(chunk[0]))
            clip = np.stack(frames)
            if len(frames) >= 2 * video_frames or len(frames) - len(start) == total:
                # re-encode only when the video has doubled (and at the end): linear work in all
                video, video_frames = render.write_video(render.enlarge(clip)), len(frames)
            recent = range(max(0, len(frames) - 8), len(frames))
            strip = render.frame_strip(clip[recent.start :], [f"frame {i}" for i in recent], per_row=8)
            seconds = time.perf_counter() - started
            info = (
                f"**{counted(len(frames), 'frame')}** ({len(frames) - len(start)} new of {total}) · **model** {model} · **seed** {seed}"
                f" · {len(plan.given)} context + {counted(plan.num_frames - len(plan.given), 'new frame')} per window,"
                f" {counted(plan.num_steps, self._sampler(model) + ' step')}{per_frame_note(plan)}{self._guidance_note(model, plan, strength)}"
                f"{', frames together' if together else ''} · {seconds:.1f} s"
            )
            yield LongUpdate(video, strip, info, clip)

    def studio_plan(self, model: str, rows, steps) -> schedules.Plan:
        """The studio table as a plan that model `model` can run (no more rows than its frames)."""
        plan = rows_to_plan(rows, steps)
        window = self.num_frames(model)
        if plan.num_frames > window:
            raise FVDMInputError(
                f"This model makes at most {counted(window, 'frame')} at once; the plan has {plan.num_frames} rows: "
                f"remove {counted(plan.num_frames - window, 'row')} (or set Frames to {window})."
            )
        return plan

    def studio_generate(
        self, model: str, rows, steps, gallery, clip, seed, preview_every=5, frame_guidance=None,
        stop: Callable[[], bool] = never,
    ) -> Iterator[StudioUpdate]:
        """Run the studio's plan, yielding the clean-frame estimates every `preview_every` steps.
        `stop()` is asked after every step: when it says True (the client left), sampling ends there."""
        plan = self.studio_plan(model, rows, steps)
        seed = check_seed(seed)
        every = check_int(preview_every, "Preview every", 1, MAX_STEPS)
        loaded = self.models.get(model)
        strength = self.frame_guidance(model, frame_guidance)
        given = self._studio_given(plan, gallery, clip, loaded.pipe.resolution)
        updates: queue.Queue = queue.Queue()

        def on_step(pipe, step, t_from, tensors):
            if stop():
                raise ClientLeft(f"studio stopped at step {step + 1} of {plan.num_steps}: the client left")
            if (step + 1) % every == 0 or step + 1 == plan.num_steps:
                estimate = format_frames(pipe.decode_latents(tensors["pred_original_sample"][:1]), "np")[0]
                updates.put(("step", step + 1, plan.timesteps[step + 1].tolist(), estimate))

        def work():
            try:
                frames = loaded.pipe(
                    plan=plan, given=given, seed=seed, autocast_dtype=loaded.autocast_dtype,
                    conditioning=loaded.conditioning, frame_guidance=strength, callback_on_step_end=on_step,
                    callback_on_step_end_tensor_inputs=("pred_original_sample",),
                ).frames
                updates.put(("done", frames))
            except ClientLeft as left:  # nobody may be reading `updates` any more: say it here
                log.info("%s", left)
                updates.put(("error", left))
            except Exception as error:  # handed to the caller's thread, which raises it
                updates.put(("error", error))

        started = time.perf_counter()
        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        try:
            while True:
                kind, *payload = updates.get()
                if kind == "error" and isinstance(payload[0], ClientLeft):
                    return
                if kind == "error":
                    raise payload[0]
                if kind == "done":
                    break
                step, levels, estimate = payload
                labels = [f"f{i} given" if i in plan.given else f"f{i} t={t}" for i, t in enumerate(levels)]
                info = f"step {step} / {plan.num_steps} · {time.perf_counter() - started:.1f} s"
                yield StudioUpdate(render.frame_strip(estimate, labels, plan.given), plan_image(plan, step), info)
        finally:
            if worker.is_alive():  # the page cancelled: stop the sampler after its current step
                loaded.pipe.request_interrupt()
                worker.join()
        video = payload[0][0]
        result = finished_result(
            model, seed, plan, self.sampling_note([model], plan, strength), time.perf_counter() - started,
            [(short_name(model), video)],
        )
        labels = [f"f{i} given" if i in plan.given else f"f{i}" for i in range(plan.num_frames)]
        yield StudioUpdate(render.frame_strip(video, labels, plan.given), plan_image(plan), result.info, result)

    def _studio_given(self, plan: schedules.Plan, gallery, clip, resolution: int) -> dict[int, np.ndarray]:
        images = given_images_by_frame(gallery, resolution)
        missing = [index for index in plan.given if index not in images]
        if missing and clip:
            frames = read_clip(clip, max(missing) + 1, resolution, "a clip for the given frames")
            images.update({index: frames[index] for index in missing})
            missing = []
        if missing:
            raise FVDMInputError(
                f"Frames {missing} are marked given but have no image: attach one to each, or choose a clip to take them from."
            )
        return {index: images[index] for index in plan.given}


def finished_result(
    models: str, seed: int, plan: schedules.Plan, sampling: str, seconds: float, panels: list[tuple[str, np.ndarray]],
    ncols: int | None = None,
) -> TaskResult:
    """Write the captioned side-by-side video (MP4 and GIF) and the line that says how it was made."""
    clip = render.captioned_panels(panels, ncols=ncols)
    given_note = f", given frames {list(plan.given)}" if plan.given else ""
    info = (
        f"**Model** {models} · **seed** {seed} · **plan** {plan.name}: {plan_summary(plan)}"
        f"{given_note} · **sampler** {sampling} · sampled in {seconds:.2f} s"
    )
    return TaskResult(render.write_video(clip), render.write_gif(clip), info, plan, panels)


def short_name(label: str) -> str:
    """'FVDM (bundled)' -> 'FVDM'; a path or Hub id -> its last part."""
    return label.split(" (")[0].rstrip("/").split("/")[-1]
