"""The ground truth: held-out clips of the synthetic world, or clips read from a folder of videos."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

from fvdm.errors import FVDMInputError
from fvdm.video_io import load_video
from training.data import find_videos
from training.synthetic import SyntheticVideoDataset, WorldConfig

logger = logging.getLogger(__name__)


def synthetic_clips(count: int, num_frames: int, resolution: int) -> torch.Tensor:
    """The first `count` evaluation clips of the synthetic world, [N, F, 3, H, W] in [0, 1]."""
    dataset = SyntheticVideoDataset(WorldConfig(resolution=resolution, num_frames=num_frames), "eval", length=count)
    return torch.stack([(dataset[i]["video"] + 1) / 2 for i in range(count)]).clamp(0, 1)


def video_folder_clips(folder: str | os.PathLike, count: int, num_frames: int, resolution: int) -> torch.Tensor:
    """The first `num_frames` frames of up to `count` videos under `folder` (sorted paths), resized to
    cover the model's square and centre-cropped: [N, F, 3, H, W] in [0, 1]. Videos that are too short
    or unreadable are skipped with a warning."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise FVDMInputError(f"the video folder {root} does not exist")
    clips = []
    for path in find_videos(root):
        if len(clips) == count:
            break
        try:
            frames = load_video(path, num_frames=num_frames, size=(resolution, resolution))
        except FVDMInputError as error:
            logger.warning("skipping %s: %s", path, error)
            continue
        clips.append(torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255)
    if not clips:
        raise FVDMInputError(f"no video under {root} has {num_frames} readable frames")
    return torch.stack(clips)
