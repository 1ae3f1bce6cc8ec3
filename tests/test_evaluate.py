"""The evaluation tool: the classical baselines, the scores, and whole runs on tiny random models."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from test_models import randomize

from fvdm import FVDMPipeline, FVDMScheduler, FVDMTransformer, schedules
from fvdm.baselines import cross_fade, repeat_last
from fvdm.errors import FVDMInputError
from fvdm.precision import slow_bf16_warning
from training.evaluate import evaluate, main
from training.evaluate.ceiling import interpolation_ceiling
from training.evaluate.clips import synthetic_clips
from training.evaluate.denoising import denoising_psnr
from training.evaluate.quality import clip_quality, window_plausibility
from training.evaluate.reconstruction import frame_scores, paired_differences
from training.evaluate.sampling import Sampler
from training.evaluate.tasks import build_tasks
from training.metrics import PSNR_CAP_DB, summarize
from training.synthetic import write_video_folder

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning"),  # the fake I3D is TorchScript, as I3D is
]


def _tiny_pipeline(seed: int, num_frames: int = 16) -> FVDMPipeline:
    torch.manual_seed(seed)
    transformer = FVDMTransformer.from_preset("tiny", sample_size=32, num_frames=num_frames)
    pipe = FVDMPipeline(transformer, FVDMScheduler())
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    """Saved tiny models: "fvdm", "baseline" (other weights, same shape) and "short" (4 frames)."""
    root = tmp_path_factory.mktemp("models")
    for name, seed, frames in (("fvdm", 0, 16), ("baseline", 1, 16), ("short", 2, 4)):
        _tiny_pipeline(seed, frames).save_pretrained(root / name)
    return root


@pytest.fixture(scope="module")
def tiny_i3d(tmp_path_factory):
    """A random TorchScript network with a plain forward(x), in place of I3D."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("i3d") / "i3d.pt"
    net = torch.nn.Sequential(torch.nn.Conv3d(3, 4, kernel_size=(4, 32, 32), stride=(4, 32, 32)), torch.nn.Flatten())
    torch.jit.trace(net, torch.zeros(1, 3, 16, 224, 224)).save(str(path))
    return path


def _numbers(tree) -> list[float]:
    if isinstance(tree, dict):
        return [x for value in tree.values() for x in _numbers(value)]
    if isinstance(tree, list):
        return [x for value in tree for x in _numbers(value)]
    return [float(tree)] if isinstance(tree, (int, float)) and not isinstance(tree, bool) else []


def _run_cli(tmp_path, *options: str) -> tuple[dict, str]:
    out = tmp_path / "eval" / "report.json"
    main(["--clips", "3", "--steps", "2", "--long-frames", "32", "--long-clips", "2", "--batch-size", "2",
          "--out", str(out), *options])
    return json.loads(out.read_text()), out.with_suffix(".md").read_text()


# ----------------------------------------------------------------------------- whole runs


