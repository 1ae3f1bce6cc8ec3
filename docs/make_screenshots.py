"""Re-shoot the README's app screenshots (docs/app/*.png) against the bundled models.

    python -m docs.make_screenshots [--port 7871] [--only generate,studio]

Starts `python app.py` offline on the port, drives Debian's headless Chromium through Playwright
(`apt-get install -y chromium`), runs one task per tab with the defaults a new user sees, and saves
each view once its result is on the page. Sampling runs on this machine's CPU, so a shot takes from
seconds to a few minutes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "app"
CHROMIUM = "/usr/bin/chromium"
RESULT_WAIT_MS = 900_000  # the sequential order samples 165-175 steps on a CPU
PAGE_WAIT_MS = 60_000


def start_app(port: int) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_SERVER_PORT": str(port)}
    server = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env)
    for _ in range(240):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"app.py exited with status {server.returncode}")
            time.sleep(1)
    server.terminate()
    raise SystemExit(f"app.py did not answer on port {port} within 4 minutes")


def open_tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()


def click(page: Page, button: str) -> None:
    page.get_by_role("button", name=button, exact=True).filter(visible=True).click()


def wait_for_result(page: Page, text: str = "sampled in") -> None:
    expect(page.get_by_text(text).filter(visible=True).first).to_be_visible(timeout=RESULT_WAIT_MS)


def shoot_generate(page: Page) -> None:
    open_tab(page, "Generate")
    box = page.get_by_label("number input for Videos side by side").filter(visible=True)
    box.fill("2")
    box.press("Enter")
    click(page, "Generate")
    wait_for_result(page)


def shoot_image_to_video(page: Page) -> None:
    open_tab(page, "Image to video")
    page.get_by_text("Example frames").filter(visible=True).scroll_into_view_if_needed()
    page.locator("button.gallery-item").filter(visible=True).first.click()
    expect(page.get_by_text("Drop Image Here").filter(visible=True)).to_have_count(0)  # the example is in
    click(page, "Animate")
    wait_for_result(page)


def shoot_long_video(page: Page) -> None:
    open_tab(page, "Long video")
    click(page, "Generate")
    wait_for_result(page, "128 new of 128")  # the tab's default length, streamed window by window


def shoot_studio(page: Page) -> None:
    open_tab(page, "Schedule studio")
    click(page, "Interpolation")
    click(page, "Generate")
    wait_for_result(page)


# docs/app/<name>.png -> (how to get the view, whether to take the whole page or the window)
SHOTS: dict[str, tuple[Callable[[Page], None], bool]] = {
    "generate": (shoot_generate, False), "image-to-video": (shoot_image_to_video, True),
    "long-video": (shoot_long_video, False), "studio": (shoot_studio, True),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7871)
    parser.add_argument("--only", default=",".join(SHOTS), help=f"comma-separated among {','.join(SHOTS)}")
    args = parser.parse_args(argv)
    wanted = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(wanted) - set(SHOTS))
    if unknown:
        parser.error(f"--only: unknown shots {', '.join(unknown)}; pick among {', '.join(SHOTS)}")
    server = start_app(args.port)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            for name in wanted:
                page = browser.new_page(viewport={"width": 1400, "height": 1100})
                page.set_default_timeout(PAGE_WAIT_MS)
                page.goto(f"http://127.0.0.1:{args.port}/", wait_until="domcontentloaded")
                expect(page.get_by_role("tab", name="Generate", exact=True)).to_be_visible(timeout=PAGE_WAIT_MS)
                shoot, full_page = SHOTS[name]
                shoot(page)
                page.evaluate("window.scrollTo(0, 0)")  # a streamed result scrolls the page to its end
                path = OUT / f"{name}.png"
                page.screenshot(path=str(path), full_page=full_page)
                print(f"wrote {path}", flush=True)
                page.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
