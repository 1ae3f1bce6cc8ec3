"""Sampling plans: which diffusion timestep every frame has at every sampling iteration.

A frame-aware video diffusion model takes one timestep per frame, so a sampler needs more
than a single timestep sequence: it needs a table. A `Plan` holds that table as an integer
tensor `timesteps` of shape [S + 1, F]: row s is the state before sampling step s, row S is
the end, column f is frame f. Level 0 means clean, level T - 1 (999 by default) pure noise.
Step s moves every frame from row s to row s + 1; a frame whose level does not change in
that step is left alone.

`given` lists the frames whose clean content the user supplies (an image to animate, the
ends of an interpolation, the context of a long video window). They keep one constant
level in every row: usually 0, or a small "stabilization" level that the sampler applies as
a fixed amount of noise. Every other frame is generated: its level may only stay or go
down, and it must reach 0 in the last row.

The builders below (`synchronous`, `image_to_video`, `autoregressive`, ...) produce the
common plans; `from_table` / `to_table` convert to and from the per-frame table that the
app's editor shows; `validate` explains in one sentence what is wrong with a bad plan.
"""

from __future__ import annotations

import json
import operator
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

from fvdm.errors import FVDMInputError

DEFAULT_NUM_TRAIN_TIMESTEPS = 1000
DEFAULT_T_MAX = DEFAULT_NUM_TRAIN_TIMESTEPS - 1
# How the generated frames of a task plan descend (see `_task_plan`).
ORDERS = ("together", "pyramid", "sequential")
# In the sequential order a frame starts when the one before it has taken this share of its steps.
# Measured on the synthetic world (training/README, "Frame order and object permanence"): 0.4 of 25
# steps kept objects whole in image-to-video far more often than 0.2, or than a full wait at 10 steps.
SEQUENTIAL_LAG = 0.4
# The order each task runs in unless told (the app's and `fvdm generate`'s default), from the bundled
# model's evaluation (README, "Results"): sequential keeps objects whole, from one frame, from none
# and window after window of a long video (about 6x the sampling time); the pyramid predicts better;
# interpolation, whose two given ends fix most of the clip, stays together. Keys: `BUILDERS` names,
# and "long" for `FVDMPipeline.generate_long`.
TASK_ORDERS = {
    "synchronous": "sequential", "image_to_video": "sequential", "interpolation": "together",
    "prediction": "pyramid", "long": "sequential",
}

_INTEGER_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)
_TABLE_KEYS = ("given", "start", "first", "last")
_JSON_KEYS = ("name", "num_train_timesteps", "given", "timesteps")
_BOOL_WORDS = {
    "true": True, "yes": True, "1": True, "false": False, "no": False, "0": False, "": False,
}


