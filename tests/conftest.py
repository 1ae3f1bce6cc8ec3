"""Session-wide fixtures: one saved tiny model and a few input files, made once per test run."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import torch
from helpers import RESOLUTION, WINDOW, tiny_pipeline
from PIL import Image

from fvdm import schedules
from fvdm.video_io import save_video


class Media(NamedTuple):
    start: Path  # 16 x 16 RGB PNG (the model's size, so it is used pixel for pixel)
    end: Path  # another 16 x 16 RGB PNG
    clip: Path  # 10-frame 16 x 16 H.264 MP4
    plan: Path  # keyframes plan JSON: 8 frames, 2 steps, frames 0 and 4 given


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models run fastest on one thread, and far faster than two threads on busy cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """A random tiny pixel-space pipeline written by save_pretrained."""
    folder = tmp_path_factory.mktemp("model")
    tiny_pipeline().save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> Media:
    folder = tmp_path_factory.mktemp("media")
    rng = np.random.default_rng(0)
    size = (RESOLUTION, RESOLUTION, 3)
    files = Media(folder / "start.png", folder / "end.png", folder / "clip.mp4", folder / "plan.json")
    Image.fromarray(rng.integers(0, 256, size, dtype=np.uint8)).save(files.start)
    Image.fromarray(rng.integers(0, 256, size, dtype=np.uint8)).save(files.end)
    ramp = np.linspace(0, 1, 10)[:, None, None, None] * np.linspace(0.2, 1, RESOLUTION)[None, None, :, None]
    save_video(np.broadcast_to(ramp, (10, *size)), files.clip)
    files.plan.write_text(schedules.keyframes(WINDOW, 2, [0, 4]).to_json())
    return files


class AppServer(NamedTuple):
    url: str
    models: object  # demo.models.ModelCache: its load_counts show which models were loaded, how often
    labels: tuple[str, str]  # the two models in the picker: an FVDM-style one and a second one


def app_model(folder: Path, seed: int, sampler: str = "ddim", frame_guidance: float = 1.0) -> Path:
    """A random `tiny` pixel model with the bundled model's shape: 16 frames of 32 x 32."""
    from test_models import randomize

    from fvdm import FVDMPipeline, FVDMScheduler, FVDMTransformer

    transformer = randomize(FVDMTransformer.from_preset("tiny", sample_size=32, num_frames=16), seed)
    scheduler = FVDMScheduler(clip_sample=True, sampler=sampler)
    FVDMPipeline(transformer=transformer, scheduler=scheduler, frame_guidance=frame_guidance).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def app_server(tmp_path_factory) -> AppServer:
    """The real Gradio app (`app.build_app`) served on a free local port, with two tiny models."""
    import app
    from demo.models import ModelCache

    root = tmp_path_factory.mktemp("app-models")
    first, second = app_model(root / "model-a", 0), app_model(root / "model-b", 1)
    models = ModelCache([str(first), str(second)], device="cpu", include_bundled=False)
    demo = app.build_app(models)
    demo.queue(max_size=8)
    demo.launch(
        prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, max_file_size=f"{app.MAX_UPLOAD_MB}mb", **app.STYLE
    )
    yield AppServer(demo.local_url.rstrip("/"), models, (str(first), str(second)))
    demo.close()
