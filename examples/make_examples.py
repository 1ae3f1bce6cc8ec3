"""Write the demo's example inputs: held-out clips of the synthetic world and their end frames.

    python examples/make_examples.py

Clips are 32 x 32 worlds enlarged 8x (nearest neighbour) so they look sharp on the page; the app
scales them back to the model's size. The seeds come from the evaluation range, past the clips
`training.evaluate` scores, so no example was seen in training or is part of a reported number.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from fvdm import schedules
from fvdm.video_io import save_video
from training.synthetic import WorldConfig, eval_seed, make_clip

HERE = Path(__file__).resolve().parent
FIRST_SEED_INDEX = 1000  # training.evaluate uses the first few hundred evaluation seeds
NUM_CLIPS = 4
NUM_FRAMES = 32
ENLARGE = 8


def main() -> None:
    world = WorldConfig(num_frames=NUM_FRAMES)
    for n in range(NUM_CLIPS):
        frames = make_clip(eval_seed(FIRST_SEED_INDEX + n), world).frames
        big = frames.repeat(ENLARGE, axis=1).repeat(ENLARGE, axis=2)
        save_video(big, HERE / f"clip-{n + 1}.mp4", fps=8)
        Image.fromarray(big[0]).save(HERE / f"start-{n + 1}.png")
        Image.fromarray(big[15]).save(HERE / f"end-{n + 1}.png")
    plan = schedules.autoregressive(16, 10, lag=2, block_size=4, given=(0,))
    (HERE / "pyramid-plan.json").write_text(plan.to_json() + "\n")


if __name__ == "__main__":
    main()
