"""Object-physics score: does a clip obey the rules of the synthetic world?

`training.synthetic` draws flat-coloured shapes, one colour per object, that move at constant
velocity and bounce off the walls. A generated clip is "physically plausible" when an
observer who only sees its pixels finds the same:

1. scene:  a few objects on a plain background: the background colour covers at least
           `BACKGROUND_MIN` of every frame, and at least `OBJECT_SHARE_MIN` of the clip's lit
           pixels belong to objects (the rest are blended seams and slivers of hidden objects).
2. count:  the same objects in every frame. An object may be hidden behind another for at
           most `MAX_MISSING_SHARE` of the frames; nothing appears, vanishes or duplicates.
3. colour: every object keeps its hue (within `COLOUR_TOLERANCE` degrees of its mean).
4. size:   every object keeps its area (within `SIZE_TOLERANCE` of its median area).
5. motion: every object moves at constant velocity (within `MOTION_TOLERANCE` pixels),
           except that it may bounce off a wall.
6. edges:  objects are flat shapes with crisp outlines: at least `PLATEAU_MIN` of each
           object's area is at its full colour (blur turns the plateau into a hill).

Finding objects. The background colour is the clip's median colour. A pixel is lit when it
is brighter than the background by `FOREGROUND_MIN`, and coloured when it is also saturated.
The object colours are the peaks of the clip's hue histogram; every coloured pixel takes the
nearest object colour, or none for the in-between hues where two objects blend. Every object
has its own colour, so the colour *is* the track: object k in frame t is made of the pixels
of colour k in frame t, split into 4-connected blobs.

Overlaps. Where objects overlap, the one behind is partly hidden, and its visible pixels give
a biased size and centre. The colour, size, motion and edge rules therefore only use clean
observations: the object is one blob that touches nothing else, or touches another object
but has lost at most `TOUCH_AREA_LOSS` of its area to the blended seam. Other frames are
unscorable for those rules, not failures. An object hidden entirely counts as missing.

No rule passes for want of evidence: colour, size and edges fail unless the clip has objects
and every one of them is seen clean at least once, and motion also needs an object seen clean
three times (one clean observation per object is all that some real clips offer, where
objects overlap for most of the clip). The scene rule is what stops noise: saturated noise
(channels of 0 or 255, what an untrained model gives after clamping) forms small blobs of
pure colour that pass for objects, but the background colour covers only an eighth of it.

Tolerances were calibrated on the default world at 32 x 32 (lengths and areas scale with
the resolution): 1996 of 2000 real evaluation clips pass (two hide an object for 6 of 16
frames; in two others, two objects overlap for most of the clip and no motion is measured).
The background covers at least 64% of every real frame, while every clip of noise or of an
untrained model's samples has a frame where it covers at most 23%; at least 84% of the lit
pixels of a real clip belong to objects. Shuffled frames, vanishing objects, uniform,
Gaussian and saturated noise, untrained models, hue drift and a Gaussian blur of 1.5 px
nearly all fail (see tests/test_physics.py). Below 32 x 32 objects get too small to measure
reliably.

Inputs are clips [F, H, W, 3] (or [F, 3, H, W]): uint8 in [0, 255], or floats read as [-1, 1]
when any value is negative and as [0, 1] otherwise; numpy arrays or torch tensors.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from fvdm.errors import FVDMInputError
from training.synthetic import PALETTE

# Finding objects.
FOREGROUND_MIN = 40.0  # brightness above the background (0-255) of a lit pixel
SATURATION_MIN = 0.5  # chroma / brightness of a coloured pixel; drops greys and blends
HUE_BIN_DEGREES = 5
HUE_SEPARATION = 30.0  # object colours differ by at least this (the palette uses 60)
HUE_ASSIGN = 25.0  # a pixel belongs to an object colour within this hue distance
MIN_AREA = 6.0  # pixels at 32 x 32: smaller blobs are slivers of hidden objects or noise
TOUCH_AREA_LOSS = 0.05  # area a touching object may lose and still be measured
PLATEAU_LEVEL = 0.85  # a pixel on the plateau has at least this share of peak brightness

# The rules.
BACKGROUND_MIN = 0.5  # share of every frame within FOREGROUND_MIN of the background colour
OBJECT_SHARE_MIN = 0.8  # share of the clip's lit pixels in object blobs
MAX_OBJECTS = len(PALETTE)
MAX_MISSING_SHARE = 1 / 3
COLOUR_TOLERANCE = 12.0  # degrees
SIZE_TOLERANCE = 0.35  # fraction of the object's median area
MOTION_TOLERANCE = 0.6  # pixels at 32 x 32 off a straight (or reflected) path
MOTION_SPAN = 3  # compare each centre with the ones up to this many observations away
WALL_SLACK = 1.0  # pixels at 32 x 32 between the measured outline and a bounce
PLATEAU_MIN = 0.55  # share of an object's area on its plateau


@dataclass(frozen=True)
class ClipScore:
    """The verdict on one clip: one flag per rule and the numbers behind them.

    Numbers of rules that found nothing to measure are neutral (0, or 1 for the plateau), but
    the rules themselves fail (see `min_clean_frames`)."""

    num_objects: int
    scene_ok: bool
    count_ok: bool
    colour_ok: bool
    size_ok: bool
    motion_ok: bool
    edges_ok: bool
    min_background_share: float  # smallest share of a frame showing the background colour
    object_share: float  # share of the lit pixels in object blobs (1 when nothing is lit)
    min_clean_frames: int  # fewest clean observations of any object (0 without objects)
    missing_frames: int  # most frames any object is missing
    appearing: int  # objects missing from the first frame that show up later
    vanishing: int  # objects seen before the last frame and missing from it
    max_hue_shift: float  # degrees, largest deviation of an object's hue from its mean
    max_size_change: float  # largest |area / median area - 1|
    max_motion_residual: float  # pixels, largest deviation from constant-velocity motion
    min_plateau_share: float  # smallest median plateau share of any object

    @property
    def plausible(self) -> bool:
        return (self.scene_ok and self.count_ok and self.colour_ok and self.size_ok
                and self.motion_ok and self.edges_ok)


@dataclass(frozen=True)
class _Track:
    """The clean observations of one object, in frame order."""

    frames: np.ndarray  # [T] frame indices
    hue: np.ndarray  # [T] degrees
    area: np.ndarray  # [T] coverage-weighted pixels
    centre: np.ndarray  # [T, 2] (x, y) pixel coordinates
    reach: np.ndarray  # [T, 2 axes, 2 sides] distance from the centre to the outline
    plateau_share: np.ndarray  # [T]


@dataclass(frozen=True)
class _Objects:
    present: np.ndarray  # bool [F, K]: object k is visible in frame t
    duplicated: np.ndarray  # bool [F, K]: colour k shows as two separate objects
    tracks: list[_Track]  # K tracks
    object_share: float  # share of the clip's lit pixels in substantial blobs (1 if none lit)


def score_clip(frames) -> ClipScore:
    """Check one clip against the world's rules (see the module docstring)."""
    rgb = to_uint8_frames(frames).astype(np.float32)
    num_frames, height, width, _ = rgb.shape
    scale = math.sqrt(height * width) / 32  # tolerances are set in pixels at 32 x 32
    background = np.median(rgb.reshape(-1, 3), axis=0)
    objects = _find_objects(rgb, background, MIN_AREA * scale**2)
    tracks = [track for track in objects.tracks if len(track.frames)]
    num_objects = len(objects.tracks)
    background_share = _min_background_share(rgb, background)
    clean_frames = min((len(track.frames) for track in objects.tracks), default=0)
    measured = clean_frames >= 1  # there are objects, and every one was seen clean
    motion_measured = measured and any(len(track.frames) >= 3 for track in tracks)

    missing = int((~objects.present).sum(axis=0).max(initial=0))
    appearing, vanishing = _appearing_and_vanishing(objects.present)
    hue_shift = max((_hue_distance(t.hue, _circular_mean(t.hue)).max() for t in tracks),
                    default=0.0)
    size_change = max((np.abs(t.area / np.median(t.area) - 1).max() for t in tracks),
                      default=0.0)
    residual = max((_motion_residual(t, (width, height), WALL_SLACK * scale) for t in tracks),
                   default=0.0)
    plateau = min((np.median(t.plateau_share) for t in tracks), default=1.0)
    return ClipScore(
        num_objects=num_objects,
        scene_ok=bool(background_share >= BACKGROUND_MIN
                      and objects.object_share >= OBJECT_SHARE_MIN),
        count_ok=bool(1 <= num_objects <= MAX_OBJECTS and not objects.duplicated.any()
                      and missing <= MAX_MISSING_SHARE * num_frames),
        colour_ok=bool(measured and hue_shift <= COLOUR_TOLERANCE),
        size_ok=bool(measured and size_change <= SIZE_TOLERANCE),
        motion_ok=bool(motion_measured and residual <= MOTION_TOLERANCE * scale),
        edges_ok=bool(measured and plateau >= PLATEAU_MIN),
        min_background_share=background_share,
        object_share=objects.object_share,
        min_clean_frames=clean_frames,
        missing_frames=missing,
        appearing=appearing,
        vanishing=vanishing,
        max_hue_shift=float(hue_shift),
        max_size_change=float(size_change),
        max_motion_residual=float(residual),
        min_plateau_share=float(plateau),
    )


