"""How long a plan's heat map takes to draw (the studio redraws it on every edit; budget 0.1 s).
The cases are drawn in turn, as the studio does when the plan changes.

    python -m benchmarks.heatmap
"""

from __future__ import annotations

import json
import statistics
import time

from fvdm import schedules
from fvdm.heatmap import render_plan

BUDGET_MS = 100

CASES = {  # name -> plan
    "16 frames x 25 steps": schedules.interpolation(num_frames=16, num_steps=25, context=2),
    "16 frames x 64 steps (pyramid)": schedules.autoregressive(num_frames=16, num_steps=25, lag=3),
    "32 frames x 100 steps": schedules.random_plan(num_frames=32, num_steps=100, seed=1),
}


def main(repeats: int = 10) -> None:
    render_plan(CASES["16 frames x 25 steps"])  # the first call loads fonts
    timings: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(repeats):
        for name, plan in CASES.items():
            start = time.perf_counter()
            render_plan(plan, current_step=plan.num_steps // 2)
            timings[name].append(time.perf_counter() - start)
    results = {name: round(statistics.median(times) * 1e3, 1) for name, times in timings.items()}
    print(json.dumps({"benchmark": "heatmap", "median_ms": results, "budget_ms": BUDGET_MS}))


if __name__ == "__main__":
    main()
