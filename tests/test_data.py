"""training.data: video folders (splits, labels, bad files), the resumable index stream, the VAE."""

import logging

import numpy as np
import pytest
import torch
from helpers import tiny_vae

from fvdm.errors import FVDMInputError
from fvdm.video_io import save_video
from training.config import DataConfig
from training.data import (
    StreamSampler,
    VideoFolderDataset,
    build_data,
    encode_video,
    load_vae,
    split_files,
    vae_scale_factor,
)
from training.synthetic import WorldConfig, write_video_folder

WORLD = WorldConfig(resolution=16, num_frames=8)


@pytest.fixture(scope="module")
def video_folder(tmp_path_factory):
    """Five good 8-frame MP4s in two class folders, plus a corrupt and a too-short file."""
    root = tmp_path_factory.mktemp("videos")
    write_video_folder(root / "circles", 3, WORLD)
    write_video_folder(root / "squares", 2, WORLD, start_index=3)
    (root / "squares" / "corrupt.mp4").write_bytes(np.random.default_rng(0).bytes(4000))
    save_video(np.zeros((2, 16, 16, 3), np.uint8), root / "squares" / "short.mp4")
    return root


def folder_dataset(root, **kwargs) -> VideoFolderDataset:
    return VideoFolderDataset(root, **{"num_frames": 4, "size": 8, "val_fraction": 0.0, **kwargs})


def touch(paths):
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def test_seeded_file_split_keeps_validation_files_out_of_training(tmp_path):
    touch([tmp_path / f"group{g}" / f"clip{i}.mp4" for g in range(3) for i in range(10)])
    train = split_files(tmp_path, "train", 0.2, seed=1)
    val = split_files(tmp_path, "val", 0.2, seed=1)
    assert len(val) == 6 and len(train) == 24
    assert not set(train) & set(val)
    assert split_files(tmp_path, "val", 0.2, seed=1) == val  # deterministic
    assert split_files(tmp_path, "val", 0.2, seed=2) != val  # the seed matters


def test_train_and_val_folders_define_the_split(tmp_path):
    touch([tmp_path / "train" / "a.mp4", tmp_path / "train" / "deep" / "b.webm", tmp_path / "val" / "c.gif",
           tmp_path / "train" / "notes.txt"])
    assert [p.name for p in split_files(tmp_path, "train", 0.5, 0)] == ["a.mp4", "b.webm"]
    assert [p.name for p in split_files(tmp_path, "val", 0.5, 0)] == ["c.gif"]


def test_clips_have_the_requested_shape_range_and_channels(video_folder):
    item = folder_dataset(video_folder)[0]
    assert item["video"].shape == (4, 3, 8, 8) and item["video"].dtype == torch.float32
    assert -1 <= item["video"].min() < item["video"].max() <= 1
    gray = folder_dataset(video_folder, channels=1)[0]["video"]
    assert gray.shape == (4, 1, 8, 8)
    luma = torch.tensor([0.299, 0.587, 0.114])[:, None, None]  # Rec. 601, linear so it holds in [-1, 1] too
    assert torch.allclose(gray[:, 0], (item["video"] * luma).sum(1), atol=1e-5)


def test_clips_are_a_function_of_the_index(video_folder):
    dataset = folder_dataset(video_folder)
    assert torch.equal(dataset[1]["video"], dataset[1]["video"])
    # an index past len(dataset) reads the same file from another random start
    starts = {dataset[1 + k * len(dataset)]["video"][0].sum().item() for k in range(6)}
    assert len(starts) > 1


def test_horizontal_flip_mirrors_some_clips(video_folder):
    plain = folder_dataset(video_folder)
    flipped = folder_dataset(video_folder, hflip=True)
    mirrored = 0
    for index in range(8):
        a, b = plain[index]["video"], flipped[index]["video"]
        assert torch.equal(a, b) or torch.equal(a.flip(-1), b)
        mirrored += not torch.equal(a, b)
    assert 0 < mirrored < 8


def test_bad_files_are_skipped_counted_and_reported_once(video_folder, caplog):
    dataset = folder_dataset(video_folder)
    names = [p.name for p in dataset.files]
    bad = [names.index("corrupt.mp4"), names.index("short.mp4")]
    with caplog.at_level(logging.WARNING, logger="training.data"):
        for _ in range(3):
            for index in bad:
                assert dataset[index]["video"].shape == (4, 3, 8, 8)  # another file's clip
    assert sorted(p.name for p in dataset.bad_files) == ["corrupt.mp4", "short.mp4"]
    warnings = [r.getMessage() for r in caplog.records if r.name == "training.data"]
    assert len(warnings) == 2
    assert any("corrupt.mp4" in w for w in warnings) and any("short.mp4" in w for w in warnings)


