"""Reading, resizing, writing and tiling images and videos as uint8 RGB numpy arrays.

Conventions shared by the whole library:

- a frame is ``np.uint8`` of shape [H, W, 3] (RGB), a clip is ``np.uint8`` of shape [F, H, W, 3];
- sizes are ``(height, width)``, in the order of array shapes (not PIL's ``(width, height)``);
- transparency is removed by compositing over black, because the synthetic-world model is
  trained on dark backgrounds, so a transparent cut-out then looks like its training data.

Videos other than GIF go through the ffmpeg binary shipped by ``imageio-ffmpeg`` (the backend of
imageio's ffmpeg plugin); no system ffmpeg is needed. GIFs are read and written with Pillow.
"""

from __future__ import annotations

import contextlib
import math
import operator
import os
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypedDict

import imageio_ffmpeg
import numpy as np
import torch
from PIL import Image, ImageOps, ImageSequence

from fvdm.errors import FVDMInputError

MAX_IMAGE_PIXELS = 4096 * 4096
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")
VIDEO_EXTENSIONS = (".mp4", ".webm", ".avi", ".mov", ".mkv", ".gif")

_PIL_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")
# What Pillow raises on files it cannot parse: unknown or truncated data (OSError), malformed
# chunks or headers (SyntaxError, ValueError, struct.error), frames that are missing (EOFError).
_PIL_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)
# Writable ffmpeg containers: (codec, options). The CRF values give visually near-lossless output.
# No "-movflags +faststart": with the MP4 index at the end, a truncated file fails loudly instead
# of playing partly, and browsers fetch the index with a range request anyway.
_FFMPEG_WRITERS = {
    ".mp4": ("libx264", ["-crf", "18"]),
    ".webm": ("libvpx-vp9", ["-crf", "30", "-b:v", "0"]),
}
_WRITABLE_EXTENSIONS = (*_FFMPEG_WRITERS, ".gif")
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
# Browsers replace GIF frame delays of 10 ms or less with 100 ms, so 20 ms is the shortest usable.
_MIN_GIF_DELAY_CS = 2
# Browsers' convention for a GIF without a frame delay: 100 ms per frame.
_DEFAULT_GIF_FPS = 10.0
# White separators stand out against the dark clips the demo model generates.
_GRID_PAD_VALUE = 255


class VideoInfo(TypedDict):
    """What `probe_video` returns; ``size`` is ``(height, width)``."""

    num_frames: int
    fps: float
    size: tuple[int, int]


# ----------------------------------------------------------------------------- conversion


def to_rgb_array(image: Image.Image | np.ndarray | torch.Tensor) -> np.ndarray:
    """Convert one image to a uint8 RGB array [H, W, 3].

    Accepted inputs and how their values are read:

    - PIL images of any mode Pillow can turn into RGB. The integer modes ``I;16*`` and ``I``
      (what Pillow opens 16-bit grayscale files as) are taken as [0, 65535] and ``F`` as
      [0, 1]; CMYK, palette and other grayscale modes use Pillow's own conversion. Any
      transparency (alpha channel, palette or colour-key ``transparency``) is composited over
      black.
    - numpy arrays [H, W], [H, W, 1], [H, W, 3] or [H, W, 4], uint8 or float in [0, 1] (floats
      are clipped to that range). A fourth channel is alpha and is composited over black.
    - torch tensors [3, H, W] or [H, W, 3] (a first dimension of 3 means channels first), uint8,
      or float in [0, 1]; a float tensor with any negative value is taken as [-1, 1] (the range
      diffusion models output) and mapped to [0, 1].
    """
    if isinstance(image, Image.Image):
        return _pil_to_rgb(image)
    if isinstance(image, torch.Tensor):
        return _array_to_rgb(_tensor_to_hwc(image))
    if isinstance(image, np.ndarray):
        return _array_to_rgb(image)
    raise FVDMInputError(
        "Expected a PIL image, a numpy array [H, W(, 1|3|4)] or a torch tensor [3, H, W] / "
        f"[H, W, 3], got {type(image).__name__}."
    )


def _pil_to_rgb(image: Image.Image) -> np.ndarray:
    if image.mode in _SIXTEEN_BIT_MODES:
        return _array_to_rgb(np.array(image, dtype=np.float32) / 65535.0)
    if image.mode == "F":
        return _array_to_rgb(np.array(image))
    try:
        converted = image.convert("RGBA" if image.has_transparency_data else "RGB")
    except ValueError as error:
        raise FVDMInputError(
            f"Images in mode {image.mode} are not supported; convert the image to RGB first."
        ) from error
    return _array_to_rgb(np.array(converted))


