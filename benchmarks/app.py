"""The demo as a user meets it: a launched `app.py`, driven through `gradio_client`.

    python -m benchmarks.app                                  # the bundled model
    python -m benchmarks.app --model /tmp/bench-model --repeats 3 --out app-bench.json

Measures, each against its target:
  start to ready     Popen of `python app.py` until the root answers 200 and a Client connects (< 10 s)
  first generation   /generate, 1 video of 16 frames x 25 steps, MP4 and GIF included (< 3 s);
                     then the median of --repeats more calls with other seeds
  heat-map refresh   median of /plan_preview over 10 calls alternating two studio tables (< 0.2 s)
  long video         /long_video, 128 new frames (context 8, stride 8): total and first update (< 20 s)
  peak memory        the app's VmHWM plus the sampled peak USS of its children (ffmpeg) (< 1500 MB)

Prints one JSON line (and writes it, indented, to --out). Exits 1 with one line if the app is not
ready within --start-timeout seconds, or if a call fails; the app is always stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # before gradio_client is imported; the app inherits both
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import gradio_client  # noqa: E402
import torch  # noqa: E402
from gradio_client import Client  # noqa: E402

from demo.tasks import TABLE_HEADERS, plan_to_rows, preset_plan  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STEPS = 25
LONG_FRAMES = 128
HEATMAP_CALLS = 10
TARGETS = {  # name -> (upper bound, unit)
    "start_to_ready": (10.0, "s"),
    "first_generation": (3.0, "s"),
    "generation_median": (3.0, "s"),
    "heatmap_refresh": (0.2, "s"),
    "long_video_128": (20.0, "s"),
    "peak_rss": (1500.0, "MB"),
}


class BenchmarkError(Exception):
    """A stage failed; the message is the one line printed before exiting."""


def measured(name: str, value: float, **extra) -> dict:
    target, unit = TARGETS[name]
    return {"value": round(value, 3), "unit": unit, "target": target, "meets_target": value < target, **extra}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def last_lines(path: Path, count: int = 8) -> str:
    """The end of the app's stderr (tqdm's carriage returns count as line ends)."""
    text = path.read_text(errors="replace") if path.exists() else ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-count:]) or "(empty)"


# ----------------------------------------------------------------------------- the app process


def start_app(model: str | None, port: int, logs: Path) -> subprocess.Popen:
    command = [sys.executable, "app.py", "--port", str(port)] + (["--model", model] if model else [])
    with open(logs / "app.out", "wb") as out, open(logs / "app.err", "wb") as err:
        return subprocess.Popen(
            command, cwd=ROOT, env=os.environ.copy(), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
            start_new_session=True,  # its own process group: stop() ends the app and any ffmpeg it started
        )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_ready(
    proc: subprocess.Popen, url: str, started: float, timeout: float, downloads: str
) -> tuple[Client, float]:
    """Poll until the root answers 200 and a Client connects; returns the client and seconds to HTTP 200."""
    http_s = None
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise BenchmarkError(f"the app exited with code {proc.returncode} before it was ready")
        try:
            if http_s is None:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        http_s = time.perf_counter() - started
            if http_s is not None:
                return Client(url, verbose=False, analytics_enabled=False, download_files=downloads), http_s
        except (urllib.error.URLError, ConnectionError, OSError, ValueError):
            pass
        time.sleep(0.1)
    raise BenchmarkError(f"the app was not ready within {timeout:.0f} s")


class MemorySampler(threading.Thread):
    """The app's VmHWM at the end, plus the largest summed USS of its children seen while it ran."""

    def __init__(self, pid: int, every: float = 0.25):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.children_peak_mb, self.children_at_peak = 0.0, []
        self._done = threading.Event()
        try:
            import psutil

            self._process = psutil.Process(pid)
        except ImportError:  # psutil is optional: then the main process only
            self._process = None

    def run(self) -> None:
        while self._process is not None and not self._done.wait(self.every):
            total, names = 0, set()
            try:
                for child in self._process.children(recursive=True):
                    try:
                        total += child.memory_full_info().uss  # a fork not yet exec'd shares its parent's pages
                        names.add(Path(child.exe()).name)
                    except Exception:  # it finished between the listing and the read
                        pass
            except Exception:
                return
            if total / 2**20 > self.children_peak_mb:
                self.children_peak_mb, self.children_at_peak = total / 2**20, sorted(names)

    def finish(self) -> dict:
        self._done.set()
        self.join(timeout=2)
        status = Path(f"/proc/{self.pid}/status").read_text()
        hwm_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
        main_mb = hwm_kb / 1024
        return {
            "main_vmhwm_mb": round(main_mb, 1),
            "children_peak_uss_mb": round(self.children_peak_mb, 1) if self._process else None,
            "children_at_peak": self.children_at_peak,
            "total_mb": main_mb + self.children_peak_mb,
        }


# ----------------------------------------------------------------------------- the measurements


