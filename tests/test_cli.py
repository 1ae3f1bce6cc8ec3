"""The command line, run in-process through `fvdm.cli.main` (plus one real `python -m fvdm`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
import torch
from helpers import RESOLUTION, WINDOW, official_state_dict, tiny_vae
from PIL import Image

import fvdm.loading
from fvdm import schedules
from fvdm.cli import main
from fvdm.precision import slow_bf16_warning
from fvdm.schedules import Plan
from fvdm.video_io import load_image, load_video, save_video

pytestmark = pytest.mark.usefixtures("one_torch_thread")

REPO = Path(__file__).resolve().parents[1]


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def generate(capsys, model_dir, out, *argv) -> str:
    """Run `generate` (2 steps unless told) and return its stdout; fails on a non-zero exit."""
    steps = [] if "--steps" in argv or "custom" in argv else ["--steps", 2]
    code, out_text, err = run(capsys, "generate", "--model", model_dir, "--out", out, *steps, *argv)
    assert code == 0, err
    return out_text


def mp4_facts(path: Path) -> tuple[int, str, tuple[int, int]]:
    """(frames counted by decoding, codec, (width, height)) of a video file."""
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    reader.close()
    return imageio_ffmpeg.count_frames_and_secs(str(path))[0], meta["codec"], meta["size"]


def png_frames(folder: Path) -> np.ndarray:
    return np.stack([np.array(Image.open(path)) for path in sorted(folder.glob("frame_*.png"))])


# ------------------------------------------------------------------------------- generate


TASKS = {
    "unconditional": (lambda m: [], WINDOW),
    "image-to-video": (lambda m: ["--task", "image-to-video", "--image", m.start, "--at", 2], WINDOW),
    "interpolate-images": (lambda m: ["--task", "interpolate", "--start", m.start, "--end", m.end, "--frames", 6], 6),
    "interpolate-video": (lambda m: ["--task", "interpolate", "--video", m.clip, "--context", 2], WINDOW),
    "predict": (lambda m: ["--task", "predict", "--video", m.clip, "--context", 3, "--frames", 7], 7),
    "long": (lambda m: ["--task", "long", "--total-frames", 13, "--context-frames", 3], 13),
    "long-from-image": (lambda m: ["--task", "long", "--image", m.start, "--total-frames", 10], 10),
    "long-from-video": (lambda m: ["--task", "long", "--video", m.clip, "--total-frames", 5, "--context-noise", 30], 5),
    "custom": (
        lambda m: ["--task", "custom", "--schedule", m.plan, "--given", f"4={m.end}", "--video", m.clip],
        WINDOW,
    ),
}


@pytest.mark.parametrize("task", TASKS)
def test_every_task_writes_a_playable_h264_mp4(task, model_dir, media, tmp_path, capsys):
    argv, frames = TASKS[task]
    out = tmp_path / "clip.mp4"
    printed = generate(capsys, model_dir, out, *argv(media), "--seed", 7)
    count, codec, (width, height) = mp4_facts(out)
    assert (count, codec) == (frames, "h264")
    assert width >= 256 and width == height  # the default upscale
    assert f"wrote {out}" in printed and "seed 7" in printed and " s" in printed
    assert load_video(out).shape == (frames, height, width, 3)


def test_interpolation_keeps_the_given_frames(model_dir, media, tmp_path, capsys):
    out, frames_dir = tmp_path / "between.mp4", tmp_path / "frames"
    generate(
        capsys,
        model_dir,
        out,
        "--task",
        "interpolate",
        "--start",
        media.start,
        "--end",
        media.end,
        "--save-frames",
        frames_dir,
    )
    frames, start, end = png_frames(frames_dir), load_image(media.start), load_image(media.end)
    assert frames.shape == (WINDOW, RESOLUTION, RESOLUTION, 3)
    np.testing.assert_array_equal(frames[0], start)  # lossless PNGs: exactly the inputs
    np.testing.assert_array_equal(frames[-1], end)
    assert not np.array_equal(frames[1], start) and not np.array_equal(frames[-2], end)
    video = load_video(out)[:, 8::16, 8::16].astype(float)  # block centres (x16 upscale); lossy H.264: close
    assert np.abs(video[0] - start).mean() < 6 and np.abs(video[-1] - end).mean() < 6
    assert np.abs(video[0] - end).mean() > 40


def test_video_context_frames_are_kept_exactly(model_dir, media, tmp_path, capsys):
    frames_dir = tmp_path / "frames"
    generate(
        capsys,
        model_dir,
        tmp_path / "x.mp4",
        "--task",
        "predict",
        "--video",
        media.clip,
        "--context",
        3,
        "--save-frames",
        frames_dir,
    )
    clip = load_video(media.clip, size=(RESOLUTION, RESOLUTION))
    np.testing.assert_array_equal(png_frames(frames_dir)[:3], clip[:3])


def test_custom_plan_takes_given_from_images_and_video(model_dir, media, tmp_path, capsys):
    frames_dir = tmp_path / "frames"
    generate(
        capsys,
        model_dir,
        tmp_path / "x.mp4",
        "--task",
        "custom",
        "--schedule",
        media.plan,
        "--given",
        f"4={media.end}",
        "--video",
        media.clip,
        "--save-frames",
        frames_dir,
    )
    frames = png_frames(frames_dir)
    np.testing.assert_array_equal(frames[0], load_video(media.clip, num_frames=1)[0])
    np.testing.assert_array_equal(frames[4], load_image(media.end))  # --given wins over --video


def test_several_videos_are_tiled_side_by_side(model_dir, tmp_path, capsys):
    out, frames_dir = tmp_path / "two.mp4", tmp_path / "frames"
    generate(capsys, model_dir, out, "--num-videos", 2, "--upscale", 1, "--save-frames", frames_dir)
    assert load_video(out).shape == (WINDOW, RESOLUTION, 2 * RESOLUTION + 2, 3)
    tiles = png_frames(frames_dir)
    assert (tiles[:, :, RESOLUTION : RESOLUTION + 2] == 255).all()  # the white gap
    assert not np.array_equal(tiles[:, :, :RESOLUTION], tiles[:, :, -RESOLUTION:])  # two different videos
    generate(capsys, model_dir, out, "--num-videos", 2)
    assert mp4_facts(out)[2] == (8 * 34, 8 * 16)  # default upscale: the smallest making it 256+ px wide


def test_gif_output(model_dir, tmp_path, capsys):
    out = tmp_path / "clip.gif"
    generate(capsys, model_dir, out, "--fps", 4, "--upscale", 2)
    assert load_video(out).shape == (WINDOW, 2 * RESOLUTION, 2 * RESOLUTION, 3)
    assert Image.open(out).info["duration"] == 250


def test_seed_decides_the_video(model_dir, tmp_path, capsys):
    def frames(seed: int, name: str) -> np.ndarray:
        generate(capsys, model_dir, tmp_path / f"{name}.mp4", "--seed", seed, "--save-frames", tmp_path / name)
        return png_frames(tmp_path / name)

    first = frames(3, "a")
    np.testing.assert_array_equal(first, frames(3, "b"))
    assert not np.array_equal(first, frames(4, "c"))


def test_save_plan_writes_the_plan_used(model_dir, media, tmp_path, capsys):
    plan_path = tmp_path / "plan.json"
    generate(
        capsys,
        model_dir,
        tmp_path / "x.mp4",
        "--task",
        "image-to-video",
        "--image",
        media.start,
        "--at",
        5,
        "--frames",
        6,
        "--steps",
        3,
        "--save-plan",
        plan_path,
    )
    assert Plan.from_json(plan_path.read_text()) == schedules.image_to_video(6, 3, given=(5,), order="sequential")


@pytest.mark.parametrize("task, argv, builder", [
    ("unconditional", lambda m: [], lambda: schedules.synchronous(8, 4, order="sequential")),
    ("interpolate", lambda m: ["--start", m.start, "--end", m.end], lambda: schedules.interpolation(8, 4)),
    ("predict", lambda m: ["--video", m.clip], lambda: schedules.prediction(8, 4, order="pyramid")),
])
def test_each_task_defaults_to_its_measured_order(task, argv, builder, model_dir, media, tmp_path, capsys):
    """Without --order a task runs in the order the app uses for it (`schedules.TASK_ORDERS`)."""
    plan_path = tmp_path / "plan.json"
    generate(capsys, model_dir, tmp_path / "x.mp4", "--task", task, *argv(media), "--steps", 4, "--save-plan", plan_path)
    assert Plan.from_json(plan_path.read_text()) == builder()


@pytest.mark.parametrize("task, argv, builder", [
    ("image-to-video", lambda m: ["--image", m.start, "--at", 1],
     lambda: schedules.image_to_video(8, 9, given=(1,), order="pyramid")),
    ("predict", lambda m: ["--video", m.clip, "--context", 3],
     lambda: schedules.prediction(8, 9, context=3, order="pyramid")),
])
def test_pyramid_order_runs_the_pyramid_plan(task, argv, builder, model_dir, media, tmp_path, capsys):
    plan_path, folder = tmp_path / "plan.json", tmp_path / "frames"
    out = generate(capsys, model_dir, tmp_path / "x.mp4", "--task", task, *argv(media), "--order", "pyramid",
                   "--steps", 9, "--save-plan", plan_path, "--save-frames", folder)
    assert Plan.from_json(plan_path.read_text()) == builder()
    assert png_frames(folder).shape[0] == WINDOW and "x.mp4" in out


def test_long_video_shows_one_progress_bar(model_dir, tmp_path, capsys):
    """Two windows (8 frames, then 5 after 3 of context) under one bar counting the video's frames."""
    argv = ["--task", "long", "--total-frames", 13, "--context-frames", 3, "--steps", 2]
    code, _, err = run(capsys, "generate", "--model", model_dir, "--out", tmp_path / "long.mp4", *argv)
    assert code == 0, err
    shown = [line.rsplit("\r", 1)[-1] for line in err.split("\n") if line.strip()]  # what stays on screen
    assert len(shown) == 1 and "13/13" in shown[0] and "frame/s" in shown[0], err