def _tensor_to_hwc(tensor: torch.Tensor) -> np.ndarray:
    if tensor.ndim == 3 and tensor.shape[0] == 3:
        tensor = tensor.permute(1, 2, 0)
    elif tensor.ndim != 3 or tensor.shape[2] != 3:
        raise FVDMInputError(
            f"Expected an image tensor of shape [3, H, W] or [H, W, 3], got {list(tensor.shape)}."
        )
    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.uint8:
        return tensor.numpy()
    if not tensor.is_floating_point():
        raise FVDMInputError(f"Expected a uint8 or float image tensor, got {tensor.dtype}.")
    tensor = tensor.float()
    if tensor.min() < 0:
        tensor = (tensor + 1) / 2
    return tensor.numpy()


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4) or 0 in array.shape:
        raise FVDMInputError(
            "Expected an image array of shape [H, W], [H, W, 1], [H, W, 3] or [H, W, 4], "
            f"got {list(array.shape)}."
        )
    pixels = to_uint8(array, "image")
    if pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    elif pixels.shape[2] == 4:
        pixels = _composite_over_black(pixels)
    return np.ascontiguousarray(pixels)


def _composite_over_black(rgba: np.ndarray) -> np.ndarray:
    """RGB * alpha / 255, rounded to nearest, in integers."""
    alpha = rgba[..., 3:].astype(np.uint16)
    return ((rgba[..., :3].astype(np.uint16) * alpha + 127) // 255).astype(np.uint8)


def to_uint8(array: np.ndarray, what: str = "frames") -> np.ndarray:
    """Pass uint8 through; map floats in [0, 1] (clipped) to 0..255."""
    if array.dtype == np.uint8:
        return array
    if not np.issubdtype(array.dtype, np.floating):
        raise FVDMInputError(
            f"Expected the {what} as uint8 or float in [0, 1], got {array.dtype}."
        )
    if not np.isfinite(array).all():
        raise FVDMInputError(f"The {what} contains NaN or infinite values.")
    return np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)


# ----------------------------------------------------------------------------- resizing


