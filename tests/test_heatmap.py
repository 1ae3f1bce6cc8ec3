"""Tests for fvdm.heatmap: size, content changes, the progress marker, saving, figure reuse."""


import matplotlib
import numpy as np
import pytest
from PIL import Image

import fvdm.schedules as schedules
from fvdm.errors import FVDMInputError
from fvdm.heatmap import render_plan, save_plan_png
from fvdm.schedules import Plan


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def test_default_size_and_mode():
    image = render_plan(schedules.synchronous(num_frames=8, num_steps=20))
    assert image.size == (650, 320)
    assert image.mode == "RGB"


@pytest.mark.parametrize("width", [480, 651, 800, 1234])
def test_height_follows_the_width(width):
    image = render_plan(schedules.synchronous(num_frames=3, num_steps=4), width_px=width)
    assert image.size == (width, round(width * 3.2 / 6.5))


def test_different_plans_give_different_images():
    kwargs = {"num_frames": 16, "num_steps": 30}
    synchronous = render_plan(schedules.synchronous(**kwargs), title="plan")
    pyramid = render_plan(schedules.autoregressive(**kwargs, lag=1), title="plan")
    changed = np.any(pixels(synchronous) != pixels(pyramid), axis=-1)
    assert changed.mean() > 0.05


def test_the_same_plan_renders_the_same_image():
    plan = schedules.random_plan(num_frames=10, num_steps=12, seed=3)
    assert np.array_equal(pixels(render_plan(plan)), pixels(render_plan(plan)))


def test_current_step_draws_a_vertical_marker():
    plan = schedules.synchronous(num_frames=8, num_steps=40)
    plain = pixels(render_plan(plan))
    marked = pixels(render_plan(plan, current_step=20))
    changed_columns = np.flatnonzero(np.any(plain != marked, axis=(0, 2)))
    assert 0 < len(changed_columns) <= 6, "the marker should be a thin vertical line"
    changed_rows = np.flatnonzero(np.any(plain != marked, axis=(1, 2)))
    assert len(changed_rows) > 0.6 * (320 - 70), "the marker should span the frames"


def test_marker_moves_with_the_current_step():
    plan = schedules.synchronous(num_frames=8, num_steps=40)
    plain = pixels(render_plan(plan))
    columns = []
    for step in (5, 35):
        changed = np.any(plain != pixels(render_plan(plan, current_step=step)), axis=(0, 2))
        columns.append(np.flatnonzero(changed).mean())
    assert columns[1] > columns[0] + 200


def test_given_frames_are_marked():
    conditioned = schedules.image_to_video(num_frames=6, num_steps=10)
    same_levels_nothing_given = Plan(conditioned.timesteps, (), conditioned.name)
    difference = pixels(render_plan(conditioned)) != pixels(render_plan(same_levels_nothing_given))
    assert np.any(difference, axis=-1).sum() > 500


def test_bad_arguments_are_explained():
    plan = schedules.synchronous(num_frames=4, num_steps=10)
    with pytest.raises(FVDMInputError, match="current_step 11"):
        render_plan(plan, current_step=11)
    with pytest.raises(FVDMInputError, match="width_px"):
        render_plan(plan, width_px=100)
    with pytest.raises(FVDMInputError, match="noise rises"):
        render_plan(Plan([[0], [5]]))


def test_save_plan_png_writes_a_png(tmp_path):
    plan = schedules.interpolation(num_frames=9, num_steps=15)
    path = save_plan_png(plan, tmp_path / "plan.png", current_step=3)
    with Image.open(path) as saved:
        assert saved.format == "PNG"
        saved_pixels = pixels(saved.convert("RGB"))
    assert np.array_equal(saved_pixels, pixels(render_plan(plan, current_step=3)))


def test_save_plan_png_explains_an_unwritable_path(tmp_path):
    plan = schedules.synchronous(num_frames=2, num_steps=2)
    with pytest.raises(FVDMInputError, match="Cannot write"):
        save_plan_png(plan, tmp_path / "missing-folder" / "plan.png")


def test_rendering_leaves_the_matplotlib_backend_alone():
    before = matplotlib.get_backend()
    render_plan(schedules.synchronous(num_frames=2, num_steps=2))
    assert matplotlib.get_backend() == before


def test_a_redrawn_figure_shows_only_the_new_plan():
    """Each thread reuses its figure: a plan drawn after others (given frames, a marker, other
    sizes) is pixel for pixel the plan drawn on a fresh figure in a new thread."""
    import threading

    plan = schedules.prediction(num_frames=12, num_steps=30, context=3)
    earlier_plans = (
        schedules.interpolation(num_frames=32, num_steps=90, context=4), schedules.image_to_video(num_frames=3, num_steps=2)
    )
    for earlier in earlier_plans:
        render_plan(earlier, current_step=1, title="earlier")
    redrawn = pixels(render_plan(plan))
    fresh = {}
    thread = threading.Thread(target=lambda: fresh.setdefault("image", pixels(render_plan(plan))))
    thread.start()
    thread.join()
    assert np.array_equal(redrawn, fresh["image"])