def test_seeds_go_up_to_the_apps_largest(model_dir, tmp_path, capsys):
    assert "seed 2147483647;" in generate(capsys, model_dir, tmp_path / "x.mp4", "--seed", 2**31 - 1)


def test_counts_of_one_are_singular(model_dir, tmp_path, capsys):
    assert ": 1 video of 1 frame at 16x16 px" in generate(capsys, model_dir, tmp_path / "one.mp4", "--frames", 1)
    code, out, _ = run(capsys, "schedule", "--frames", 1, "--steps", 1, "--out", tmp_path / "one.json")
    assert code == 0 and out.startswith("synchronous: 1 frame, 1 step (all steps); given: none")
    code, out, _ = run(capsys, "schedule", "--validate", tmp_path / "one.json")
    assert code == 0 and "(synchronous, 1 frame, 1 step, given [])" in out


def test_long_video_defaults_to_the_sequential_order(model_dir, tmp_path, capsys):
    def frames(*order: str) -> np.ndarray:
        folder = tmp_path / (order[-1] if order else "default")
        argv = ["--task", "long", "--total-frames", 10, "--steps", 3, "--save-frames", folder, *order]
        generate(capsys, model_dir, tmp_path / "long.mp4", *argv)
        return png_frames(folder)

    default = frames()
    np.testing.assert_array_equal(default, frames("--order", "sequential"))
    assert not np.array_equal(default, frames("--order", "together"))


