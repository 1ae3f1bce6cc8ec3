"""Find and load a pipeline: the bundled models, a local folder, an official `.pt`, or a Hub id."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import torch

from fvdm.errors import FVDMInputError
from fvdm.official import pipeline_from_official_checkpoint
from fvdm.pipeline import FVDMPipeline

BUNDLED_DIR = Path(__file__).resolve().parent / "pretrained"
# Short name -> folder written by `FVDMPipeline.save_pretrained`, shipped inside the package.
BUNDLED_MODELS = {
    "fvdm": BUNDLED_DIR / "fvdm-synthetic",
    "baseline": BUNDLED_DIR / "baseline-synthetic",
}
OFFICIAL_SUFFIXES = (".pt", ".pth", ".ckpt")
# Written by `training.export` beside the pipeline: how the model was trained.
TRAINING_FACTS_FILE = "training.json"


def bundled_models() -> dict[str, Path]:
    """The bundled models present on disk, by short name."""
    return {name: path for name, path in BUNDLED_MODELS.items() if (path / "model_index.json").is_file()}


def load_pipeline(
    source: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    vae: str | os.PathLike | None = None,
):
    """Load an `FVDMPipeline`.

    source: None or "fvdm" (the bundled model), "baseline" (the bundled conventional model), a
    folder written by `save_pretrained`, an official FVDM `.pt` checkpoint (pass `vae` for
    latent-space checkpoints), or a Hugging Face Hub id ("owner/name"; honours HF_HUB_OFFLINE).
    device: default "cuda" when available, else "cpu". dtype: default float32 on CPU, float16 on CUDA.
    """
    folder_or_file = resolve_source(source)
    if folder_or_file.is_file():
        pipe = pipeline_from_official_checkpoint(folder_or_file, vae=vae)
    else:
        pipe = FVDMPipeline.from_pretrained(folder_or_file)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if dtype is None:
        dtype = torch.float16 if device.type == "cuda" else torch.float32
    pipe.to(device)
    if dtype != torch.float32:  # models load in float32; casting only when asked avoids a diffusers warning
        pipe.to(dtype=dtype)
    return pipe


def resolve_source(source: str | os.PathLike | None) -> Path:
    """A local folder with model_index.json, or an official checkpoint file, for any source."""
    if source is None or str(source) in BUNDLED_MODELS:
        name = "fvdm" if source is None else str(source)
        path = BUNDLED_MODELS[name]
        if not (path / "model_index.json").is_file():
            raise FVDMInputError(
                f"the bundled model '{name}' is not in {path}; train one with `python -m training.train` "
                "or pass a model folder, an official .pt checkpoint or a Hub id"
            )
        return path
    path = Path(source).expanduser()
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            raise FVDMInputError(f"{path} is a folder but holds no model_index.json; is it a saved FVDM pipeline?")
        return path
    if path.is_file():
        if path.suffix.lower() not in OFFICIAL_SUFFIXES:
            raise FVDMInputError(f"{path} is not a model: expected a folder or an official .pt checkpoint")
        return path
    if looks_like_hub_id(str(source)):
        return download_from_hub(str(source))
    raise FVDMInputError(f"no model at {source}: not a folder, a checkpoint file or a Hub id")


def default_conditioning(source: str | os.PathLike | None) -> str:
    """How to give frames to this model: "replacement" for a conventional model (trained with one
    shared timestep per clip, PTSS p = 0, and never with given frames), else "vectorized" (FVDM)."""
    folder = resolve_source(source)
    facts_file = folder / TRAINING_FACTS_FILE
    if folder.is_dir() and facts_file.is_file():
        try:
            ptss = json.loads(facts_file.read_text())["config"]["ptss"]
            p, given_p = float(ptss["p"]), float(ptss.get("given_p", 0.0))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise FVDMInputError(f"{facts_file} is damaged ({error}); re-export the model") from error
        return "replacement" if p == 0 and given_p == 0 else "vectorized"
    return "vectorized"


def looks_like_hub_id(text: str) -> bool:
    parts = text.split("/")
    return len(parts) == 2 and all(parts) and not text.startswith((".", "~")) and not text.endswith(OFFICIAL_SUFFIXES)


_download_lock = threading.Lock()


def download_from_hub(repo_id: str) -> Path:
    """Snapshot a Hub repo (cache first); offline without a cached copy is a plain error."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError, RepositoryNotFoundError

    offline = os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")
    try:
        with _download_lock:
            folder = snapshot_download(repo_id, local_files_only=offline)
    except LocalEntryNotFoundError as error:
        reason = "HF_HUB_OFFLINE is set" if offline else "the Hub could not be reached"
        raise FVDMInputError(f"cannot load {repo_id}: {reason} and it is not in the local cache") from error
    except (RepositoryNotFoundError, HFValidationError) as error:
        raise FVDMInputError(f"no model named {repo_id} on the Hugging Face Hub") from error
    path = Path(folder)
    if not (path / "model_index.json").is_file():
        raise FVDMInputError(f"{repo_id} is on the Hub but is not an FVDM pipeline (no model_index.json)")
    return path