def physics_score(clips: Iterable) -> dict[str, float]:
    """Score many clips (a batch [B, F, H, W, 3] / [B, F, 3, H, W] or any iterable of clips).

    Returns the share of clips passing all rules (`share_plausible`), the share passing each
    rule (`scene_ok`, `count_ok`, `colour_ok`, `size_ok`, `motion_ok`, `edges_ok`), the
    mean number of objects found per clip (`mean_objects`), and why objects fail to persist: the
    share of clips where an object appears after the first frame (`share_appearing`) or vanishes
    before the last (`share_vanishing`)."""
    scores = [score_clip(clip) for clip in clips]
    if not scores:
        raise FVDMInputError("physics_score needs at least one clip")
    summary = {"share_plausible": float(np.mean([s.plausible for s in scores]))}
    for rule in ("scene_ok", "count_ok", "colour_ok", "size_ok", "motion_ok", "edges_ok"):
        summary[rule] = float(np.mean([getattr(s, rule) for s in scores]))
    summary["mean_objects"] = float(np.mean([s.num_objects for s in scores]))
    summary["share_appearing"] = float(np.mean([s.appearing > 0 for s in scores]))
    summary["share_vanishing"] = float(np.mean([s.vanishing > 0 for s in scores]))
    return summary


def sharpness(clips: Iterable) -> float:
    """Mean variance of the Laplacian of the luma (0-255) over all frames of all clips.

    The classic focus measure: blur removes the fine detail the Laplacian responds to, so
    blurrier clips score lower. It depends on the resolution and the content, so compare
    generated clips with real clips of the same world (about 1400 at 32 x 32)."""
    values = []
    for clip in clips:
        luma = to_uint8_frames(clip).astype(np.float32) @ np.float32([0.299, 0.587, 0.114])
        laplacian = (luma[:, :-2, 1:-1] + luma[:, 2:, 1:-1] + luma[:, 1:-1, :-2]
                     + luma[:, 1:-1, 2:] - 4 * luma[:, 1:-1, 1:-1])
        values.extend(laplacian.reshape(len(luma), -1).var(axis=1))
    if not values:
        raise FVDMInputError("sharpness needs at least one clip")
    return float(np.mean(values))


