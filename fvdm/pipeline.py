"""FVDMPipeline: run any per-frame plan through the network and the vectorized scheduler.

One `__call__` covers every task: the plan (`fvdm.schedules`) says which frames are given and how
each frame's noise level moves; `given` supplies the given frames' images. `generate_long` slides
a window along the time axis for videos longer than the model's frame count. The network is
either backbone (`fvdm.backbones`): a transformer saved as the `transformer` component, or a
U-Net saved as `unet`, as in diffusers; `pipe.denoiser` is whichever the pipeline holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import PIL.Image
import torch
from diffusers import AutoencoderKL, DiffusionPipeline
from diffusers.utils import BaseOutput

from fvdm import schedules
from fvdm.errors import FVDMInputError
from fvdm.backbones import FrameAwareDenoiser, backbone_name
from fvdm.models import FVDMTransformer
from fvdm.scheduler import FVDMScheduler, check_sampler
from fvdm.unet import FVDMUNet
from fvdm.video_io import resize_center_crop, to_rgb_array

CONDITIONING_MODES = ("vectorized", "replacement")


@dataclass
class FVDMPipelineOutput(BaseOutput):
    """`frames`: [B, F, H, W, 3] floats in [0, 1] for output_type="np" (a list of PIL lists for
    "pil", a [B, F, 3, H, W] tensor for "pt", latents for "latent")."""

    frames: np.ndarray | torch.Tensor | list
    plan: schedules.Plan | None = None


class FVDMPipeline(DiffusionPipeline):
    model_cpu_offload_seq = "transformer->unet->vae"
    _optional_components = ["transformer", "unet", "vae"]
    _callback_tensor_inputs = ["latents", "pred_original_sample"]

    def __init__(
        self,
        transformer: FVDMTransformer | None,
        scheduler: FVDMScheduler,
        unet: FVDMUNet | None = None,
        vae: AutoencoderKL | None = None,
        frame_guidance: float = 1.0,
    ):
        """Exactly one of `transformer` and `unet` is the network (`from_denoiser` picks for you).

        `frame_guidance` is the model's default strength of guidance on the given frames (see
        `predict`); it is saved in model_index.json, since the best value depends on the model.
        """
        super().__init__()
        if (transformer is None) == (unet is None):
            raise FVDMInputError("an FVDMPipeline needs exactly one network: a transformer or a unet")
        self.register_modules(transformer=transformer, unet=unet, scheduler=scheduler, vae=vae)
        self.register_to_config(frame_guidance=check_frame_guidance(frame_guidance))
        self._interrupt = False

    @classmethod
    def from_denoiser(cls, denoiser: FrameAwareDenoiser, scheduler: FVDMScheduler, **kwargs) -> "FVDMPipeline":
        """A pipeline around a network of either backbone (saved as its diffusers component)."""
        networks = {"transformer": None, backbone_name(denoiser): denoiser}
        return cls(scheduler=scheduler, **networks, **kwargs)

    # -- facts about the loaded model ---------------------------------------------------------

    @property
    def denoiser(self) -> FrameAwareDenoiser:
        """The network, whichever backbone it is."""
        return self.transformer if self.transformer is not None else self.unet

    @property
    def num_frames(self) -> int:
        """The window length the network was trained on."""
        return self.denoiser.config.num_frames

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1) if self.vae is not None else 1

    @property
    def resolution(self) -> int:
        """Side of the square output frames in pixels."""
        return self.denoiser.config.sample_size * self.vae_scale_factor

    @property
    def num_classes(self) -> int:
        return self.denoiser.config.num_classes

    @property
    def interrupt(self) -> bool:
        return self._interrupt

    def request_interrupt(self) -> None:
        """Stop after the current step; `__call__` returns the latest clean-frame estimate."""
        self._interrupt = True

    # -- given frames in and out ---------------------------------------------------------------

    def image_to_pixels(self, image, batch: int) -> torch.Tensor:
        """One image (PIL, uint8 array, float tensor in [0, 1]) or a batch of them -> [B, 3, H, W] in [0, 1].

        Images of another size are resized to cover the model's square and centre-cropped
        (`fvdm.video_io.resize_center_crop`). Tensors of the right size are used as they are.
        """
        size = (self.resolution, self.resolution)
        if isinstance(image, torch.Tensor) and image.is_floating_point() and image.shape[-2:] == size:
            if image.min() < 0 or image.max() > 1:
                raise FVDMInputError("image tensors must hold values in [0, 1]")
            pixels = image.float() if image.dim() == 4 else image.float()[None]
        elif isinstance(image, (list, tuple)):
            pixels = torch.cat([self.image_to_pixels(item, 1) for item in image])
        else:
            rgb = resize_center_crop(to_rgb_array(image), size)
            pixels = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
        if pixels.shape[0] == 1:
            pixels = pixels.expand(batch, -1, -1, -1)
        if pixels.shape[0] != batch or pixels.shape[1] != 3:
            raise FVDMInputError(f"expected 1 or {batch} RGB images for a given frame; got shape {tuple(pixels.shape)}")
        return pixels.to(self.denoiser.device)

    @torch.no_grad()
    def encode_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """[N, 3, H, W] in [0, 1] -> model space [N, C, h, w] (pixels in [-1, 1], or VAE latents)."""
        x = pixels * 2 - 1
        if self.vae is None:
            return x
        x = x.to(self.vae.device, self.vae.dtype)
        return self.vae.encode(x).latent_dist.mode().float() * self.vae.config.scaling_factor

    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """Model space [B, F, C, h, w] -> pixels [B, F, 3, H, W] in [0, 1]."""
        batch, frames = latents.shape[:2]
        flat = latents.flatten(0, 1)
        if self.vae is not None:
            flat = flat.to(self.vae.device, self.vae.dtype) / self.vae.config.scaling_factor
            flat = torch.cat([self.vae.decode(chunk).sample for chunk in flat.split(16)])
        pixels = ((flat.float() + 1) / 2).clamp(0, 1)
        return pixels.view(batch, frames, *pixels.shape[1:])

    # -- sampling -------------------------------------------------------------------------------

    def _class_labels(self, class_labels, batch: int) -> torch.Tensor | None:
        if class_labels is None:
            return None
        if self.num_classes == 0:
            raise FVDMInputError("this model is not class-conditional; leave the class empty")
        labels = torch.as_tensor(class_labels, dtype=torch.long).flatten()
        if labels.numel() == 1:
            labels = labels.expand(batch)
        if labels.numel() != batch:
            raise FVDMInputError(f"give one class label or {batch}; got {labels.numel()}")
        if (labels < 0).any() or (labels >= self.num_classes).any():
            raise FVDMInputError(f"class labels must lie in 0..{self.num_classes - 1}")
        return labels.to(self.denoiser.device)

    def predict(
        self, latents: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None,
        guidance_scale: float = 1.0, autocast_dtype: torch.dtype | None = None,
        frame_guidance: float = 1.0, unseen: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """The network's output for [B, F, C, h, w] at t [B, F], with classifier-free guidance.

        Two guidances, each against a branch without its condition, run as one batch:
        `guidance_scale` on the class label (against the null class) and `frame_guidance` on the
        given frames, against `unseen` = (latents, t) with those frames swapped for pure noise at
        the top level: an FVDM model trained with and without given frames has learned both.
        A strength of 1 is no guidance: prediction = cond + sum of (strength - 1) (cond - branch).
        """
        model = self.denoiser
        null = torch.full((latents.shape[0],), self.num_classes, device=latents.device, dtype=torch.long)
        labels = null if labels is None and guidance_scale != 1.0 else labels
        branches = [(latents, t, labels, 1.0)]  # (x, t, labels, strength)
        if guidance_scale != 1.0:
            branches.append((latents, t, null, guidance_scale))
        if frame_guidance != 1.0 and unseen is not None:
            branches.append((*unseen, labels, frame_guidance))
        x = torch.cat([branch[0] for branch in branches]).to(model.dtype)
        t_all = torch.cat([branch[1] for branch in branches])
        labels_all = None if labels is None else torch.cat([branch[2] for branch in branches])
        autocast = torch.autocast(x.device.type, dtype=autocast_dtype) if autocast_dtype else nullcontext()
        with autocast:
            out = model(x, t_all, labels_all).float()
        cond, *others = out.chunk(len(branches))
        channels = latents.shape[2]  # guide the prediction channels; learned variance passes through
        guided = cond[:, :, :channels]
        for (*_, strength), other in zip(branches[1:], others):
            guided = guided + (strength - 1) * (cond[:, :, :channels] - other[:, :, :channels])
        return torch.cat([guided, cond[:, :, channels:]], dim=2)

    def denoise(
        self,
        plan: schedules.Plan,
        given_latents: Mapping[int, torch.Tensor],
        batch: int,
        generator: torch.Generator,
        labels: torch.Tensor | None = None,
        guidance_scale: float = 1.0,
        eta: float = 0.0,
        sampler: str | None = None,
        autocast_dtype: torch.dtype | None = None,
        callback_on_step_end: Callable | None = None,
        callback_on_step_end_tensor_inputs: Sequence[str] = ("latents",),
        conditioning: str = "vectorized",
        frame_guidance: float | None = None,
    ) -> torch.Tensor:
        """Run `plan` in model space; given frames [B, C, h, w] by index. Returns latents [B, F, C, h, w].

        conditioning="vectorized" (FVDM): given frames are held at their plan level for the whole
        run: exactly clean at level 0, noised once (fixed "stabilization" noise) above 0.
        conditioning="replacement" (the zero-shot method for conventional, synchronized models):
        given frames move with the generated ones and, after every step, are replaced by their
        clean content noised to the new level.
        `frame_guidance` (default: the model's own, `config.frame_guidance`) strengthens the pull
        of the given frames (see `predict`); it needs vectorized conditioning.
        """
        if conditioning not in CONDITIONING_MODES:
            raise FVDMInputError(f"conditioning must be one of {CONDITIONING_MODES}; got {conditioning!r}")
        if sampler is not None:
            check_sampler(sampler)
        frame_guidance = self.resolve_frame_guidance(frame_guidance, conditioning)
        device = self.denoiser.device
        config = self.denoiser.config
        size = config.sample_size
        shape = (batch, plan.num_frames, config.in_channels, size, size)
        latents = _noise(shape, generator).to(device)
        levels = plan.timesteps.to(device)
        if conditioning == "replacement":
            levels = synchronized_levels(plan).to(device)
        clean = {index: frame.float().to(device) for index, frame in given_latents.items()}
        latents = self._place_given(latents, clean, levels[0], latents)

        guide_frames = frame_guidance != 1.0 and bool(plan.given)
        unseen_noise = _noise(shape, generator).to(device) if guide_frames else None

        self._interrupt = False
        pred_x0 = latents
        with self.progress_bar(total=plan.num_steps) as progress:
            for step in range(plan.num_steps):
                if self._interrupt:
                    break
                t_from = levels[step].expand(batch, -1)
                t_to = levels[step + 1].expand(batch, -1)
                unseen = self._without_given(latents, t_from, plan.given, unseen_noise) if guide_frames else None
                output = self.predict(latents, t_from, labels, guidance_scale, autocast_dtype, frame_guidance, unseen)
                latents, pred_x0 = self.scheduler.step(
                    output, t_from, t_to, latents, eta=eta, sampler=sampler, generator=generator, return_dict=False
                )
                if conditioning == "replacement":
                    latents = self._place_given(latents, clean, levels[step + 1], _noise(latents.shape, generator))
                if callback_on_step_end is not None:
                    local = {"latents": latents, "pred_original_sample": pred_x0}
                    result = callback_on_step_end(
                        self, step, t_from, {name: local[name] for name in callback_on_step_end_tensor_inputs}
                    )
                    latents = (result or {}).get("latents", latents)
                progress.update()
        if self._interrupt:  # frames not finished yet: show their latest clean estimate
            return pred_x0
        return latents

    def _place_given(self, latents, clean: Mapping[int, torch.Tensor], level: torch.Tensor, noise) -> torch.Tensor:
        """Write each given frame into latents at its level in `level` [F]: exact at 0, else q(x_t | x_0)."""
        latents = latents.clone()
        for index, frame in clean.items():
            t = int(level[index])
            if t > 0:
                t_batch = torch.full((latents.shape[0], 1), t, device=latents.device)
                frame = self.scheduler.add_noise(frame[:, None], noise[:, index : index + 1].to(latents.device), t_batch)[:, 0]
            latents[:, index] = frame
        return latents

    def _without_given(
        self, latents: torch.Tensor, t: torch.Tensor, given: Sequence[int], noise: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(latents, t) with the given frames replaced by pure noise at the top level: the input
        from which an FVDM model predicts as if those frames had not been given."""
        index = list(given)
        latents, t = latents.clone(), t.clone()
        latents[:, index] = noise[:, index]
        t[:, index] = self.scheduler.config.num_train_timesteps - 1
        return latents, t

    def resolve_frame_guidance(self, frame_guidance: float | None = None, conditioning: str = "vectorized") -> float:
        """The frame guidance a run uses: the caller's, else the model's own; 1 (none) for replacement."""
        if frame_guidance is None:
            return self.config.frame_guidance if conditioning == "vectorized" else 1.0
        frame_guidance = check_frame_guidance(frame_guidance)
        if frame_guidance != 1.0 and conditioning != "vectorized":
            raise FVDMInputError(
                "frame guidance needs vectorized conditioning (an FVDM model); set frame_guidance to 1 for replacement"
            )
        return frame_guidance

    def _generator(self, seed: int | None, generator: torch.Generator | None) -> torch.Generator:
        """CPU generator so that the same seed gives the same video on every device."""
        if generator is not None:
            return generator
        if seed is None:
            seed = int(torch.randint(0, 2**31 - 1, ()).item())
        return torch.Generator("cpu").manual_seed(int(seed))

    def _check_given(self, plan: schedules.Plan, given: Mapping | None) -> dict:
        given = dict(given or {})
        if set(given) != set(plan.given):
            raise FVDMInputError(
                f"the plan gives frames {sorted(plan.given)} but images were passed for frames {sorted(given)}"
            )
        if plan.num_frames > self.num_frames:
            raise FVDMInputError(f"this model makes at most {self.num_frames} frames at once; the plan has {plan.num_frames}")
        return given

    @torch.no_grad()
    def __call__(
        self,
        plan: schedules.Plan | None = None,
        given: Mapping[int, object] | None = None,
        class_labels=None,
        guidance_scale: float = 1.0,
        num_videos: int = 1,
        seed: int | None = None,
        generator: torch.Generator | None = None,
        num_steps: int = 25,
        eta: float = 0.0,
        sampler: str | None = None,
        output_type: str = "np",
        autocast_dtype: torch.dtype | None = None,
        callback_on_step_end: Callable | None = None,
        callback_on_step_end_tensor_inputs: Sequence[str] = ("latents",),
        conditioning: str = "vectorized",
        frame_guidance: float | None = None,
        return_dict: bool = True,
    ) -> FVDMPipelineOutput | tuple:
        """Sample `num_videos` clips following `plan` (default: unconditional, `num_steps` steps).

        `given` maps frame index -> image (PIL, uint8 array [H, W, 3], tensor in [0, 1], or one
        per video); those frames come back exactly as given. `callback_on_step_end(pipe, step,
        t_from, tensors)` runs after every step with the requested tensors ("latents",
        "pred_original_sample") and may return {"latents": ...}; `pipe.request_interrupt()` stops early.
        `conditioning="replacement"` runs the given frames the conventional zero-shot way (see
        `denoise`), for models trained with synchronized timesteps only. `sampler` ("ddim" with
        `eta`, or "ddpm") defaults to the model's own, `scheduler.config.sampler`, and
        `frame_guidance` (1 to 10, 1 = off) to the model's own, `config.frame_guidance`.
        """
        if plan is None:
            plan = schedules.synchronous(num_frames=self.num_frames, num_steps=num_steps)
        schedules.validate(plan)
        given = self._check_given(plan, given)
        if num_videos < 1:
            raise FVDMInputError("num_videos must be at least 1")
        if guidance_scale != 1.0 and self.num_classes == 0:
            raise FVDMInputError("guidance needs a class-conditional model; set guidance_scale to 1")
        unknown = set(callback_on_step_end_tensor_inputs) - set(self._callback_tensor_inputs)
        if unknown:
            raise ValueError(f"callback tensors must be among {self._callback_tensor_inputs}; got {sorted(unknown)}")
        if output_type not in ("np", "pt", "pil", "latent"):
            raise ValueError(f"output_type must be 'np', 'pt', 'pil' or 'latent'; got {output_type!r}")

        pixels = {index: self.image_to_pixels(image, num_videos) for index, image in given.items()}
        latents = self.denoise(
            plan,
            {index: self.encode_pixels(value) for index, value in pixels.items()},
            batch=num_videos,
            generator=self._generator(seed, generator),
            labels=self._class_labels(class_labels, num_videos),
            guidance_scale=guidance_scale,
            eta=eta,
            sampler=sampler,
            autocast_dtype=autocast_dtype,
            callback_on_step_end=callback_on_step_end,
            callback_on_step_end_tensor_inputs=callback_on_step_end_tensor_inputs,
            conditioning=conditioning,
            frame_guidance=frame_guidance,
        )
        self.maybe_free_model_hooks()
        if output_type == "latent":
            frames = latents
        else:
            video = self.decode_latents(latents)
            for index, value in pixels.items():  # given frames come back exactly as they went in
                video[:, index] = value.to(video.device)
            frames = format_frames(video, output_type)
        if not return_dict:
            return (frames,)
        return FVDMPipelineOutput(frames=frames, plan=plan)

    @torch.no_grad()
    def generate_long(
        self,
        total_frames: int,
        context_frames: int = 8,
        stride: int | None = None,
        init_frames: Sequence[object] | None = None,
        num_steps: int = 25,
        context_noise: int = 0,
        class_labels=None,
        guidance_scale: float = 1.0,
        num_videos: int = 1,
        seed: int | None = None,
        generator: torch.Generator | None = None,
        eta: float = 0.0,
        sampler: str | None = None,
        autocast_dtype: torch.dtype | None = None,
        conditioning: str = "vectorized",
        frame_guidance: float | None = None,
        order: str = "together",
    ) -> Iterator[np.ndarray]:
        """Yield a long video chunk by chunk, each chunk [B, n, H, W, 3] floats in [0, 1].

        Window after window, the last `context_frames` frames made so far are given (held at level
        `context_noise`, 0 = clean) and `stride` new frames are generated (default: as many as
        fit in the model's `num_frames`). Without `init_frames` the first window is unconditional;
        with them (an image to start from, or the tail of an earlier video to extend), their last
        frames are the first context and are not repeated in the output. Stops after `total_frames` new frames.
        `order` is how each window's new frames descend: "together", "pyramid" or "sequential"
        (`schedules.ORDERS`).
        """
        if not 1 <= context_frames < self.num_frames:
            raise FVDMInputError(f"context frames must be between 1 and {self.num_frames - 1}; got {context_frames}")
        if stride is not None and not 1 <= stride <= self.num_frames - context_frames:
            raise FVDMInputError(
                f"the stride must be between 1 and {self.num_frames - context_frames} with {context_frames} context frames; got {stride}"
            )
        window = self.num_frames if stride is None else context_frames + stride
        if total_frames < 1:
            raise FVDMInputError("total_frames must be at least 1")
        generator = self._generator(seed, generator)
        labels = self._class_labels(class_labels, num_videos)
        sample = dict(
            batch=num_videos, generator=generator, labels=labels, guidance_scale=guidance_scale,
            eta=eta, sampler=sampler, autocast_dtype=autocast_dtype, conditioning=conditioning,
            frame_guidance=frame_guidance,
        )
        history: torch.Tensor | None = None  # model-space frames made so far that may serve as context
        if init_frames:
            pixels = torch.stack([self.image_to_pixels(image, num_videos) for image in init_frames[-context_frames:]], 1)
            history = self.encode_pixels(pixels.flatten(0, 1)).view(num_videos, pixels.shape[1], -1, *pixels.shape[-2:])
        made = 0
        while made < total_frames:
            if history is None:
                plan = schedules.synchronous(num_frames=window, num_steps=num_steps, order=order)
                latents = self.denoise(plan, {}, **sample)
                new = latents
            else:
                context = history[:, -context_frames:]
                k = context.shape[1]
                frames = self.num_frames if stride is None else k + stride
                plan = schedules.prediction(
                    num_frames=frames, num_steps=num_steps, context=k, given_level=context_noise, order=order
                )
                latents = self.denoise(plan, {i: context[:, i] for i in range(k)}, **sample)
                new = latents[:, k:]
            if self._interrupt:
                return
            new = new[:, : total_frames - made]
            history = new if history is None else torch.cat([history, new], dim=1)[:, -window:]
            made += new.shape[1]
            yield format_frames(self.decode_latents(new), "np")


MAX_FRAME_GUIDANCE = 10.0


def check_frame_guidance(value: float) -> float:
    """A frame-guidance strength from users (configs, CLI, API): a number from 1 (off) to 10."""
    message = f"frame guidance must be a number from 1 to {MAX_FRAME_GUIDANCE:g}; got {value!r}"
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FVDMInputError(message) from None
    if not 1.0 <= number <= MAX_FRAME_GUIDANCE:  # also false for NaN
        raise FVDMInputError(message)
    return number


def synchronized_levels(plan: schedules.Plan) -> torch.Tensor:
    """The plan's levels with every given frame moved to the generated frames' level (for replacement)."""
    levels = plan.timesteps.clone()
    generated = list(plan.generated)
    levels[:, list(plan.given)] = levels[:, generated].max(dim=1, keepdim=True).values
    return levels


def _noise(shape, generator: torch.Generator) -> torch.Tensor:
    return torch.randn(shape, generator=generator, device=generator.device)


def format_frames(video: torch.Tensor, output_type: str):
    """Pixels [B, F, 3, H, W] in [0, 1] -> the requested output type."""
    if output_type == "pt":
        return video
    array = video.permute(0, 1, 3, 4, 2).float().cpu().numpy()
    if output_type == "np":
        return array
    return [[PIL.Image.fromarray((frame * 255).round().astype(np.uint8)) for frame in clip] for clip in array]
