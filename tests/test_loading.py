"""fvdm.loading: every kind of model source, and a plain FVDMInputError for every bad one."""

from __future__ import annotations

import json

import huggingface_hub.constants
import pytest
import torch
from helpers import WINDOW, official_state_dict, tiny_vae

import fvdm.loading
from fvdm import FVDMInputError, FVDMPipeline, bundled_models, load_pipeline
from fvdm.official import pipeline_from_official_checkpoint

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def checkpoint(tmp_path):
    """A pixel-space official checkpoint, saved as the trainer does (EMA weights, compile prefix)."""
    path = tmp_path / "0100000.pt"
    torch.save({"ema": {"_orig_mod." + k: v for k, v in official_state_dict().items()}}, path)
    return path


def test_folder(model_dir):
    pipe = load_pipeline(model_dir, device="cpu")
    assert isinstance(pipe, FVDMPipeline) and pipe.vae is None
    assert pipe.transformer.dtype == torch.float32 and pipe.transformer.device.type == "cpu"
    assert (pipe.num_frames, pipe.resolution) == (WINDOW, 16)


def test_folder_in_another_dtype(model_dir):
    assert load_pipeline(model_dir, device="cpu", dtype=torch.bfloat16).transformer.dtype == torch.bfloat16


def test_official_pixel_checkpoint(checkpoint):
    pipe = load_pipeline(checkpoint, device="cpu")
    state = official_state_dict()
    assert torch.equal(pipe.transformer.x_embedder.proj.weight, state["x_embedder.proj.weight"])
    assert pipe.vae is None and (pipe.num_frames, pipe.resolution, pipe.num_classes) == (4, 8, 3)
    assert pipe.scheduler.config.variance_type == "learned_range" and pipe.scheduler.config.clip_sample


def test_official_latent_checkpoint_needs_its_vae(tmp_path):
    path = tmp_path / "latent.pt"
    torch.save({"ema": official_state_dict(channels=4)}, path)
    with pytest.raises(FVDMInputError, match="latent space .*--vae"):
        load_pipeline(path, device="cpu")
    tiny_vae().save_pretrained(tmp_path / "vae")
    pipe = load_pipeline(path, device="cpu", vae=tmp_path / "vae")
    assert pipe.vae is not None and pipe.resolution == 16 and not pipe.scheduler.config.clip_sample
    with pytest.raises(FVDMInputError, match="cannot load the VAE"):
        load_pipeline(path, device="cpu", vae=tmp_path)  # a folder without a VAE in it


def test_official_heads_must_divide_the_width(checkpoint):
    with pytest.raises(FVDMInputError, match="3 attention heads do not divide the width 32"):
        pipeline_from_official_checkpoint(checkpoint, num_heads=3)
    assert pipeline_from_official_checkpoint(checkpoint, num_heads=4).transformer.config.num_heads == 4


def test_hub_id_offline_without_a_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))  # read at import
    with pytest.raises(FVDMInputError, match="(?i)offline"):
        load_pipeline("someone/some-fvdm-model", device="cpu")


def test_folder_without_model_index(tmp_path):
    with pytest.raises(FVDMInputError, match="no model_index.json"):
        load_pipeline(tmp_path, device="cpu")


def test_missing_path(tmp_path):
    with pytest.raises(FVDMInputError, match="no model at"):
        load_pipeline(tmp_path / "not" / "there", device="cpu")


def test_file_that_is_not_a_checkpoint(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(FVDMInputError, match="not a model"):
        load_pipeline(tmp_path / "notes.txt", device="cpu")
    (tmp_path / "broken.pt").write_bytes(b"not a zip archive")
    with pytest.raises(FVDMInputError, match="cannot read"):
        load_pipeline(tmp_path / "broken.pt", device="cpu")


def test_bundled_models_absent_and_present(model_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(fvdm.loading, "BUNDLED_MODELS", {"fvdm": tmp_path / "absent", "baseline": model_dir})
    assert bundled_models() == {"baseline": model_dir}
    for source in (None, "fvdm"):
        with pytest.raises(FVDMInputError, match=r"bundled model 'fvdm' is not in .*train one"):
            load_pipeline(source, device="cpu")
    assert load_pipeline("baseline", device="cpu").num_frames == WINDOW
    monkeypatch.setitem(fvdm.loading.BUNDLED_MODELS, "fvdm", model_dir)
    assert load_pipeline(device="cpu").num_frames == WINDOW


@pytest.mark.parametrize("ptss, expected", [
    ({"p": 0.0}, "replacement"),  # a conventional model, exported before given frames existed
    ({"p": 0.0, "given_p": 0.0}, "replacement"),
    ({"p": 0.2, "given_p": 0.0}, "vectorized"),
    ({"p": 0.0, "given_p": 0.3}, "vectorized"),  # trained with given frames at t = 0: holds them itself
])
def test_default_conditioning_follows_the_training_facts(tmp_path, ptss, expected):
    (tmp_path / "model_index.json").write_text("{}")
    (tmp_path / fvdm.loading.TRAINING_FACTS_FILE).write_text(json.dumps({"config": {"ptss": ptss}}))
    assert fvdm.loading.default_conditioning(tmp_path) == expected


def test_default_conditioning_of_damaged_training_facts(tmp_path):
    (tmp_path / "model_index.json").write_text("{}")
    (tmp_path / fvdm.loading.TRAINING_FACTS_FILE).write_text(json.dumps({"config": {"ptss": [0.2]}}))
    with pytest.raises(FVDMInputError, match="is damaged"):
        fvdm.loading.default_conditioning(tmp_path)
