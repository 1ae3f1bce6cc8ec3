"""fvdm.precision: bf16 autocast only where this CPU runs it faster than float32."""

from __future__ import annotations

import math

import torch

from demo.models import ModelCache
from fvdm import precision


def test_bf16_is_chosen_only_when_it_is_clearly_faster():
    assert precision.autocast_for_speedup(2.0) is torch.bfloat16
    assert precision.autocast_for_speedup(precision.MIN_SPEEDUP) is torch.bfloat16
    assert precision.autocast_for_speedup(1.1) is None  # a close race keeps float32's precision
    assert precision.autocast_for_speedup(0.05) is None  # emulated bf16


def test_the_probe_is_measured_once_and_drives_the_choice():
    speedup = precision.cpu_bf16_speedup()
    assert math.isfinite(speedup) and speedup > 0
    hits = precision.cpu_bf16_speedup.cache_info().hits
    assert precision.cpu_bf16_speedup() == speedup
    assert precision.cpu_bf16_speedup.cache_info().hits == hits + 1
    assert precision.fastest_cpu_autocast() is precision.autocast_for_speedup(speedup)


def test_the_warning_names_a_slow_cpu_and_nothing_else():
    warning = precision.slow_bf16_warning("cpu")
    if precision.cpu_bf16_speedup() < 1:
        assert warning.startswith("warning: bf16 autocast runs") and "slower than float32" in warning
    else:
        assert warning is None
    assert precision.slow_bf16_warning("cuda") is None
    assert precision.slow_bf16_warning(torch.device("meta")) is None


def test_the_demo_on_the_cpu_samples_in_the_faster_precision():
    models = ModelCache(device="cpu")
    loaded = models.get(models.default)
    assert loaded.autocast_dtype is precision.fastest_cpu_autocast()
