"""The pipelines behind the model picker: each loaded once, on first use, and shared."""

from __future__ import annotations

import os
import threading
from collections import Counter
from dataclasses import dataclass

import torch

from fvdm import FVDMPipeline, load_pipeline
from fvdm.errors import FVDMInputError
from fvdm.loading import bundled_models, default_conditioning
from fvdm.precision import fastest_cpu_autocast

# What the picker calls the bundled models.
BUNDLED_LABELS = {"fvdm": "FVDM (bundled)", "baseline": "Conventional baseline (bundled)"}


@dataclass(frozen=True)
class LoadedModel:
    pipe: FVDMPipeline
    conditioning: str  # "vectorized" for FVDM models, "replacement" for conventional ones
    autocast_dtype: torch.dtype | None  # bf16 on a CPU where it is faster (fvdm.precision), else None


def pick_device() -> str:
    """CUDA when present (and on ZeroGPU, where `spaces` provides it inside GPU calls), else CPU."""
    if os.environ.get("SPACES_ZERO_GPU") or torch.cuda.is_available():
        return "cuda"
    return "cpu"


class ModelCache:
    """Model choices by label; `get` loads a pipeline the first time and returns the same one after.

    A lock makes concurrent first requests load once. `load_counts` records loads per label (tests
    use it to prove that pipelines are reused).
    """

    def __init__(
        self, extra_sources: list[str] = (), device: str | None = None, allow_local_paths: bool = False,
        include_bundled: bool = True,
    ):
        self.device = device or pick_device()
        self.allow_local_paths = allow_local_paths
        bundled = bundled_models() if include_bundled else {}
        self.sources: dict[str, str] = {BUNDLED_LABELS[name]: name for name in bundled}
        for source in extra_sources:
            self.sources[source] = source
        self._loaded: dict[str, LoadedModel] = {}
        self._lock = threading.Lock()
        self.load_counts: Counter[str] = Counter()

    @property
    def labels(self) -> list[str]:
        return list(self.sources)

    @property
    def default(self) -> str:
        if not self.sources:
            raise FVDMInputError("no model to serve: the bundled models are missing and no --model was given")
        return self.labels[0]

    def get(self, label: str) -> LoadedModel:
        source = self._source(label)
        with self._lock:
            if label not in self._loaded:
                self._loaded[label] = self._load(source)
                self.load_counts[label] += 1
            return self._loaded[label]

    def _source(self, label: str) -> str:
        if label in self.sources:
            return self.sources[label]
        if self.allow_local_paths and label:
            self.sources[label] = label  # a folder, .pt or Hub id typed by the (trusted) user
            return label
        raise FVDMInputError(f"Unknown model {label!r}; pick one of: {', '.join(self.labels)}.")

    def _load(self, source: str) -> LoadedModel:
        if self.device == "cuda":
            pipe = load_pipeline(source, device="cuda", dtype=torch.float16)
            autocast = None
        else:
            pipe = load_pipeline(source, device="cpu")
            autocast = fastest_cpu_autocast()
        pipe.set_progress_bar_config(disable=False, leave=False)
        return LoadedModel(pipe, default_conditioning(source), autocast)
