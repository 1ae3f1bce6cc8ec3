"""Tests for fvdm.video_io; every input is synthesised here with numpy/PIL into tmp_path."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
import torch
from PIL import Image

from fvdm import video_io
from fvdm.errors import FVDMInputError
from fvdm.video_io import (
    frames_to_grid,
    load_image,
    load_video,
    probe_video,
    resize_center_crop,
    save_video,
    to_rgb_array,
)

# ----------------------------------------------------------------------------- helpers


def index_clip(num_frames: int, height: int = 32, width: int = 32) -> np.ndarray:
    """Flat grey frames whose brightness encodes the frame index: 20 + 10 * index."""
    levels = 20 + 10 * np.arange(num_frames, dtype=np.uint8)
    return np.broadcast_to(levels[:, None, None, None], (num_frames, height, width, 3)).copy()


def decoded_indices(clip: np.ndarray) -> list[int]:
    return [round((frame.mean() - 20) / 10) for frame in clip]


def smooth_clip(num_frames: int = 12, height: int = 32, width: int = 32) -> np.ndarray:
    """Moving colour gradients: easy for a lossy codec, but every frame and pixel differ."""
    t, y, x = np.meshgrid(
        np.arange(num_frames), np.arange(height), np.arange(width), indexing="ij"
    )
    red = 128 + 90 * np.sin((x + 2 * t) / width * np.pi)
    green = 128 + 90 * np.cos((y + t) / height * np.pi)
    blue = 40 + 160 * (x + y) / (height + width)
    return np.stack([red, green, blue], axis=-1).round().astype(np.uint8)


def few_colour_clip(num_frames: int = 6, height: int = 12, width: int = 16) -> np.ndarray:
    """A clip with 4 colours, which GIF stores without loss; a square moves right each frame."""
    clip = np.zeros((num_frames, height, width, 3), np.uint8)
    clip[:, :, :, 2] = 90
    for index in range(num_frames):
        clip[index, 2:6, index : index + 4] = (250, 40, 0)
        clip[index, -2:, :] = (0, 200, 0) if index % 2 else (255, 255, 255)
    return clip


def png_header_only(width: int, height: int) -> bytes:
    """A PNG signature and IHDR claiming the given size, with no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + checksum

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def expected_over_black(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float64) * alpha.astype(np.float64)[..., None] / 255.0


def assert_rounds_to(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.dtype == np.uint8
    assert np.all(np.abs(actual.astype(np.float64) - expected) <= 0.5 + 1e-9)


# ----------------------------------------------------------------------------- to_rgb_array


def test_rgba_image_is_composited_over_black() -> None:
    rgba = np.array([[[200, 100, 50, 128], [10, 20, 30, 0], [255, 255, 255, 255]]], np.uint8)
    result = to_rgb_array(Image.fromarray(rgba, "RGBA"))
    assert result.shape == (1, 3, 3)
    assert_rounds_to(result, expected_over_black(rgba[..., :3], rgba[..., 3]))
    assert result[0, 1].tolist() == [0, 0, 0]


def test_la_image_is_grey_composited_over_black() -> None:
    la = np.array([[[200, 64], [90, 255]]], np.uint8)
    result = to_rgb_array(Image.fromarray(la, "LA"))
    grey = np.repeat(la[..., :1], 3, axis=2)
    assert_rounds_to(result, expected_over_black(grey, la[..., 1]))


def test_palette_image_with_and_without_transparency() -> None:
    image = Image.new("P", (3, 1))
    image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255])
    image.putdata([0, 1, 2])
    assert to_rgb_array(image).tolist() == [[[255, 0, 0], [0, 255, 0], [0, 0, 255]]]
    image.info["transparency"] = 0
    assert to_rgb_array(image).tolist() == [[[0, 0, 0], [0, 255, 0], [0, 0, 255]]]


