"""Tests for fvdm.schedules: the plan type, the builders, validation, JSON and the editor table.

The structural checks in `assert_well_formed` are written in plain Python on purpose, so a
bug in `validate` cannot hide a bug in a builder.
"""

import json
import re
from fractions import Fraction

import pytest
import torch

import fvdm.schedules as schedules
from fvdm.errors import FVDMInputError
from fvdm.schedules import Plan

FRAME_COUNTS = range(2, 33)
STEP_COUNTS = (1, 2, 3, 7, 25, 64, 100)


def assert_well_formed(plan: Plan, given: tuple[int, ...], num_steps: int | None = None) -> None:
    columns = plan.timesteps.T.tolist()
    assert plan.timesteps.dtype == torch.long
    assert plan.given == given
    assert plan.generated == tuple(f for f in range(plan.num_frames) if f not in given)
    if num_steps is not None:
        assert plan.num_steps == num_steps
    for frame, column in enumerate(columns):
        assert len(column) == plan.num_steps + 1
        assert all(0 <= value <= plan.num_train_timesteps - 1 for value in column)
        if frame in given:
            assert len(set(column)) == 1, f"given frame {frame} changes level"
        else:
            assert all(a >= b for a, b in zip(column, column[1:])), f"frame {frame} rises"
            assert column[-1] == 0, f"frame {frame} does not end clean"


def active_steps(plan: Plan, frame: int) -> list[int]:
    column = plan.timesteps[:, frame].tolist()
    return [s for s in range(plan.num_steps) if column[s + 1] != column[s]]


def half_up(value: Fraction) -> int:
    return int(value + Fraction(1, 2)) if value >= 0 else -int(-value + Fraction(1, 2))


def every_builder_plan(num_frames: int, num_steps: int) -> list[Plan]:
    """One plan from each builder, with settings that fit `num_frames` frames."""
    plans = [
        schedules.synchronous(num_frames=num_frames, num_steps=num_steps),
        schedules.image_to_video(num_frames=num_frames, num_steps=num_steps),
        schedules.prediction(num_frames=num_frames, num_steps=num_steps, given_level=20),
        schedules.keyframes(num_frames=num_frames, num_steps=num_steps, indices=[num_frames - 1]),
        schedules.autoregressive(num_frames=num_frames, num_steps=num_steps, block_size=3),
        schedules.trapezoid(num_frames=num_frames, num_steps=num_steps, lag=2, given=(0,)),
        schedules.random_plan(num_frames=num_frames, num_steps=num_steps, seed=num_frames),
    ]
    if num_frames > 2:
        plans.append(schedules.interpolation(num_frames=num_frames, num_steps=num_steps))
    return plans


# ----------------------------------------------------------------------------------------
# Builders over a grid of sizes


