"""Frame-quality metrics against ground truth: PSNR and SSIM, on float images in [0, 1].

Both take image batches [..., C, H, W] (any leading dimensions, e.g. clips [N, F, 3, H, W]) and
return one value per image (shape [...]), so callers choose how to average: over the generated
frames of a clip, then over clips (see `training.evaluate`). `summarize` turns per-clip values
into the mean, standard deviation and 95% confidence interval that reports show.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from fvdm.errors import FVDMInputError

# Identical images have an infinite PSNR, which is not valid JSON and would swamp any mean. 100 dB
# is an MSE of 1e-10, far below the error of 8-bit quantization (about 59 dB), so the cap only
# ever changes exact (or float-rounding) copies, such as frames a method was given.
PSNR_CAP_DB = 100.0

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def _check_pair(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape != y.shape:
        raise FVDMInputError(f"images to compare must have the same shape; got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.dim() < 3:
        raise FVDMInputError(f"expected images [..., C, H, W]; got shape {tuple(x.shape)}")


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB (peak 1) of every image, capped at `PSNR_CAP_DB`."""
    _check_pair(x, y)
    mse = (x.double() - y.double()).square().mean(dim=(-3, -2, -1))
    return (10 * torch.log10(1 / mse)).clamp(max=PSNR_CAP_DB).float()


def gaussian_line(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> torch.Tensor:
    """Normalised 1D Gaussian weights [size] (float64); the 2D window is their outer product."""
    offsets = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    line = torch.exp(-offsets.square() / (2 * sigma**2))
    return line / line.sum()


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004) of every image: mean over channels and windows.

    Local statistics use an 11 x 11 Gaussian window (sigma 1.5) at every position where it fits
    inside the image (no padding), with C1 = (0.01 L)^2 and C2 = (0.03 L)^2 for the range L = 1.
    Images must be at least 11 x 11.
    """
    _check_pair(x, y)
    *lead, channels, height, width = x.shape
    if min(height, width) < SSIM_WINDOW:
        raise FVDMInputError(f"SSIM needs images of at least {SSIM_WINDOW} x {SSIM_WINDOW}; got {height} x {width}")
    planes_x = x.double().reshape(-1, 1, height, width)
    planes_y = y.double().reshape(-1, 1, height, width)
    line = gaussian_line()

    def local_mean(planes: torch.Tensor) -> torch.Tensor:  # the 2D window as two 1D passes: 22 products, not 121
        return F.conv2d(F.conv2d(planes, line.view(1, 1, -1, 1)), line.view(1, 1, 1, -1))

    mu_x, mu_y = local_mean(planes_x), local_mean(planes_y)
    var_x = local_mean(planes_x * planes_x) - mu_x.square()
    var_y = local_mean(planes_y * planes_y) - mu_y.square()
    cov = local_mean(planes_x * planes_y) - mu_x * mu_y
    c1, c2 = SSIM_K1**2, SSIM_K2**2
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x.square() + mu_y.square() + c1) * (var_x + var_y + c2))
    return index.mean(dim=(-3, -2, -1)).reshape(*lead, channels).mean(dim=-1).float()


def summarize(values: Sequence[float] | torch.Tensor) -> dict[str, float]:
    """Mean, sample standard deviation, the half-width of a normal-approximation 95% confidence
    interval of the mean (1.96 std / sqrt(n)), and n. One value has std and interval 0."""
    data = torch.as_tensor(values, dtype=torch.float64).flatten()
    if data.numel() == 0:
        raise FVDMInputError("cannot summarize an empty set of values")
    n = data.numel()
    std = float(data.std()) if n > 1 else 0.0
    return {"mean": float(data.mean()), "std": std, "ci95": 1.96 * std / math.sqrt(n), "n": n}