def test_grayscale_modes_scale_to_eight_bits() -> None:
    light = Image.fromarray(np.array([[0, 77, 255]], np.uint8))
    assert light.mode == "L"
    assert to_rgb_array(light)[0, :, 0].tolist() == [0, 77, 255]

    sixteen = Image.fromarray(np.array([[0, 257 * 100, 65535]], np.uint16))
    assert sixteen.mode == "I;16"
    result = to_rgb_array(sixteen)
    assert result.shape == (1, 3, 3) and result.dtype == np.uint8
    assert result[0].tolist() == [[0] * 3, [100] * 3, [255] * 3]

    integer = Image.fromarray(np.array([[-5, 257 * 40, 70000]], np.int32))
    assert integer.mode == "I"
    assert to_rgb_array(integer)[0, :, 1].tolist() == [0, 40, 255]

    floating = Image.fromarray(np.array([[0.0, 0.25, 1.0]], np.float32))
    assert floating.mode == "F"
    assert to_rgb_array(floating)[0, :, 2].tolist() == [0, 64, 255]


def test_cmyk_image_becomes_rgb() -> None:
    cmyk = np.array([[[0, 0, 0, 0], [255, 0, 0, 0], [0, 0, 255, 0], [0, 0, 0, 255]]], np.uint8)
    result = to_rgb_array(Image.fromarray(cmyk, "CMYK"))
    assert result[0].tolist() == [[255, 255, 255], [0, 255, 255], [255, 255, 0], [0, 0, 0]]


def test_unconvertible_pil_mode_is_an_input_error() -> None:
    with pytest.raises(FVDMInputError, match="mode La"):
        to_rgb_array(Image.new("La", (2, 2)))


@pytest.mark.parametrize("shape", [(4, 5), (4, 5, 1)])
def test_grey_arrays_are_repeated_to_three_channels(shape: tuple[int, ...]) -> None:
    grey = np.arange(20, dtype=np.uint8).reshape(shape)
    result = to_rgb_array(grey)
    assert result.shape == (4, 5, 3)
    for channel in range(3):
        assert np.array_equal(result[..., channel], grey.reshape(4, 5))


def test_float_and_rgba_arrays() -> None:
    floats = np.array([[[0.0, 0.5, 1.0], [-0.3, 1.7, 0.2]]], np.float32)
    assert to_rgb_array(floats).tolist() == [[[0, 128, 255], [0, 255, 51]]]
    rgba = np.array([[[1.0, 0.5, 0.0, 0.6]]], np.float64)  # 8-bit: (255, 128, 0, 153)
    expected = expected_over_black(np.array([[[255, 128, 0]]]), np.array([[153]]))
    assert_rounds_to(to_rgb_array(rgba), expected)


def test_rgb_uint8_array_is_kept() -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (6, 7, 3), dtype=np.uint8)
    assert np.array_equal(to_rgb_array(rgb), rgb)


def test_tensors_in_unit_and_symmetric_ranges() -> None:
    chw = torch.zeros(3, 2, 4)
    chw[0, 1, 3] = 1.0
    chw[2, 0, 0] = 0.5
    result = to_rgb_array(chw)
    assert result.shape == (2, 4, 3)
    assert result[1, 3].tolist() == [255, 0, 0] and result[0, 0].tolist() == [0, 0, 128]

    symmetric = torch.tensor([[[-1.0, 0.5, 1.0]]])  # [H=1, W=1, 3]
    assert to_rgb_array(symmetric).tolist() == [[[0, 191, 255]]]
    assert np.array_equal(to_rgb_array(chw.permute(1, 2, 0)), result)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 4, 2), np.uint8),
        np.zeros((2, 4, 4, 3), np.uint8),
        np.zeros((4, 4, 3), np.int64),
        np.full((4, 4, 3), np.nan),
        torch.zeros(1, 3, 4, 4),
        torch.zeros(3, 4, 4, dtype=torch.int64),
        [[0, 0, 0]],
    ],
    ids=["two-channels", "four-dims", "int64", "nan", "batched-tensor", "int-tensor", "list"],
)
def test_unsupported_inputs_are_rejected_with_the_expectation(bad: object) -> None:
    with pytest.raises(FVDMInputError, match="Expected|NaN"):
        to_rgb_array(bad)


# ----------------------------------------------------------------------------- resize_center_crop