@pytest.mark.parametrize("num_steps", STEP_COUNTS)
def test_conditioning_builders_give_valid_plans_with_the_right_given_frames(num_steps):
    for f in FRAME_COUNTS:
        kwargs = {"num_frames": f, "num_steps": num_steps}
        assert_well_formed(schedules.synchronous(**kwargs), (), num_steps)
        assert_well_formed(schedules.image_to_video(**kwargs), (0,), num_steps)
        assert_well_formed(schedules.prediction(**kwargs), (0,), num_steps)
        assert_well_formed(schedules.keyframes(**kwargs, indices=[f // 2]), (f // 2,), num_steps)
        if f > 2:
            image_to_video = schedules.image_to_video(**kwargs, given=(f - 1, 0))
            assert_well_formed(image_to_video, (0, f - 1), num_steps)
            assert_well_formed(schedules.interpolation(**kwargs), (0, f - 1), num_steps)
        if f > 4:
            assert_well_formed(
                schedules.interpolation(**kwargs, context=2), (0, 1, f - 2, f - 1), num_steps
            )
            assert_well_formed(schedules.prediction(**kwargs, context=3), (0, 1, 2), num_steps)


@pytest.mark.parametrize("num_steps", STEP_COUNTS)
def test_staggered_and_random_builders_give_valid_plans(num_steps):
    for f in FRAME_COUNTS:
        kwargs = {"num_frames": f, "num_steps": num_steps}
        assert_well_formed(schedules.autoregressive(**kwargs), ())
        blocks = schedules.autoregressive(**kwargs, lag=2, block_size=3, given=(0,))
        assert_well_formed(blocks, (0,))
        assert_well_formed(schedules.trapezoid(**kwargs), ())
        if f > 2:
            assert_well_formed(schedules.trapezoid(**kwargs, lag=1, given=(0, f - 1)), (0, f - 1))
        plan = schedules.random_plan(**kwargs, seed=f * 1000 + num_steps)
        assert_well_formed(plan, plan.given, num_steps)
        assert len(plan.given) < f


def test_synchronous_moves_every_frame_together_from_t_max():
    plan = schedules.synchronous(num_frames=6, num_steps=10, t_max=500)
    assert plan.timesteps[0].tolist() == [500] * 6
    assert all(len(set(row)) == 1 for row in plan.timesteps.tolist())
    assert all(plan.active(s).all() for s in range(10))


def test_descent_is_the_rounded_even_line_from_the_start_level_to_zero():
    num_steps = 7
    plan = schedules.synchronous(num_frames=1, num_steps=num_steps)
    expected = [half_up(Fraction(999 * (num_steps - i), num_steps)) for i in range(num_steps + 1)]
    assert plan.timesteps[:, 0].tolist() == expected


def test_given_frames_hold_the_given_level_and_the_rest_match_synchronous():
    plan = schedules.image_to_video(num_frames=5, num_steps=9, given=(1, 3), given_level=20)
    reference = schedules.synchronous(num_frames=5, num_steps=9)
    for frame in range(5):
        column = plan.timesteps[:, frame]
        if frame in (1, 3):
            assert column.tolist() == [20] * 10
        else:
            assert torch.equal(column, reference.timesteps[:, frame])


def test_builder_names_and_registry():
    assert set(schedules.BUILDERS) == {
        "synchronous", "image_to_video", "interpolation", "prediction", "keyframes",
        "autoregressive", "trapezoid", "random",
    }
    for name, builder in schedules.BUILDERS.items():
        kwargs = {"indices": [0]} if name == "keyframes" else {}
        plan = builder(num_frames=4, num_steps=5, **kwargs)
        assert plan.name == name
    assert schedules.pyramid is schedules.autoregressive


# ----------------------------------------------------------------------------------------
# Autoregressive and trapezoid timing


@pytest.mark.parametrize(
    "num_frames, block_size, given",
    [(10, 3, ()), (7, 2, ()), (8, 3, (0,)), (9, 4, (2, 5)), (5, 8, ()), (13, 5, (0, 12))],
)
@pytest.mark.parametrize("lag", [0, 1, 3])
def test_autoregressive_blocks_keep_every_frame_and_descend_num_steps_each(
    num_frames, block_size, given, lag
):
    num_steps = 12
    plan = schedules.autoregressive(
        num_frames=num_frames, num_steps=num_steps, lag=lag, block_size=block_size, given=given
    )
    generated = [f for f in range(num_frames) if f not in given]
    num_blocks = -(-len(generated) // block_size)
    assert_well_formed(plan, tuple(given), num_steps + lag * (num_blocks - 1))
    assert plan.num_frames == num_frames
    for rank, frame in enumerate(generated):
        start = lag * (rank // block_size)
        assert active_steps(plan, frame) == list(range(start, start + num_steps))
        assert plan.timesteps[0, frame] == 999


def test_autoregressive_with_lag_zero_is_synchronous():
    plan = schedules.autoregressive(num_frames=6, num_steps=8, lag=0, block_size=4)
    assert torch.equal(plan.timesteps, schedules.synchronous(num_frames=6, num_steps=8).timesteps)


def test_autoregressive_default_lag_spreads_blocks_over_the_steps():
    plan = schedules.autoregressive(num_frames=4, num_steps=20)
    assert [active_steps(plan, f)[0] for f in range(4)] == [0, 5, 10, 15]


def test_trapezoid_starts_at_both_ends_and_finishes_in_the_middle():
    lag, num_steps = 2, 6
    plan = schedules.trapezoid(num_frames=7, num_steps=num_steps, lag=lag)
    assert plan.num_steps == num_steps + lag * 3
    for frame in range(7):
        delay = lag * min(frame, 6 - frame)
        assert active_steps(plan, frame) == list(range(delay, delay + num_steps))


def test_trapezoid_counts_distance_among_generated_frames():
    plan = schedules.trapezoid(num_frames=6, num_steps=4, lag=1, given=(0, 5))
    assert [active_steps(plan, f)[0] for f in (1, 2, 3, 4)] == [0, 1, 1, 0]


# ----------------------------------------------------------------------------------------
# The pyramid order of the task builders


TASK_BUILDS = [
    ("synchronous", {}, ()),
    ("image_to_video", {}, (0,)),
    ("image_to_video", {"given": (3,)}, (3,)),
    ("interpolation", {"context": 2}, (0, 1, 8, 9)),
    ("prediction", {"context": 4, "given_level": 20}, (0, 1, 2, 3)),
    ("keyframes", {"indices": (0, 5, 9)}, (0, 5, 9)),
]


@pytest.mark.parametrize("builder, options, given", TASK_BUILDS)
@pytest.mark.parametrize("num_steps", [1, 2, 5, 13, 25])
def test_pyramid_order_starts_the_generated_frames_in_turn_within_the_same_steps(builder, options, given, num_steps):
    together = schedules.BUILDERS[builder](num_frames=10, num_steps=num_steps, **options)
    plan = schedules.BUILDERS[builder](num_frames=10, num_steps=num_steps, order="pyramid", **options)
    assert_well_formed(plan, given, num_steps)
    assert plan.name == f"{together.name}, pyramid"
    generated = [f for f in range(10) if f not in given]
    spans = [active_steps(plan, frame) for frame in generated]
    starts = [span[0] for span in spans]
    descent = len(spans[0])
    assert all(span == list(range(start, start + descent)) for span, start in zip(spans, starts))
    assert starts[0] == 0 and all(0 <= b - a <= 1 for a, b in zip(starts, starts[1:]))  # in turn, at most a step apart
    assert descent >= num_steps / 3
    if num_steps - (len(generated) - 1) >= num_steps / 3:  # room for one step between starts
        assert starts == list(range(len(generated))) and descent == num_steps - len(generated) + 1
    else:  # the starts bunch up
        assert len(set(starts)) < len(generated)
    for frame in given:
        assert torch.equal(plan.timesteps[:, frame], together.timesteps[:, frame])
    assert all(plan.timesteps[0, frame] == together.timesteps[0, frame] for frame in generated)


@pytest.mark.parametrize("builder, options, given", TASK_BUILDS)
@pytest.mark.parametrize("num_steps", [1, 2, 5, 25])
def test_sequential_order_gives_every_frame_all_the_steps_starting_as_the_one_before_is_part_done(
    builder, options, given, num_steps
):
    together = schedules.BUILDERS[builder](num_frames=10, num_steps=num_steps, **options)
    plan = schedules.BUILDERS[builder](num_frames=10, num_steps=num_steps, order="sequential", **options)
    generated = [f for f in range(10) if f not in given]
    lag = max(1, round(schedules.SEQUENTIAL_LAG * num_steps))
    assert plan.name == f"{together.name}, sequential" and plan.given == together.given
    assert plan.num_steps == num_steps + lag * (len(generated) - 1)
    assert schedules.task_steps(plan) == num_steps and schedules.task_steps(together) == num_steps
    for rank, frame in enumerate(generated):
        assert active_steps(plan, frame) == list(range(rank * lag, rank * lag + num_steps))
        assert plan.timesteps[0, frame] == together.timesteps[0, frame] and plan.timesteps[-1, frame] == 0
    for frame in given:
        assert set(plan.timesteps[:, frame].tolist()) == {int(together.timesteps[0, frame])}


@pytest.mark.parametrize("builder, options, given", TASK_BUILDS)
@pytest.mark.parametrize("order", schedules.ORDERS)
@pytest.mark.parametrize("num_steps", [1, 4, 25])
def test_order_steps_counts_the_steps_of_the_plan_it_would_build(builder, options, given, order, num_steps):
    plan = schedules.BUILDERS[builder](num_frames=10, num_steps=num_steps, order=order, **options)
    assert schedules.order_steps(len(plan.generated), num_steps, order) == plan.num_steps


def test_order_steps_refuses_an_unknown_order():
    with pytest.raises(FVDMInputError, match="frame order must be one of together, pyramid, sequential"):
        schedules.order_steps(16, 25, "backwards")


def test_sequential_order_at_25_steps_is_the_autoregressive_plan_of_lag_ten():
    plan = schedules.image_to_video(num_frames=16, num_steps=25, order="sequential")
    assert plan.num_steps == 165
    assert torch.equal(plan.timesteps, schedules.autoregressive(16, 25, lag=10, given=(0,)).timesteps)


def test_pyramid_order_with_enough_steps_is_the_autoregressive_plan_of_lag_one():
    plan = schedules.image_to_video(num_frames=16, num_steps=25, order="pyramid")
    assert torch.equal(plan.timesteps, schedules.autoregressive(16, 11, lag=1, given=(0,)).timesteps)
    assert schedules.synchronous(num_frames=1, num_steps=3, order="pyramid").timesteps.tolist() == (
        schedules.synchronous(num_frames=1, num_steps=3).timesteps.tolist()
    )


@pytest.mark.parametrize("builder, options, given", TASK_BUILDS)
def test_reorder_turns_a_task_plan_into_the_same_task_in_the_other_order(builder, options, given):
    together = schedules.BUILDERS[builder](num_frames=10, num_steps=12, **options)
    pyramid = schedules.BUILDERS[builder](num_frames=10, num_steps=12, order="pyramid", **options)
    assert schedules.reorder(together, "pyramid") == pyramid
    assert schedules.reorder(pyramid, "together") == together
    assert schedules.reorder(together, "together") == together
    sequential = schedules.BUILDERS[builder](num_frames=10, num_steps=12, order="sequential", **options)
    assert schedules.reorder(together, "sequential") == sequential
    assert schedules.reorder(sequential, "together") == together  # 12 steps per frame again
    assert schedules.reorder(sequential, "pyramid") == pyramid


def test_reorder_refuses_plans_that_are_not_a_task_s():
    with pytest.raises(FVDMInputError, match="Only a task's plan can be reordered"):
        schedules.reorder(schedules.random_plan(num_frames=8, num_steps=6, seed=3), "together")
    with pytest.raises(FVDMInputError, match="frame order must be one of"):
        schedules.reorder(schedules.synchronous(4, 3), "sideways")


def test_together_is_the_default_order():
    plan = schedules.prediction(num_frames=8, num_steps=6, context=2)
    assert plan == schedules.prediction(num_frames=8, num_steps=6, context=2, order="together")
    assert all(active_steps(plan, frame) == list(range(6)) for frame in plan.generated)


# ----------------------------------------------------------------------------------------
# Random plans


def test_random_plan_is_deterministic_per_seed_and_varies_across_seeds():
    first = schedules.random_plan(num_frames=12, num_steps=30, seed=7)
    assert first == schedules.random_plan(num_frames=12, num_steps=30, seed=7)
    others = [schedules.random_plan(num_frames=12, num_steps=30, seed=s) for s in range(8, 14)]
    assert any(other != first for other in others)


def test_random_plans_sometimes_have_no_given_frames_and_sometimes_several():
    plans = [schedules.random_plan(num_frames=4, num_steps=5, seed=s) for s in range(60)]
    given_counts = {len(plan.given) for plan in plans}
    assert 0 in given_counts
    assert max(given_counts) >= 2
    assert 4 not in given_counts


# ----------------------------------------------------------------------------------------
# Builder argument checks


BAD_ARGUMENTS = [
    ("synchronous", {"num_frames": 0}, "num_frames"),
    ("synchronous", {"num_steps": 0}, "num_steps"),
    ("synchronous", {"num_frames": 4.0}, "whole number"),
    ("synchronous", {"num_frames": True}, "whole number"),
    ("synchronous", {"t_max": 1000}, "t_max"),
    ("synchronous", {"t_max": 0}, "t_max"),
    ("image_to_video", {"num_frames": 1}, "num_frames"),
    ("image_to_video", {"given": (4,)}, "frame 4"),
    ("image_to_video", {"given": (1, 1)}, "more than once"),
    ("image_to_video", {"given": ()}, "At least one given frame"),
    ("image_to_video", {"num_frames": 2, "given": (0, 1)}, "Every frame (2 of 2)"),
    ("image_to_video", {"given_level": -1}, "given_level"),
    ("interpolation", {"num_frames": 2}, "more than 2 frames"),
    ("interpolation", {"num_frames": 6, "context": 3}, "more than 6"),
    ("interpolation", {"context": 0}, "context"),
    ("prediction", {"num_frames": 3, "context": 3}, "more than 3"),
    ("keyframes", {"indices": []}, "At least one given frame"),
    ("keyframes", {"indices": [-1]}, "frame -1"),
    ("keyframes", {"indices": ["a"]}, "whole-number"),
    ("autoregressive", {"lag": -1}, "lag"),
    ("autoregressive", {"block_size": 0}, "block_size"),
    ("trapezoid", {"lag": 1.5}, "lag"),
    ("random", {"seed": -1}, "seed"),
    ("synchronous", {"order": "sideways"}, "frame order must be one of together, pyramid"),
    ("prediction", {"order": None}, "frame order"),
]


@pytest.mark.parametrize("builder, changes, words", BAD_ARGUMENTS)
def test_builders_reject_bad_arguments(builder, changes, words):
    kwargs = {"num_frames": 4, "num_steps": 5, **changes}
    with pytest.raises(FVDMInputError, match=re.escape(words)):
        schedules.BUILDERS[builder](**kwargs)


# ----------------------------------------------------------------------------------------
# Plan basics


def test_plan_converts_lists_without_validating():
    plan = Plan([[999, 5], [0, 9]], given=[1])
    assert plan.timesteps.dtype == torch.long
    assert (plan.num_steps, plan.num_frames, plan.given, plan.generated) == (1, 2, (1,), (0,))
    with pytest.raises(FVDMInputError):
        schedules.validate(plan)


def test_plan_sorts_given_and_widens_integer_tensors():
    plan = Plan(torch.zeros(3, 4, dtype=torch.int32), given=(3, 1))
    assert plan.given == (1, 3)
    assert plan.timesteps.dtype == torch.long


def test_plan_rejects_ragged_tables_and_non_integer_given():
    with pytest.raises(FVDMInputError, match="rectangular"):
        Plan([[1, 2], [3]])
    with pytest.raises(FVDMInputError, match="given"):
        Plan([[0]], given=[0.5])


def test_active_marks_exactly_the_frames_that_change():
    plan = Plan([[999, 500, 0], [999, 250, 0], [0, 0, 0]], given=[2])
    assert plan.active(0).tolist() == [False, True, False]
    assert plan.active(1).tolist() == [True, True, False]
    with pytest.raises(FVDMInputError, match="step 2"):
        plan.active(2)


def test_equality_compares_every_field():
    plan = schedules.image_to_video(num_frames=4, num_steps=3)
    assert plan == Plan(plan.timesteps.clone(), (0,), "image_to_video")
    assert plan != Plan(plan.timesteps, (0,), "other name")
    assert plan != Plan(plan.timesteps, (), "image_to_video")
    assert plan != Plan(plan.timesteps[:, :3], (0,), "image_to_video")
    changed = plan.timesteps.clone()
    changed[1, 2] -= 1
    assert plan != Plan(changed, (0,), "image_to_video")


# ----------------------------------------------------------------------------------------
# Validation messages


def rejected(timesteps, given=(), num_train_timesteps=1000) -> str:
    with pytest.raises(FVDMInputError) as caught:
        schedules.validate(Plan(timesteps, given, num_train_timesteps=num_train_timesteps))
    return str(caught.value)


def valid_table(num_frames: int = 5, num_steps: int = 8) -> list[list[int]]:
    return schedules.synchronous(num_frames=num_frames, num_steps=num_steps).timesteps.tolist()


def test_validate_returns_a_valid_plan_unchanged():
    plan = schedules.keyframes(num_frames=6, num_steps=4, indices=[0, 5])
    assert schedules.validate(plan) is plan


def test_value_out_of_range_names_frame_and_step():
    table = valid_table()
    table[5][2] = 1200
    assert rejected(table) == "frame 2 at step 5: timestep 1200 is outside 0..999."
    table[5][2] = -3
    assert "frame 2 at step 5: timestep -3" in rejected(table)


def test_range_follows_num_train_timesteps():
    assert "outside 0..99" in rejected(valid_table(), num_train_timesteps=100)


def test_rising_noise_names_frame_and_step():
    table = valid_table(num_frames=5, num_steps=10)
    table[8][4] = table[7][4] + 1
    before = table[7][4]
    message = rejected(table)
    assert message.startswith(f"frame 4 at step 7: noise rises from {before} to {before + 1};")
    assert "may only stay or go down" in message


def test_generated_frame_not_ending_clean_names_frame_and_step():
    table = valid_table(num_frames=3, num_steps=4)
    table[4][1] = 7
    assert rejected(table).startswith("frame 1 at step 4 (the last row): timestep is 7")


def test_given_frame_changing_level_names_frame_and_step():
    table = [[0, 999], [0, 500], [20, 0]]
    message = rejected(table, given=[0])
    assert message.startswith("given frame 0 at step 1: timestep changes from 0 to 20")


def test_given_frame_may_hold_a_stabilization_level():
    plan = Plan([[20, 999], [20, 500], [20, 0]], given=[0])
    assert schedules.validate(plan) is plan


@pytest.mark.parametrize(
    "timesteps, given, words",
    [
        ([0, 0, 0], (), "2-D"),
        ([[999, 999]], (), "at least 2 rows"),
        (torch.zeros(3, 0, dtype=torch.long), (), "no frames"),
        ([[999.0, 999.0], [0.0, 0.0]], (), "must be integers"),
        ([[True], [False]], (), "must be integers"),
        ([[0, 999], [0, 0]], (2,), "Given frame 2 does not exist"),
        ([[0, 999], [0, 0]], (0, 0), "Frame 0 is listed as given more than once"),
        ([[0, 0], [0, 0]], (0, 1), "Every frame (2 of 2) is given"),
    ],
)
def test_structural_problems_are_explained(timesteps, given, words):
    assert words in rejected(timesteps, given)


# ----------------------------------------------------------------------------------------
# JSON


@pytest.mark.parametrize("plan", every_builder_plan(9, 13), ids=lambda p: p.name)
def test_json_round_trip(plan):
    text = plan.to_json()
    assert json.loads(text) == plan.to_dict()
    assert Plan.from_json(text) == plan
    assert Plan.from_json(plan.to_json(indent=None)) == plan
    assert Plan.from_dict(plan.to_dict()) == plan


def test_json_keeps_one_row_per_line():
    plan = schedules.synchronous(num_frames=4, num_steps=6)
    lines = plan.to_json().splitlines()
    assert sum(line.strip().startswith("[") for line in lines) == plan.num_steps + 1


def test_to_dict_form():
    plan = schedules.image_to_video(num_frames=2, num_steps=1, given_level=20)
    assert plan.to_dict() == {
        "name": "image_to_video",
        "num_train_timesteps": 1000,
        "given": [0],
        "timesteps": [[20, 999], [20, 0]],
    }


def test_from_dict_fills_in_optional_keys():
    plan = Plan.from_dict({"given": [], "timesteps": [[999], [0]]})
    assert (plan.name, plan.num_train_timesteps) == ("custom", 1000)


@pytest.mark.parametrize(
    "text, words",
    [
        ("{not json", "not valid JSON"),
        ("", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"given": []}', "'timesteps'"),
        ('{"timesteps": [[999], [0]]}', "'given'"),
        ('{"given": [], "timesteps": [[999], [0]], "steps": 3}', "Unknown key 'steps'"),
        ('{"given": [], "timesteps": "999,0"}', "'timesteps' must be a list"),
        ('{"given": 0, "timesteps": [[999], [0]]}', "'given' must be a list"),
        ('{"given": ["a"], "timesteps": [[999, 0], [0, 0]]}', "whole-number"),
        ('{"name": 3, "given": [], "timesteps": [[999], [0]]}', "'name'"),
        ('{"num_train_timesteps": "1", "given": [], "timesteps": [[0]]}', "num_train_timesteps"),
        ('{"given": [], "timesteps": [[999, 0], [0]]}', "rectangular"),
        ('{"given": [], "timesteps": [[999, 0], [0, 1]]}', "frame 1 at step 0: noise rises"),
    ],
)
def test_bad_json_is_explained(text, words):
    with pytest.raises(FVDMInputError, match=re.escape(words)):
        Plan.from_json(text)


def test_from_json_rejects_non_text():
    with pytest.raises(FVDMInputError, match="text"):
        Plan.from_json(None)


# ----------------------------------------------------------------------------------------
# The editor table


@pytest.mark.parametrize("num_frames", [2, 3, 5, 16, 32])
@pytest.mark.parametrize("num_steps", [1, 2, 9, 50, 100])
def test_table_round_trip_for_every_builder(num_frames, num_steps):
    for plan in every_builder_plan(num_frames, num_steps):
        rows = schedules.to_table(plan)
        assert len(rows) == plan.num_frames
        assert [f for f, row in enumerate(rows) if row["given"]] == list(plan.given)
        rebuilt = schedules.from_table(rows, plan.num_steps, name=plan.name)
        assert rebuilt == plan, plan.name


def test_to_table_describes_each_frame():
    plan = schedules.autoregressive(num_frames=3, num_steps=4, lag=2, given=(1,), given_level=20)
    assert schedules.to_table(plan) == [
        {"given": False, "start": 999, "first": 0, "last": 4},
        {"given": True, "start": 20, "first": 0, "last": 6},
        {"given": False, "start": 999, "first": 2, "last": 6},
    ]


def test_from_table_applies_the_descent_rule():
    rows = [
        {"given": True, "start": 20, "first": 0, "last": 0},
        {"given": False, "start": 800, "first": 2, "last": 6},
        (False, 3, 0, 8),  # a small start level over many steps
        (False, 1, 1, 5),
    ]
    plan = schedules.from_table(rows, num_steps=8)
    assert plan.given == (0,)
    assert plan.timesteps[:, 0].tolist() == [20] * 9
    assert plan.timesteps[:, 1].tolist() == [800, 800, 800, 600, 400, 200, 0, 0, 0]
    small = plan.timesteps[:, 2].tolist()
    assert (small[0], small[1], small[7], small[8]) == (3, 2, 1, 0)
    assert active_steps(plan, 2)[0] == 0 and active_steps(plan, 2)[-1] == 7
    assert plan.timesteps[:, 3].tolist() == [1, 1, 1, 1, 1, 0, 0, 0, 0]


def test_from_table_accepts_editor_cell_types():
    rows = [["true", "20", 0, 0], ["no", 999.0, "0", 4.0], [0, 500, 1, "3"]]
    plan = schedules.from_table(rows, num_steps=4)
    assert plan.given == (0,)
    assert plan.timesteps[0].tolist() == [20, 999, 500]
    assert active_steps(plan, 2) == [1, 2]


def test_to_table_best_effort_for_a_hand_written_plan():
    plan = Plan([[0, 999, 600, 0], [0, 999, 300, 0], [0, 10, 0, 0], [0, 0, 0, 0]], given=[0])
    rows = schedules.to_table(plan)
    assert rows[1:] == [
        {"given": False, "start": 999, "first": 1, "last": 3},
        {"given": False, "start": 600, "first": 0, "last": 2},
        {"given": False, "start": 0, "first": 0, "last": 3},
    ]
    assert_well_formed(schedules.from_table(rows, plan.num_steps), (0,), 3)


def good_row(**changes):
    return {"given": False, "start": 999, "first": 0, "last": 25, **changes}


@pytest.mark.parametrize(
    "rows, words",
    [
        (
            [good_row()] * 3 + [good_row(last=30)],
            "frame 3: last active step 30 is beyond the 25 sampling steps",
        ),
        ([good_row(first=25)], "frame 0: first active step 25 must be between 0 and 24"),
        ([good_row(first=-1)], "frame 0: first active step -1"),
        ([good_row(), good_row(first=10, last=10)], "frame 1: last active step 10 must come after"),
        ([good_row(start=1000)], "frame 0: start level 1000 is outside 0..999"),
        ([good_row(), good_row(given=True, start=-1)], "frame 1: start level -1"),
        ([good_row(start="lots")], "frame 0: start level must be a whole number"),
        ([good_row(first=2.5)], "frame 0: first active step must be a whole number"),
        ([good_row(given="maybe")], "frame 0: 'given' must be true or false"),
        ([good_row(), {"given": False, "first": 0}], "frame 1: the row has no 'start'"),
        ([good_row(), (False, 999, 0)], "frame 1: a row must have the four values"),
        ([good_row(given=True)], "Every frame (1 of 1) is given"),
        ([], "at least one row"),
    ],
)
def test_from_table_errors_name_the_frame(rows, words):
    with pytest.raises(FVDMInputError, match=re.escape(words)):
        schedules.from_table(rows, num_steps=25)


def test_from_table_checks_its_arguments():
    with pytest.raises(FVDMInputError, match="num_steps"):
        schedules.from_table([good_row()], num_steps=0)
    with pytest.raises(FVDMInputError, match="outside 0..99"):
        schedules.from_table([good_row(last=5)], num_steps=5, num_train_timesteps=100)