def test_cli_with_a_conventional_baseline_writes_every_section(model_dirs, tmp_path):
    report, markdown = _run_cli(tmp_path, "--model", str(model_dirs / "fvdm"), "--baseline", str(model_dirs / "baseline"))

    config = report["config"]
    assert config["model"] == str(model_dirs / "fvdm") and config["baseline"] == str(model_dirs / "baseline")
    assert (config["clips"], config["steps"], config["seed"], config["num_frames"], config["resolution"]) == (3, 2, 0, 16, 32)
    assert (config["sampler"], config["eta"]) == ("ddim", 0.0)
    synthetic = report["synthetic"]
    assert synthetic["reconstruction"].keys() == {
        "interpolation_k1", "interpolation_k2", "prediction", "prediction_pyramid", "prediction_sequential"
    }
    assert synthetic["reconstruction"]["interpolation_k2"].keys() == {"fvdm", "conventional", "cross_fade"}
    assert synthetic["reconstruction"]["prediction"].keys() == {"fvdm", "conventional", "repeat_last"}
    for entry in synthetic["reconstruction"]["prediction"].values():
        assert entry["psnr"]["n"] == 3 and entry["ssim"]["n"] == 3
    paired = synthetic["paired"]
    assert paired.keys() == synthetic["reconstruction"].keys()
    assert paired["prediction"].keys() == {"conventional", "repeat_last"}
    for task, by_method in paired.items():
        for method, difference in by_method.items():
            scores = synthetic["reconstruction"][task]
            # The mean of per-clip differences is the difference of the means.
            expected = scores["fvdm"]["psnr"]["mean"] - scores[method]["psnr"]["mean"]
            assert difference["psnr"]["mean"] == pytest.approx(expected, abs=1e-5) and difference["psnr"]["n"] == 3
    recon = synthetic["reconstruction"]
    assert synthetic["orders"].keys() == {"prediction"}
    assert synthetic["orders"]["prediction"].keys() == {"fvdm", "conventional"}
    for method, difference in synthetic["orders"]["prediction"].items():
        expected = recon["prediction_pyramid"][method]["ssim"]["mean"] - recon["prediction"][method]["ssim"]["mean"]
        assert difference["ssim"]["mean"] == pytest.approx(expected, abs=1e-5) and difference["ssim"]["n"] == 3
    assert synthetic["generation"].keys() == {
        "image_to_video", "unconditional", "image_to_video_pyramid", "unconditional_pyramid",
        "image_to_video_sequential", "unconditional_sequential",
    }
    for entries in synthetic["generation"].values():
        assert entries.keys() == {"fvdm", "conventional"}
        assert all({"physics", "sharpness"} <= entry.keys() for entry in entries.values())
    assert synthetic["real"]["physics"]["share_plausible"] == 1.0
    long = synthetic["long"]
    assert long["share_plausible"].keys() == {"fvdm", "conventional", "real"}
    assert all(len(shares) == 2 for shares in long["share_plausible"].values())  # 32 frames = 2 windows of 16
    assert report["timings"]["synthetic/long/conventional"] >= 0 and report["timings"]["total"] > 0
    denoising = synthetic["denoising"]
    assert denoising.keys() == {"fvdm", "conventional"}
    assert list(denoising["fvdm"]) == ["t=100", "t=300", "t=500", "t=700", "t=900"]
    assert all(score["n"] == 3 for scores in denoising.values() for score in scores.values())
    ceiling = synthetic["interpolation_ceiling"]
    assert ceiling["clips"] == 3 and ceiling["routes"]["median"] >= 1
    assert 0 < ceiling["truth_probability"]["mean"] <= 1 and ceiling["mean_psnr"]["n"] == 3
    assert all(math.isfinite(x) for x in _numbers(report))

    assert report["markdown"] == markdown
    for text in ("| Method | Interp. K=1 PSNR", "Pred. 4→12 SSIM", "| Conventional + replacement |", "| Cross-fade |",
                 "| Repeat last frame |", "| Real clips |", "Physics rules", "| Objects / clip | Appears | Vanishes |", "| Method | 0–15 | 16–31 |",
                 "| Method | t=100 | t=300 | t=500 | t=700 | t=900 |", "| FVDM minus | Interp. K=1 PSNR",
                 "#### Paired differences", "2 DDIM sampling steps", "I2V pyramid plausible",
                 "Uncond. pyramid sharpness", "| I2V pyramid | FVDM |", "Pred. 4→12 pyramid PSNR",
                 "| Pyramid minus together | Pred. 4→12 PSNR | Pred. 4→12 SSIM |",
                 "#### Interpolation K=1: what a perfect sampler of the world scores", "| Interp. K=1 | PSNR | SSIM |",
                 "| Posterior mean of every route (a blur) |"):
        assert text in markdown


