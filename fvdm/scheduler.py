"""FVDMScheduler: DDPM/DDIM arithmetic where every frame has its own timestep.

Stock diffusers schedulers step one scalar timestep with a fixed stride. Here `step` maps a whole
timestep matrix t_from [B, F] to t_to [B, F] in one vectorized update, so any per-frame plan
(`fvdm.schedules`) runs with one call per sampling iteration.

Conventions:
- timesteps are integers 0..T-1 indexing the training schedule; `add_noise` follows DDPM's
  q(x_t | x_0) exactly, as training does.
- in `step`, `t_to == 0` means "clean": the result is the model's estimate of x_0 (diffusers calls
  this `set_alpha_to_one`). Every generated frame of a plan ends at 0.
- frames with t_from == t_to are returned unchanged, bit for bit: that is how given frames and
  frames that wait for their turn are held.
- coefficients are computed in float64 and applied in the sample's dtype (float32 or float64;
  half-precision samples are stepped in float32 and cast back).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.schedulers.scheduling_utils import SchedulerMixin
from diffusers.utils import BaseOutput

from fvdm.errors import FVDMInputError
from fvdm.timesteps import expand_timesteps

BETA_SCHEDULES = ("linear", "scaled_linear", "cosine")
PREDICTION_TYPES = ("epsilon", "v_prediction")
VARIANCE_TYPES = ("fixed_small", "learned_range")
SAMPLERS = ("ddim", "ddpm")  # the deterministic-by-default DDIM step and the ancestral DDPM step


def check_sampler(sampler: str) -> str:
    """The sampler name, if it is one of `SAMPLERS` (a name comes from users: configs, CLI, API)."""
    if sampler not in SAMPLERS:
        raise FVDMInputError(f"sampler must be one of {', '.join(SAMPLERS)}; got {sampler!r}")
    return sampler


@dataclass
class FVDMSchedulerOutput(BaseOutput):
    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor


def make_betas(schedule: str, num_train_timesteps: int, beta_start: float, beta_end: float) -> torch.Tensor:
    """Noise variances beta_t, float64 [T]."""
    steps = num_train_timesteps
    if schedule == "linear":
        return torch.linspace(beta_start, beta_end, steps, dtype=torch.float64)
    if schedule == "scaled_linear":
        return torch.linspace(beta_start**0.5, beta_end**0.5, steps, dtype=torch.float64) ** 2
    if schedule == "cosine":  # Nichol & Dhariwal: alpha_bar(s) = cos^2((s + 0.008) / 1.008 * pi / 2)
        s = torch.arange(steps + 1, dtype=torch.float64) / steps
        alpha_bar = torch.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2
        return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=0.999)
    raise ValueError(f"beta_schedule must be one of {BETA_SCHEDULES}; got {schedule!r}")


def _per_frame(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """[B, F] coefficients -> [B, F, 1, 1, ...] matching a sample of shape [B, F, ...]."""
    return values.reshape(*values.shape, *([1] * (like.dim() - values.dim())))


class FVDMScheduler(SchedulerMixin, ConfigMixin):
    """Vectorized-timestep DDPM (ancestral) and DDIM (eta) sampling, epsilon or v prediction.

    `sampler` is the step a model samples with unless the caller names one: "ddim" (the paper's)
    or "ddpm". It belongs to the model's config because which one is better depends on the model:
    ancestral noise corrects a small model's errors (the bundled models score higher with DDPM
    on every task), and DDIM's determinism suits a well-trained one."""

    order = 1

    @register_to_config
    def __init__(
        self,
        num_train_timesteps: int = 1000,
        beta_start: float = 1e-4,
        beta_end: float = 0.02,
        beta_schedule: str = "linear",
        prediction_type: str = "epsilon",
        variance_type: str = "fixed_small",
        clip_sample: bool = False,
        clip_sample_range: float = 1.0,
        sampler: str = "ddim",
    ):
        if prediction_type not in PREDICTION_TYPES:
            raise ValueError(f"prediction_type must be one of {PREDICTION_TYPES}; got {prediction_type!r}")
        if variance_type not in VARIANCE_TYPES:
            raise ValueError(f"variance_type must be one of {VARIANCE_TYPES}; got {variance_type!r}")
        check_sampler(sampler)
        self.betas = make_betas(beta_schedule, num_train_timesteps, beta_start, beta_end)
        self.alphas_cumprod = torch.cumprod(1 - self.betas, dim=0)

    # -- training side -------------------------------------------------------------------------

    def _alpha_bar(self, t: torch.Tensor, clean_at_zero: bool) -> torch.Tensor:
        """alpha_bar at integer timesteps t (any shape), float64; optionally 1 where t == 0."""
        t = torch.as_tensor(t).long()
        if (t < 0).any() or (t >= self.config.num_train_timesteps).any():
            raise ValueError(f"timesteps must lie in 0..{self.config.num_train_timesteps - 1}")
        alpha_bar = self.alphas_cumprod.to(t.device)[t]
        if clean_at_zero:
            alpha_bar = torch.where(t == 0, torch.ones_like(alpha_bar), alpha_bar)
        return alpha_bar

    def add_noise(self, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """q(x_t | x_0) per frame: sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise, with t [B, F] (or [B])."""
        timesteps = self._broadcast_t(timesteps, original_samples)
        alpha_bar = _per_frame(self._alpha_bar(timesteps, clean_at_zero=False), original_samples)
        dtype = _compute_dtype(original_samples)
        x0, eps = original_samples.to(dtype), noise.to(dtype)
        noisy = alpha_bar.sqrt().to(dtype) * x0 + (1 - alpha_bar).sqrt().to(dtype) * eps
        return noisy.to(original_samples.dtype)

    def get_velocity(self, sample: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """The v-prediction target sqrt(abar) eps - sqrt(1 - abar) x_0 for clean `sample`."""
        timesteps = self._broadcast_t(timesteps, sample)
        alpha_bar = _per_frame(self._alpha_bar(timesteps, clean_at_zero=False), sample).to(_compute_dtype(sample))
        return (alpha_bar.sqrt() * noise - (1 - alpha_bar).sqrt() * sample).to(sample.dtype)

    def training_target(self, sample: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """What the model should output for this prediction type."""
        if self.config.prediction_type == "epsilon":
            return noise
        return self.get_velocity(sample, noise, timesteps)

    # -- sampling side -------------------------------------------------------------------------

    def step(
        self,
        model_output: torch.Tensor,
        t_from: torch.Tensor,
        t_to: torch.Tensor,
        sample: torch.Tensor,
        eta: float = 0.0,
        sampler: str | None = None,
        generator: torch.Generator | None = None,
        return_dict: bool = True,
    ) -> FVDMSchedulerOutput | tuple[torch.Tensor, torch.Tensor]:
        """Move every frame from t_from [B, F] to t_to [B, F] (t_to <= t_from elementwise).

        `model_output` is [B, F, C, ...] (the prediction) or [B, F, 2C, ...] (prediction, then the
        learned variance value in [-1, 1] when `variance_type="learned_range"`). `sampler="ddim"`
        uses eta (0 = deterministic); `sampler="ddpm"` takes an ancestral step of the respaced
        DDPM posterior; None takes the config's. Returns the new sample and the x_0 estimate.
        """
        sampler = check_sampler(sampler or self.config.sampler)
        t_from = self._broadcast_t(t_from, sample)
        t_to = self._broadcast_t(t_to, sample)
        if (t_to > t_from).any():
            raise ValueError("a frame's timestep may only stay or go down during sampling")
        dtype = _compute_dtype(sample)
        x = sample.to(dtype)
        channels = sample.shape[2]
        prediction = model_output[:, :, :channels].to(dtype)
        variance_value = model_output[:, :, channels:].to(dtype) if model_output.shape[2] > channels else None

        abar_from = self._alpha_bar(t_from, clean_at_zero=True)
        abar_to = self._alpha_bar(t_to, clean_at_zero=True)
        pred_x0, pred_eps = self._split_prediction(prediction, x, _per_frame(abar_from, x))

        if sampler == "ddim":
            new = self._ddim(x, pred_x0, pred_eps, abar_from, abar_to, eta, generator)
        else:
            new = self._ddpm(x, pred_x0, abar_from, abar_to, variance_value, generator)

        moving = _per_frame(t_from != t_to, x)
        prev_sample = torch.where(moving, new.to(sample.dtype), sample)
        pred_original_sample = torch.where(moving, pred_x0.to(sample.dtype), sample)
        if not return_dict:
            return prev_sample, pred_original_sample
        return FVDMSchedulerOutput(prev_sample=prev_sample, pred_original_sample=pred_original_sample)

    def _split_prediction(self, prediction: torch.Tensor, x: torch.Tensor, abar: torch.Tensor):
        """(x_0 estimate, noise estimate) from the model's prediction at alpha_bar `abar`."""
        dtype = x.dtype
        a, s = abar.sqrt().to(dtype), (1 - abar).sqrt().to(dtype)
        if self.config.prediction_type == "epsilon":
            pred_eps = prediction
            pred_x0 = (x - s * pred_eps) / a
        else:
            pred_x0 = a * x - s * prediction
            pred_eps = s * x + a * prediction
        if self.config.clip_sample:
            limit = self.config.clip_sample_range
            pred_x0 = pred_x0.clamp(-limit, limit)
            pred_eps = (x - a * pred_x0) / s.clamp(min=1e-12)
        return pred_x0, pred_eps

    def _ddim(self, x, pred_x0, pred_eps, abar_from, abar_to, eta, generator):
        """DDIM step with noise sigma = eta * sigma_DDPM, capped at the target level's whole noise
        sqrt(1 - abar_to): past the cap (eta above about 1.2-1.7 at 25 steps) the step re-noises the
        clean estimate completely, and a larger eta changes nothing rather than overshooting the level."""
        sigma = eta * ((1 - abar_to) / (1 - abar_from).clamp(min=1e-12) * (1 - abar_from / abar_to)).clamp(min=0).sqrt()
        sigma = torch.minimum(sigma, (1 - abar_to).sqrt())
        direction = (1 - abar_to - sigma**2).clamp(min=0).sqrt()
        dtype = x.dtype
        new = _per_frame(abar_to.sqrt(), x).to(dtype) * pred_x0 + _per_frame(direction, x).to(dtype) * pred_eps
        if eta > 0:
            new = new + _per_frame(sigma, x).to(dtype) * _noise_like(x, generator)
        return new

    def _ddpm(self, x, pred_x0, abar_from, abar_to, variance_value, generator):
        """Ancestral step of q(x_to | x_from, x_0) for a respaced jump from t_from to t_to."""
        step_beta = 1 - abar_from / abar_to  # the jump's effective beta
        denom = (1 - abar_from).clamp(min=1e-12)
        coef_x0 = abar_to.sqrt() * step_beta / denom
        coef_xt = (1 - step_beta).sqrt() * (1 - abar_to) / denom
        posterior_var = step_beta * (1 - abar_to) / denom
        if variance_value is not None and self.config.variance_type == "learned_range":
            # Interpolate in log space between the posterior variance and the jump's beta (IDDPM).
            min_log = torch.log(posterior_var.clamp(min=1e-20))
            max_log = torch.log(step_beta.clamp(min=1e-20))
            frac = (variance_value.double() + 1) / 2  # learned per pixel, like the noise
            log_var = frac * _per_frame(max_log, x) + (1 - frac) * _per_frame(min_log, x)
            std = (0.5 * log_var).exp()
        else:
            std = _per_frame(posterior_var.sqrt(), x)
        dtype = x.dtype
        std = torch.where(_per_frame(abar_to >= 1, x), torch.zeros_like(std), std).to(dtype)
        mean = _per_frame(coef_x0, x).to(dtype) * pred_x0 + _per_frame(coef_xt, x).to(dtype) * x
        return mean + std * _noise_like(x, generator)

    def _broadcast_t(self, t: torch.Tensor, sample: torch.Tensor) -> torch.Tensor:
        """A scalar, [B] or [B, F] timestep as a long tensor [B, F] on the sample's device."""
        return expand_timesteps(t, sample.shape[0], sample.shape[1], sample.device)

    def __len__(self) -> int:
        return self.config.num_train_timesteps


def _compute_dtype(sample: torch.Tensor) -> torch.dtype:
    return torch.float64 if sample.dtype == torch.float64 else torch.float32


def _noise_like(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard normal noise shaped like x, drawn on the generator's device then moved (reproducible)."""
    device = generator.device if generator is not None else x.device
    return torch.randn(x.shape, generator=generator, device=device, dtype=x.dtype).to(x.device)
