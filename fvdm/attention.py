"""Scaled dot-product attention with the right CPU kernel, shared by both backbones.

When gradients are needed on the CPU in half precision (bf16 autocast), SDPA is pinned to its
math kernel: PyTorch's CPU flash-attention backward is ~20x slower than its forward there on
short sequences (16 frames, 64 patches) and took half of every training step; the math kernel
makes a bf16 step ~1.7x faster (`python -m benchmarks.training`). In float32, and for sampling,
the flash kernel is the faster one and stays.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

# The SDPA kernel for half-precision attention with gradients on the CPU; a module setting so
# that `benchmarks.training` can compare kernels.
CPU_TRAINING_KERNEL = SDPBackend.MATH
HALF_PRECISION = (torch.bfloat16, torch.float16)


def dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T / sqrt(d)) v for [N, heads, L, d] tensors."""
    cpu_training = q.device.type == "cpu" and q.dtype in HALF_PRECISION and torch.is_grad_enabled()
    with sdpa_kernel(CPU_TRAINING_KERNEL) if cpu_training else contextlib.nullcontext():
        return F.scaled_dot_product_attention(q, k, v)