def test_labels_come_from_class_folders(video_folder):
    dataset = folder_dataset(video_folder, labels="folder")
    assert dataset.classes == ["circles", "squares"]
    good = [(i, p) for i, p in enumerate(dataset.files) if p.name.startswith("train")]
    labels = {p.parent.name: dataset[i]["label"].item() for i, p in good}
    assert labels == {"circles": 0, "squares": 1}


def test_missing_or_empty_folders_raise_one_clear_error(tmp_path):
    with pytest.raises(FVDMInputError, match="does not exist"):
        folder_dataset(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FVDMInputError, match="no train videos"):
        folder_dataset(tmp_path / "empty")


def test_a_folder_of_only_bad_files_fails_with_a_message(tmp_path):
    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    with pytest.raises(FVDMInputError, match="could be read"):
        folder_dataset(tmp_path)[0]


def test_build_data_for_the_synthetic_world():
    data = build_data(DataConfig(num_frames=4, size=16, train_clips=3), seed=0)
    assert len(data.train) == 3 and data.num_classes == 3 and not data.shuffle
    assert data.train[0]["video"].shape == (4, 3, 16, 16)
    assert not torch.equal(data.train[0]["video"], data.eval[0]["video"])  # eval clips are other seeds


def test_build_data_for_a_folder_splits_by_file(video_folder):
    data = build_data(DataConfig(kind="folder", root=str(video_folder), num_frames=4, size=8, val_fraction=0.3), 0)
    assert data.shuffle and not set(data.train.files) & set(data.eval.files)
    assert len(data.train.files) + len(data.eval.files) == 7


def read_stream(sampler: StreamSampler, count: int) -> list[int]:
    stream = iter(sampler)
    return [next(stream) for _ in range(count)]


def test_stream_shards_disjointly_across_processes():
    single = read_stream(StreamSampler(10, batch_size=6, seed=3, shuffle=True), 36)
    ranks = [read_stream(StreamSampler(10, 3, seed=3, shuffle=True, rank=r, world_size=2), 18) for r in range(2)]
    for batch in range(6):  # global micro-batch b = rank 0's slice, then rank 1's
        merged = ranks[0][3 * batch : 3 * batch + 3] + ranks[1][3 * batch : 3 * batch + 3]
        assert merged == single[6 * batch : 6 * batch + 6]


def test_stream_visits_every_index_once_per_epoch_in_a_new_order():
    stream = read_stream(StreamSampler(10, batch_size=5, seed=0, shuffle=True), 30)
    epochs = [stream[i : i + 10] for i in range(0, 30, 10)]
    for epoch, indices in enumerate(epochs):
        assert sorted(i % 10 for i in indices) == list(range(10))
        assert all(i // 10 == epoch for i in indices)  # the epoch is part of the index
    assert [i % 10 for i in epochs[0]] != [i % 10 for i in epochs[1]]
    assert read_stream(StreamSampler(4, batch_size=3), 6) == [0, 1, 2, 3, 0, 1]  # no shuffle: in order


def test_stream_resumes_exactly_at_a_micro_batch():
    whole = read_stream(StreamSampler(7, batch_size=2, seed=5, shuffle=True, rank=1, world_size=3), 40)
    resumed = read_stream(StreamSampler(7, batch_size=2, seed=5, shuffle=True, rank=1, world_size=3, start_batch=8), 24)
    assert resumed == whole[16:]


@pytest.fixture(scope="module")
def tiny_vae_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vae")
    tiny_vae().save_pretrained(folder)
    return folder


def test_vae_encodes_clips_frame_by_frame(tiny_vae_dir):
    vae = load_vae(str(tiny_vae_dir))
    assert vae_scale_factor(vae) == 2 and not any(p.requires_grad for p in vae.parameters())
    clip = torch.rand(1, 3, 3, 16, 16) * 2 - 1
    latents = encode_video(vae, clip.expand(64, -1, -1, -1, -1), chunk=40)  # 64 draws of one clip
    assert latents.shape == (64, 3, 4, 8, 8)
    posterior = vae.encode(clip[0]).latent_dist  # the three frames as a batch of images
    scale = vae.config.scaling_factor
    assert latents.std(0).mean() > 0  # sampled, not the mode
    tolerance = 5 * scale * posterior.std.max() / 8  # five standard errors of a 64-sample mean
    assert (latents.mean(0) - scale * posterior.mean).abs().max() < tolerance


def test_a_missing_vae_is_a_clear_error(tmp_path):
    with pytest.raises(FVDMInputError, match="could not load a VAE"):
        load_vae(str(tmp_path / "no-vae"))