def test_long_video_in_pyramid_order(model_dir, tmp_path, capsys):
    out = tmp_path / "long.mp4"
    generate(capsys, model_dir, out, "--task", "long", "--total-frames", 12, "--order", "pyramid", "--steps", 8)
    assert mp4_facts(out)[0] == 12


def test_frame_guidance_changes_the_generated_frames_only(model_dir, media, tmp_path, capsys):
    def frames(*argv) -> np.ndarray:
        folder = tmp_path / f"frames{len(argv)}"
        generate(capsys, model_dir, tmp_path / "x.mp4", "--task", "image-to-video", "--image", media.start,
                 "--save-frames", folder, *argv)
        return png_frames(folder)

    plain, guided = frames(), frames("--frame-guidance", 3)
    np.testing.assert_array_equal(guided[0], plain[0])
    assert np.abs(guided[1:].astype(int) - plain[1:]).max() > 10


def test_bf16_class_and_guidance_run(tmp_path, capsys):
    checkpoint = tmp_path / "official.pt"
    torch.save({"ema": official_state_dict()}, checkpoint)
    out = tmp_path / "x.mp4"
    code, _, err = run(capsys, "generate", "--model", checkpoint, "--out", out, "--steps", 2,
                       "--class", 2, "--guidance", 3, "--bf16", "--sampler", "ddpm")
    assert code == 0, err
    assert mp4_facts(out)[0] == 4
    # a CPU that emulates bf16 is named on stderr, one that has it says nothing
    warning = slow_bf16_warning("cpu")
    assert (warning in err) if warning else ("bf16" not in err)


