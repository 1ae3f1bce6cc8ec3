"""PSNR, SSIM, the per-clip summaries and FVD (with a small random TorchScript network in place of I3D)."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
import torch

from fvdm.errors import FVDMInputError
from training.fvd import I3D_SIZE, clip_features, frechet_distance, fvd, load_detector, sqrtm_psd
from training.metrics import PSNR_CAP_DB, psnr, ssim, summarize

# TorchScript is how I3D ships; torch deprecates making new TorchScript files, which the fakes here do.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")


def _images(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------------- PSNR


def test_psnr_of_identical_images_is_the_finite_cap():
    image = _images(2, 3, 16, 16)
    assert torch.equal(psnr(image, image), torch.full((2,), PSNR_CAP_DB))


def test_psnr_of_a_constant_offset():
    image = _images(3, 8, 8) * 0.8
    assert psnr(image, image + 0.1).item() == pytest.approx(20.0, abs=1e-4)  # MSE 0.01 -> 20 dB


def test_psnr_matches_an_independent_computation_per_image():
    x, y = _images(2, 4, 3, 12, 12, seed=1), _images(2, 4, 3, 12, 12, seed=2)
    mse = ((x.numpy().astype(np.float64) - y.numpy()) ** 2).reshape(2, 4, -1).mean(axis=-1)
    np.testing.assert_allclose(psnr(x, y).numpy(), 10 * np.log10(1 / mse), rtol=1e-5)


def test_psnr_rejects_images_of_different_shapes():
    with pytest.raises(FVDMInputError, match="same shape"):
        psnr(torch.zeros(3, 8, 8), torch.zeros(3, 8, 9))


# ----------------------------------------------------------------------------- SSIM


def _slow_ssim(x: np.ndarray, y: np.ndarray) -> float:
    """SSIM written out window by window: [C, H, W] float64 images in [0, 1]."""
    offsets = np.arange(11) - 5.0
    gauss = np.exp(-(offsets**2) / (2 * 1.5**2))
    weights = np.outer(gauss, gauss) / np.outer(gauss, gauss).sum()
    c1, c2 = 0.01**2, 0.03**2
    per_channel = []
    for a, b in zip(x, y):
        values = []
        for i in range(a.shape[0] - 10):
            for j in range(a.shape[1] - 10):
                pa, pb = a[i : i + 11, j : j + 11], b[i : i + 11, j : j + 11]
                mu_a, mu_b = (weights * pa).sum(), (weights * pb).sum()
                var_a = (weights * (pa - mu_a) ** 2).sum()
                var_b = (weights * (pb - mu_b) ** 2).sum()
                cov = (weights * (pa - mu_a) * (pb - mu_b)).sum()
                values.append(((2 * mu_a * mu_b + c1) * (2 * cov + c2))
                              / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)))
        per_channel.append(np.mean(values))
    return float(np.mean(per_channel))


def test_ssim_matches_a_direct_window_by_window_reference():
    x = _images(3, 15, 14, seed=3)
    y = (x + 0.6 * (_images(3, 15, 14, seed=4) - 0.5)).clamp(0, 1)
    expected = _slow_ssim(x.double().numpy(), y.double().numpy())
    assert 0.2 < expected < 0.95  # a pair whose SSIM says something
    assert ssim(x, y).item() == pytest.approx(expected, abs=1e-5)


def test_ssim_of_two_flat_images_has_the_closed_form():
    a, b = 0.3, 0.6
    x, y = torch.full((3, 16, 16), a), torch.full((3, 16, 16), b)
    c1 = 0.01**2
    assert ssim(x, y).item() == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-5)


def test_ssim_is_one_for_identical_images_and_symmetric():
    x, y = _images(2, 3, 16, 16, seed=5), _images(2, 3, 16, 16, seed=6)
    torch.testing.assert_close(ssim(x, x), torch.ones(2))
    torch.testing.assert_close(ssim(x, y), ssim(y, x))
    assert (ssim(x, y) < 0.5).all()


def test_ssim_falls_as_noise_grows():
    clean = torch.linspace(0, 1, 24)[None, None, :].expand(3, 24, 24).contiguous()
    noise = torch.randn(3, 24, 24, generator=torch.Generator().manual_seed(7))
    scores = [ssim(clean, (clean + level * noise).clamp(0, 1)).item() for level in (0.02, 0.1, 0.3)]
    assert 1 > scores[0] > scores[1] > scores[2]


def test_ssim_keeps_leading_dimensions_and_rejects_small_images():
    assert ssim(_images(2, 5, 3, 11, 11), _images(2, 5, 3, 11, 11, seed=1)).shape == (2, 5)
    with pytest.raises(FVDMInputError, match="at least 11 x 11"):
        ssim(torch.zeros(3, 10, 16), torch.zeros(3, 10, 16))


# ----------------------------------------------------------------------------- summaries


def test_summarize_reports_mean_sample_std_and_a_95_percent_interval():
    values = [1.0, 2.0, 4.0, 7.0]
    stats = summarize(values)
    std = statistics.stdev(values)
    assert stats == pytest.approx({"mean": 3.5, "std": std, "ci95": 1.96 * std / 2, "n": 4})
    assert summarize([5.0]) == {"mean": 5.0, "std": 0.0, "ci95": 0.0, "n": 1}
    with pytest.raises(FVDMInputError):
        summarize([])


# ----------------------------------------------------------------------------- FVD


class _TinyI3D(torch.nn.Module):
    """Stands in for i3d_torchscript.pt: same call signature, and it checks the documented input."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv3d(3, 6, kernel_size=(4, 16, 16), stride=(4, 16, 16))

    def forward(self, x: torch.Tensor, rescale: bool = True, resize: bool = True, return_features: bool = False):
        torch._assert(x.shape[1] == 3 and x.shape[3] == 224 and x.shape[4] == 224, "expected [B, 3, T, 224, 224]")
        torch._assert(bool(x.min() >= -1) and bool(x.max() <= 1), "expected values in [-1, 1]")
        torch._assert(return_features and not rescale and not resize, "expected the FVD keyword arguments")
        return torch.tanh(self.conv(x)).mean(dim=(2, 3, 4)) * 10


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("i3d") / "tiny_i3d.pt"
    torch.jit.script(_TinyI3D()).save(str(path))
    return load_detector(path)