def test_cli_on_a_video_folder_with_fvd_and_bf16_and_no_baseline(model_dirs, tiny_i3d, tmp_path, capsys):
    folder = tmp_path / "videos"
    write_video_folder(folder, count=3, split="eval", fmt="gif")
    report, markdown = _run_cli(tmp_path, "--model", str(model_dirs / "fvdm"), "--video-folder", str(folder),
                                "--i3d", str(tiny_i3d), "--bf16", "--tasks", "prediction,image_to_video",
                                "--sampler", "ddpm", "--orders", "together,pyramid")

    assert report["config"]["orders"] == ["together", "pyramid"]
    assert report["config"]["autocast"] == "bfloat16" and report["config"]["baseline"] is None
    warning = slow_bf16_warning("cpu")  # bf16 on a CPU that emulates it is named on stderr
    err = capsys.readouterr().err
    assert (warning in err) if warning else ("bf16 autocast runs" not in err)
    assert report["config"]["sampler"] == "ddpm" and "2 DDPM sampling steps" in markdown
    assert report["config"]["eta"] == 0.0
    assert "long" not in report["synthetic"]
    assert report["synthetic"]["generation"].keys() == {"image_to_video", "image_to_video_pyramid"}
    folder_section = report["video_folder"]
    assert folder_section["clips"] == 3
    assert folder_section["reconstruction"].keys() == {"prediction", "prediction_pyramid"}
    assert folder_section["reconstruction"]["prediction"].keys() == {"fvdm", "repeat_last"}
    assert "physics" not in folder_section["real"] and "physics" not in folder_section["generation"]["image_to_video"]["fvdm"]
    # The folder holds the same clips of the same world, so the real clips are about as sharp.
    assert folder_section["real"]["sharpness"] == pytest.approx(report["synthetic"]["real"]["sharpness"], rel=0.02)
    for section in (report["synthetic"], folder_section):
        assert section["reconstruction"]["prediction"]["repeat_last"]["fvd"] >= 0
        assert section["generation"]["image_to_video"]["fvdm"]["fvd"] >= 0
    assert all(math.isfinite(x) for x in _numbers(report))
    assert "Conventional" not in markdown and "### Video folder" in markdown and "#### FVD" in markdown


def test_tasks_run_every_frame_order_at_the_same_steps_per_frame_except_interpolation():
    tasks = {task.name: task.plan for task in build_tasks(["image_to_video", "unconditional", "prediction"], 16, 25)}
    assert list(tasks) == [
        "prediction", "prediction_pyramid", "prediction_sequential", "image_to_video", "unconditional",
        "image_to_video_pyramid", "unconditional_pyramid", "image_to_video_sequential", "unconditional_sequential",
    ]
    for order in ("pyramid", "sequential"):
        assert tasks[f"prediction_{order}"] == schedules.prediction(16, 25, context=4, order=order)
        assert tasks[f"image_to_video_{order}"] == schedules.image_to_video(16, 25, order=order)
        assert tasks[f"unconditional_{order}"] == schedules.synchronous(16, 25, order=order)
    assert {schedules.task_steps(plan) for plan in tasks.values()} == {25}
    assert {plan.num_steps for name, plan in tasks.items() if not name.endswith("sequential")} == {25}


def test_tasks_run_only_the_frame_orders_asked_for():
    tasks = build_tasks(["image_to_video", "interpolation"], 16, 5, orders=["sequential", "together"])
    assert [task.name for task in tasks] == [
        "interpolation_k1", "interpolation_k2", "image_to_video", "image_to_video_sequential",
    ]
    with pytest.raises(FVDMInputError, match="orders must be among together, pyramid, sequential; got sideways"):
        build_tasks(["image_to_video"], 16, 5, orders=["sideways"])
    with pytest.raises(FVDMInputError, match="orders must be among"):
        build_tasks(["image_to_video"], 16, 5, orders=[])