def to_uint8_frames(frames) -> np.ndarray:
    """Any supported clip layout and range -> uint8 [F, H, W, 3]."""
    array = frames.detach().cpu().numpy() if hasattr(frames, "detach") else np.asarray(frames)
    if array.ndim == 4 and array.shape[-1] != 3 and array.shape[1] == 3:
        array = array.transpose(0, 2, 3, 1)
    if array.ndim != 4 or array.shape[-1] != 3:
        raise FVDMInputError(f"expected an RGB clip [F, H, W, 3], got shape {array.shape}")
    if array.dtype == np.uint8:
        return array
    array = array.astype(np.float32)
    if array.min() < 0:
        array = (array + 1) / 2
    return np.clip(np.rint(array * 255), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------- finding objects


def _min_background_share(rgb: np.ndarray, background: np.ndarray) -> float:
    """Smallest share, over the frames, of pixels within `FOREGROUND_MIN` of the background
    colour in every channel."""
    near = np.abs(rgb - background).max(axis=-1) < FOREGROUND_MIN
    return float(near.mean(axis=(1, 2)).min())


def _find_objects(rgb: np.ndarray, background: np.ndarray, min_area: float) -> _Objects:
    """Find the clip's object colours, split each frame into blobs of one colour, measure
    them and gather each object's clean observations."""
    excess = np.clip(rgb - background, 0.0, None)
    brightness = excess.max(axis=-1)
    hue, chroma = _hue_and_chroma(excess)
    lit = brightness >= FOREGROUND_MIN
    coloured = lit & (chroma >= SATURATION_MIN * brightness)
    palette = _object_hues(hue[coloured], min_area)
    colour = _assign_colours(hue, coloured, palette)
    blobs = _connected_components(colour)
    return _gather(blobs, colour, lit, brightness, hue, len(palette), min_area)


def _appearing_and_vanishing(present: np.ndarray) -> tuple[int, int]:
    """How many objects (columns of `present` [F, K]) are missing from the first frame, and how
    many from the last: an object of the world is in every frame, so one missing at the start
    appeared from nothing (or was hidden behind another) and one missing at the end vanished."""
    return int((~present[0]).sum()), int((~present[-1]).sum())


def _hue_and_chroma(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hue in degrees [0, 360) and chroma of RGB values, via opponent colour axes."""
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    alpha = red - 0.5 * (green + blue)
    beta = (math.sqrt(3) / 2) * (green - blue)
    return np.degrees(np.arctan2(beta, alpha)) % 360.0, np.hypot(alpha, beta)


def _hue_distance(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    return np.abs((np.asarray(a) - b + 180.0) % 360.0 - 180.0)


def _circular_mean(degrees: np.ndarray) -> float:
    radians = np.radians(degrees)
    return math.degrees(math.atan2(np.sin(radians).sum(), np.cos(radians).sum())) % 360.0


def _object_hues(hues: np.ndarray, min_area: float) -> np.ndarray:
    """The clip's candidate object colours: peaks of the hue histogram with at least
    `min_area` pixels nearby, `HUE_SEPARATION` apart, largest first. Peaks made only of blend
    pixels are dropped later, because they never form a substantial blob."""
    bins = 360 // HUE_BIN_DEGREES
    counts = np.bincount((hues // HUE_BIN_DEGREES).astype(int) % bins, minlength=bins)
    smooth = (np.roll(counts, 1) + 2 * counts + np.roll(counts, -1)) / 4
    is_peak = (smooth >= np.roll(smooth, 1)) & (smooth > np.roll(smooth, -1)) & (smooth > 0)
    peaks: list[float] = []
    for b in np.flatnonzero(is_peak)[np.argsort(-smooth[is_peak])]:
        centre = (b + 0.5) * HUE_BIN_DEGREES
        near = hues[_hue_distance(hues, centre) <= HUE_SEPARATION / 2]
        if len(near) >= min_area and all(_hue_distance(centre, p) >= HUE_SEPARATION
                                         for p in peaks):
            peaks.append(_circular_mean(near))
    return np.array(peaks)


def _assign_colours(hue: np.ndarray, coloured: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Index of the nearest object colour for every coloured pixel; -1 elsewhere."""
    colour = np.full(hue.shape, -1, dtype=np.int64)
    if len(palette) == 0:
        return colour
    distance = _hue_distance(hue[coloured][:, None], palette[None, :])
    nearest = distance.argmin(axis=1)
    close = distance[np.arange(len(nearest)), nearest] <= HUE_ASSIGN
    colour[coloured] = np.where(close, nearest, -1)
    return colour


def _connected_components(colour: np.ndarray) -> np.ndarray:
    """Label 4-connected regions of equal colour within each frame: [F, H, W] -> blob id per
    pixel (0..B-1), -1 where the colour is -1.

    Every pixel starts with its own flat index as label. Repeatedly, each pixel takes the
    smaller label of an equal-coloured neighbour and then the label of the pixel its label
    points at (pointer jumping, which spreads labels across a region in few rounds), until
    nothing changes. A label always names a pixel of the same region, so at the fixed point
    each region carries one label."""
    labels = np.arange(colour.size).reshape(colour.shape)
    same_x = (colour[:, :, 1:] == colour[:, :, :-1]) & (colour[:, :, 1:] >= 0)
    same_y = (colour[:, 1:, :] == colour[:, :-1, :]) & (colour[:, 1:, :] >= 0)
    while True:
        previous = labels.copy()
        for same, first, second in (
            (same_x, np.s_[:, :, :-1], np.s_[:, :, 1:]),
            (same_y, np.s_[:, :-1, :], np.s_[:, 1:, :]),
        ):
            a, b = labels[first], labels[second]  # views into labels
            np.minimum(a, np.where(same, b, a), out=a)
            np.minimum(b, np.where(same, a, b), out=b)
        labels = labels.reshape(-1)[labels]
        if np.array_equal(labels, previous):
            break
    blobs = np.full(colour.shape, -1, dtype=np.int64)
    blobs[colour >= 0] = np.unique(labels[colour >= 0], return_inverse=True)[1]
    return blobs


def _gather(
    blobs: np.ndarray,
    colour: np.ndarray,
    lit: np.ndarray,
    brightness: np.ndarray,
    hue: np.ndarray,
    num_colours: int,
    min_area: float,
) -> _Objects:
    """Measure every blob, then sort the blobs into objects (colours) and frames.

    A blob is substantial when it has `min_area` pixels and an interior (a pixel whose four
    neighbours are in the blob): thin seams of blended colour and slivers of hidden objects
    have none. An object is present in a frame when its colour has a substantial blob there,
    and the substantial blobs are all the lit pixels that `object_share` counts as objects."""
    num_frames = blobs.shape[0]
    frame, y, x = np.nonzero(blobs >= 0)
    blob = blobs[frame, y, x]
    num_blobs = int(blob.max(initial=-1)) + 1
    first_pixel = np.unique(blob, return_index=True)[1]
    slot = frame[first_pixel] * num_colours + colour[frame, y, x][first_pixel]  # t * K + k

    pixels = np.bincount(blob, minlength=num_blobs)
    interior = np.bincount(blob, _interior(blobs)[frame, y, x], minlength=num_blobs)
    isolated = np.bincount(blob, _touches_other(blobs, lit)[frame, y, x], minlength=num_blobs) == 0
    substantial = (pixels >= min_area) & (interior > 0)

    def per_slot(values: np.ndarray) -> np.ndarray:  # sum over the blobs of each (t, k)
        return np.bincount(slot, values, minlength=num_frames * num_colours).reshape(
            num_frames, num_colours)

    present = (per_slot(pixels) >= min_area) & (per_slot(interior) > 0)
    duplicated = per_slot(substantial & isolated) >= 2
    # The blob that stands for object k in frame t: its only substantial blob, else -1.
    single = substantial & (per_slot(substantial).reshape(-1)[slot] == 1)
    blob_of = np.full(num_frames * num_colours, -1)
    blob_of[slot[single]] = np.flatnonzero(single)
    blob_of = blob_of.reshape(num_frames, num_colours)

    objects = present.any(axis=0)  # hue peaks that never formed a substantial blob are blends
    present, duplicated, blob_of = present[:, objects], duplicated[:, objects], blob_of[:, objects]
    geometry = _blob_geometry(blob, num_blobs, x, y, brightness[frame, y, x], hue[frame, y, x])
    clean = _unoccluded(blob_of, isolated, geometry["area"])
    tracks = []
    for k in range(blob_of.shape[1]):
        chosen = blob_of[clean[:, k], k]
        tracks.append(_Track(frames=np.flatnonzero(clean[:, k]),
                             **{name: values[chosen] for name, values in geometry.items()}))
    object_share = pixels[substantial].sum() / lit.sum() if lit.any() else 1.0
    return _Objects(present, duplicated, tracks, float(object_share))


def _interior(blobs: np.ndarray) -> np.ndarray:
    """Pixels whose four neighbours belong to the same blob."""
    padded = np.pad(blobs, ((0, 0), (1, 1), (1, 1)), constant_values=-1)
    centre = padded[:, 1:-1, 1:-1]
    return ((centre >= 0) & (padded[:, :-2, 1:-1] == centre) & (padded[:, 2:, 1:-1] == centre)
            & (padded[:, 1:-1, :-2] == centre) & (padded[:, 1:-1, 2:] == centre))


def _touches_other(blobs: np.ndarray, lit: np.ndarray) -> np.ndarray:
    """Pixels with a lit 8-neighbour outside their own blob (another object or a blend)."""
    height, width = blobs.shape[1:]
    padded_blobs = np.pad(blobs, ((0, 0), (1, 1), (1, 1)), constant_values=-1)
    padded_lit = np.pad(lit, ((0, 0), (1, 1), (1, 1)))
    touches = np.zeros(blobs.shape, dtype=bool)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            window = np.s_[:, dy:dy + height, dx:dx + width]
            touches |= padded_lit[window] & (padded_blobs[window] != blobs)
    return touches


def _blob_geometry(
    blob: np.ndarray, num_blobs: int, x: np.ndarray, y: np.ndarray,
    brightness: np.ndarray, hue: np.ndarray,
) -> dict[str, np.ndarray]:
    """Per blob: hue, coverage-weighted area and centre, reach of the outline from the
    centre, and the share of the area on the blob's plateau of full colour. Inputs are per
    pixel of any blob; outputs per blob, named like the fields of `_Track`.

    A pixel's coverage is its brightness over the blob's peak brightness (the world blends
    a flat colour with the background). A pixel at column x, spanning [x, x + 1], whose left
    part is uncovered puts the outline at x + 1 - coverage: that locates the leftmost point
    of the outline to a fraction of a pixel (less well at sharp corners)."""

    def total(values: np.ndarray) -> np.ndarray:  # sum over the pixels of each blob
        return np.bincount(blob, values, minlength=num_blobs)

    peak = np.zeros(num_blobs)
    np.maximum.at(peak, blob, brightness)
    cover = np.clip(brightness / peak[blob], 0.0, 1.0)
    area = total(cover)
    centre = np.stack([total(cover * (x + 0.5)), total(cover * (y + 0.5))], axis=1) / area[:, None]
    radians = np.radians(hue)
    mean_hue = np.degrees(np.arctan2(total(cover * np.sin(radians)),
                                     total(cover * np.cos(radians)))) % 360.0
    reach = np.empty((num_blobs, 2, 2))
    for axis, position in enumerate((x, y)):
        low = np.full(num_blobs, np.inf)
        high = np.full(num_blobs, -np.inf)
        np.minimum.at(low, blob, position + 1.0 - cover)
        np.maximum.at(high, blob, position + cover)
        reach[:, axis, 0] = centre[:, axis] - low
        reach[:, axis, 1] = high - centre[:, axis]
    plateau = total(cover >= PLATEAU_LEVEL) / area
    return {"hue": mean_hue, "area": area, "centre": centre, "reach": reach,
            "plateau_share": plateau}


def _unoccluded(blob_of: np.ndarray, isolated: np.ndarray, area: np.ndarray) -> np.ndarray:
    """Which observations [F, K] show the whole object: its blob touches nothing, or touches
    another object but keeps all but `TOUCH_AREA_LOSS` of the object's full area (the median
    area of its untouched blobs, else its largest blob)."""
    clean = np.zeros(blob_of.shape, dtype=bool)
    for k in range(blob_of.shape[1]):
        blobs = blob_of[:, k]
        single = blobs >= 0
        alone = single & isolated[blobs]
        areas = area[blobs]
        full = np.median(areas[alone]) if alone.any() else areas[single].max(initial=0.0)
        clean[:, k] = alone | (single & (areas >= (1 - TOUCH_AREA_LOSS) * full))
    return clean


# ---------------------------------------------------------------------------------- motion


def _motion_residual(track: _Track, size: tuple[int, int], slack: float) -> float:
    """How far an object strays from constant velocity with wall bounces (pixels): the
    worst `_triple_residual` over every clean observation and its neighbours 1 to
    `MOTION_SPAN` observations away on both sides. Wider spans reveal gentle accelerations
    (a path x = c t^2 deviates from the straight line through t - s and t + s by c s^2); they
    are only used within 2 * `MOTION_SPAN` frames, so that they never straddle two bounces."""
    reach = np.median(track.reach, axis=0)  # [2 axes, 2 sides]
    walls = (reach[:, 0], np.asarray(size) - reach[:, 1])  # bounce positions, per axis
    times = track.frames.astype(np.float64)
    worst = 0.0
    for span in range(1, MOTION_SPAN + 1):
        first, middle, last = np.arange(len(times) - 2 * span) + np.array([[0], [span], [2 * span]])
        if span > 1:
            near = times[last] - times[first] <= 2 * MOTION_SPAN
            first, middle, last = first[near], middle[near], last[near]
        if len(first):
            residual = _triple_residual(times[first], times[middle], times[last],
                                        track.centre[first], track.centre[middle],
                                        track.centre[last], walls, slack)
            worst = max(worst, float(residual.max()))
    return worst


def _triple_residual(
    t0: np.ndarray, t1: np.ndarray, t2: np.ndarray,
    start: np.ndarray, middle: np.ndarray, end: np.ndarray,
    walls: tuple[np.ndarray, np.ndarray], slack: float,
) -> np.ndarray:
    """Distance [T, 2] of each middle centre from the constant-velocity path through the
    start and end centres (seen at times t0 < t1 < t2; centres [T, 2]).

    If the object bounced in between, the path is straight only after mirroring the points
    beyond the bounce at the wall: a centre whose outline reaches r to the left bounces at
    x = r, which mirrors x to 2r - x. Per axis, the residual is the smallest over 'no bounce'
    and a bounce off either wall, before or after the middle point, with the bounce position
    free within `slack` of where the measured outline touches the wall (outlines measured
    from pixels miss part of sharp corners)."""
    w = ((t1 - t0) / (t2 - t0))[:, None]
    # With m = twice the bounce position, each bounce hypothesis leaves a residual |a + b m|.
    after_middle = (middle - start + w * (end + start), -w)  # mirror the end only
    before_middle = (-middle - start + w * (end + start), 1 - w)  # mirror middle and end
    residuals = [np.abs(middle - start - w * (end - start))]  # no bounce
    for wall in walls:
        for a, b in (after_middle, before_middle):
            m = np.clip(-a / b, 2 * (wall - slack), 2 * (wall + slack))
            residuals.append(np.abs(a + b * m))
    return np.min(residuals, axis=0)