def _clips(count: int, seed: int) -> torch.Tensor:
    return _images(count, 8, 3, 16, 16, seed=seed)


def test_clip_features_call_the_network_as_i3d_expects(detector):
    features = clip_features(detector, _clips(5, 0), batch_size=2)
    assert features.shape == (5, 6) and features.dtype == torch.float64


def test_a_plain_forward_x_network_works_too(tmp_path):
    path = tmp_path / "plain.pt"
    net = torch.nn.Sequential(torch.nn.Conv3d(3, 2, 8, stride=8), torch.nn.Flatten())
    torch.jit.trace(net, torch.zeros(1, 3, 8, I3D_SIZE, I3D_SIZE)).save(str(path))
    assert clip_features(load_detector(path), _clips(2, 0)).shape[0] == 2


def test_fvd_of_a_set_with_itself_is_zero_and_fvd_is_symmetric(detector):
    a, b = _clips(12, 1), _clips(12, 2).square()
    assert fvd(detector, a, a) == pytest.approx(0.0, abs=1e-6)
    assert fvd(detector, a, b) > 0.01
    assert fvd(detector, a, b) == pytest.approx(fvd(detector, b, a), rel=1e-6)


def test_fvd_grows_as_the_clips_diverge(detector):
    real = _clips(16, 3)
    noise = torch.randn(real.shape, generator=torch.Generator().manual_seed(4))
    distances = [fvd(detector, real, (real + level * noise).clamp(0, 1)) for level in (0.05, 0.2, 0.6)]
    assert 0 < distances[0] < distances[1] < distances[2]


def test_frechet_distance_has_the_closed_form_for_a_scaled_and_shifted_set():
    # y = 2x + 1 has mean 2 mu + 1 and covariance 4 S, so tr((S 4S)^(1/2)) = 2 tr(S) and the distance
    # is |mu + 1|^2 + (1 - 2)^2 tr(S).
    x = torch.randn(50, 4, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    expected = (x.mean(0) + 1).square().sum() + torch.cov(x.T).trace()
    assert frechet_distance(x, 2 * x + 1) == pytest.approx(float(expected), rel=1e-9)


def test_frechet_distance_matches_numpy_for_covariances_that_do_not_commute():
    generator = torch.Generator().manual_seed(8)
    x = torch.randn(40, 3, generator=generator, dtype=torch.float64)
    y = torch.randn(30, 3, generator=generator, dtype=torch.float64) @ torch.tensor([[1.0, 0.5, 0], [0, 1, 0], [0.3, 0, 2]]).double()
    cov_x, cov_y = np.cov(x.numpy(), rowvar=False), np.cov(y.numpy(), rowvar=False)
    trace_root = np.sqrt(np.linalg.eigvals(cov_x @ cov_y).real).sum()  # eigenvalues of S_x S_y are >= 0
    expected = ((x.numpy().mean(0) - y.numpy().mean(0)) ** 2).sum() + np.trace(cov_x) + np.trace(cov_y) - 2 * trace_root
    assert frechet_distance(x, y) == pytest.approx(expected, rel=1e-9)


def test_sqrtm_psd_squares_back():
    m = torch.randn(6, 3, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    psd = m @ m.T  # rank 3: zero eigenvalues that rounding may make slightly negative
    root = sqrtm_psd(psd)
    torch.testing.assert_close(root @ root, psd)
    torch.testing.assert_close(root, root.T)


def test_bad_detector_files_and_too_few_clips_are_input_errors(tmp_path, detector):
    with pytest.raises(FVDMInputError, match="does not exist"):
        load_detector(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a network")
    with pytest.raises(FVDMInputError, match="not a TorchScript"):
        load_detector(junk)
    with pytest.raises(FVDMInputError, match="at least 2 clips"):
        fvd(detector, _clips(1, 0), _clips(3, 1))
    assert math.isfinite(fvd(detector, _clips(2, 0), _clips(3, 1)))
