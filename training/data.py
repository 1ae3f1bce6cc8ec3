"""Training data: clips {"video": float [F, C, H, W] in [-1, 1], "label": long} from the synthetic
world or a folder of videos, the resumable index stream that feeds them, and the optional VAE.

Everything a batch contains is a pure function of (seed, position in the stream), so a run that
resumes from a checkpoint reads exactly the clips an uninterrupted run would have read.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL
from torch.utils.data import Dataset, Sampler

from fvdm.errors import FVDMInputError
from fvdm.video_io import VIDEO_EXTENSIONS, load_video, probe_video
from training.config import DataConfig
from training.synthetic import SyntheticVideoDataset, WorldConfig, frames_to_tensor

logger = logging.getLogger(__name__)

SPLIT_FOLDERS = ("train", "val")


# ----------------------------------------------------------------------------- video folders


def find_videos(folder: Path) -> list[Path]:
    """Every video file under `folder` (recursively), sorted, so the order is the same everywhere."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file())


def split_files(root: Path, split: str, val_fraction: float, seed: int) -> list[Path]:
    """The videos of one split: `root/train` and `root/val` when root has a train/ folder, else a
    seeded random `val_fraction` of the files (whole files, so no validation clip is trained on)."""
    if (root / "train").is_dir():
        folder = root / split
        return find_videos(folder) if folder.is_dir() else []
    files = find_videos(root)
    shuffled = files.copy()
    random.Random(seed).shuffle(shuffled)
    num_val = round(len(files) * val_fraction)
    if val_fraction > 0 and len(files) > 1:
        num_val = min(max(num_val, 1), len(files) - 1)  # keep at least one file on each side
    val = set(shuffled[:num_val])
    return [path for path in files if (path in val) == (split == "val")]


def class_name(path: Path, root: Path) -> str:
    """The first sub-folder below the split folder (or below root): the class of a video."""
    parts = path.relative_to(root).parts
    if parts[0] in SPLIT_FOLDERS and (root / "train").is_dir():
        parts = parts[1:]
    if len(parts) < 2:
        raise FVDMInputError(f"labels: folder needs every video inside a class sub-folder; {path} is not")
    return parts[0]


class VideoFolderDataset(Dataset):
    """Clips of `num_frames` frames (every `stride`-th) from the videos under `root`, resized to
    cover `size` x `size` and centre-cropped, as {"video": [F, C, H, W] in [-1, 1], "label": long}.

    Index i reads file i % len(self) from a random start (and flip, with `hflip`) drawn from
    (seed, i), so a clip depends on nothing but its index; indices past len(self) are fresh draws
    from the same files, which is how the training stream gives every epoch new crops.

    A file that cannot be decoded or is too short is reported once (a warning naming it), listed
    in `bad_files`, and replaced by the next file, so one bad file never stops a training run.
    With DataLoader workers each worker keeps its own list.
    """

    def __init__(
        self,
        root: str | Path,
        num_frames: int,
        size: int,
        stride: int = 1,
        channels: int = 3,
        hflip: bool = False,
        split: str = "train",
        val_fraction: float = 0.1,
        seed: int = 0,
        labels: str = "none",
    ) -> None:
        if split not in SPLIT_FOLDERS:
            raise FVDMInputError(f"split must be 'train' or 'val', not {split!r}")
        if channels not in (1, 3):
            raise FVDMInputError(f"channels must be 1 or 3, not {channels}")
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise FVDMInputError(f"the data folder {self.root} does not exist")
        self.files = split_files(self.root, split, val_fraction, seed)
        if not self.files:
            raise FVDMInputError(
                f"no {split} videos ({', '.join(VIDEO_EXTENSIONS)}) found under {self.root}"
            )
        self.classes = sorted({class_name(p, self.root) for p in find_videos(self.root)}) if labels == "folder" else []
        self.num_frames, self.size, self.stride = num_frames, size, stride
        self.channels, self.hflip, self.seed = channels, hflip, seed
        self.bad_files: list[Path] = []
        self._frame_counts: dict[Path, int] = {}

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        for attempt in range(len(self.files)):
            path = self.files[(index + attempt) % len(self.files)]
            if path in self.bad_files:
                continue
            rng = np.random.default_rng([self.seed, index, attempt])
            try:
                frames = self._read_clip(path, rng)
            # Decoders fail in many ways on damaged files; none of them may end a training run.
            except Exception as error:  # noqa: BLE001
                self._report_bad(path, error)
                continue
            if self.hflip and rng.random() < 0.5:
                frames = frames[:, :, ::-1]
            label = self.classes.index(class_name(path, self.root)) if self.classes else 0
            return {"video": frames_to_tensor(frames, self.channels), "label": torch.tensor(label, dtype=torch.long)}
        raise FVDMInputError(f"none of the {len(self.files)} videos under {self.root} could be read")

    def _read_clip(self, path: Path, rng: np.random.Generator) -> np.ndarray:
        """uint8 [F, size, size, 3] from a random start that leaves room for the whole clip."""
        if path not in self._frame_counts:
            self._frame_counts[path] = probe_video(path)["num_frames"]
        span = (self.num_frames - 1) * self.stride + 1
        start = int(rng.integers(0, max(self._frame_counts[path] - span, 0) + 1))
        read = {"num_frames": self.num_frames, "size": (self.size, self.size), "stride": self.stride}
        try:
            return load_video(path, start=start, **read)
        except FVDMInputError:
            if start == 0:
                raise
            return load_video(path, start=0, **read)  # the probed length (an estimate) was too long

    def _report_bad(self, path: Path, error: Exception) -> None:
        self.bad_files.append(path)
        logger.warning("skipping unreadable or too short video %s: %s", path, error)


