"""Fréchet Video Distance (FVD) with an I3D network that the user provides as a TorchScript file.

Nothing is downloaded. The usual file is `i3d_torchscript.pt` from the StyleGAN-V / "fvd-comparison"
projects (an I3D trained on Kinetics-400). It is called as

    detector(x, rescale=False, resize=False, return_features=True) -> [B, 400]

with x a float tensor [B, 3, T, 224, 224] holding RGB values in [-1, 1] (T = 16 frames is the usual
choice). `clip_features` prepares clips exactly that way (bilinear resize of every frame to 224 x 224,
[0, 1] -> [-1, 1]) and passes those keyword arguments only to networks whose `forward` declares
them, so any TorchScript network `forward(x) -> [B, ...]` works too (its output is flattened to
one feature vector per clip).

FVD is the Fréchet distance between Gaussians fitted to the features of two clip sets:
    |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2)).
S_a S_b is not symmetric, so the trace of its square root is taken as tr((R S_b R)^(1/2)) with
R = S_a^(1/2): the symmetric positive semi-definite R S_b R has the same eigenvalues as S_a S_b,
and both square roots come from `torch.linalg.eigh`. With few clips (fewer than the feature
dimension) the covariances are rank-deficient and FVD is biased upwards; compare methods on the
same number of clips.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from fvdm.errors import FVDMInputError

I3D_SIZE = 224
# Ask the StyleGAN-V I3D for its raw logits (features before the softmax) and tell it the input is
# already resized and scaled.
I3D_KWARGS = {"rescale": False, "resize": False, "return_features": True}


def load_detector(path: str | os.PathLike, device: str | torch.device = "cpu") -> torch.jit.ScriptModule:
    """Load a TorchScript feature network (e.g. i3d_torchscript.pt) for evaluation."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise FVDMInputError(f"the I3D TorchScript file {file} does not exist (it is never downloaded; pass a local copy)")
    try:
        with warnings.catch_warnings():  # TorchScript is deprecated, but it is the format I3D ships in
            warnings.filterwarnings("ignore", message="`torch.jit", category=DeprecationWarning)
            detector = torch.jit.load(str(file), map_location=device)
    except (RuntimeError, ValueError) as error:
        raise FVDMInputError(f"{file} is not a TorchScript network: {' '.join(str(error).split())[:200]}") from error
    return detector.eval()


def to_detector_input(clips: torch.Tensor) -> torch.Tensor:
    """Clips [N, F, 3, H, W] in [0, 1] -> [N, 3, F, 224, 224] in [-1, 1]."""
    n, frames = clips.shape[:2]
    resized = F.interpolate(clips.flatten(0, 1).float(), size=(I3D_SIZE, I3D_SIZE), mode="bilinear", align_corners=False)
    video = resized.view(n, frames, 3, I3D_SIZE, I3D_SIZE).permute(0, 2, 1, 3, 4)
    return (video * 2 - 1).contiguous()


def _detector_kwargs(detector: torch.jit.ScriptModule) -> dict[str, bool]:
    """The I3D keyword arguments that this network's forward accepts."""
    accepted = {argument.name for argument in detector.forward.schema.arguments}
    return {name: value for name, value in I3D_KWARGS.items() if name in accepted}


@torch.no_grad()
def clip_features(detector: torch.jit.ScriptModule, clips: torch.Tensor, batch_size: int = 8) -> torch.Tensor:
    """Features [N, D] (float64) of clips [N, F, 3, H, W] in [0, 1], `batch_size` clips at a time."""
    kwargs = _detector_kwargs(detector)
    device = next(detector.parameters(), torch.empty(0)).device
    outputs = [
        detector(to_detector_input(batch).to(device), **kwargs).flatten(1).double().cpu()
        for batch in clips.split(batch_size)
    ]
    return torch.cat(outputs)


def sqrtm_psd(matrix: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric positive semi-definite matrix; eigenvalues that rounding
    pushed below zero count as zero."""
    symmetric = (matrix + matrix.T) / 2
    eigenvalues, eigenvectors = torch.linalg.eigh(symmetric)
    return (eigenvectors * eigenvalues.clamp(min=0).sqrt()) @ eigenvectors.T


def _gaussian(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if features.dim() != 2 or features.shape[0] < 2:
        raise FVDMInputError(f"FVD needs features [N, D] of at least 2 clips; got shape {tuple(features.shape)}")
    return features.mean(dim=0), torch.cov(features.T).reshape(features.shape[1], features.shape[1])


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets [N, D] and [M, D] (see the
    module docstring); never below 0 (rounding could make a distance of two equal sets -1e-12)."""
    mean_a, cov_a = _gaussian(features_a.double())
    mean_b, cov_b = _gaussian(features_b.double())
    if mean_a.shape != mean_b.shape:
        raise FVDMInputError(f"feature sizes differ: {mean_a.numel()} and {mean_b.numel()}")
    root_a = sqrtm_psd(cov_a)
    trace_root = sqrtm_psd(root_a @ cov_b @ root_a).trace()
    distance = (mean_a - mean_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * trace_root
    return max(float(distance), 0.0)


def fvd(detector: torch.jit.ScriptModule, clips_a: torch.Tensor, clips_b: torch.Tensor, batch_size: int = 8) -> float:
    """FVD between two sets of clips [N, F, 3, H, W] in [0, 1]."""
    return frechet_distance(clip_features(detector, clips_a, batch_size), clip_features(detector, clips_b, batch_size))