def centroid(image: np.ndarray) -> tuple[float, float]:
    weight = image.astype(np.float64).sum(axis=2)
    ys, xs = np.indices(weight.shape)
    return (weight * ys).sum() / weight.sum(), (weight * xs).sum() / weight.sum()


@pytest.mark.parametrize("shape", [(60, 200), (200, 60), (10, 14), (1024, 768)])
def test_resize_gives_target_size_and_keeps_a_centred_feature_centred(
    shape: tuple[int, int],
) -> None:
    height, width = shape
    image = np.zeros((height, width, 3), np.uint8)
    half = min(height, width) // 4
    image[height // 2 - half : height // 2 + half, width // 2 - half : width // 2 + half] = 255
    result = resize_center_crop(image, (32, 24))
    assert result.shape == (32, 24, 3) and result.dtype == np.uint8
    cy, cx = centroid(result)
    assert abs(cy - 15.5) < 0.5 and abs(cx - 11.5) < 0.5


def test_resize_crops_the_excess_instead_of_squashing() -> None:
    wide = np.zeros((32, 96, 3), np.uint8)
    wide[:, :16] = (255, 0, 0)  # a red band on the far left that lies outside the centre crop
    wide[:, 40:56] = (0, 255, 0)  # a green band in the middle third
    result = resize_center_crop(wide, (32, 32))
    assert result[..., 0].max() == 0
    assert np.all(result[:, 8:24, 1] == 255)


def test_large_downscale_averages_instead_of_aliasing() -> None:
    checker = (np.indices((1024, 1024)).sum(axis=0) % 2 * 255).astype(np.uint8)
    result = resize_center_crop(np.repeat(checker[..., None], 3, axis=2), (32, 32))
    assert abs(result.mean() - 127.5) < 2 and result.std() < 2


def test_exact_size_is_returned_unchanged() -> None:
    frame = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    assert resize_center_crop(frame, (32, 32)) is frame
    clip = np.stack([frame, frame[::-1]])
    assert resize_center_crop(clip, (32, 32)) is clip


def test_clip_resize_matches_frame_by_frame_resize() -> None:
    clip = smooth_clip(num_frames=3, height=40, width=70)
    result = resize_center_crop(clip, (16, 16))
    assert result.shape == (3, 16, 16, 3)
    for frame, resized in zip(clip, result):
        assert np.array_equal(resize_center_crop(frame, (16, 16)), resized)


@pytest.mark.parametrize(
    ("frames", "size"),
    [
        (np.zeros((8, 8, 3), np.uint8), (0, 8)),
        (np.zeros((8, 8, 3), np.float32), (4, 4)),
        (np.zeros((0, 8, 8, 3), np.uint8), (4, 4)),
    ],
    ids=["zero-height", "float", "empty-clip"],
)
def test_resize_rejects_bad_arguments(frames: np.ndarray, size: tuple[int, int]) -> None:
    with pytest.raises(FVDMInputError):
        resize_center_crop(frames, size)


# ----------------------------------------------------------------------------- load_image


@pytest.mark.parametrize(
    ("name", "options"),
    [("a.png", {}), ("a.bmp", {}), ("a.webp", {"lossless": True}), ("a.GIF", {})],
)
def test_load_image_lossless_formats_round_trip(
    tmp_path: Path, name: str, options: dict[str, object]
) -> None:
    pixels = few_colour_clip()[0]
    Image.fromarray(pixels).save(tmp_path / name, **options)
    assert np.array_equal(load_image(tmp_path / name), pixels)


def test_load_image_jpeg_and_size(tmp_path: Path) -> None:
    pixels = smooth_clip(num_frames=1, height=48, width=64)[0]
    Image.fromarray(pixels).save(tmp_path / "photo.jpg", quality=95)
    loaded = load_image(str(tmp_path / "photo.jpg"))
    assert loaded.shape == (48, 64, 3)
    assert np.abs(loaded.astype(int) - pixels).mean() < 4
    assert np.array_equal(load_image(tmp_path / "photo.jpg", size=(32, 32)),
                          resize_center_crop(loaded, (32, 32)))


def test_load_image_png_with_alpha_and_in_memory_sources(tmp_path: Path) -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[:2, :, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cutout.png")
    loaded = load_image(tmp_path / "cutout.png")
    assert np.all(loaded[:2] == 200) and np.all(loaded[2:] == 0)
    assert np.array_equal(load_image(Image.fromarray(rgba, "RGBA")), loaded)
    assert load_image(torch.rand(3, 10, 20), size=(8, 8)).shape == (8, 8, 3)


def test_load_image_gif_gives_the_first_frame(tmp_path: Path) -> None:
    clip = few_colour_clip()
    save_video(clip, tmp_path / "anim.gif")
    assert np.array_equal(load_image(tmp_path / "anim.gif"), clip[0])


def test_load_image_applies_exif_orientation(tmp_path: Path) -> None:
    pixels = np.zeros((10, 20, 3), np.uint8)
    pixels[:, :10] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display after rotating 90 degrees clockwise
    Image.fromarray(pixels).save(tmp_path / "phone.png", exif=exif)
    loaded = load_image(tmp_path / "phone.png")
    assert loaded.shape == (20, 10, 3)
    assert np.array_equal(loaded, np.rot90(pixels, k=-1))


def test_load_image_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "noise.png").write_bytes(np.random.default_rng(0).bytes(2048))
    Image.new("RGB", (4, 4)).save(tmp_path / "scan.tiff")
    Image.fromarray(smooth_clip(1, 64, 64)[0]).save(tmp_path / "cut.png")
    data = (tmp_path / "cut.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "bomb.png").write_bytes(png_header_only(20000, 20000))
    cases = {
        "missing.png": "does not exist",
        "noise.png": "Could not read",
        "scan.tiff": "not a supported image",
        "cut.png": "Could not read",
        "bomb.png": "pixels",
    }
    for name, reason in cases.items():
        with pytest.raises(FVDMInputError, match=reason) as caught:
            load_image(tmp_path / name)
        assert name in str(caught.value)


def test_image_pixel_limit_is_enforced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(video_io, "MAX_IMAGE_PIXELS", 100)
    Image.new("RGB", (10, 10)).save(tmp_path / "at_limit.png")
    Image.new("RGB", (11, 10)).save(tmp_path / "over_limit.png")
    assert load_image(tmp_path / "at_limit.png").shape == (10, 10, 3)
    with pytest.raises(FVDMInputError, match="over_limit.png has more than 100 pixels"):
        load_image(tmp_path / "over_limit.png")


# ----------------------------------------------------------------------------- save / load video


def test_mp4_round_trip_is_browser_h264(tmp_path: Path) -> None:
    clip = smooth_clip(num_frames=12)
    path = save_video(clip, tmp_path / "out" / "sample.mp4", fps=8)
    assert path == tmp_path / "out" / "sample.mp4"
    assert imageio_ffmpeg.count_frames_and_secs(str(path))[0] == 12
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    reader.close()
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p")
    loaded = load_video(path)
    assert loaded.shape == clip.shape and loaded.dtype == np.uint8
    assert np.abs(loaded.astype(int) - clip).mean() < 8
    assert probe_video(path) == {"num_frames": 12, "fps": 8.0, "size": (32, 32)}


def test_webm_round_trip(tmp_path: Path) -> None:
    clip = smooth_clip(num_frames=6, height=24, width=40)
    path = save_video(clip.astype(np.float32) / 255.0, tmp_path / "sample.webm", fps=12)
    loaded = load_video(path)
    assert loaded.shape == clip.shape
    assert np.abs(loaded.astype(int) - clip).mean() < 8
    info = probe_video(path)
    assert info["size"] == (24, 40) and info["fps"] == 12.0


def test_mp4_upscale_and_odd_sizes(tmp_path: Path) -> None:
    clip = smooth_clip(num_frames=4)
    upscaled = load_video(save_video(clip, tmp_path / "big.mp4", upscale=4))
    assert upscaled.shape == (4, 128, 128, 3)
    block_means = upscaled.reshape(4, 32, 4, 32, 4, 3).mean(axis=(2, 4))
    assert np.abs(block_means - clip).mean() < 8

    odd = smooth_clip(num_frames=3, height=15, width=21)
    padded = load_video(save_video(odd, tmp_path / "odd.mp4"))
    assert padded.shape == (3, 16, 22, 3)
    assert np.abs(padded[:, :15, :21].astype(int) - odd).mean() < 8


def test_gif_round_trip_is_exact_for_few_colours(tmp_path: Path) -> None:
    clip = few_colour_clip()
    path = save_video(clip, tmp_path / "sample.gif", fps=8, upscale=2)
    loaded = load_video(path)
    assert np.array_equal(loaded, clip.repeat(2, axis=1).repeat(2, axis=2))
    with Image.open(path) as image:
        assert image.info["loop"] == 0 and image.info["duration"] == 120
    info = probe_video(path)
    assert info["num_frames"] == len(clip) and info["size"] == (24, 32)
    assert info["fps"] == pytest.approx(1000 / 120)


@pytest.mark.parametrize(("fps", "delay_ms"), [(6, 170), (25, 40), (100, 20)])
def test_gif_delay_is_rounded_to_centiseconds_with_a_floor(
    tmp_path: Path, fps: float, delay_ms: int
) -> None:
    path = save_video(few_colour_clip(num_frames=2), tmp_path / "timed.gif", fps=fps)
    with Image.open(path) as image:
        assert image.info["duration"] == delay_ms


def test_gif_merges_identical_consecutive_frames(tmp_path: Path) -> None:
    clip = few_colour_clip(num_frames=2)
    path = save_video(np.stack([clip[0], clip[0], clip[1]]), tmp_path / "merged.gif")
    assert np.array_equal(load_video(path), clip)


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"num_frames": 4, "stride": 4, "start": 3}, [3, 7, 11, 15]),
        ({"stride": 5}, [0, 5, 10, 15]),
        ({"start": 18}, [18, 19]),
        ({"num_frames": 3}, [0, 1, 2]),
        ({"num_frames": 2, "stride": 19}, [0, 19]),
    ],
)
def test_load_video_selects_frames(
    tmp_path: Path, suffix: str, options: dict[str, int], expected: list[int]
) -> None:
    path = save_video(index_clip(20), tmp_path / f"ramp{suffix}")
    assert decoded_indices(load_video(path, **options)) == expected