def model_label(client: Client) -> str:
    """The picker's default, as the page shows it (the first component labelled "Model")."""
    for component in client.config.get("components", []):
        props = component.get("props", {})
        if props.get("label") == "Model" and props.get("value"):
            return props["value"]
    api = client.view_api(return_format="dict", print_info=False)
    return api["named_endpoints"]["/generate"]["parameters"][0]["parameter_default"]


def generate(client: Client, label: str, seed: int) -> float:
    start = time.perf_counter()
    video, _gif, info = client.predict(label, "none", 1, seed, STEPS, "none", 1, api_name="/generate")
    seconds = time.perf_counter() - start
    if not (video and str(video).endswith(".mp4") and Path(video).stat().st_size > 0):
        raise BenchmarkError(f"/generate returned no MP4: {video!r} ({info!r})")
    return seconds


def studio_tables() -> list[dict]:
    """Two different valid studio tables, as the page's Dataframe sends them."""
    plans = [preset_plan("interpolation", 16, STEPS, context=2), preset_plan("prediction", 16, STEPS, context=4)]
    return [{"headers": TABLE_HEADERS, "data": plan_to_rows(plan)} for plan in plans]


def heatmap_refresh(client: Client, calls: int = HEATMAP_CALLS) -> list[float]:
    tables, timings = studio_tables(), []
    for index in range(calls):
        start = time.perf_counter()
        image, message = client.predict(tables[index % 2], STEPS, api_name="/plan_preview")
        timings.append(time.perf_counter() - start)
        if image is None:  # how the studio answers a table it rejects
            raise BenchmarkError(f"/plan_preview rejected a valid table: {message!r}")
    return timings


def long_video(client: Client, label: str) -> dict:
    start = time.perf_counter()
    job = client.submit(label, None, LONG_FRAMES, 8, 8, 0, STEPS, api_name="/long_video")
    first, updates = None, 0
    for _update in job:
        updates += 1
        if first is None:
            first = time.perf_counter() - start
    total = time.perf_counter() - start
    status = job.status()
    outputs = job.outputs()
    if not status.success or not outputs or outputs[-1][2] is None:
        raise BenchmarkError(f"/long_video did not finish with a GIF (status {status.code}, {len(outputs)} updates)")
    return {"total_s": total, "first_update_s": first, "updates": updates, "info": outputs[-1][3]}


def run(args: argparse.Namespace, logs: Path) -> dict:
    port = args.port or free_port()
    if port_in_use(port):
        raise BenchmarkError(f"port {port} is already in use: another server would be measured")
    url = f"http://127.0.0.1:{port}/"
    started = time.perf_counter()
    proc = start_app(args.model, port, logs)
    try:
        sampler = MemorySampler(proc.pid)
        sampler.start()
        try:
            client, http_s = wait_ready(proc, url, started, args.start_timeout, str(logs / "downloads"))
        except BenchmarkError as error:
            raise BenchmarkError(f"{error}; last app stderr lines: {last_lines(logs / 'app.err')}") from None
        ready_s = time.perf_counter() - started
        label = model_label(client)

        first = generate(client, label, seed=0)
        repeats = [generate(client, label, seed=seed) for seed in range(1, args.repeats + 1)]
        heatmap = heatmap_refresh(client)
        long = long_video(client, label)
        memory = sampler.finish()
        if proc.poll() is not None:
            raise BenchmarkError(f"the app exited with code {proc.returncode} during the benchmark")
    finally:
        stop(proc)

    return {
        "benchmark": "app",
        "model": label,
        "machine": {
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),  # same environment as the app, which does not change it
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "gradio_client": gradio_client.__version__,
        },
        "start_to_ready": measured("start_to_ready", ready_s, http_200_s=round(http_s, 3)),
        "first_generation": measured("first_generation", first, videos=1, frames=16, steps=STEPS),
        "generation_median": measured(
            "generation_median", statistics.median(repeats),
            repeats=[round(value, 3) for value in repeats],
        ),
        "heatmap_refresh": measured(
            "heatmap_refresh", statistics.median(heatmap), calls=len(heatmap), max_s=round(max(heatmap), 3),
        ),
        "long_video_128": measured(
            "long_video_128", long["total_s"], first_update_s=round(long["first_update_s"], 3),
            updates=long["updates"], info=long["info"],
        ),
        "peak_rss": measured("peak_rss", memory.pop("total_mb"), **memory),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="passed to app.py --model (folder, .pt or Hub id); default: the bundled model")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--repeats", type=int, default=3, help="generations after the first, for the median")
    parser.add_argument("--start-timeout", type=float, default=60.0)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    with tempfile.TemporaryDirectory(prefix="fvdm-bench-app-") as logs:
        try:
            result = run(args, Path(logs))
        except BenchmarkError as error:
            sys.exit(f"benchmarks.app: {error}")
        except Exception as error:  # a failed call (gradio_client.exceptions.AppError, ...): one line too
            tail = last_lines(Path(logs) / "app.err")
            sys.exit(f"benchmarks.app: {type(error).__name__}: {error}; last app stderr lines: {tail}")
    print(json.dumps(result, ensure_ascii=False))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