def test_long_videos_follow_the_long_order():
    pipe = _tiny_pipeline(0)
    randomize(pipe.transformer)  # fresh models always output 0
    sampler = Sampler({"fvdm": pipe}, seed=0, batch_size=1)
    together = sampler.sample_long("fvdm", 1, 24, 8, 2)
    sequential = sampler.sample_long("fvdm", 1, 24, 8, 2, "sequential")
    assert together.shape == sequential.shape == (1, 24, 32, 32, 3)
    assert not np.allclose(together[:, 16:], sequential[:, 16:])  # another plan for the window after the first
    report = evaluate(pipe, clips=1, steps=2, tasks=["long"], long_frames=32, long_clips=1, long_order="sequential")
    assert report["config"]["long_order"] == report["synthetic"]["long"]["order"] == "sequential"
    assert "8 context frames, each window sequential)" in report["markdown"]
    with pytest.raises(FVDMInputError, match="long_order must be among together, pyramid, sequential; got upward"):
        evaluate(pipe, clips=1, tasks=["long"], long_order="upward")

def test_real_clips_are_plausible_and_noise_is_not(model_dirs):
    pipe = FVDMPipeline.from_pretrained(model_dirs / "fvdm")
    report = evaluate(pipe, clips=4, steps=1, tasks=["unconditional"], batch_size=4)
    assert report["synthetic"]["real"]["physics"]["share_plausible"] == 1.0
    assert "| Real clips | 100.0% |" in report["markdown"]
    noise = torch.rand(8, 16, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert clip_quality(noise, synthetic=True)["physics"]["share_plausible"] <= 0.125
    assert clip_quality(noise, synthetic=True)["sharpness"] > 10 * report["synthetic"]["real"]["sharpness"]


def test_the_interpolation_ceiling_scores_the_clips_the_models_interpolate():
    ceiling = interpolation_ceiling(2, 16, 32)
    truth = synthetic_clips(2, 16, 32)
    generated = list(range(1, 15))

    # A draw of another route keeps the given ends but not the frames between: it scores below the
    # PSNR cap, and the clips with several routes give the true clip less than all the probability.
    assert ceiling["other_psnr"]["n"] == 2 and ceiling["other_psnr"]["mean"] < 40
    assert 0 < ceiling["truth_probability"]["mean"] < 1
    # The posterior mean is scored against the same ground truth the models are: with the ends kept,
    # it beats the blurrier cross-fade, which knows nothing of the routes.
    fade = frame_scores(cross_fade(truth, 1), truth, generated)
    assert ceiling["mean_psnr"]["mean"] > fade["psnr"]["mean"]
    assert ceiling["mean_ssim"]["mean"] > fade["ssim"]["mean"]


# ----------------------------------------------------------------------------- classical baselines


def _ramp_clip(frames: int = 16) -> torch.Tensor:
    """Frames that blend linearly from one random image to another: [1, F, 3, 16, 16]."""
    generator = torch.Generator().manual_seed(0)
    a, b = torch.rand(3, 16, 16, generator=generator), torch.rand(3, 16, 16, generator=generator)
    weights = torch.linspace(0, 1, frames).view(frames, 1, 1, 1)
    return ((1 - weights) * a + weights * b)[None]


@pytest.mark.parametrize("context", [1, 2])
def test_cross_fade_is_exact_on_a_linear_ramp(context):
    clip = _ramp_clip()
    plan = schedules.interpolation(num_frames=16, num_steps=2, context=context)
    scores = frame_scores(cross_fade(clip, context), clip, plan.generated)
    assert scores["psnr"]["mean"] > 90 and scores["ssim"]["mean"] == pytest.approx(1.0, abs=1e-5)


def test_cross_fade_blends_the_inner_given_frames_and_keeps_the_given_ones():
    clip = torch.rand(2, 6, 3, 4, 4, generator=torch.Generator().manual_seed(1))
    faded = cross_fade(clip, context=2)  # given: 0, 1 and 4, 5; fade from frame 1 to frame 4
    torch.testing.assert_close(faded[:, [0, 1, 4, 5]], clip[:, [0, 1, 4, 5]])
    torch.testing.assert_close(faded[:, 2], clip[:, 1] * 2 / 3 + clip[:, 4] / 3)
    torch.testing.assert_close(faded[:, 3], clip[:, 1] / 3 + clip[:, 4] * 2 / 3)


def test_paired_differences_cancel_what_the_clips_share():
    # Clip difficulty varies a lot, the gap between the methods hardly: the per-method intervals
    # overlap, the paired one is tight and positive.
    difficulty = torch.tensor([10.0, 14.0, 18.0, 22.0, 26.0, 30.0])
    gap = torch.tensor([1.0, 1.2, 0.8, 1.1, 0.9, 1.0])
    scores = {
        "fvdm": {"psnr": difficulty + gap, "ssim": torch.full((6,), 0.5)},
        "cross_fade": {"psnr": difficulty, "ssim": torch.full((6,), 0.6)},
    }
    paired = paired_differences(scores)

    assert paired.keys() == {"cross_fade"}
    psnr_gap = paired["cross_fade"]["psnr"]
    assert psnr_gap["mean"] == pytest.approx(1.0) and psnr_gap["ci95"] < 0.2 and psnr_gap["n"] == 6
    assert paired["cross_fade"]["ssim"]["mean"] == pytest.approx(-0.1)
    better, worse = summarize(scores["fvdm"]["psnr"]), summarize(scores["cross_fade"]["psnr"])
    assert better["mean"] - better["ci95"] < worse["mean"] + worse["ci95"]
    assert paired_differences({"cross_fade": scores["cross_fade"]}) == {}


def test_repeat_last_holds_the_last_given_frame():
    clip = _ramp_clip()
    repeated = repeat_last(clip, context=4)
    torch.testing.assert_close(repeated[:, :4], clip[:, :4])
    assert torch.equal(repeated[:, 4:], clip[:, 3:4].expand(-1, 12, -1, -1, -1))
    static = clip[:, :1].expand(-1, 16, -1, -1, -1)
    assert frame_scores(repeat_last(static, 4), static, range(4, 16))["psnr"]["mean"] == PSNR_CAP_DB
    expected = np.mean([-10 * np.log10(np.mean((clip[0, 3].numpy() - clip[0, f].numpy()) ** 2)) for f in range(4, 16)])
    assert frame_scores(repeated, clip, range(4, 16))["psnr"]["mean"] == pytest.approx(expected, rel=1e-5)


# ----------------------------------------------------------------------------- pieces


def test_sampler_batches_clips_and_keeps_each_clips_given_frames():
    pipe = _tiny_pipeline(0)
    truth = synthetic_clips(3, 16, 32)
    plan = schedules.interpolation(num_frames=16, num_steps=1, context=2)
    videos = Sampler({"fvdm": pipe}, seed=0, batch_size=2).sample("fvdm", plan, truth)
    assert videos.shape == truth.shape
    torch.testing.assert_close(videos[:, list(plan.given)], truth[:, list(plan.given)])


def test_the_sampler_option_reaches_every_sample_and_keeps_them_reproducible():
    pipe = _tiny_pipeline(0)
    truth = synthetic_clips(2, 16, 32)
    plan = schedules.prediction(num_frames=16, num_steps=3, context=4)

    def sample(sampler: str, eta: float = 0.0) -> torch.Tensor:
        return Sampler({"fvdm": pipe}, seed=0, batch_size=2, sampler=sampler, eta=eta).sample("fvdm", plan, truth)

    ddim, ddpm, noisy_ddim = sample("ddim"), sample("ddpm"), sample("ddim", eta=1.0)
    torch.testing.assert_close(ddpm, sample("ddpm"))  # the ancestral noise comes from the batch's seed
    generated = list(plan.generated)
    assert not torch.allclose(ddpm[:, generated], ddim[:, generated])
    assert not torch.allclose(noisy_ddim[:, generated], ddim[:, generated])
    for video in (ddpm, noisy_ddim):
        torch.testing.assert_close(video[:, list(plan.given)], truth[:, list(plan.given)])


def test_without_a_sampler_every_model_samples_with_the_evaluated_model_s_own():
    pipe, baseline = _tiny_pipeline(0), _tiny_pipeline(1)
    pipe.scheduler = FVDMScheduler.from_config(pipe.scheduler.config, sampler="ddpm")

    def run(**options) -> tuple[dict, list[float]]:
        report = evaluate(pipe, baseline, clips=1, steps=2, tasks=["prediction"], batch_size=1, **options)
        entries = report["synthetic"]["reconstruction"]["prediction"]
        return report, [entries[method]["psnr"]["mean"] for method in ("fvdm", "conventional")]

    report, scores = run()
    assert report["config"]["sampler"] == "ddpm" and "2 DDPM sampling steps" in report["markdown"]
    assert run(sampler="ddpm")[1] == scores  # the baseline too samples with DDPM, not its own DDIM
    forced, forced_scores = run(sampler="ddim", eta=0.5)
    assert "2 DDIM (eta 0.5) sampling steps" in forced["markdown"]
    assert all(a != b for a, b in zip(scores, forced_scores))


def test_frame_guidance_guides_the_fvdm_model_only_and_is_recorded():
    pipe, baseline = _tiny_pipeline(0), _tiny_pipeline(1)
    randomize(pipe.transformer), randomize(baseline.transformer, 1)  # fresh models always output 0

    def run(model: FVDMPipeline, **options) -> tuple[dict, list[float]]:
        report = evaluate(model, baseline, clips=1, steps=2, tasks=["prediction"], batch_size=1, **options)
        entries = report["synthetic"]["reconstruction"]["prediction"]
        return report, [entries[method]["psnr"]["mean"] for method in ("fvdm", "conventional")]

    plain, plain_scores = run(pipe)
    assert plain["config"]["frame_guidance"] == 1.0 and "frame guidance" not in plain["markdown"]
    guided, guided_scores = run(pipe, frame_guidance=3.0)
    assert guided["config"]["frame_guidance"] == 3.0 and "frame guidance 3 for FVDM" in guided["markdown"]
    assert guided_scores[0] != plain_scores[0]
    assert guided_scores[1] == plain_scores[1]  # the conventional model, conditioned by replacement, is not guided
    own = FVDMPipeline(transformer=pipe.transformer, scheduler=pipe.scheduler, frame_guidance=3.0)
    own.set_progress_bar_config(disable=True)
    assert run(own)[1] == guided_scores  # by default, the evaluated model's own strength
    assert run(own, frame_guidance=1.0)[1] == plain_scores
    with pytest.raises(FVDMInputError, match="frame guidance must be a number from 1 to 10"):
        evaluate(pipe, clips=1, frame_guidance=0.0)


def test_one_step_denoising_uses_the_same_noise_for_every_model_and_gets_harder_with_noise():
    truth = synthetic_clips(3, 16, 32)
    sampler = Sampler({"fvdm": _tiny_pipeline(0), "conventional": _tiny_pipeline(0)}, seed=0, batch_size=2)
    scores = denoising_psnr(sampler, truth, levels=(50, 500, 950))
    assert scores["fvdm"] == scores["conventional"]  # the same model given the same noise
    means = [scores["fvdm"][f"t={level}"]["mean"] for level in (50, 500, 950)]
    assert means[0] > means[1] > means[2]
    # A different noise seed gives different estimates.
    other = Sampler({"fvdm": _tiny_pipeline(0)}, seed=1, batch_size=2)
    assert not torch.equal(other.denoise_once("fvdm", truth, 500), sampler.denoise_once("fvdm", truth, 500))


def test_window_plausibility_scores_each_full_window():
    real = synthetic_clips(2, 40, 32)  # 2 full windows of 16 frames; the last 8 frames are left out
    noisy = real.clone()
    noisy[:, 16:32] = torch.rand(2, 16, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert window_plausibility(real, 16) == [1.0, 1.0]
    assert window_plausibility(noisy, 16) == [1.0, 0.0]


# ----------------------------------------------------------------------------- bad inputs


def test_a_missing_model_folder_ends_the_cli_with_one_line(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["--model", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r.json")])
    message = str(exit_info.value.code)
    assert message.startswith("error: ") and "nowhere" in message and "\n" not in message


@pytest.mark.parametrize("tasks, match", [("prediction", "too few for prediction"),
                                          ("interpolation", "too few for interpolation")])
def test_a_model_with_too_few_frames_for_the_task_is_refused(model_dirs, tmp_path, tasks, match):
    with pytest.raises(SystemExit, match=match):
        main(["--model", str(model_dirs / "short"), "--out", str(tmp_path / "r.json"), "--tasks", tasks])
    assert not (tmp_path / "r.json").exists()


def test_other_bad_inputs_are_input_errors(model_dirs, tmp_path):
    pipe = _tiny_pipeline(0)
    with pytest.raises(FVDMInputError, match="same shape"):
        evaluate(pipe, baseline=FVDMPipeline.from_pretrained(model_dirs / "short"), clips=1)
    with pytest.raises(FVDMInputError, match="tasks must be among"):
        evaluate(pipe, tasks=["interpolation", "dance"])
    with pytest.raises(FVDMInputError, match="clips must be at least 1"):
        evaluate(pipe, clips=0)
    with pytest.raises(FVDMInputError, match="sampler must be one of ddim, ddpm; got 'euler'"):
        evaluate(pipe, clips=1, sampler="euler")
    with pytest.raises(FVDMInputError, match="eta must be at least 0"):
        evaluate(pipe, clips=1, eta=-0.5)
    with pytest.raises(FVDMInputError, match="long_frames"):
        evaluate(pipe, tasks=["long"], long_frames=8)
    with pytest.raises(FVDMInputError, match="video folder"):
        evaluate(pipe, clips=1, tasks=["prediction"], video_folder=tmp_path / "missing")


# ----------------------------------------------------------------------------- merging split runs


def _without_timings(report: dict) -> dict:
    return {key: value for key, value in report.items() if key not in ("timings", "markdown")}


def test_an_evaluation_split_by_task_merges_into_the_whole_run(model_dirs, tmp_path):
    from training.evaluate.merge import main as merge_main

    models = ["--model", str(model_dirs / "fvdm"), "--baseline", str(model_dirs / "baseline")]
    whole, whole_md = _run_cli(tmp_path / "whole", *models)
    first, _ = _run_cli(tmp_path / "a", *models, "--tasks", "interpolation,prediction,denoising")
    second, _ = _run_cli(tmp_path / "b", *models, "--tasks", "image_to_video,unconditional,long")
    out = tmp_path / "merged.json"
    merge_main([str(tmp_path / "a" / "eval" / "report.json"), str(tmp_path / "b" / "eval" / "report.json"),
                "--out", str(out)])
    merged = json.loads(out.read_text())
    assert _without_timings(merged) == _without_timings(whole)
    assert set(merged["timings"]) == set(whole["timings"])
    assert merged["timings"]["total"] == pytest.approx(first["timings"]["total"] + second["timings"]["total"])
    strip = lambda md: [line for line in md.splitlines() if "took" not in line and "time" not in line.lower()]  # noqa: E731
    assert strip(out.with_suffix(".md").read_text()) == strip(whole_md)


def test_reports_of_different_evaluations_or_the_same_task_are_not_merged(model_dirs, tmp_path):
    from training.evaluate.merge import merge_reports

    models = ["--model", str(model_dirs / "fvdm"), "--baseline", str(model_dirs / "baseline")]
    one, _ = _run_cli(tmp_path / "a", *models, "--tasks", "denoising")
    other_seed, _ = _run_cli(tmp_path / "b", *models, "--tasks", "prediction", "--seed", "5")
    with pytest.raises(FVDMInputError, match="different evaluations .*seed"):
        merge_reports([one, other_seed])
    with pytest.raises(FVDMInputError, match="more than one report evaluated denoising"):
        merge_reports([one, one])
    with pytest.raises(FVDMInputError, match="at least two"):
        merge_reports([one])