# ----------------------------------------------------------------------------- what a run trains on


@dataclass
class TrainingData:
    train: Dataset
    eval: Dataset  # clips the previews condition on (never trained on, unless there is no val split)
    num_classes: int  # 0: unlabelled
    shuffle: bool  # whether the stream should shuffle `train` (the synthetic world is random already)
    description: str  # one line for logs and the model card


def build_data(config: DataConfig, seed: int) -> TrainingData:
    """The training clips and preview clips that the data section describes."""
    return synthetic_data(config) if config.kind == "synthetic" else folder_data(config, seed)


def synthetic_data(config: DataConfig) -> TrainingData:
    world = WorldConfig(
        resolution=config.size, num_frames=config.num_frames, min_objects=config.min_objects,
        max_objects=config.max_objects, label=config.label,
    )
    clips = "an endless stream of fresh clips" if config.train_clips is None else f"{config.train_clips} clips"
    return TrainingData(
        train=SyntheticVideoDataset(world, "train", length=config.train_clips, channels=config.channels),
        eval=SyntheticVideoDataset(world, "eval", channels=config.channels),
        num_classes=world.num_classes,
        shuffle=False,
        description=(
            f"the procedural bouncing-shapes world of `training.synthetic` ({clips}, "
            f"{config.min_objects}-{config.max_objects} objects, labels: {config.label})"
        ),
    )


def folder_data(config: DataConfig, seed: int) -> TrainingData:
    folder = {
        "root": config.root, "num_frames": config.num_frames, "size": config.size, "stride": config.stride,
        "channels": config.channels, "val_fraction": config.val_fraction, "seed": seed, "labels": config.labels,
    }
    train = VideoFolderDataset(**folder, hflip=config.hflip, split="train")
    has_val = bool(split_files(train.root, "val", config.val_fraction, seed))
    if not has_val:
        logger.warning("no validation videos under %s: previews condition on training clips", train.root)
    classes = f" in {len(train.classes)} classes" if train.classes else ""
    return TrainingData(
        train=train,
        eval=VideoFolderDataset(**folder, split="val") if has_val else train,
        num_classes=len(train.classes),
        shuffle=True,
        description=f"{len(train)} videos from {train.root}{classes}",
    )


class StreamSampler(Sampler[int]):
    """The endless stream of dataset indices one process reads, restartable at any micro-batch.

    The global stream has positions n = 0, 1, 2, ...; global micro-batch b is positions
    [b * W * B, (b + 1) * W * B) for W processes with B clips each, and process r reads its
    B-wide slice r. Position n belongs to epoch n // L (L = len(dataset)): without shuffling it
    reads index n % L; with shuffling a permutation seeded by (seed, epoch), plus epoch * L so that
    `VideoFolderDataset` draws new crops each epoch. `start_batch` skips micro-batches already
    trained on: a resumed run reads exactly what an uninterrupted one would.
    """

    def __init__(
        self, length: int, batch_size: int, seed: int = 0, shuffle: bool = False,
        rank: int = 0, world_size: int = 1, start_batch: int = 0,
    ) -> None:
        self.length, self.batch_size, self.seed, self.shuffle = length, batch_size, seed, shuffle
        self.rank, self.world_size, self.start_batch = rank, world_size, start_batch
        self._permutation: tuple[int, np.ndarray] | None = None

    def index(self, position: int) -> int:
        epoch, offset = divmod(position, self.length)
        if not self.shuffle:
            return offset
        if self._permutation is None or self._permutation[0] != epoch:
            self._permutation = (epoch, np.random.default_rng([self.seed, epoch]).permutation(self.length))
        return epoch * self.length + int(self._permutation[1][offset])

    def __iter__(self) -> Iterator[int]:
        batch = self.start_batch
        while True:
            first = (batch * self.world_size + self.rank) * self.batch_size
            for position in range(first, first + self.batch_size):
                yield self.index(position)
            batch += 1


# ----------------------------------------------------------------------------- latent space


def load_vae(source: str) -> AutoencoderKL:
    """A diffusers AutoencoderKL from a local folder or a Hub id, frozen, in eval mode."""
    try:
        vae = AutoencoderKL.from_pretrained(source)
    except (OSError, ValueError) as error:
        raise FVDMInputError(f"could not load a VAE (AutoencoderKL) from {source!r}: {error}") from error
    return vae.requires_grad_(False).eval()


def vae_scale_factor(vae: AutoencoderKL) -> int:
    """How many pixels one latent covers along each side (8 for Stable Diffusion's VAE)."""
    return 2 ** (len(vae.config.block_out_channels) - 1)


@torch.no_grad()
def encode_video(vae: AutoencoderKL, video: torch.Tensor, chunk: int = 32) -> torch.Tensor:
    """Pixels [B, F, 3, H, W] in [-1, 1] -> scaled latents [B, F, C, H / s, W / s], frame by frame.

    Latents are sampled from the posterior (not its mode), as Stable Diffusion trains; `chunk`
    frames are encoded at a time to bound memory.
    """
    batch, frames = video.shape[:2]
    flat = video.flatten(0, 1).to(vae.device, vae.dtype)
    latents = torch.cat([vae.encode(part).latent_dist.sample() for part in flat.split(chunk)])
    latents = latents.float() * vae.config.scaling_factor
    return latents.view(batch, frames, *latents.shape[1:])