def test_python_dash_m_fvdm_runs(model_dir, tmp_path):
    out = tmp_path / "clip.mp4"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "fvdm", "generate", "--model", str(model_dir), "--out", str(out), "--steps", "1"]
    result = subprocess.run(command, check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert mp4_facts(out)[:2] == (WINDOW, "h264")


# ------------------------------------------------------------------------------- schedule


def test_schedule_prints_the_plan_as_a_table(capsys):
    code, out, _ = run(capsys, "schedule", "--task", "interpolate", "--frames", 5, "--steps", 3, "--context", 2)
    assert code == 0
    plan = schedules.interpolation(5, 3, context=2)
    title, header, *rows = out.splitlines()
    assert title.startswith("interpolation: 5 frames, 3 steps") and "given: 0, 1, 3, 4" in title
    assert header.split()[-4:] == ["0", "1", "2", "3"]
    assert [row.split()[1] for row in rows] == ["0*", "1*", "2", "3*", "4*"]
    for frame, row in enumerate(rows):
        assert [int(v) for v in row.split()[2:]] == plan.timesteps[:, frame].tolist()


def test_schedule_subsamples_the_steps_of_long_plans(capsys):
    code, out, _ = run(capsys, "schedule", "--steps", 100, "--frames", 3)
    assert code == 0
    columns = [int(v) for v in out.splitlines()[1].split()[3:]]
    assert len(columns) == 13 and columns[0] == 0 and columns[-1] == 100 and columns == sorted(columns)
    assert out.splitlines()[-1].split()[-1] == "0"


def test_schedule_writes_png_and_json(tmp_path, capsys):
    png, saved = tmp_path / "plan.png", tmp_path / "plan.json"
    assert run(capsys, "schedule", "--task", "trapezoid", "--indices", "0,9", "--frames", 10, "--out", png)[0] == 0
    with Image.open(png) as image:
        assert image.format == "PNG" and image.width == 650
    argv = ["--task", "autoregressive", "--frames", 6, "--steps", 4, "--lag", 2, "--block-size", 2, "--indices", 0]
    code, out, _ = run(capsys, "schedule", *argv, "--out", saved)
    assert code == 0 and f"wrote {saved}" in out
    expected = schedules.autoregressive(6, 4, lag=2, block_size=2, given=(0,))
    assert Plan.from_json(saved.read_text()) == expected
    code, out, _ = run(capsys, "schedule", "--validate", saved)
    assert code == 0 and out.startswith(f"OK: {saved}")


def test_schedule_builds_the_pyramid_order(capsys):
    argv = ["--task", "predict", "--context", 2, "--frames", 6, "--steps", 5, "--order", "pyramid"]
    code, out, _ = run(capsys, "schedule", *argv)
    plan = schedules.prediction(6, 5, context=2, order="pyramid")
    title, _, *rows = out.splitlines()
    assert code == 0 and title.startswith("prediction, pyramid: 6 frames, 5 steps")
    for frame, row in enumerate(rows):
        assert [int(v) for v in row.split()[2:]] == plan.timesteps[:, frame].tolist()


def test_every_schedule_task_builds(capsys):
    extra = {"keyframes": ["--indices", "0,5"], "random": ["--seed", 3]}
    for task in (
        "synchronous",
        "image-to-video",
        "interpolate",
        "predict",
        "keyframes",
        "autoregressive",
        "trapezoid",
        "random",
    ):
        code, out, err = run(capsys, "schedule", "--task", task, "--frames", 8, "--steps", 4, *extra.get(task, []))
        assert code == 0, err
        assert len(out.splitlines()) == 2 + 8


# ------------------------------------------------------------------------------- convert and info


def test_convert_then_generate_and_info(tmp_path, capsys):
    checkpoint, folder = tmp_path / "0100000.pt", tmp_path / "converted"
    torch.save({"ema": {"module." + k: v for k, v in official_state_dict(hidden=64).items()}}, checkpoint)
    code, out, err = run(capsys, "convert", checkpoint, folder, "--heads", 4)
    assert code == 0, err
    assert "hidden_size: 64" in out and "num_heads: 4" in out and "num_classes: 3" in out and "learn_sigma: True" in out
    assert (folder / "model_index.json").is_file()
    generate(capsys, folder, tmp_path / "x.mp4", "--class", 1, "--guidance", 2)
    assert mp4_facts(tmp_path / "x.mp4")[0] == 4
    code, out, _ = run(capsys, "info", "--model", folder)
    buffers = ("pos_embed", "temp_embed")  # fixed sin-cos tables, not parameters
    parameters = sum(v.numel() for k, v in official_state_dict(hidden=64).items() if k not in buffers)
    assert code == 0 and "frames per window: 4" in out and "resolution: 8x8 px (pixel space)" in out
    assert f"parameters: {parameters:,} (FVDMTransformer)" in out and "classes: 3" in out


def test_convert_latent_checkpoint_with_a_vae(tmp_path, capsys):
    checkpoint, vae_dir, folder = tmp_path / "latent.pt", tmp_path / "vae", tmp_path / "converted"
    torch.save({"ema": official_state_dict(channels=4, sigma=False)}, checkpoint)
    tiny_vae().save_pretrained(vae_dir)
    code, out, err = run(capsys, "convert", checkpoint, folder, "--vae", vae_dir)
    assert code == 0, err
    assert "resolution: 16x16 px (VAE latents: 8x8x4, x2)" in out
    generate(capsys, folder, tmp_path / "x.mp4")
    assert mp4_facts(tmp_path / "x.mp4")[0] == 4


def test_info_on_a_folder(model_dir, capsys):
    code, out, _ = run(capsys, "info", "--model", model_dir)
    assert code == 0
    assert "frames per window: 8" in out and "resolution: 16x16 px (pixel space)" in out
    assert "FVDMTransformer config:" in out and "classes: none" in out and "num_frames: 8" in out
    assert "sampling: DDIM steps, frame guidance 1 (1 = off)" in out


# ------------------------------------------------------------------------------- errors


def corrupt_video(tmp_path: Path) -> Path:
    path = tmp_path / "corrupt.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    return path


def rising_plan(tmp_path: Path) -> Path:
    path = tmp_path / "rising.json"
    path.write_text('{"given": [], "timesteps": [[500, 999], [999, 0], [0, 0]]}')
    return path


def one_frame_video(tmp_path: Path) -> Path:
    path = tmp_path / "still.mp4"
    save_video(np.zeros((1, 16, 16, 3), np.uint8), path)
    return path


def bad_json(tmp_path: Path) -> Path:
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    return path


ERRORS = {
    "missing image": (lambda m, t: ["--task", "image-to-video", "--image", t / "missing.png"], "does not exist"),
    "corrupt video": (lambda m, t: ["--task", "predict", "--video", corrupt_video(t)], "corrupt"),
    "bad json plan": (lambda m, t: ["--task", "custom", "--schedule", bad_json(t)], "not valid JSON"),
    "rising plan": (lambda m, t: ["--task", "custom", "--schedule", rising_plan(t)], "noise rises"),
    "missing plan": (lambda m, t: ["--task", "custom", "--schedule", t / "none.json"], "cannot read the plan"),
    "steps 0": (lambda m, t: ["--steps", 0], "--steps: must be between 1 and 1000"),
    "steps 100000": (lambda m, t: ["--steps", 100000], "--steps: must be between 1 and 1000"),
    "steps not a number": (lambda m, t: ["--steps", "many"], "expected a whole number"),
    "unknown task": (lambda m, t: ["--task", "dance"], "invalid choice: 'dance'"),
    "context too large": (lambda m, t: ["--task", "predict", "--video", m.clip, "--context", 8], "needs more than 8"),
    "video too short": (
        lambda m, t: ["--task", "interpolate", "--video", m.clip, "--context", 6, "--frames", 14],
        "has 10 frames",
    ),
    "one-frame video": (
        lambda m, t: ["--task", "interpolate", "--video", one_frame_video(t)],
        "has 1 frame; --context 1 needs at least 2",
    ),
    "option for another task": (lambda m, t: ["--image", m.start], "--image is only for --task image-to-video, long"),
    "missing task input": (lambda m, t: ["--task", "image-to-video"], "needs --image"),
    "half an interpolation": (lambda m, t: ["--task", "interpolate", "--start", m.start], "--start and --end"),
    "given index outside": (lambda m, t: ["--task", "image-to-video", "--image", m.start, "--at", 8], "frame 8"),
    "plan without its images": (lambda m, t: ["--task", "custom", "--schedule", m.plan], "plan gives frames [0, 4]"),
    "bad --given": (lambda m, t: ["--task", "custom", "--schedule", m.plan, "--given", "x.png"], "INDEX=IMAGE"),
    "guidance, unconditional": (lambda m, t: ["--guidance", 3], "guidance needs a class-conditional model"),
    "class, unconditional": (lambda m, t: ["--class", 1], "not class-conditional"),
    "too many frames": (lambda m, t: ["--frames", 9], "at most 8 frames"),
    "long context": (lambda m, t: ["--task", "long", "--context-frames", 8], "between 1 and 7"),
    "long video past the app's limit": (
        lambda m, t: ["--task", "long", "--total-frames", 513], "--total-frames: must be between 1 and 512"
    ),
    "seed past the app's range": (lambda m, t: ["--seed", 2**31], "--seed: must be between 0 and 2147483647"),
    "nan fps": (lambda m, t: ["--fps", "nan"], "--fps: must be a finite number above 0"),
    "weak frame guidance": (
        lambda m, t: ["--frame-guidance", 0.5], "--frame-guidance: must be a finite number at least 1"
    ),
    "strong frame guidance": (
        lambda m, t: ["--task", "image-to-video", "--image", m.start, "--frame-guidance", 12],
        "frame guidance must be a number from 1 to 10; got 12.0",
    ),
    "unwritable output": (lambda m, t: ["--out", m.start / "x.mp4"], "cannot write"),
    "unknown order": (lambda m, t: ["--order", "backwards"], "invalid choice: 'backwards'"),
    "order, custom plan": (
        lambda m, t: ["--task", "custom", "--schedule", m.plan, "--order", "pyramid"], "--order is only for"
    ),
}


def assert_one_error_line(code: int, err: str, match: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert match in lines[0] and "Traceback" not in err


@pytest.mark.parametrize("case", ERRORS)
def test_generate_errors_are_one_line(case, model_dir, media, tmp_path, capsys):
    argv, match = ERRORS[case]
    code, _, err = run(capsys, "generate", "--model", model_dir, "--out", tmp_path / "x.mp4", *argv(media, tmp_path))
    assert_one_error_line(code, err, match)
    assert not (tmp_path / "x.mp4").exists()


@pytest.mark.parametrize(
    "argv, match",
    [
        ([], "required: COMMAND"),
        (["generate"], "required: --out"),
        (["generate", "--out", "x.avi"], "must end in .mp4 or .gif"),
        (["schedule", "--task", "synchronous", "--lag", 2], "--lag is only for --task autoregressive, trapezoid"),
        (["schedule", "--task", "keyframes"], "needs --indices"),
        (["schedule", "--task", "predict", "--frames", 4, "--context", 4], "needs more than 4 frames"),
        (["schedule", "--indices", "1,x"], "expected frame indices"),
        (["schedule", "--task", "random", "--seed", 2**31], "--seed: must be between 0 and 2147483647"),
        (["schedule", "--out", "plan.txt"], "must end in .json or .png"),
        (["schedule", "--validate", "plan.json", "--task", "random"], "not allowed with argument"),
        (["info", "--model", "/no/such/model/here"], "no model at /no/such/model/here"),
        (["dance"], "invalid choice"),
    ],
)
def test_other_errors_are_one_line(argv, match, capsys):
    assert_one_error_line(*run(capsys, *argv)[::2], match)


def test_schedule_validate_reports_the_problem(tmp_path, capsys):
    path = rising_plan(tmp_path)
    assert_one_error_line(*run(capsys, "schedule", "--validate", path)[::2], f"{path}: frame 0 at step 0: noise rises")


def test_convert_errors(tmp_path, capsys):
    checkpoint = tmp_path / "model.pt"
    torch.save({"ema": official_state_dict()}, checkpoint)
    assert_one_error_line(*run(capsys, "convert", checkpoint, tmp_path / "out", "--heads", 3)[::2], "do not divide")
    latent = tmp_path / "latent.pt"
    torch.save({"ema": official_state_dict(channels=4)}, latent)
    assert_one_error_line(*run(capsys, "convert", latent, tmp_path / "out")[::2], "--vae")
    assert_one_error_line(*run(capsys, "convert", checkpoint, checkpoint)[::2], "is not a folder")
    assert_one_error_line(*run(capsys, "convert", tmp_path / "nope.pt", tmp_path / "out")[::2], "does not exist")


def test_missing_bundled_model_says_how_to_get_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(fvdm.loading.BUNDLED_MODELS, "fvdm", tmp_path / "absent")
    code, _, err = run(capsys, "generate", "--out", tmp_path / "x.mp4")
    assert_one_error_line(code, err, "the bundled model 'fvdm' is not in")
    assert "python -m training.train" in err