def resize_center_crop(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a frame [H, W, 3] or clip [F, H, W, 3] (uint8) to ``size = (height, width)``.

    The rule: scale the image uniformly so that it covers the target (the side that is shorter
    relative to the target matches it exactly), then cut the excess equally from both ends of
    the other side. Nothing is padded and the aspect ratio is kept. Sampling is Pillow's bicubic
    filter, which widens its kernel when shrinking (so large downscales are averaged, not
    aliased); ``reducing_gap=3`` first box-reduces by integer factors, which only saves time.
    The crop is done before sampling with a sub-pixel box, so a centred feature stays centred.
    Frames already at the target size are returned as they are (the same array, not a copy).
    """
    height, width = _check_size(size)
    clip = _as_uint8_clip(frames)
    if clip.shape[1:3] == (height, width):
        return frames
    resized = np.stack([_resize_frame(frame, height, width) for frame in clip])
    return resized if frames.ndim == 4 else resized[0]


def _as_uint8_clip(frames: np.ndarray) -> np.ndarray:
    """View a uint8 frame or clip as a clip [F, H, W, 3]."""
    if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8:
        raise FVDMInputError("Expected a uint8 numpy frame [H, W, 3] or clip [F, H, W, 3].")
    clip = frames[None] if frames.ndim == 3 else frames
    if clip.ndim != 4 or clip.shape[3] != 3 or 0 in clip.shape:
        raise FVDMInputError(
            "Expected a non-empty uint8 frame [H, W, 3] or clip [F, H, W, 3], "
            f"got shape {list(frames.shape)}."
        )
    return clip


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    if not isinstance(size, Sequence) or len(size) != 2:
        raise FVDMInputError(f"Expected a size (height, width), got {size!r}.")
    return _check_int(size[0], "height", 1), _check_int(size[1], "width", 1)


def _resize_frame(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    box = _cover_box(frame.shape[0], frame.shape[1], height, width)
    image = Image.fromarray(frame).resize(
        (width, height), Image.Resampling.BICUBIC, box=box, reducing_gap=3.0
    )
    return np.array(image)


def _cover_box(
    source_height: int, source_width: int, height: int, width: int
) -> tuple[float, float, float, float]:
    """The centred source region (left, top, right, bottom) that survives scale-to-cover + crop."""
    scale = max(height / source_height, width / source_width)
    crop_width, crop_height = width / scale, height / scale
    left, top = (source_width - crop_width) / 2, (source_height - crop_height) / 2
    return left, top, left + crop_width, top + crop_height


# ----------------------------------------------------------------------------- images


def load_image(
    source: str | os.PathLike[str] | Image.Image | np.ndarray | torch.Tensor,
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Load one image as uint8 RGB [H, W, 3], optionally `resize_center_crop`-ed to ``size``.

    ``source`` is a PNG/JPEG/WebP/BMP/GIF path (a GIF gives its first frame; EXIF orientation is
    applied) or anything `to_rgb_array` accepts.
    """
    if isinstance(source, (str, os.PathLike)):
        path = _existing_file(source, IMAGE_EXTENSIONS, "image")
        image = to_rgb_array(_decode_image(path))
    else:
        image = to_rgb_array(source)
    return image if size is None else resize_center_crop(image, size)


def _decode_image(path: Path) -> Image.Image:
    """Decode the first frame of an image file, upright per its EXIF orientation."""
    with _open_pil(path, _PIL_FORMATS) as image:
        try:
            image.load()
            return ImageOps.exif_transpose(image)
        except _PIL_ERRORS as error:
            raise _unreadable_image(path) from error


def _open_pil(path: Path, formats: Sequence[str]) -> Image.Image:
    """Open (header only) and refuse images whose pixel count could exhaust memory."""
    try:
        image = Image.open(path, formats=list(formats))
    except Image.DecompressionBombError as error:  # Pillow's own, higher limit
        raise _too_large(path) from error
    except _PIL_ERRORS as error:
        raise _unreadable_image(path) from error
    if image.width * image.height > MAX_IMAGE_PIXELS:
        image.close()
        raise _too_large(path)
    return image


def _too_large(path: Path) -> FVDMInputError:
    return FVDMInputError(
        f"{path} has more than {MAX_IMAGE_PIXELS} pixels, the limit; downscale it first."
    )


def _unreadable_image(path: Path) -> FVDMInputError:
    return FVDMInputError(
        f"Could not read {path}: the file is corrupt or not the image format its name says."
    )


def _existing_file(source: str | os.PathLike[str], extensions: Sequence[str], kind: str) -> Path:
    path = Path(source)
    if path.suffix.lower() not in extensions:
        raise FVDMInputError(
            f"{path} is not a supported {kind} file; use one of {', '.join(extensions)}."
        )
    if not path.is_file():
        raise FVDMInputError(f"The {kind} file {path} does not exist.")
    return path


# ----------------------------------------------------------------------------- reading videos


def load_video(
    path: str | os.PathLike[str],
    num_frames: int | None = None,
    size: tuple[int, int] | None = None,
    stride: int = 1,
    start: int = 0,
) -> np.ndarray:
    """Read frames ``start, start + stride, ...`` of a video as uint8 RGB [F, H, W, 3].

    Reads every selected frame to the end when ``num_frames`` is None; otherwise stops decoding
    as soon as ``num_frames`` are collected and raises `FVDMInputError` if the video ends first.
    ``size = (height, width)`` applies `resize_center_crop`. Transparent GIF pixels become black.
    A damaged file whose index survived (e.g. a truncated "faststart" MP4) gives the frames that
    still decode, as a video player would show them; one without an index raises.
    """
    video = _existing_file(path, VIDEO_EXTENSIONS, "video")
    if num_frames is not None:
        _check_int(num_frames, "num_frames", 1)
    _check_int(stride, "stride", 1)
    _check_int(start, "start", 0)
    frames = _gif_frames(video) if video.suffix.lower() == ".gif" else _ffmpeg_frames(video)
    with contextlib.closing(frames):
        clip = _select_frames(frames, video, num_frames, stride, start)
    return clip if size is None else resize_center_crop(clip, size)


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Frame count, frame rate and (height, width) of a video, without decoding it.

    For ffmpeg formats ``num_frames`` is estimated as duration x fps from the container header,
    so it can be off by a frame or two (or more for variable-frame-rate files); GIF counts are
    exact. A GIF's fps comes from its first frame delay.
    """
    video = _existing_file(path, VIDEO_EXTENSIONS, "video")
    if video.suffix.lower() == ".gif":
        return _probe_gif(video)
    reader = imageio_ffmpeg.read_frames(str(video))
    try:
        meta = _ffmpeg_header(reader, video)
    finally:
        reader.close()
    width, height = meta["size"]
    return VideoInfo(
        num_frames=round(meta["fps"] * meta["duration"]),
        fps=float(meta["fps"]),
        size=(height, width),
    )


def _probe_gif(path: Path) -> VideoInfo:
    with _open_pil(path, ("GIF",)) as image:
        try:
            num_frames = image.n_frames
        except _PIL_ERRORS as error:
            raise _unreadable_video(path) from error
        delay_ms = image.info.get("duration", 0)
        fps = 1000.0 / delay_ms if delay_ms else _DEFAULT_GIF_FPS
        return VideoInfo(num_frames=num_frames, fps=fps, size=(image.height, image.width))


def _select_frames(
    frames: Iterator[np.ndarray], path: Path, num_frames: int | None, stride: int, start: int
) -> np.ndarray:
    picked: list[np.ndarray] = []
    seen = 0
    for seen, frame in enumerate(frames, start=1):
        offset = seen - 1 - start
        if offset >= 0 and offset % stride == 0:
            picked.append(frame)
            if len(picked) == num_frames:
                break
    else:  # the video ended before num_frames were collected
        if num_frames is not None or not picked:
            raise _too_short(path, seen, num_frames, stride, start)
    return np.stack(picked)


def _too_short(
    path: Path, available: int, num_frames: int | None, stride: int, start: int
) -> FVDMInputError:
    if num_frames is None:
        return FVDMInputError(
            f"{path} has {available} frames, so there are none to read from frame {start}."
        )
    needed = start + (num_frames - 1) * stride + 1
    from_start = f" from frame {start}" if start else ""
    return FVDMInputError(
        f"{path} has {available} frames; {needed} are needed at stride {stride}{from_start} "
        f"to take {num_frames}, so use a longer video, a smaller stride or fewer frames."
    )


def _ffmpeg_frames(path: Path) -> Iterator[np.ndarray]:
    """Decode frames one at a time; closing this generator stops ffmpeg."""
    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        width, height = _ffmpeg_header(reader, path)["size"]
        for buffer in reader:
            yield np.frombuffer(buffer, np.uint8).reshape(height, width, 3)
    except RuntimeError as error:
        raise _unreadable_video(path) from error
    finally:
        reader.close()


def _ffmpeg_header(reader: Iterator[Any], path: Path) -> dict[str, Any]:
    """The metadata dict that `imageio_ffmpeg.read_frames` yields before the frames."""
    try:
        return next(reader)
    except (OSError, RuntimeError) as error:
        raise _unreadable_video(path) from error


def _gif_frames(path: Path) -> Iterator[np.ndarray]:
    with _open_pil(path, ("GIF",)) as image:
        try:
            for frame in ImageSequence.Iterator(image):
                yield to_rgb_array(frame)
        except _PIL_ERRORS as error:
            raise _unreadable_video(path) from error


def _unreadable_video(path: Path) -> FVDMInputError:
    return FVDMInputError(
        f"Could not read {path}: it is corrupt, truncated or has no video stream."
    )


# ----------------------------------------------------------------------------- writing videos


def save_video(
    frames: np.ndarray | Sequence[np.ndarray],
    path: str | os.PathLike[str],
    fps: float = 8,
    upscale: int = 1,
) -> Path:
    """Write a clip (uint8, or float in [0, 1], shape [F, H, W, 3]) and return its path.

    ``upscale`` enlarges each pixel to an ``upscale`` x ``upscale`` block (nearest neighbour), so
    tiny 32x32 samples stay crisp instead of looking like stamps in a browser.

    - ``.mp4``: H.264 (libx264), yuv420p, which every browser plays. yuv420p needs even sizes,
      so an odd height or width gets one extra row or column repeating the last one.
    - ``.webm``: VP9, yuv420p, same even-size rule.
    - ``.gif``: Pillow, looping forever, one palette per frame. Frame delays are stored in
      hundredths of a second (so 8 fps is saved as 120 ms) and are at least 20 ms. Pillow merges
      identical consecutive frames into one longer frame, so reading the GIF back can give fewer
      frames than were written; playback timing is unchanged.

    Missing parent folders are created.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in _WRITABLE_EXTENSIONS:
        raise FVDMInputError(
            f"Cannot write {target}: use one of {', '.join(_WRITABLE_EXTENSIONS)}."
        )
    clip = _as_clip(frames, f"video {target}")
    if not fps > 0:
        raise FVDMInputError(f"fps must be positive, got {fps}.")
    factor = _check_int(upscale, "upscale", 1)
    clip = clip.repeat(factor, axis=1).repeat(factor, axis=2)
    target.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gif":
        _write_gif(clip, target, fps)
    else:
        _write_ffmpeg(clip, target, fps, *_FFMPEG_WRITERS[suffix])
    return target


def _as_clip(frames: np.ndarray | Sequence[np.ndarray], what: str) -> np.ndarray:
    try:
        clip = np.asarray(frames)
    except ValueError as error:  # numpy refuses ragged lists
        message = f"The frames for the {what} do not all have the same shape."
        raise FVDMInputError(message) from error
    if clip.shape[:1] == (0,):
        raise FVDMInputError(f"The frame list for the {what} is empty; pass at least one frame.")
    if clip.ndim != 4 or clip.shape[3] != 3 or 0 in clip.shape:
        raise FVDMInputError(
            f"Expected the {what} as frames of shape [F, H, W, 3], got {list(clip.shape)}."
        )
    return to_uint8(clip, what)


def _write_ffmpeg(
    clip: np.ndarray, path: Path, fps: float, codec: str, options: list[str]
) -> None:
    even = np.pad(
        clip, ((0, 0), (0, clip.shape[1] % 2), (0, clip.shape[2] % 2), (0, 0)), mode="edge"
    )
    writer = imageio_ffmpeg.write_frames(
        str(path),
        (even.shape[2], even.shape[1]),
        pix_fmt_out="yuv420p",
        fps=float(fps),
        codec=codec,
        quality=None,
        macro_block_size=1,  # sizes are already even; stop imageio-ffmpeg from rescaling
        ffmpeg_log_level="error",
        output_params=list(options),
    )
    writer.send(None)
    try:
        for frame in even:
            writer.send(np.ascontiguousarray(frame))
    finally:
        writer.close()


def _write_gif(clip: np.ndarray, path: Path, fps: float) -> None:
    images = [Image.fromarray(frame) for frame in clip]
    delay_cs = max(_MIN_GIF_DELAY_CS, round(100 / fps))
    images[0].save(
        path, format="GIF", save_all=True, append_images=images[1:], duration=delay_cs * 10, loop=0
    )


# ----------------------------------------------------------------------------- grids


def frames_to_grid(
    clips: Sequence[np.ndarray], ncols: int | None = None, pad: int = 2
) -> np.ndarray:
    """Tile clips of identical shape [F, H, W, 3] into one clip, row by row.

    ``ncols`` defaults to ceil(sqrt(len(clips))) and is capped at the number of clips. ``pad``
    white pixels separate neighbouring cells (there is no outer border); cells left empty in
    the last row are white too. Float clips in [0, 1] are converted to uint8.
    """
    if len(clips) == 0:
        raise FVDMInputError("The list of clips for the grid is empty; pass at least one clip.")
    tiles = [_as_clip(clip, f"grid clip {index}") for index, clip in enumerate(clips)]
    shapes = {tile.shape for tile in tiles}
    if len(shapes) > 1:
        raise FVDMInputError(
            f"All clips in a grid need the same shape, got {sorted(shapes)}; "
            "use resize_center_crop and equal frame counts first."
        )
    wanted = math.ceil(math.sqrt(len(tiles))) if ncols is None else _check_int(ncols, "ncols", 1)
    columns = min(wanted, len(tiles))
    gap = _check_int(pad, "pad", 0)
    rows = math.ceil(len(tiles) / columns)
    num_frames, height, width, _ = tiles[0].shape
    grid = np.full(
        (num_frames, rows * (height + gap) - gap, columns * (width + gap) - gap, 3),
        _GRID_PAD_VALUE,
        np.uint8,
    )
    for index, tile in enumerate(tiles):
        row, column = divmod(index, columns)
        top, left = row * (height + gap), column * (width + gap)
        grid[:, top : top + height, left : left + width] = tile
    return grid


# ----------------------------------------------------------------------------- validation


def _check_int(value: object, name: str, minimum: int) -> int:
    """Validate a user-supplied whole number (Python or numpy integer, not float or bool)."""
    try:
        number = operator.index(value)
    except TypeError:
        number = None
    if number is None or isinstance(value, bool) or number < minimum:
        raise FVDMInputError(
            f"{name} must be a whole number of at least {minimum}, got {value!r}."
        )
    return number
