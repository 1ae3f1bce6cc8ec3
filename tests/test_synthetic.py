"""The synthetic world: determinism, geometry, physics ground truth, dataset and video files."""

import csv
import math

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from fvdm.errors import FVDMInputError
from training.synthetic import (
    BACKGROUND,
    EVAL_SEEDS,
    PALETTE,
    SHAPES,
    TRAIN_SEEDS,
    SyntheticVideoDataset,
    WorldConfig,
    eval_seed,
    main,
    make_clip,
    shape_extent,
    train_seed,
    write_video_folder,
)

CLIPS = [make_clip(train_seed(i)) for i in range(60)]


def test_same_seed_gives_the_same_clip_and_different_seeds_differ():
    first, again = make_clip(123), make_clip(123)
    assert np.array_equal(first.frames, again.frames)
    assert np.array_equal(first.positions, again.positions)
    assert first.objects == again.objects
    assert not np.array_equal(make_clip(124).frames, first.frames)


def test_train_and_eval_seeds_never_overlap():
    assert TRAIN_SEEDS.stop <= EVAL_SEEDS.start
    assert len(TRAIN_SEEDS) == len(EVAL_SEEDS) == 2**31
    indices = [0, 1, 7, 10**6, 2**31 - 1]
    train = {train_seed(i) for i in indices}
    evaluation = {eval_seed(i) for i in indices}
    assert all(seed in TRAIN_SEEDS for seed in train)  # range membership, no set of 2**31
    assert all(seed in EVAL_SEEDS for seed in evaluation)
    assert not train & evaluation
    with pytest.raises(FVDMInputError):
        train_seed(2**31)
    with pytest.raises(FVDMInputError):
        eval_seed(-1)


def test_frames_have_the_configured_shape_and_object_count():
    for clip in CLIPS:
        assert clip.frames.shape == (16, 32, 32, 3) and clip.frames.dtype == np.uint8
        assert 1 <= len(clip.objects) <= 3
        assert clip.positions.shape == clip.velocities.shape == (16, len(clip.objects), 2)
    assert {len(clip.objects) for clip in CLIPS} == {1, 2, 3}


def test_other_resolutions_and_lengths_scale_the_scene():
    config = WorldConfig(resolution=48, num_frames=5)
    clip = make_clip(3, config)
    assert clip.frames.shape == (5, 48, 48, 3)
    for obj in clip.objects:
        assert 3.0 * 1.5 <= obj.radius <= 6.0 * 1.5
    speeds = np.linalg.norm(clip.velocities, axis=-1)
    assert np.all((speeds >= 0.5 * 1.5 - 1e-9) & (speeds <= 2.0 * 1.5 + 1e-9))


def test_objects_have_distinct_palette_colours_and_are_drawn_largest_first():
    for clip in CLIPS:
        colours = [obj.colour for obj in clip.objects]
        assert len(set(colours)) == len(colours)
        assert all(colour in PALETTE for colour in colours)
        radii = [obj.radius for obj in clip.objects]
        assert radii == sorted(radii, reverse=True)
        assert all(3.0 <= r <= 6.0 for r in radii)


def test_background_is_dark_and_untouched_away_from_objects():
    pixel_centres = np.arange(32) + 0.5
    for clip in CLIPS:
        far = np.ones(clip.frames.shape[:3], dtype=bool)
        for k, obj in enumerate(clip.objects):
            reach = shape_extent(obj).max() + 1.0
            dx = pixel_centres[None, None, :] - clip.positions[:, k, 0, None, None]
            dy = pixel_centres[None, :, None] - clip.positions[:, k, 1, None, None]
            far &= np.maximum(np.abs(dx), np.abs(dy)) > reach
        assert far.mean() > 0.3
        assert np.all(clip.frames[far] == BACKGROUND)
    assert max(BACKGROUND) < 20


def test_front_object_shows_its_colour_at_its_centre_and_edges_are_antialiased():
    for clip in CLIPS:
        front = len(clip.objects) - 1
        x, y = clip.positions[:, front].T.astype(int)
        centre_pixels = clip.frames[np.arange(16), y, x]
        assert np.all(centre_pixels == clip.objects[front].colour)
    lone = next(clip for clip in CLIPS if len(clip.objects) == 1)
    colour = np.array(lone.objects[0].colour)
    coverage = (lone.frames[..., 0] - BACKGROUND[0]) / (colour[0] - BACKGROUND[0])
    assert np.any((coverage > 0.1) & (coverage < 0.9))  # soft edge pixels exist


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_covers_the_area_of_its_equal_area_circle(shape):
    lone = [c for c in (make_clip(train_seed(i), WorldConfig(max_objects=1)) for i in range(80))
            if c.objects[0].shape == shape]
    assert lone
    for clip in lone:
        obj = clip.objects[0]
        channel = int(np.argmax(obj.colour))
        coverage = (clip.frames[..., channel].astype(float) - BACKGROUND[channel]) / (
            obj.colour[channel] - BACKGROUND[channel])
        areas = coverage.sum(axis=(1, 2))
        assert np.allclose(areas, math.pi * obj.radius**2, rtol=0.04)


def test_positions_keep_every_shape_inside_the_frame():
    for clip in CLIPS:
        for k, obj in enumerate(clip.objects):
            reach = shape_extent(obj)  # [axis, (low, high)]
            low = clip.positions[:, k] - reach[:, 0]
            high = clip.positions[:, k] + reach[:, 1]
            assert np.all(low >= -1e-9) and np.all(high <= 32 + 1e-9)


