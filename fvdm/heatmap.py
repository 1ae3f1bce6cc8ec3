"""Draw a sampling plan as a heat map: sampling step across, frame down, colour = noise level.

The figure is drawn with matplotlib's object API on an Agg canvas (no pyplot), so it neither
changes the backend for other code nor keeps figures in pyplot's registry. It is kept small,
and each thread reuses its figure, so the app can redraw it at every edit and sampling step.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator
from PIL import Image

from fvdm.errors import FVDMInputError
from fvdm.schedules import Plan, validate

DPI = 100
DEFAULT_WIDTH_PX = 650
MIN_WIDTH_PX = 480  # narrower, and the title runs into the legend
ASPECT = 3.2 / 6.5  # height / width of the image
COLORMAP = "magma"  # dark = clean, bright = noisy
GIVEN_COLOR = "#4fc3f7"
GIVEN_LABEL_COLOR = "#0277bd"
MARKER_COLOR = "#00e5ff"
_MARGINS_PX = {"left": 48, "right": 84, "top": 30, "bottom": 40}
_MIN_PX_PER_FRAME_LABEL = 11


def render_plan(
    plan: Plan,
    title: str | None = None,
    width_px: int = DEFAULT_WIDTH_PX,
    current_step: int | None = None,
) -> Image.Image:
    """Render `plan` as an RGB image `width_px` wide (height follows a fixed aspect ratio).

    Given frames are hatched and their frame numbers shown in bold blue. `current_step`, if set,
    draws a vertical line at that row of the plan (for live progress while sampling).
    """
    validate(plan)
    height_px = _check_size(width_px)
    if current_step is not None and not 0 <= current_step <= plan.num_steps:
        raise FVDMInputError(
            f"current_step {current_step} is outside the plan's steps 0..{plan.num_steps}."
        )
    return _figure(width_px, height_px).draw(plan, title, current_step)


class _HeatMapFigure:
    """One figure, its axes, colorbar and marker, built once and redrawn for each plan.

    Building axes and their ticks costs more than drawing them, so each thread keeps one of
    these per image width (`_figure`) and only changes what depends on the plan.
    """

    def __init__(self, width_px: int, height_px: int):
        self.height_px = height_px
        self.figure = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI)
        self.canvas = FigureCanvasAgg(self.figure)
        _place_axes(self.figure, width_px, height_px)
        self.axes, colorbar_axes = self.figure.axes
        self.image = self.axes.imshow(
            np.zeros((1, 1)), cmap=COLORMAP, aspect="auto", interpolation="nearest"
        )
        self.colorbar = self.figure.colorbar(self.image, cax=colorbar_axes)
        self.colorbar.ax.tick_params(labelsize=8)
        self.colorbar.set_label("timestep (noise level)", fontsize=9)
        self.marker = self.axes.axvline(0, color=MARKER_COLOR, linewidth=1.6)
        self.axes.set_xlabel("sampling step", fontsize=9)
        self.axes.set_ylabel("frame", fontsize=9)
        self.axes.xaxis.set_major_locator(MaxNLocator(nbins=10, integer=True))
        self.axes.tick_params(labelsize=8)

    def draw(self, plan: Plan, title: str | None, current_step: int | None) -> Image.Image:
        extent = (-0.5, plan.num_steps + 0.5, plan.num_frames - 0.5, -0.5)
        self.image.set_data(plan.timesteps.T.numpy())
        self.image.set_extent(extent)
        self.axes.set_xlim(extent[:2])
        self.axes.set_ylim(extent[2:])
        self._set_levels(plan.num_train_timesteps)
        _mark_given(self.axes, plan)
        _label_axes(self.axes, plan, title, self.height_px)
        self.marker.set_visible(current_step is not None)
        self.marker.set_xdata([current_step or 0] * 2)
        self.canvas.draw()
        return Image.fromarray(np.asarray(self.canvas.buffer_rgba())[..., :3].copy())

    def _set_levels(self, num_train_timesteps: int) -> None:
        top = num_train_timesteps - 1
        self.image.set_clim(0, top)
        quarters = {min(top, round(num_train_timesteps * q)) for q in (0, 0.25, 0.5, 0.75)}
        self.colorbar.set_ticks(sorted(quarters | {top}))  # 0, 250, 500, 750, 999 for T = 1000


_figures = threading.local()


def _figure(width_px: int, height_px: int) -> _HeatMapFigure:
    """This thread's figure for images `width_px` wide (matplotlib figures are not thread-safe)."""
    cache = _figures.__dict__.setdefault("by_width", {})
    if width_px not in cache:
        cache[width_px] = _HeatMapFigure(width_px, height_px)
    return cache[width_px]