def test_load_video_resizes(tmp_path: Path) -> None:
    path = save_video(index_clip(5, height=40, width=80), tmp_path / "wide.gif")
    loaded = load_video(path, num_frames=2, size=(16, 16))
    assert loaded.shape == (2, 16, 16, 3)
    assert decoded_indices(loaded) == [0, 1]


def test_load_video_stops_decoding_once_enough_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save_video(index_clip(30), tmp_path / "long.mp4")
    pulled = []
    real_read_frames = imageio_ffmpeg.read_frames

    def counting_read_frames(*args: object, **kwargs: object):
        reader = real_read_frames(*args, **kwargs)
        yield next(reader)  # the metadata
        for frame in reader:
            pulled.append(frame)
            yield frame

    monkeypatch.setattr(imageio_ffmpeg, "read_frames", counting_read_frames)
    assert decoded_indices(load_video(path, num_frames=3, stride=3, start=2)) == [2, 5, 8]
    assert len(pulled) == 9


def test_too_short_video_says_how_many_frames(tmp_path: Path) -> None:
    path = save_video(index_clip(5), tmp_path / "clip.mp4")
    with pytest.raises(FVDMInputError, match=r"clip.mp4 has 5 frames; 16 are needed at stride 1"):
        load_video(path, num_frames=16)
    with pytest.raises(FVDMInputError, match=r"has 5 frames; 7 are needed at stride 3"):
        load_video(path, num_frames=3, stride=3)
    with pytest.raises(FVDMInputError, match=r"clip.mp4 has 5 frames, so there are none"):
        load_video(path, start=5)


