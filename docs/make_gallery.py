"""Make the README's gallery with the demo's own task functions, on the bundled models.

    python -m docs.make_gallery

Every GIF is what the app shows for that task, with the conventional baseline beside FVDM on the same
seed (given frames by replacement), plus the references (truth, cross-fade, repeat-last). Inputs are
the held-out example clips in examples/ (never trained on, never part of the reported numbers).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from demo import render
from demo.models import BUNDLED_LABELS, ModelCache
from demo.tasks import Tasks

HERE = Path(__file__).resolve().parent
OUT = HERE / "gallery"
EXAMPLES = HERE.parent / "examples"
STEPS = 25
LONG_FRAMES = 128


def main() -> None:
    OUT.mkdir(exist_ok=True)
    tasks = Tasks(ModelCache(device="cpu"))
    fvdm, baseline = BUNDLED_LABELS["fvdm"], BUNDLED_LABELS["baseline"]
    results = {
        "unconditional": tasks.generate(fvdm, None, 4, 0, STEPS),
        "unconditional-baseline": tasks.generate(baseline, None, 4, 0, STEPS),
        "image-to-video": tasks.image_to_video(fvdm, baseline, str(EXAMPLES / "start-2.png"), 0, 0, STEPS),
        "interpolation": tasks.interpolate(fvdm, baseline, None, None, str(EXAMPLES / "clip-3.mp4"), 1, 14, 0, STEPS),
        "interpolation-k2": tasks.interpolate(fvdm, baseline, None, None, str(EXAMPLES / "clip-4.mp4"), 2, 12, 0, STEPS),
        "prediction": tasks.predict(fvdm, baseline, str(EXAMPLES / "clip-1.mp4"), 4, 0, STEPS),
    }
    for name, result in results.items():
        shutil.copy(result.gif, OUT / f"{name}.gif")
        print(name, result.info)
    for label, name in [(fvdm, "long-video"), (baseline, "long-video-baseline")]:
        *_, last = tasks.long_video(label, None, LONG_FRAMES, 8, 8, 0, STEPS)
        shutil.copy(render.write_gif(render.enlarge(last.frames, 96), fps=12), OUT / f"{name}.gif")
        print(name, last.info)


if __name__ == "__main__":
    main()