def save_plan_png(plan: Plan, path: str | Path, **render_options) -> Path:
    """Render `plan` (options as for `render_plan`) and write it to `path` as PNG."""
    path = Path(path)
    image = render_plan(plan, **render_options)
    try:
        image.save(path, format="PNG")
    except OSError as error:
        reason = error.strerror or error
        raise FVDMInputError(f"Cannot write the plan image to {path}: {reason}.") from None
    return path


def _check_size(width_px: int) -> int:
    """Validate the requested width and return the matching height in pixels."""
    if isinstance(width_px, bool) or not isinstance(width_px, int) or width_px < MIN_WIDTH_PX:
        raise FVDMInputError(
            f"width_px must be a whole number of at least {MIN_WIDTH_PX}, got {width_px!r}."
        )
    return round(width_px * ASPECT)


def _place_axes(figure: Figure, width_px: int, height_px: int) -> None:
    """Add the heat map axes and a thin colorbar axes with fixed pixel margins.

    Fixed margins replace `tight_layout`, which would measure every label and cost more time
    than the rest of the drawing.
    """
    left = _MARGINS_PX["left"] / width_px
    bottom = _MARGINS_PX["bottom"] / height_px
    width = 1 - (_MARGINS_PX["left"] + _MARGINS_PX["right"]) / width_px
    height = 1 - (_MARGINS_PX["top"] + _MARGINS_PX["bottom"]) / height_px
    figure.add_axes((left, bottom, width, height))
    figure.add_axes((left + width + 12 / width_px, bottom, 12 / width_px, height))


def _label_axes(axes, plan: Plan, title: str | None, height_px: int) -> None:
    axes.set_title(title if title is not None else _default_title(plan), fontsize=10, loc="left")
    frames = _frame_ticks(plan, height_px - _MARGINS_PX["top"] - _MARGINS_PX["bottom"])
    axes.set_yticks(frames, [str(f) for f in frames])
    for label, frame in zip(axes.get_yticklabels(), frames):
        given = frame in plan.given
        label.set_color(GIVEN_LABEL_COLOR if given else "black")
        label.set_fontweight("bold" if given else "normal")


def _default_title(plan: Plan) -> str:
    frames = "frame" if plan.num_frames == 1 else "frames"
    steps = "step" if plan.num_steps == 1 else "steps"
    return f"{plan.name}: {plan.num_frames} {frames}, {plan.num_steps} {steps}"


def _frame_ticks(plan: Plan, axes_height_px: float) -> list[int]:
    """Every frame when there is room for its label, else evenly spaced frames.

    Given frames without a tick of their own are still shown by the hatching and the legend.
    """
    if axes_height_px / plan.num_frames >= _MIN_PX_PER_FRAME_LABEL:
        return list(range(plan.num_frames))
    locator = MaxNLocator(nbins=max(2, int(axes_height_px // 28)), integer=True)
    return [int(t) for t in locator.tick_values(0, plan.num_frames - 1) if 0 <= t < plan.num_frames]


def _mark_given(axes, plan: Plan) -> None:
    """Hatch every run of consecutive given frames and add a legend entry for them (and remove
    the previous plan's)."""
    for patch in list(axes.patches):
        patch.remove()
    if axes.get_legend() is not None:
        axes.get_legend().remove()
    if not plan.given:
        return
    for first, last in _runs(plan.given):
        axes.add_patch(
            Rectangle(
                (-0.5, first - 0.5),
                plan.num_steps + 1,
                last - first + 1,
                fill=False,
                hatch="///",
                edgecolor=GIVEN_COLOR,
                linewidth=1.0,
            )
        )
    legend_patch = Patch(facecolor="none", edgecolor=GIVEN_COLOR, hatch="///", label="given frame")
    axes.legend(
        handles=[legend_patch],
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        frameon=False,
        fontsize=8,
        borderaxespad=0.2,
    )


def _runs(indices: tuple[int, ...]) -> list[tuple[int, int]]:
    """Group sorted indices into (first, last) runs of consecutive values."""
    runs: list[tuple[int, int]] = []
    for index in indices:
        if runs and runs[-1][1] == index - 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return runs