@dataclass(frozen=True, eq=False)
class Plan:
    """A per-frame timestep table plus the frames the user supplies.

    Constructing a `Plan` only converts its inputs (lists become a long tensor, `given`
    becomes a sorted tuple); it does not check them, so that an invalid plan can be built
    and then explained by `validate`. The builders, `from_dict` and `from_json` validate.
    """

    timesteps: torch.Tensor
    given: tuple[int, ...] = ()
    name: str = "custom"
    num_train_timesteps: int = DEFAULT_NUM_TRAIN_TIMESTEPS

    def __post_init__(self) -> None:
        object.__setattr__(self, "timesteps", _as_timestep_tensor(self.timesteps))
        object.__setattr__(self, "given", _as_index_tuple(self.given))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Plan):
            return NotImplemented
        return (
            self.name == other.name
            and self.num_train_timesteps == other.num_train_timesteps
            and self.given == other.given
            and self.timesteps.shape == other.timesteps.shape
            and torch.equal(self.timesteps, other.timesteps)
        )

    def __repr__(self) -> str:
        return (
            f"Plan(name={self.name!r}, num_frames={self.num_frames}, "
            f"num_steps={self.num_steps}, given={self.given})"
        )

    @property
    def num_frames(self) -> int:
        return self.timesteps.shape[-1]

    @property
    def num_steps(self) -> int:
        return self.timesteps.shape[0] - 1

    @property
    def generated(self) -> tuple[int, ...]:
        """Indices of the frames the sampler has to produce (every frame not given)."""
        return tuple(f for f in range(self.num_frames) if f not in self.given)

    def active(self, step: int) -> torch.Tensor:
        """Bool tensor [F]: the frames whose level changes in `step` (row step -> step + 1)."""
        if not 0 <= step < self.num_steps:
            raise FVDMInputError(
                f"step {step} does not exist; this plan has steps 0..{self.num_steps - 1}."
            )
        return self.timesteps[step + 1] != self.timesteps[step]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "num_train_timesteps": self.num_train_timesteps,
            "given": list(self.given),
            "timesteps": self.timesteps.tolist(),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """JSON text of `to_dict()`; with an indent, each timestep row stays on one line."""
        data = self.to_dict()
        if indent is None:
            return json.dumps(data)
        pad = " " * indent
        rows = data.pop("timesteps")
        fields = [f"{pad}{json.dumps(key)}: {json.dumps(value)}" for key, value in data.items()]
        table = ",\n".join(f"{pad}{pad}{json.dumps(row)}" for row in rows)
        fields.append(f'{pad}"timesteps": [\n{table}\n{pad}]')
        return "{\n" + ",\n".join(fields) + "\n}"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        """Parse the `to_dict()` form and validate it."""
        if not isinstance(data, Mapping):
            raise FVDMInputError(
                f"A plan must be a JSON object with the keys {', '.join(_JSON_KEYS)}; "
                f"got {type(data).__name__}."
            )
        _check_json_keys(data)
        name = data.get("name", "custom")
        if not isinstance(name, str):
            raise FVDMInputError(f"The plan's 'name' must be a string, got {name!r}.")
        num_train_timesteps = data.get("num_train_timesteps", DEFAULT_NUM_TRAIN_TIMESTEPS)
        _check_int(num_train_timesteps, "The plan's 'num_train_timesteps'", minimum=2)
        if not isinstance(data["given"], list):
            raise FVDMInputError("The plan's 'given' must be a list of frame indices.")
        if not isinstance(data["timesteps"], list):
            raise FVDMInputError("The plan's 'timesteps' must be a list of rows of integers.")
        plan = cls(data["timesteps"], data["given"], name, num_train_timesteps)
        return validate(plan)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        """Parse JSON text (as written by `to_json`) and validate the plan."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise FVDMInputError(
                f"The plan is not valid JSON: {error.msg} at line {error.lineno}, "
                f"column {error.colno}."
            ) from None
        except TypeError:
            raise FVDMInputError(
                f"A plan's JSON must be text, got {type(text).__name__}."
            ) from None
        return cls.from_dict(data)


def _as_timestep_tensor(value: Any) -> torch.Tensor:
    """Convert lists or arrays to a tensor; integer tensors become long, others stay as they are."""
    try:
        tensor = torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError):
        raise FVDMInputError(
            "timesteps must be a rectangular table of integers: one row per sampling "
            "iteration, one column per frame."
        ) from None
    return tensor.long() if tensor.dtype in _INTEGER_DTYPES else tensor


def _as_index_tuple(values: Any) -> tuple[int, ...]:
    try:
        return tuple(sorted(operator.index(v) for v in values))
    except TypeError:
        raise FVDMInputError(
            f"given must be a list of whole-number frame indices, got {values!r}."
        ) from None


def _check_json_keys(data: Mapping[str, Any]) -> None:
    unknown = [key for key in data if key not in _JSON_KEYS]
    if unknown:
        raise FVDMInputError(
            f"Unknown key {unknown[0]!r} in the plan; the keys are {', '.join(_JSON_KEYS)}."
        )
    for key in ("given", "timesteps"):
        if key not in data:
            raise FVDMInputError(f"The plan has no {key!r} key; it needs 'given' and 'timesteps'.")


# ----------------------------------------------------------------------------------------
# Validation


def validate(plan: Plan) -> Plan:
    """Return `plan` unchanged, or raise FVDMInputError naming the first problem found."""
    _check_int(plan.num_train_timesteps, "num_train_timesteps", minimum=2)
    _check_table_shape(plan.timesteps)
    _check_given_indices(plan.given, plan.num_frames)
    _check_levels_in_range(plan)
    _check_given_constant(plan)
    _check_generated_descend(plan)
    return plan


def _check_table_shape(timesteps: torch.Tensor) -> None:
    if timesteps.dim() != 2:
        raise FVDMInputError(
            "timesteps must be a 2-D table [steps + 1, frames], "
            f"got shape {tuple(timesteps.shape)}."
        )
    if timesteps.shape[0] < 2:
        raise FVDMInputError(
            f"timesteps needs at least 2 rows (the start and the end), got {timesteps.shape[0]}."
        )
    if timesteps.shape[1] == 0:
        raise FVDMInputError("The plan has no frames: timesteps needs at least one column.")
    if timesteps.dtype not in _INTEGER_DTYPES:
        raise FVDMInputError(f"timesteps must be integers, got dtype {timesteps.dtype}.")


def _check_given_indices(given: tuple[int, ...], num_frames: int) -> None:
    for index in given:
        if not 0 <= index < num_frames:
            raise FVDMInputError(
                f"Given frame {index} does not exist; the plan has frames 0..{num_frames - 1}."
            )
    for earlier, later in zip(given, given[1:]):
        if earlier == later:
            raise FVDMInputError(f"Frame {earlier} is listed as given more than once.")
    if len(given) == num_frames:
        raise FVDMInputError(
            f"Every frame ({num_frames} of {num_frames}) is given, so there is nothing to "
            "generate; leave at least one frame out of 'given'."
        )


def _first_true(mask: torch.Tensor) -> tuple[int, int] | None:
    """(row, frame) of the first True entry of a 2-D mask in row order, or None."""
    hits = mask.nonzero()
    if len(hits) == 0:
        return None
    row, frame = hits[0].tolist()
    return row, frame


def _check_levels_in_range(plan: Plan) -> None:
    top = plan.num_train_timesteps - 1
    hit = _first_true((plan.timesteps < 0) | (plan.timesteps > top))
    if hit is not None:
        step, frame = hit
        value = plan.timesteps[step, frame].item()
        raise FVDMInputError(f"frame {frame} at step {step}: timestep {value} is outside 0..{top}.")


def _check_given_constant(plan: Plan) -> None:
    columns = plan.timesteps[:, list(plan.given)]
    hit = _first_true(columns[1:] != columns[:-1])
    if hit is not None:
        step, column = hit
        frame = plan.given[column]
        before, after = columns[step, column].item(), columns[step + 1, column].item()
        raise FVDMInputError(
            f"given frame {frame} at step {step}: timestep changes from {before} to {after}; "
            "a given frame must keep one level in every row."
        )


def _check_generated_descend(plan: Plan) -> None:
    frames = list(plan.generated)
    columns = plan.timesteps[:, frames]
    hit = _first_true(columns[1:] > columns[:-1])
    if hit is not None:
        step, column = hit
        before, after = columns[step, column].item(), columns[step + 1, column].item()
        raise FVDMInputError(
            f"frame {frames[column]} at step {step}: noise rises from {before} to {after}; "
            "a frame's timestep may only stay or go down."
        )
    last_row = plan.num_steps
    for column, frame in enumerate(frames):
        value = columns[last_row, column].item()
        if value != 0:
            raise FVDMInputError(
                f"frame {frame} at step {last_row} (the last row): timestep is {value}, but a "
                "generated frame must end at 0 (clean); add steps or make it descend faster."
            )


# ----------------------------------------------------------------------------------------
# Argument checks shared by the builders


def _check_int(value: Any, what: str, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FVDMInputError(f"{what} must be a whole number, got {value!r}.")
    if value < minimum or (maximum is not None and value > maximum):
        allowed = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise FVDMInputError(f"{what} must be {allowed}, got {value}.")
    return value


def _check_counts(num_frames: Any, num_steps: Any, min_frames: int = 1) -> None:
    _check_int(num_frames, "num_frames", minimum=min_frames)
    _check_int(num_steps, "num_steps", minimum=1)


def _check_levels(num_train_timesteps: Any, t_max: Any, given_level: Any = 0) -> None:
    top = _check_int(num_train_timesteps, "num_train_timesteps", minimum=2) - 1
    _check_int(t_max, "t_max (the start noise level)", minimum=1, maximum=top)
    _check_int(given_level, "given_level (the noise level of given frames)", minimum=0, maximum=top)


def _check_given(given: Any, num_frames: int, allow_empty: bool) -> tuple[int, ...]:
    """Sorted, checked tuple of given frame indices."""
    indices = _as_index_tuple(given)
    if not indices and not allow_empty:
        raise FVDMInputError(
            "At least one given frame is needed for this task; to generate without given "
            "frames, use synchronous, autoregressive or trapezoid."
        )
    _check_given_indices(indices, num_frames)
    return indices


# ----------------------------------------------------------------------------------------
# The descent rule and the per-frame description every builder goes through


class _Frame(NamedTuple):
    """One frame of a plan, as in the editor table.

    A given frame holds `start` in every row. A generated frame holds `start` until row
    `first`, descends to 0 at row `last`, and stays at 0 after it.
    """

    given: bool
    start: int
    first: int = 0
    last: int = 0


def _descent(start: int, length: int) -> list[int]:
    """Levels of a frame descending from `start` to 0 in `length` steps (length + 1 values).

    The values are `start * (length - i) / length` rounded half up, computed with integers so
    they are exactly non-increasing. The in-between values are kept within 1..start-1, so a
    frame really changes in its first active step and reaches 0 only in its last one, even
    when `start` is small compared to `length`; that is what lets `to_table` recover
    `first` and `last` from the column.
    """
    levels = [start]
    for i in range(1, length):
        rounded = (2 * start * (length - i) + length) // (2 * length)
        levels.append(start if start <= 1 else min(start - 1, max(1, rounded)))
    levels.append(0)
    return levels


def _column(frame: _Frame, num_steps: int) -> list[int]:
    if frame.given:
        return [frame.start] * (num_steps + 1)
    descent = _descent(frame.start, frame.last - frame.first)
    return [frame.start] * frame.first + descent + [0] * (num_steps - frame.last)


def _plan_from_frames(
    frames: Sequence[_Frame], num_steps: int, name: str, num_train_timesteps: int
) -> Plan:
    columns = [_column(frame, num_steps) for frame in frames]
    given = tuple(f for f, frame in enumerate(frames) if frame.given)
    timesteps = torch.tensor(columns, dtype=torch.long).T.contiguous()
    return validate(Plan(timesteps, given, name, num_train_timesteps))


def _check_order(order: Any) -> str:
    if order not in ORDERS:
        raise FVDMInputError(f"The frame order must be one of {', '.join(ORDERS)}; got {order!r}.")
    return order


def _sequential_lag(num_steps: int) -> int:
    """Steps between the starts of two frames in the sequential order."""
    return max(1, round(SEQUENTIAL_LAG * num_steps))


def order_steps(num_generated: int, num_steps: int, order: str) -> int:
    """The steps a task's plan runs when `num_generated` frames descend in `order` with `num_steps`
    each (what the builders make, without building the plan): `num_steps`, more when sequential."""
    if _check_order(order) != "sequential":
        return num_steps
    return num_steps + _sequential_lag(num_steps) * max(0, num_generated - 1)


def _task_plan(
    num_frames: int,
    num_steps: int,
    given: tuple[int, ...],
    name: str,
    t_max: int,
    given_level: int,
    num_train_timesteps: int,
    order: str = "together",
) -> Plan:
    """The plan of a task: given frames hold `given_level`; the generated frames descend in `order`.

    "together": every generated frame descends over every step. "pyramid": the generated frames
    start one step apart, first to last, and all descend over the steps left (with too few steps
    for that, the starts bunch up so that each frame still descends over a third of the steps).
    Both cost `num_steps` steps; in a pyramid each frame is sampled while the frames before it are
    already cleaner, so it follows them. "sequential": every generated frame descends over all
    `num_steps` steps and starts when the one before it is `SEQUENTIAL_LAG` of the way down, so each
    frame is shaped by nearly clean predecessors; the plan costs num_steps + lag x (frames - 1)
    steps (165 for 15 frames at 25 steps).
    """
    generated = [f for f in range(num_frames) if f not in given]
    if _check_order(order) == "sequential":
        lag = _sequential_lag(num_steps)
        spans = {frame: (rank * lag, rank * lag + num_steps) for rank, frame in enumerate(generated)}
        num_steps = order_steps(len(generated), num_steps, order)
        name = f"{name}, sequential"
    elif order == "pyramid":
        gaps = max(1, len(generated) - 1)
        least_descent = -(-num_steps // 3)  # a third of the steps, rounded up
        stagger = min(len(generated) - 1, num_steps - least_descent)  # steps from the first start to the last
        descent = num_steps - stagger
        starts = [(2 * rank * stagger + gaps) // (2 * gaps) for rank in range(len(generated))]
        spans = {frame: (start, start + descent) for frame, start in zip(generated, starts)}
        name = f"{name}, pyramid"
    else:
        spans = {frame: (0, num_steps) for frame in generated}
    frames = [
        _Frame(False, t_max, *spans[f]) if f in spans else _Frame(True, given_level)
        for f in range(num_frames)
    ]
    return _plan_from_frames(frames, num_steps, name, num_train_timesteps)


# ----------------------------------------------------------------------------------------
# Builders


def synchronous(
    num_frames: int,
    num_steps: int,
    *,
    t_max: int = DEFAULT_T_MAX,
    num_train_timesteps: int = DEFAULT_NUM_TRAIN_TIMESTEPS,
    order: str = "together",
) -> Plan:
    """Unconditional generation: every frame goes from `t_max` to 0, together or, with
    `order="pyramid"`, one step after the other (see `ORDERS`)."""
    _check_counts(num_frames, num_steps)
    _check_levels(num_train_timesteps, t_max)
    return _task_plan(num_frames, num_steps, (), "synchronous", t_max, 0, num_train_timesteps, order)


def image_to_video(
    num_frames: int,
    num_steps: int,
    *,
    given: Sequence[int] = (0,),
    t_max: int = DEFAULT_T_MAX,
    given_level: int = 0,
    num_train_timesteps: int = DEFAULT_NUM_TRAIN_TIMESTEPS,
    order: str = "together",
) -> Plan:
    """The `given` frames (frame 0 by default) are supplied; the rest descend in `order`."""
    return _keyframe_plan(
        "image_to_video", num_frames, num_steps, given, t_max, given_level, num_train_timesteps, order
    )


def interpolation(
    num_frames: int,
    num_steps: int,
    *,
    context: int = 1,
    t_max: int = DEFAULT_T_MAX,
    given_level: int = 0,
    num_train_timesteps: int = DEFAULT_NUM_TRAIN_TIMESTEPS,
    order: str = "together",
) -> Plan:
    """The first and last `context` frames are supplied; the frames between are generated,
    in `order`."""
    _check_int(context, "context", minimum=1)
    _check_counts(num_frames, num_steps)
    if num_frames <= 2 * context:
        raise FVDMInputError(
            f"Interpolation with {context} context frame(s) at each end needs more than "
            f"{2 * context} frames, got {num_frames}."
        )
    _check_levels(num_train_timesteps, t_max, given_level)
    given = tuple(range(context)) + tuple(range(num_frames - context, num_frames))
    return _task_plan(
        num_frames, num_steps, given, "interpolation", t_max, given_level, num_train_timesteps, order
    )


def prediction(
    num_frames: int,
    num_steps: int,
    *,
    context: int = 1,
    given_level: int = 0,
    t_max: int = DEFAULT_T_MAX,
    num_train_timesteps: int = DEFAULT_NUM_TRAIN_TIMESTEPS,
    order: str = "together",
) -> Plan:
    """The first `context` frames are supplied (e.g. the end of the previous window of a
    long video, held at the stabilization level `given_level`); the rest are generated, in
    `order`."""
    _check_int(context, "context", minimum=1)
    _check_counts(num_frames, num_steps)
    if num_frames <= context:
        raise FVDMInputError(
            f"Prediction with {context} context frame(s) needs more than {context} frames, "
            f"got {num_frames}."
        )
    _check_levels(num_train_timesteps, t_max, given_level)
    return _task_plan(
        num_frames, num_steps, tuple(range(context)), "prediction", t_max, given_level,
        num_train_timesteps, order,
    )


def keyframes(
    num_frames: int,
    num_steps: int,
    indices: Sequence[int],
    *,
    t_max: int = DEFAULT_T_MAX,
    given_level: int = 0,
    num_train_timesteps: int = DEFAULT_NUM_TRAIN_TIMESTEPS,
    order: str = "together",
) -> Plan:
    """The frames at `indices` are supplied; everything between them is generated, in `order`."""
    return _keyframe_plan(
        "keyframes", num_frames, num_steps, indices, t_max, given_level, num_train_timesteps, order
    )


def _keyframe_plan(
    name: str, num_frames: int, num_steps: int, indices: Sequence[int], t_max: int, given_level: int,
    num_train_timesteps: int, order: str,
) -> Plan:
    _check_counts(num_frames, num_steps, min_frames=2)
    _check_levels(num_train_timesteps, t_max, given_level)
    given = _check_given(indices, num_frames, allow_empty=False)
    return _task_plan(num_frames, num_steps, given, name, t_max, given_level, num_train_timesteps, order)


def autoregressive(
    num_frames: int,
    num_steps: int,
    *,
    lag: int | None = None,
    block_size: int = 1,
    given: Sequence[int] = (),
    t_max: int = DEFAULT_T_MAX,
    given_level: int = 0,
    num_train_timesteps: int = DEFAULT_NUM_TRAIN_TIMESTEPS,
) -> Plan:
    """Pyramid / diffusion-forcing schedule: earlier frames are cleaner than later ones.

    The generated frames, in frame order and skipping given ones, form consecutive blocks of
    `block_size` (the last block may be smaller). Block b starts descending `lag * b` steps
    after block 0 and every frame descends over exactly `num_steps` steps, so the plan has
    `num_steps + lag * (num_blocks - 1)` steps. `lag=0` is synchronous; `lag=None` picks
    `num_steps // num_blocks` (at least 1), so the last block starts about when the first
    one is clean.
    """
    _check_counts(num_frames, num_steps)
    _check_int(block_size, "block_size", minimum=1)
    _check_levels(num_train_timesteps, t_max, given_level)
    indices = _check_given(given, num_frames, allow_empty=True)
    generated = [f for f in range(num_frames) if f not in indices]
    waves = {frame: rank // block_size for rank, frame in enumerate(generated)}
    return _staggered(
        num_frames, num_steps, indices, waves, lag, "autoregressive", t_max, given_level,
        num_train_timesteps,
    )


pyramid = autoregressive


def trapezoid(
    num_frames: int,
    num_steps: int,
    *,
    lag: int | None = None,
    given: Sequence[int] = (),
    t_max: int = DEFAULT_T_MAX,
    given_level: int = 0,
    num_train_timesteps: int = DEFAULT_NUM_TRAIN_TIMESTEPS,
) -> Plan:
    """Both ends of the clip first, the middle last.

    A generated frame's delay is `lag` times its distance from the nearest end, counting
    generated frames only (so with given end frames, their neighbours start first). Every
    frame descends over exactly `num_steps` steps; `lag=None` spreads the start times over
    about `num_steps` steps.
    """
    _check_counts(num_frames, num_steps)
    _check_levels(num_train_timesteps, t_max, given_level)
    indices = _check_given(given, num_frames, allow_empty=True)
    generated = [f for f in range(num_frames) if f not in indices]
    last_rank = len(generated) - 1
    waves = {frame: min(rank, last_rank - rank) for rank, frame in enumerate(generated)}
    return _staggered(
        num_frames, num_steps, indices, waves, lag, "trapezoid", t_max, given_level,
        num_train_timesteps,
    )


def _staggered(
    num_frames: int,
    num_steps: int,
    given: tuple[int, ...],
    waves: Mapping[int, int],
    lag: int | None,
    name: str,
    t_max: int,
    given_level: int,
    num_train_timesteps: int,
) -> Plan:
    """Generated frame f starts descending `lag * waves[f]` steps in, for `num_steps` steps."""
    num_waves = max(waves.values()) + 1
    if lag is None:
        lag = max(1, num_steps // num_waves)
    _check_int(lag, "lag", minimum=0)
    total_steps = num_steps + lag * (num_waves - 1)
    frames = []
    for f in range(num_frames):
        if f in given:
            frames.append(_Frame(True, given_level))
        else:
            first = lag * waves[f]
            frames.append(_Frame(False, t_max, first, first + num_steps))
    return _plan_from_frames(frames, total_steps, name, num_train_timesteps)


def random_plan(
    num_frames: int,
    num_steps: int,
    seed: int = 0,
    *,
    t_max: int = DEFAULT_T_MAX,
    num_train_timesteps: int = DEFAULT_NUM_TRAIN_TIMESTEPS,
) -> Plan:
    """A random valid plan, the same for the same seed: for testing samplers and the app.

    Some frames (maybe none, never all) are given, half of them at level 0 and the others at
    a random constant level; every other frame gets a random start level in 1..t_max and a
    random active span inside the `num_steps` steps.
    """
    _check_counts(num_frames, num_steps)
    _check_int(seed, "seed", minimum=0)
    _check_levels(num_train_timesteps, t_max)
    rng = random.Random(seed)
    given = set(rng.sample(range(num_frames), rng.randrange(num_frames)))
    frames = []
    for f in range(num_frames):
        if f in given:
            frames.append(_Frame(True, rng.choice((0, rng.randint(1, t_max)))))
        else:
            first = rng.randrange(num_steps)
            last = rng.randint(first + 1, num_steps)
            frames.append(_Frame(False, rng.randint(1, t_max), first, last))
    return _plan_from_frames(frames, num_steps, "random", num_train_timesteps)


def reorder(plan: Plan, order: str) -> Plan:
    """The same task in another frame order (see `ORDERS`): `plan`'s frames, given frames and levels,
    with its generated frames re-timed over the same number of steps per frame (`task_steps`). For
    the plans of the task builders, whose generated frames all start at one level and whose given
    frames hold one level."""
    validate(plan)
    starts = {int(plan.timesteps[0, f]) for f in plan.generated}
    given_levels = {int(plan.timesteps[0, f]) for f in plan.given}
    if len(starts) > 1 or len(given_levels) > 1:
        raise FVDMInputError(
            "Only a task's plan can be reordered: its generated frames must start at one level and its "
            "given frames hold one level."
        )
    return _task_plan(
        plan.num_frames, task_steps(plan), plan.given,
        plan.name.removesuffix(", pyramid").removesuffix(", sequential"),
        starts.pop() if starts else DEFAULT_T_MAX, given_levels.pop() if given_levels else 0,
        plan.num_train_timesteps, order,
    )


def task_steps(plan: Plan) -> int:
    """The `num_steps` a task builder was given for `plan`: its number of steps, except in the
    sequential order, where that is what each generated frame descends over."""
    if not plan.name.endswith(", sequential") or not plan.generated:
        return plan.num_steps
    span = _active_span(plan.timesteps[:, plan.generated[0]].tolist())
    return span["last"] - span["first"]


BUILDERS: dict[str, Callable[..., Plan]] = {
    "synchronous": synchronous,
    "image_to_video": image_to_video,
    "interpolation": interpolation,
    "prediction": prediction,
    "keyframes": keyframes,
    "autoregressive": autoregressive,
    "trapezoid": trapezoid,
    "random": random_plan,
}


# ----------------------------------------------------------------------------------------
# The editor table


def from_table(
    rows: Sequence[Mapping[str, Any] | Sequence[Any]],
    num_steps: int,
    num_train_timesteps: int = DEFAULT_NUM_TRAIN_TIMESTEPS,
    name: str = "custom",
) -> Plan:
    """Build a plan from the editor's table: one row per frame.

    Each row is a mapping with the keys `given`, `start`, `first`, `last`, or a sequence of
    those four values in that order. `start` is the level at row 0 (a given frame's constant
    level); a generated frame holds it until step `first`, then descends to reach 0 at step
    `last` (1..num_steps). `first` and `last` of a given frame are ignored.
    """
    _check_int(num_steps, "num_steps", minimum=1)
    _check_int(num_train_timesteps, "num_train_timesteps", minimum=2)
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence) or not rows:
        raise FVDMInputError("The table needs at least one row (one row per frame).")
    frames = [
        _frame_from_row(index, row, num_steps, num_train_timesteps)
        for index, row in enumerate(rows)
    ]
    return _plan_from_frames(frames, num_steps, name, num_train_timesteps)


def _frame_from_row(index: int, row: Any, num_steps: int, num_train_timesteps: int) -> _Frame:
    values = _row_values(index, row)
    given = _table_bool(index, values["given"])
    start = _table_int(index, "start level", values["start"])
    top = num_train_timesteps - 1
    if not 0 <= start <= top:
        raise FVDMInputError(f"frame {index}: start level {start} is outside 0..{top}.")
    if given:
        return _Frame(True, start)
    first = _table_int(index, "first active step", values["first"])
    last = _table_int(index, "last active step", values["last"])
    if not 0 <= first < num_steps:
        raise FVDMInputError(
            f"frame {index}: first active step {first} must be between 0 and {num_steps - 1} "
            f"for {num_steps} sampling steps."
        )
    if last > num_steps:
        raise FVDMInputError(
            f"frame {index}: last active step {last} is beyond the {num_steps} sampling steps."
        )
    if last <= first:
        raise FVDMInputError(
            f"frame {index}: last active step {last} must come after the first active step {first}."
        )
    return _Frame(False, start, first, last)


def _row_values(index: int, row: Any) -> Mapping[str, Any]:
    if isinstance(row, Mapping):
        missing = [key for key in _TABLE_KEYS if key not in row]
        if missing:
            raise FVDMInputError(f"frame {index}: the row has no {missing[0]!r} value.")
        return row
    if isinstance(row, Sequence) and not isinstance(row, (str, bytes)) and len(row) == 4:
        return dict(zip(_TABLE_KEYS, row))
    raise FVDMInputError(
        f"frame {index}: a row must have the four values {', '.join(_TABLE_KEYS)}, got {row!r}."
    )


def _table_int(index: int, what: str, value: Any) -> int:
    """Whole numbers from an editor cell: ints, integral floats (12.0) and digit strings."""
    if isinstance(value, str):
        value = value.strip()
        if value.lstrip("-").isdecimal():
            return int(value)
    elif not isinstance(value, bool):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if number.is_integer():
            return int(number)
    raise FVDMInputError(f"frame {index}: {what} must be a whole number, got {value!r}.")


def _table_bool(index: int, value: Any) -> bool:
    if isinstance(value, str) and value.strip().lower() in _BOOL_WORDS:
        return _BOOL_WORDS[value.strip().lower()]
    if value in (0, 1):  # bool, 0/1 and 0.0/1.0 all compare equal to 0 or 1
        return bool(value)
    raise FVDMInputError(f"frame {index}: 'given' must be true or false, got {value!r}.")


def to_table(plan: Plan) -> list[dict[str, Any]]:
    """The editor rows for a plan (inverse of `from_table` for plans built with the descent rule).

    A generated frame's `first` is the last row still at its start level and `last` the
    first row at 0. Frames that never move (start level 0) get the whole range 0..S.
    """
    validate(plan)
    rows = []
    for frame in range(plan.num_frames):
        column = plan.timesteps[:, frame].tolist()
        if frame in plan.given:
            rows.append({"given": True, "start": column[0], "first": 0, "last": plan.num_steps})
        else:
            rows.append({"given": False, **_active_span(column)})
    return rows


def _active_span(column: list[int]) -> dict[str, int]:
    start = column[0]
    if start == 0:
        return {"start": 0, "first": 0, "last": len(column) - 1}
    # The column never rises, so the rows at the start level are a prefix of it.
    return {"start": start, "first": column.count(start) - 1, "last": column.index(0)}
