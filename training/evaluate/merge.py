"""Merge the reports of one evaluation that was split by task across processes or machines.

    python -m training.evaluate --model fvdm --baseline baseline --tasks interpolation,prediction,denoising --out a.json &
    python -m training.evaluate --model fvdm --baseline baseline --tasks image_to_video,unconditional,long --out b.json
    python -m training.evaluate.merge a.json b.json --out docs/results/eval.json

Each part must have evaluated the same models with the same settings, only other tasks; every
task's numbers depend on its own seeds alone, so the merged report is the one a single run with
all the tasks writes (its timings are the parts', and its total their sum).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from fvdm.errors import FVDMInputError
from training.evaluate.markdown import to_markdown
from training.evaluate.tasks import TASKS

SECTION_KEYS = ("config", "timings", "markdown")


def merge_values(ours: object, theirs: object, where: str) -> object:
    """Nested dicts merge key by key; anything else must be equal in both parts."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        merged = dict(ours)
        for key, value in theirs.items():
            merged[key] = merge_values(ours[key], value, f"{where}/{key}") if key in ours else value
        return merged
    if ours != theirs:
        raise FVDMInputError(f"the reports disagree at {where}: {ours!r} against {theirs!r}")
    return ours


def merge_reports(reports: Sequence[dict]) -> dict:
    """One report from several parts of the same evaluation (see the module docstring)."""
    if len(reports) < 2:
        raise FVDMInputError("give at least two reports to merge")
    first = reports[0]["config"]
    tasks: list[str] = []
    for report in reports:
        settings = {key: value for key, value in report["config"].items() if key != "tasks"}
        if settings != {key: value for key, value in first.items() if key != "tasks"}:
            changed = sorted(key for key in settings if settings[key] != first.get(key))
            raise FVDMInputError(f"the reports come from different evaluations (they differ in {', '.join(changed)})")
        overlap = set(tasks) & set(report["config"]["tasks"])
        if overlap:
            raise FVDMInputError(f"more than one report evaluated {', '.join(sorted(overlap))}")
        tasks += report["config"]["tasks"]
    merged: dict = {"config": {**first, "tasks": [task for task in TASKS if task in tasks]}}
    for report in reports:
        for key, value in report.items():
            if key not in SECTION_KEYS:
                merged[key] = merge_values(merged[key], value, key) if key in merged else value
    timings = [report["timings"] for report in reports]
    merged["timings"] = {key: value for part in timings for key, value in part.items() if key != "total"}
    merged["timings"]["total"] = round(sum(part["total"] for part in timings), 3)
    merged["markdown"] = to_markdown(merged)
    return merged


def read_report(path: Path) -> dict:
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise FVDMInputError(f"cannot read the report {path}: {error}") from error
    if not isinstance(report, dict) or not all(key in report for key in SECTION_KEYS):
        raise FVDMInputError(f"{path} is not a report of training.evaluate")
    return report


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate.merge", description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", type=Path, help="JSON reports of training.evaluate")
    parser.add_argument("--out", required=True, type=Path, help="the merged JSON report; the Markdown goes beside it")
    args = parser.parse_args(argv)
    try:
        merged = merge_reports([read_report(path) for path in args.reports])
    except FVDMInputError as error:
        raise SystemExit("error: " + " ".join(str(error).split())) from None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(merged, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(merged["markdown"])
    print(merged["markdown"], end="")


if __name__ == "__main__":
    main()
