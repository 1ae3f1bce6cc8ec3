"""The demo in a real browser: Debian's headless Chromium driven by Playwright against `app.build_app`.

One page for the whole module, walked through in order: the heading and intro, every tab, the schedule
studio (a preset, an invalid edit typed into the table and its fix), one generation on the Generate
tab and one long video (each playing, at most MAX_RESULT_PX tall), heat maps without a toolbar, and
the studio's clip under its heading.
A full-page screenshot is saved after each step, into $FVDM_TEST_ARTIFACTS (default: test-artifacts/).

Needs /usr/bin/chromium (`apt-get install -y chromium`) and the python package playwright; never
`playwright install`, which downloads a browser of its own.
"""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
HEADING = "FVDM: a video diffusion model with a timestep per frame"
# each tab, and a button that only that tab shows
TABS = {
    "Generate": "Generate",
    "Image to video": "Animate",
    "Interpolate": "Interpolate",
    "Predict": "Predict",
    "Long video": "Extend again",
    "Schedule studio": "Trapezoid",
}
COLUMNS = {"frame": 0, "given": 1, "start": 2, "first": 3, "last": 4}  # the studio table's columns
MAX_RESULT_PX = 400  # a 32 x 32 clip is shown a few hundred pixels wide, not blown up to the column
WAIT_MS = 30_000  # for the page, a tab, a plan redraw (never an assertion about speed)
GENERATE_WAIT_MS = 90_000  # for one generation with a tiny model on busy CPUs

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def artifacts_dir() -> Path:
    folder = Path(os.environ.get("FVDM_TEST_ARTIFACTS") or Path(__file__).resolve().parents[1] / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


_shot_numbers = itertools.count(1)
JS_ERRORS: list[str] = []  # uncaught exceptions on the page, for the last test


def screenshot(page: Page, name: str) -> Path:
    path = artifacts_dir() / f"browser-{next(_shot_numbers):02d}-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="module")
def page(request, tmp_path_factory):
    """One Chromium page on the app, for every test of this module, with a fresh profile."""
    if not CHROMIUM.is_file():  # a failure, not a skip: CI must not pass without the browser tests
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium (apt-get install -y chromium)")
    app_server = request.getfixturevalue("app_server")
    for old in artifacts_dir().glob("browser-*.png"):  # no stale screenshots from an earlier run
        old.unlink()
    profile = tmp_path_factory.mktemp("chromium-profile")
    JS_ERRORS.clear()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(WAIT_MS)
            expect.set_options(timeout=WAIT_MS)
            page.on("pageerror", lambda error: JS_ERRORS.append(str(error)))
            # not "networkidle": Gradio keeps a connection open, so the network never idles
            page.goto(app_server.url, wait_until="domcontentloaded")
            yield page
        finally:
            context.close()


def tab(page: Page, name: str):
    return page.get_by_role("tab", name=name, exact=True)


def visible_button(page: Page, name: str):
    return page.get_by_role("button", name=name, exact=True).filter(visible=True)


def studio_cell(page: Page, row: int, column: str):
    return page.get_by_test_id(f"cell-{row}-{COLUMNS[column]}")


def cell_text(page: Page, row: int, column: str):
    """The value shown in a cell (without the cell's menu and selection buttons)."""
    return studio_cell(page, row, column).locator("span[data-editable]")


def studio_message(page: Page):
    """The studio's validation Markdown: '✔ Valid plan: ...' or '⚠ Invalid plan: <what is wrong>'."""
    return page.locator("p").filter(has_text=re.compile(r"^\s*(✔ Valid plan|⚠ Invalid plan)")).filter(visible=True)


def type_into_cell(page: Page, row: int, column: str, value: int) -> None:
    """Edit one table cell as a person does: double-click it, type, press Enter."""
    cell = studio_cell(page, row, column)
    cell.scroll_into_view_if_needed()
    cell.dblclick()
    editor = cell.get_by_role("textbox", name="Edit cell")
    expect(editor).to_be_focused()
    editor.fill(str(value))
    editor.press("Enter")
    expect(cell_text(page, row, column)).to_have_text(str(value))


def set_numbers(page: Page, values: dict[str, int]) -> None:
    """Type into the number boxes of the visible sliders with these labels."""
    for label, value in values.items():
        box = page.get_by_label(f"number input for {label}").filter(visible=True)
        box.fill(str(value))
        box.press("Enter")
        expect(box).to_have_value(str(value))


def test_home(page, app_server):
    expect(page.get_by_role("heading", name=HEADING)).to_be_visible()
    expect(page).to_have_title("FVDM: frame-aware video diffusion")
    picker = page.get_by_label("Model", exact=True)
    expect(picker).to_have_value(app_server.labels[0])
    expect(page.get_by_text("16 frames of 32 x 32 pixels per window")).to_be_visible()
    intro = page.locator("p").filter(has_text="The bundled model is a toy:")
    expect(intro).to_contain_text("trained on a CPU")
    expect(intro).to_contain_text("--model")
    expect(intro).to_contain_text("FVDM_MODELS")
    # the test models guide with 1 (off) of their own: 0 on the slider means that
    expect(page.get_by_text("Frame guidance (0 = auto: 1, off)", exact=True)).to_be_visible()
    screenshot(page, "home")


@pytest.mark.parametrize("name", list(TABS))
def test_tab(page, name):
    tab(page, name).click()
    expect(tab(page, name)).to_have_attribute("aria-selected", "true")
    expect(visible_button(page, TABS[name])).to_have_count(1)
    expect(visible_button(page, TABS[name])).to_be_visible()
    screenshot(page, "tab-" + name.lower().replace(" ", "-"))


def test_studio_preset_redraws_heat_map(page):
    tab(page, "Schedule studio").click()
    heat_map = page.locator(".heatmap img").filter(visible=True)
    expect(heat_map).to_have_count(1)
    expect(heat_map).to_have_attribute("src", re.compile(r".+"))
    first_plan = r"^✔ Valid plan: 16 frames x 25 steps, given frames \[0, 1, 14, 15\]"  # interpolation, K = 2
    expect(studio_message(page)).to_have_text(re.compile(first_plan))
    before = heat_map.get_attribute("src")
    screenshot(page, "studio")

    visible_button(page, "Pyramid").click()
    expect(heat_map).not_to_have_attribute("src", before)
    expect(studio_message(page)).to_have_text(re.compile(r"^✔ Valid plan: 16 frames x \d+ steps, no given frames"))
    expect(studio_cell(page, 1, "given").get_by_role("checkbox")).not_to_be_checked()
    screenshot(page, "studio-pyramid")


def test_studio_cell_edit_validates(page):
    tab(page, "Schedule studio").click()
    row = 5
    first = int(cell_text(page, row, "first").inner_text())
    last = int(cell_text(page, row, "last").inner_text())
    assert last > first, (first, last)

    type_into_cell(page, row, "last", first)  # a frame must finish after it starts
    problem = rf"^⚠ Invalid plan: frame {row}: last active step {first} must come after"
    expect(studio_message(page)).to_have_text(re.compile(problem))
    screenshot(page, "studio-invalid-cell")

    type_into_cell(page, row, "last", last)
    expect(studio_message(page)).to_have_text(re.compile(r"^✔ Valid plan"))
    screenshot(page, "studio-fixed-cell")


def test_frame_order_changes_the_plan_of_the_tab(page):
    tab(page, "Predict").click()
    pyramid = page.get_by_label("Pyramid: first to last", exact=True).filter(visible=True)
    together = page.get_by_label("Together", exact=True).filter(visible=True)
    expect(pyramid).to_be_checked()  # the tab's default
    heat_map = page.locator(".heatmap img").filter(visible=True)
    expect(heat_map).to_have_attribute("src", re.compile(r".+"))
    before = heat_map.get_attribute("src")
    together.check()
    expect(heat_map).not_to_have_attribute("src", before)
    for order, firsts in [(together, ["0", "0", "0"]), (pyramid, ["0", "1", "2"])]:  # frames 4-6, K = 4
        tab(page, "Predict").click()
        order.check()
        visible_button(page, "Open in studio").click()
        expect(tab(page, "Schedule studio")).to_have_attribute("aria-selected", "true")
        for row, first in zip((4, 5, 6), firsts):
            expect(cell_text(page, row, "first")).to_have_text(first)
    screenshot(page, "studio-from-predict-pyramid")


def test_generate_shows_a_video(page):
    tab(page, "Generate").click()
    set_numbers(page, {"Videos side by side": 1, "Sampling steps": 2})
    visible_button(page, "Generate").click()
    video = page.locator("video").filter(visible=True)
    expect(video.first).to_have_attribute("src", re.compile(r".+"), timeout=GENERATE_WAIT_MS)
    expect(page.get_by_text(re.compile(r"Error")).filter(visible=True)).to_have_count(0)
    expect_a_playing_video_of_sensible_size(video.first)
    screenshot(page, "generate-result")


def expect_a_playing_video_of_sensible_size(video) -> None:
    """The player has decoded frames (it is not a black box) and is at most MAX_RESULT_PX tall."""
    video.evaluate("v => new Promise(done => v.readyState >= 2 ? done() : v.addEventListener('loadeddata', done))")
    assert video.evaluate("v => v.videoWidth") > 0
    box = video.bounding_box()
    assert 100 <= box["height"] <= MAX_RESULT_PX, box


def test_long_video_streams_into_a_playing_player(page):
    tab(page, "Long video").click()
    set_numbers(page, {"New frames": 16, "Sampling steps": 2})
    visible_button(page, "Generate").click()
    expect(page.get_by_text(re.compile(r"16 new of 16")).filter(visible=True)).to_be_visible(timeout=GENERATE_WAIT_MS)
    video = page.locator(".result video").filter(visible=True)
    expect(video).to_have_attribute("src", re.compile(r".+"))
    expect_a_playing_video_of_sensible_size(video)
    screenshot(page, "long-video-result")


def test_heat_maps_have_no_toolbar_over_the_colour_bar(page):
    for name in ("Generate", "Schedule studio"):
        tab(page, name).click()
        heat_map = page.locator(".heatmap").filter(visible=True)
        expect(heat_map.locator("img")).to_have_attribute("src", re.compile(r".+"))
        expect(heat_map.locator("button[aria-label]")).to_have_count(0)  # download, share, full screen


def test_the_studio_starts_with_a_clip_whose_heading_is_clear_of_it(page):
    tab(page, "Schedule studio").click()
    heading = page.get_by_text("Take given frames from this clip", exact=True).filter(visible=True)
    video = page.locator("video").filter(visible=True).first
    expect(video).to_have_attribute("src", re.compile(r"clip-1\.mp4"))
    video.scroll_into_view_if_needed()
    assert heading.bounding_box()["y"] + heading.bounding_box()["height"] <= video.bounding_box()["y"]
    screenshot(page, "studio-given-frames")


def test_no_javascript_errors(page):
    assert JS_ERRORS == [], "uncaught JavaScript errors on the page:\n" + "\n".join(JS_ERRORS)
