"""FVDMScheduler against closed forms computed here, independently, in numpy float64."""

import numpy as np
import pytest
import torch

from fvdm.scheduler import FVDMScheduler

T = 1000


def alpha_bar_table(schedule: str = "linear") -> np.ndarray:
    if schedule == "linear":
        betas = np.linspace(1e-4, 0.02, T)
    elif schedule == "scaled_linear":
        betas = np.linspace(1e-4**0.5, 0.02**0.5, T) ** 2
    else:
        f = np.cos((np.arange(T + 1) / T + 0.008) / 1.008 * np.pi / 2) ** 2
        betas = np.minimum(1 - f[1:] / f[:-1], 0.999)
    return np.cumprod(1 - betas)


def abar_clean(table: np.ndarray, t: np.ndarray) -> np.ndarray:
    """alpha_bar at t, with t == 0 meaning clean (1.0) as the sampler's convention says."""
    return np.where(t == 0, 1.0, table[t])


def mixed_timesteps() -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of 2 clips x 5 frames with every kind of per-frame move in it."""
    t_from = torch.tensor([[999, 500, 40, 0, 300], [700, 700, 20, 250, 1]])
    t_to = torch.tensor([[960, 480, 0, 0, 300], [650, 700, 0, 10, 0]])
    return t_from, t_to


@pytest.mark.parametrize("schedule", ["linear", "scaled_linear", "cosine"])
def test_add_noise_matches_q_sample_per_frame(schedule):
    scheduler = FVDMScheduler(beta_schedule=schedule)
    x0, noise = torch.randn(2, 5, 3, 4, 4, dtype=torch.float64), torch.randn(2, 5, 3, 4, 4, dtype=torch.float64)
    t = torch.tensor([[0, 10, 500, 999, 250], [999, 1, 2, 3, 700]])
    got = scheduler.add_noise(x0, noise, t).numpy()
    a = alpha_bar_table(schedule)[t.numpy()][..., None, None, None]
    expected = np.sqrt(a) * x0.numpy() + np.sqrt(1 - a) * noise.numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_add_noise_broadcasts_a_per_clip_timestep():
    scheduler = FVDMScheduler()
    x0, noise = torch.randn(2, 4, 3, 4, 4), torch.randn(2, 4, 3, 4, 4)
    per_clip = scheduler.add_noise(x0, noise, torch.tensor([100, 900]))
    per_frame = scheduler.add_noise(x0, noise, torch.tensor([[100] * 4, [900] * 4]))
    assert torch.equal(per_clip, per_frame)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ddim_step_matches_closed_form(dtype):
    scheduler = FVDMScheduler()
    t_from, t_to = mixed_timesteps()
    x, eps = torch.randn(2, 5, 3, 4, 4, dtype=dtype), torch.randn(2, 5, 3, 4, 4, dtype=dtype)
    out = scheduler.step(eps, t_from, t_to, x, eta=0.0)
    assert out.prev_sample.dtype == dtype

    table = alpha_bar_table()
    a_from = abar_clean(table, t_from.numpy())[..., None, None, None]
    a_to = abar_clean(table, t_to.numpy())[..., None, None, None]
    xn, en = x.double().numpy(), eps.double().numpy()
    x0 = (xn - np.sqrt(1 - a_from) * en) / np.sqrt(a_from)
    expected = np.sqrt(a_to) * x0 + np.sqrt(1 - a_to) * en
    moving = (t_from != t_to).numpy()[..., None, None, None]
    expected = np.where(moving, expected, xn)
    tol = 1e-10 if dtype == torch.float64 else 2e-4
    np.testing.assert_allclose(out.prev_sample.double().numpy(), expected, rtol=tol, atol=tol)


def test_frames_that_do_not_move_are_bit_identical():
    scheduler = FVDMScheduler()
    t_from, t_to = mixed_timesteps()
    x = torch.randn(2, 5, 3, 4, 4)
    for sampler in ("ddim", "ddpm"):
        out = scheduler.step(torch.randn(2, 5, 3, 4, 4), t_from, t_to, x, eta=1.0, sampler=sampler,
                             generator=torch.Generator().manual_seed(0))
        still = t_from == t_to
        assert torch.equal(out.prev_sample[still], x[still])


def test_ddim_with_eta_adds_the_right_noise():
    scheduler = FVDMScheduler()
    t_from, t_to = torch.tensor([[999, 600]]), torch.tensor([[900, 300]])
    x, eps = torch.randn(1, 2, 3, 8, 8, dtype=torch.float64), torch.randn(1, 2, 3, 8, 8, dtype=torch.float64)
    eta = 0.7
    got = scheduler.step(eps, t_from, t_to, x, eta=eta, generator=torch.Generator().manual_seed(3)).prev_sample
    z = torch.randn(x.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64).numpy()

    table = alpha_bar_table()
    a_from = table[t_from.numpy()][..., None, None, None]
    a_to = table[t_to.numpy()][..., None, None, None]
    xn, en = x.numpy(), eps.numpy()
    x0 = (xn - np.sqrt(1 - a_from) * en) / np.sqrt(a_from)
    sigma = eta * np.sqrt((1 - a_to) / (1 - a_from) * (1 - a_from / a_to))
    expected = np.sqrt(a_to) * x0 + np.sqrt(1 - a_to - sigma**2) * en + sigma * z
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10, atol=1e-10)


def test_a_large_eta_re_noises_the_clean_estimate_to_the_target_level_and_no_further():
    scheduler = FVDMScheduler()
    t_from, t_to = torch.tensor([[999, 400]]), torch.tensor([[959, 360]])
    x, eps = torch.randn(1, 2, 3, 8, 8, dtype=torch.float64), torch.randn(1, 2, 3, 8, 8, dtype=torch.float64)

    def step(eta: float) -> torch.Tensor:
        return scheduler.step(eps, t_from, t_to, x, eta=eta, generator=torch.Generator().manual_seed(4)).prev_sample

    z = torch.randn(x.shape, generator=torch.Generator().manual_seed(4), dtype=torch.float64).numpy()
    table = alpha_bar_table()
    a_from = table[t_from.numpy()][..., None, None, None]
    a_to = table[t_to.numpy()][..., None, None, None]
    x0 = (x.numpy() - np.sqrt(1 - a_from) * eps.numpy()) / np.sqrt(a_from)
    # (the leftover direction term is the square root of a rounding error: about 1e-8)
    np.testing.assert_allclose(step(50.0).numpy(), np.sqrt(a_to) * x0 + np.sqrt(1 - a_to) * z, rtol=1e-7, atol=1e-7)
    torch.testing.assert_close(step(50.0), step(5.0))  # both past the cap of every frame (about 1.35 and 1.75)
    assert not torch.allclose(step(1.3), step(5.0))  # below the cap, eta still matters


def test_ddpm_posterior_matches_closed_form():
    """One-step jumps reproduce the textbook DDPM posterior mean and variance."""
    scheduler = FVDMScheduler()
    t_from = torch.tensor([[500, 20, 999, 1]])
    t_to = t_from - 1
    x, eps = torch.randn(1, 4, 3, 8, 8, dtype=torch.float64), torch.randn(1, 4, 3, 8, 8, dtype=torch.float64)
    got = scheduler.step(eps, t_from, t_to, x, sampler="ddpm", generator=torch.Generator().manual_seed(1)).prev_sample
    z = torch.randn(x.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64).numpy()

    betas = np.linspace(1e-4, 0.02, T)
    table = alpha_bar_table()
    t = t_from.numpy()[..., None, None, None]
    a_t, a_prev = table[t], np.where(t - 1 == 0, 1.0, table[t - 1])
    beta_t = 1 - a_t / a_prev  # equals betas[t] except where t - 1 == 0 stands for "clean"
    np.testing.assert_allclose(beta_t[0, 0], betas[500], rtol=1e-9)
    x0 = (x.numpy() - np.sqrt(1 - a_t) * eps.numpy()) / np.sqrt(a_t)
    mean = np.sqrt(a_prev) * beta_t / (1 - a_t) * x0 + np.sqrt(1 - beta_t) * (1 - a_prev) / (1 - a_t) * x.numpy()
    var = beta_t * (1 - a_prev) / (1 - a_t)
    np.testing.assert_allclose(got.numpy(), mean + np.sqrt(var) * z, rtol=1e-9, atol=1e-9)


def test_learned_range_variance_interpolates_in_log_space():
    scheduler = FVDMScheduler(variance_type="learned_range")
    t_from, t_to = torch.tensor([[600, 600]]), torch.tensor([[580, 580]])
    x, eps = torch.randn(1, 2, 3, 4, 4, dtype=torch.float64), torch.randn(1, 2, 3, 4, 4, dtype=torch.float64)
    v = torch.empty(1, 2, 3, 4, 4, dtype=torch.float64)
    v[:, 0], v[:, 1] = -1.0, 1.0  # frame 0: posterior variance, frame 1: the jump's beta
    output = torch.cat([eps, v], dim=2)
    got = scheduler.step(output, t_from, t_to, x, sampler="ddpm", generator=torch.Generator().manual_seed(2)).prev_sample
    z = torch.randn(x.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64).numpy()
    mean = scheduler.step(eps, t_from, t_to, x, sampler="ddim").pred_original_sample  # x0 estimate

    table = alpha_bar_table()
    a_t, a_prev = table[600], table[580]
    beta = 1 - a_t / a_prev
    x0 = mean.numpy()
    mu = np.sqrt(a_prev) * beta / (1 - a_t) * x0 + np.sqrt(1 - beta) * (1 - a_prev) / (1 - a_t) * x.numpy()
    std = np.array([np.sqrt(beta * (1 - a_prev) / (1 - a_t)), np.sqrt(beta)])[None, :, None, None, None]
    np.testing.assert_allclose(got.numpy(), mu + std * z, rtol=1e-9, atol=1e-9)


def test_v_prediction_recovers_x0_and_matches_target():
    scheduler = FVDMScheduler(prediction_type="v_prediction")
    x0, noise = torch.randn(1, 3, 3, 4, 4, dtype=torch.float64), torch.randn(1, 3, 3, 4, 4, dtype=torch.float64)
    t = torch.tensor([[999, 400, 30]])
    xt = scheduler.add_noise(x0, noise, t)
    v = scheduler.training_target(x0, noise, t)
    a = torch.from_numpy(alpha_bar_table()[t.numpy()])[..., None, None, None]
    torch.testing.assert_close(v, a.sqrt() * noise - (1 - a).sqrt() * x0)
    out = scheduler.step(v, t, torch.zeros_like(t), xt)  # a perfect v lands exactly on x0
    torch.testing.assert_close(out.prev_sample, x0, rtol=1e-9, atol=1e-9)


def test_step_to_zero_returns_clean_estimate_and_clip_sample_bounds_it():
    scheduler = FVDMScheduler(clip_sample=True)
    x = torch.randn(1, 2, 3, 4, 4) * 5
    out = scheduler.step(torch.zeros_like(x), torch.tensor([[20, 20]]), torch.tensor([[0, 0]]), x)
    assert out.prev_sample.abs().max() <= 1.0
    assert torch.equal(out.prev_sample, out.pred_original_sample)


def test_rising_noise_and_bad_shapes_are_rejected():
    scheduler = FVDMScheduler()
    x = torch.randn(1, 2, 3, 4, 4)
    with pytest.raises(ValueError, match="only stay or go down"):
        scheduler.step(x, torch.tensor([[10, 10]]), torch.tensor([[20, 0]]), x)
    with pytest.raises(ValueError, match="timesteps"):
        scheduler.step(x, torch.tensor([[10, 10, 10]]), torch.tensor([[0, 0, 0]]), x)
    with pytest.raises(ValueError, match="0..999"):
        scheduler.add_noise(x, x, torch.tensor([[1000, 0]]))


def test_the_config_sampler_is_the_default_step_and_a_call_can_override_it():
    x, eps = torch.randn(1, 2, 3, 4, 4), torch.randn(1, 2, 3, 4, 4)
    t_from, t_to = torch.tensor([[600, 600]]), torch.tensor([[400, 400]])

    def step(scheduler: FVDMScheduler, **options) -> torch.Tensor:
        return scheduler.step(eps, t_from, t_to, x, generator=torch.Generator().manual_seed(0), **options).prev_sample

    ddpm, ddim = FVDMScheduler(sampler="ddpm"), FVDMScheduler()
    assert ddim.config.sampler == "ddim"
    assert torch.equal(step(ddpm), step(ddim, sampler="ddpm"))
    assert torch.equal(step(ddim), step(ddpm, sampler="ddim"))
    assert not torch.allclose(step(ddpm), step(ddim))
    with pytest.raises(ValueError, match="sampler must be one of ddim, ddpm; got 'euler'"):
        FVDMScheduler(sampler="euler")
    with pytest.raises(ValueError, match="sampler must be one of"):
        step(ddim, sampler="euler")


def test_config_round_trip(tmp_path):
    scheduler = FVDMScheduler(beta_schedule="cosine", prediction_type="v_prediction", clip_sample=True, sampler="ddpm")
    scheduler.save_pretrained(tmp_path)
    loaded = FVDMScheduler.from_pretrained(tmp_path)
    assert loaded.config.beta_schedule == "cosine" and loaded.config.prediction_type == "v_prediction"
    assert loaded.config.sampler == "ddpm"
    assert torch.equal(loaded.alphas_cumprod, scheduler.alphas_cumprod)