def test_motion_is_constant_velocity_with_reflections_at_the_walls():
    bounces = 0
    for clip in CLIPS:
        step = np.diff(clip.positions, axis=0)  # [F-1, N, 2]
        before, after = clip.velocities[:-1], clip.velocities[1:]
        speed = np.abs(clip.velocities)
        assert np.allclose(speed, speed[0])  # elastic: |v| per axis never changes
        steady = before == after
        assert np.allclose(step[steady], before[steady])
        flipped = ~steady
        assert np.allclose(after[flipped], -before[flipped])
        assert np.all(np.abs(step[flipped]) <= np.abs(before[flipped]) + 1e-9)
        for t, k, axis in zip(*np.nonzero(flipped), strict=True):
            obj = clip.objects[k]
            reach = shape_extent(obj)[axis]
            heading_up = before[t, k, axis] > 0
            gap = (32 - reach[1] - clip.positions[t, k, axis] if heading_up
                   else clip.positions[t, k, axis] - reach[0])
            assert gap <= abs(before[t, k, axis]) + 1e-9  # the bounce happens at the wall
        bounces += int(flipped.sum())
    assert bounces > 10


@pytest.mark.parametrize("label", ["shape", "count"])
def test_labels_are_valid_classes(label):
    config = WorldConfig(label=label)
    assert config.num_classes == 3
    labels = []
    for i in range(60):
        clip = make_clip(train_seed(i), config)
        expected = (SHAPES.index(clip.objects[0].shape) if label == "shape"
                    else len(clip.objects) - 1)
        assert clip.label == expected
        labels.append(clip.label)
    assert set(labels) == {0, 1, 2}


def test_invalid_configs_are_rejected():
    for bad in (dict(label="colour"), dict(min_objects=0), dict(min_objects=3, max_objects=2),
                dict(max_objects=7), dict(resolution=4), dict(max_radius=20.0)):
        with pytest.raises(FVDMInputError):
            WorldConfig(**bad)


def test_dataset_items_are_clips_in_minus_one_to_one():
    dataset = SyntheticVideoDataset(WorldConfig(), split="train", start_index=5)
    assert len(dataset) == 10**9
    item = dataset[2]
    video, label = item["video"], item["label"]
    assert video.shape == (16, 3, 32, 32) and video.dtype == torch.float32
    assert video.min() >= -1.0 and video.max() <= 1.0
    assert label.dtype == torch.long and label.shape == ()
    clip = make_clip(train_seed(7))
    expected = torch.from_numpy(clip.frames).permute(0, 3, 1, 2).float() / 127.5 - 1
    assert torch.allclose(video, expected)
    assert int(label) == clip.label
    with pytest.raises(IndexError):
        dataset[10**9]


def test_eval_split_uses_eval_seeds_and_grayscale_is_luma():
    dataset = SyntheticVideoDataset(split="eval", length=4, channels=1)
    assert len(dataset) == 4
    assert dataset.seed(3) == eval_seed(3)
    video = dataset[3]["video"]
    assert video.shape == (16, 1, 32, 32)
    frames = make_clip(eval_seed(3)).frames.astype(np.float32)
    luma = frames @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    assert torch.allclose(video[:, 0], torch.from_numpy(luma / 127.5 - 1), atol=1e-5)


def test_dataloader_workers_return_the_same_items_as_indexing():
    dataset = SyntheticVideoDataset(length=8, start_index=100)
    loader = DataLoader(dataset, batch_size=2, num_workers=2, shuffle=False)
    videos = torch.cat([batch["video"] for batch in loader])
    labels = torch.cat([batch["label"] for batch in loader])
    assert torch.equal(videos, torch.stack([dataset[i]["video"] for i in range(8)]))
    assert torch.equal(labels, torch.stack([dataset[i]["label"] for i in range(8)]))


def test_write_video_folder_writes_readable_mp4s(tmp_path):
    config = WorldConfig(num_frames=12)
    paths = write_video_folder(tmp_path, 3, config, split="eval", fps=8)
    assert [p.name for p in paths] == ["eval_000000.mp4", "eval_000001.mp4", "eval_000002.mp4"]
    for i, path in enumerate(paths):
        frames = iio.imread(path, index=None)
        assert frames.shape == (12, 32, 32, 3)
        original = make_clip(eval_seed(i), config).frames
        assert np.abs(frames.astype(int) - original).mean() < 8  # lossy, but the same clip
    with open(tmp_path / "labels.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["seed"]) for r in rows] == [eval_seed(i) for i in range(3)]
    assert [int(r["label"]) for r in rows] == [make_clip(eval_seed(i)).label for i in range(3)]


def test_gif_output_is_lossless_and_cli_writes_files(tmp_path):
    (path,) = write_video_folder(tmp_path / "gif", 1, fmt="gif", start_index=4)
    assert path.name == "train_000004.gif"
    frames = iio.imread(path, index=None)[..., :3]
    assert np.array_equal(frames, make_clip(train_seed(4)).frames)
    main(["--out", str(tmp_path / "cli"), "--count", "2", "--frames", "6", "--split", "eval"])
    written = sorted((tmp_path / "cli").glob("*.mp4"))
    assert [p.name for p in written] == ["eval_000000.mp4", "eval_000001.mp4"]
    assert iio.imread(written[1], index=None).shape == (6, 32, 32, 3)