def test_video_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "noise.mp4").write_bytes(np.random.default_rng(1).bytes(4096))
    (tmp_path / "noise.gif").write_bytes(np.random.default_rng(1).bytes(4096))
    (tmp_path / "notes.txt").write_text("not a video")
    data = save_video(smooth_clip(num_frames=10), tmp_path / "full.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: int(len(data) * 0.9)])
    cases = {
        "missing.mp4": "does not exist",
        "noise.mp4": "Could not read",
        "noise.gif": "Could not read",
        "cut.mp4": "Could not read",
        "notes.txt": "not a supported video",
    }
    for name, reason in cases.items():
        for read in (load_video, probe_video):
            with pytest.raises(FVDMInputError, match=reason) as caught:
                read(tmp_path / name)
            assert name in str(caught.value)


@pytest.mark.parametrize(
    "options", [{"stride": 0}, {"start": -1}, {"num_frames": 0}, {"num_frames": 2.5}]
)
def test_load_video_rejects_bad_numbers(tmp_path: Path, options: dict[str, object]) -> None:
    path = save_video(index_clip(3), tmp_path / "tiny.gif")
    with pytest.raises(FVDMInputError, match="whole number"):
        load_video(path, **options)


@pytest.mark.parametrize(
    ("frames", "name", "reason"),
    [
        (index_clip(2), "clip.avi", "Cannot write"),
        (np.zeros((0, 8, 8, 3), np.uint8), "empty.mp4", "empty"),
        ([], "empty.gif", "empty"),
        (np.zeros((2, 8, 8), np.uint8), "grey.mp4", r"\[F, H, W, 3\]"),
        (np.zeros((2, 8, 8, 3), np.int32), "ints.mp4", "int32"),
        ([np.zeros((4, 4, 3)), np.zeros((5, 4, 3))], "ragged.mp4", "same shape"),
    ],
)
def test_save_video_rejects_bad_input(
    tmp_path: Path, frames: object, name: str, reason: str
) -> None:
    with pytest.raises(FVDMInputError, match=reason):
        save_video(frames, tmp_path / name)
    assert not (tmp_path / name).exists()


def test_save_video_rejects_bad_fps_and_upscale(tmp_path: Path) -> None:
    with pytest.raises(FVDMInputError, match="fps"):
        save_video(index_clip(2), tmp_path / "a.mp4", fps=0)
    with pytest.raises(FVDMInputError, match="upscale"):
        save_video(index_clip(2), tmp_path / "a.mp4", upscale=1.5)


# ----------------------------------------------------------------------------- frames_to_grid


def test_grid_tiles_clips_row_by_row_with_white_gaps() -> None:
    clips = [index_clip(3, 4, 5) + 60 * n for n in range(3)]
    grid = frames_to_grid(clips, pad=2)
    assert grid.shape == (3, 2 * 4 + 2, 2 * 5 + 2, 3)  # ceil(sqrt(3)) = 2 columns, 2 rows
    assert np.array_equal(grid[:, :4, :5], clips[0])
    assert np.array_equal(grid[:, :4, 7:], clips[1])
    assert np.array_equal(grid[:, 6:, :5], clips[2])
    assert np.all(grid[:, 4:6] == 255) and np.all(grid[:, :, 5:7] == 255)
    assert np.all(grid[:, 6:, 7:] == 255)  # the empty fourth cell


def test_grid_with_explicit_columns_and_float_clips() -> None:
    clips = [np.full((2, 3, 3, 3), value, np.float32) for value in (0.0, 1.0)]
    grid = frames_to_grid(clips, ncols=5, pad=0)
    assert grid.shape == (2, 3, 6, 3) and grid.dtype == np.uint8
    assert np.all(grid[:, :, :3] == 0) and np.all(grid[:, :, 3:] == 255)


def test_grid_rejects_empty_and_mismatched_clips() -> None:
    with pytest.raises(FVDMInputError, match="empty"):
        frames_to_grid([])
    with pytest.raises(FVDMInputError, match="same shape"):
        frames_to_grid([index_clip(2), index_clip(3)])
    with pytest.raises(FVDMInputError, match="ncols"):
        frames_to_grid([index_clip(2)], ncols=0)
