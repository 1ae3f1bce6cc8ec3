"""The app under load, through a real server and `gradio_client`: work whose client has left stops
and frees the model queue, result files are deleted on schedule, and refusals log one line."""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

import app
from demo import render
from demo.tasks import plan_to_rows
from fvdm import schedules

LEAVE_WAIT_S = 60  # for the server to notice a client has gone and stop its work (never a speed claim)
TABLE_HEADERS = ["frame", "given", "start", "first", "last"]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def app_log(caplog):
    caplog.set_level(logging.INFO, logger="fvdm.app")
    return caplog


def wait_for_log(caplog, pattern: str) -> str:
    """The first message of the app's log that matches `pattern`, waiting for it."""
    deadline = time.monotonic() + LEAVE_WAIT_S
    while time.monotonic() < deadline:
        for record in caplog.records:
            if re.search(pattern, record.getMessage()):
                return record.getMessage()
        time.sleep(0.1)
    raise AssertionError(f"no log line matched {pattern!r} in {LEAVE_WAIT_S} s")


def leave_after_first_update(url: str, *arguments, api_name: str) -> None:
    """A client starts a streaming job, takes its first update and goes away (its heartbeat stops)."""
    leaving = Client(url, verbose=False)
    job = leaving.submit(*arguments, api_name=api_name)
    deadline = time.monotonic() + LEAVE_WAIT_S
    while not job.outputs():
        assert time.monotonic() < deadline, "the job never streamed an update"
        time.sleep(0.05)
    leaving.close()


@pytest.fixture
def quick_heartbeat(monkeypatch):
    """Gradio notices a client has left when its heartbeat stops; beat every 0.2 s, not every 15 s."""
    monkeypatch.setenv("GRADIO_HEARTBEAT_INTERVAL", "0.2")


def test_a_long_video_stops_when_its_client_leaves_and_the_next_request_runs(app_server, app_log, quick_heartbeat):
    model = app_server.labels[0]
    leave_after_first_update(app_server.url, model, None, 512, 8, 8, 0, 10, api_name="/long_video")
    stopped = wait_for_log(app_log, r"long video stopped after \d+ of 512 new frames: the client left")
    made = int(re.search(r"after (\d+) of", stopped).group(1))
    assert made < 512
    started = time.monotonic()
    video, _, _ = Client(app_server.url, verbose=False).predict(model, "none", 1, 0, 1, "none", 1, api_name="/generate")
    assert video.endswith(".mp4") and time.monotonic() - started < LEAVE_WAIT_S


def test_a_studio_run_stops_when_its_client_leaves(app_server, app_log, quick_heartbeat):
    table = {"headers": TABLE_HEADERS, "data": plan_to_rows(schedules.synchronous(16, 100))}
    model = app_server.labels[0]
    leave_after_first_update(app_server.url, model, table, 100, [], None, 0, 1, api_name="/studio_generate")
    stopped = wait_for_log(app_log, r"studio stopped at step \d+ of 100: the client left")
    assert int(re.search(r"step (\d+) of", stopped).group(1)) < 100
    video, _, _ = Client(app_server.url, verbose=False).predict(model, "none", 1, 0, 1, "none", 1, api_name="/generate")
    assert video.endswith(".mp4")


def test_result_files_are_deleted_on_schedule(app_server):
    demo = app.build_app(app_server.models, cache=(1, 2))
    demo.queue(max_size=4)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, **app.STYLE)
    try:
        client = Client(demo.local_url, verbose=False)
        for seed in range(3):
            client.predict(app_server.labels[0], "none", 1, seed, 1, "none", 1, api_name="/generate")
        kept = {path for component in demo.blocks.values() for path in getattr(component, "keep_in_cache", ())}

        def results() -> set[str]:
            return {path for files in demo.temp_file_sets for path in files if Path(path).exists()} - kept

        assert len(results()) >= 6  # an MP4 and a GIF for each request
        deadline = time.monotonic() + 20
        while results() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert results() == set()
    finally:
        demo.close()


def test_the_output_folder_keeps_only_the_newest_files(tmp_path):
    for index in range(8):
        (tmp_path / f"{index}.mp4").write_bytes(b"x")
        old = time.time() - (100 if index < 2 else 8 - index)  # 0 and 1 are too old, 2 and 3 too many
        os.utime(tmp_path / f"{index}.mp4", (old, old))
    render.prune(tmp_path, max_age_s=50, max_files=4)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["4.mp4", "5.mp4", "6.mp4", "7.mp4"]


def test_refusals_log_one_line_and_no_traceback(app_server, app_log, capfd):
    client = Client(app_server.url, verbose=False)
    model = app_server.labels[0]
    capfd.readouterr()
    refusals = [
        ((model, "none", 1, 0, "abc", "none", 1), "/generate"),
        ((model, None, 4, [], None, 0, 2), "/studio_generate"),
        ((model, "none", None, 0, 0, 3), "/image_to_video"),
    ]
    for arguments, api_name in refusals:
        with pytest.raises(AppError):
            client.predict(*arguments, api_name=api_name)
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert len([r for r in app_log.records if r.getMessage().startswith("refused: ")]) >= len(refusals)
