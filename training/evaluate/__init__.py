"""Evaluate a model on held-out clips with ground truth, next to baselines, in one run.

    python -m training.evaluate --model fvdm --baseline baseline --out eval/report.json
    python -m training.evaluate --model runs/x/pipeline --clips 16 --steps 10 --tasks interpolation,prediction

What is measured (every method samples the same clips with the same seeds):

* Interpolation with K = 1 and K = 2 given frames at each end, and prediction from 4 given frames:
  PSNR and SSIM (`training.metrics`) of the generated frames only, averaged per clip, then over clips
  (mean, std and 95% confidence interval). Classical baselines: a cross-fade between the given ends
  (interpolation) and repeating the last given frame (prediction). Because every method scores the
  same clips, the report also gives the model minus each other method, paired clip by clip: its
  interval is the one that says whether the model beats a reference.
* The ceiling of interpolation with K = 1 on the synthetic world: every route its physics allows
  between the two given ends, with its probability (`training.posterior`), scored as a perfect
  sampler's draws and as their mean. It needs no model and shows how much of the gap to cross-fade
  any sampler could close: two end frames leave the objects' routes open.
* Prediction, image-to-video and unconditional generation run in both frame orders of
  `schedules.ORDERS`: all generated frames together, and the pyramid (one after the other, in the
  same number of steps), each a task of its own in the report ("prediction_pyramid", ...).
* Image-to-video (frame 0 given) and unconditional generation: the object-physics score of
  `training.physics` (share of plausible clips and the share passing each rule) and the sharpness
  figure, with the real clips themselves as the reference row.
* Long video (generated window by window with `FVDMPipeline.generate_long`, from an unconditional
  first window, half a window of context): the share of plausible clips in each window-long stretch,
  which shows whether quality drifts over time.
* One-step denoising: every clip noised to each level in `DENOISING_LEVELS` (all frames, the same
  noise for every method) and cleaned by one model call; PSNR of that estimate against the clip.
  No sampling, so it is cheap and smooth: it shows which noise levels a model has learned, and is
  the figure to watch while a model trains.
* With `--baseline`, a conventional model (trained with synchronized timesteps only) runs the same
  tasks zero-shot with `conditioning="replacement"`, the standard way to condition such a model.
* With `--i3d`, the FVD of every generated set against the real clips (`training.fvd`).
* Every model samples with the same step: the evaluated model's own (`scheduler.config.sampler`),
  or the one `--sampler` names (`--eta` adds DDIM noise). The FVDM model guides towards its given
  frames with its own `frame_guidance` (`--frame-guidance` overrides it); the conventional model,
  conditioned by replacement, has no such guidance.

The ground truth is the synthetic world at the model's frame count and resolution (eval seeds, never
trained on); `--video-folder` adds the same reconstruction tasks and image-to-video (sharpness, FVD;
the physics rules only hold for the synthetic world) on clips read from any folder of videos.
Class-conditional models are sampled with their null class.

The result is a JSON report (all numbers, the run's configuration and timings, and a `"markdown"`
field) plus the same Markdown tables in a `.md` file beside it, ready for the README or a model card.

The package, one job per module: `tasks` (the plans sampled), `clips` (the ground truth),
`sampling` (every model, same seeds), `reconstruction` (scores against the ground truth),
`quality` (physics, sharpness, FVD), `sections` (all tasks on one set of clips), `ceiling` (the
interpolation ceiling), `denoising`, `drift` (long videos), `report` (the whole run, `evaluate`),
`markdown` (the tables) and `cli` (the command line, `main`).
"""

from training.evaluate.cli import main
from training.evaluate.report import evaluate

__all__ = ["evaluate", "main"]
