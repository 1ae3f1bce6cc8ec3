"""The report as Markdown: per data set, methods x task metrics, paired differences, frame orders,
the physics rules, FVD, the interpolation ceiling, one-step denoising and long-video drift."""

from __future__ import annotations

from collections.abc import Sequence

from training.evaluate.tasks import task_titles

# Report keys -> table rows, in table order.
METHODS = {
    "fvdm": "FVDM",
    "conventional": "Conventional + replacement",
    "cross_fade": "Cross-fade",
    "repeat_last": "Repeat last frame",
    "real": "Real clips",
}
METRIC_TITLES = {"psnr": "PSNR", "ssim": "SSIM", "plausible": "plausible", "sharpness": "sharpness", "fvd": "FVD"}
RULE_TITLES = {"share_plausible": "Plausible", "scene_ok": "Scene", "count_ok": "Count", "colour_ok": "Colour",
               "size_ok": "Size", "motion_ok": "Motion", "edges_ok": "Edges"}
PERSISTENCE_TITLES = {"share_appearing": "Appears", "share_vanishing": "Vanishes"}  # shares failing, not passing


def to_markdown(result: dict) -> str:
    """The report's tables: per data set, methods x task metrics, the physics rules, FVD, drift."""
    config = result["config"]
    titles = task_titles(config["num_frames"])
    lines = [
        f"## Evaluation of {config['model'] or 'an in-memory model'}",
        "",
        (
            f"{config['steps']} {_sampler_title(config)} sampling steps{_guidance_title(config)}, "
            f"seed {config['seed']}, {config['num_frames']} frames of "
            f"{config['resolution']} x {config['resolution']} px; run time {_duration(result['timings']['total'])}. "
            "PSNR (dB) and SSIM: generated frames only, mean ± 95% CI over clips. Plausible: share of clips "
            "obeying the synthetic world's physics. Sharpness: variance of the Laplacian (real clips as reference)."
        ),
        "",
    ]
    lines += _section_markdown("Synthetic world, held-out clips", result["synthetic"], titles, physics=True)
    if "interpolation_ceiling" in result["synthetic"]:
        lines += _ceiling_markdown(result["synthetic"])
    if "denoising" in result["synthetic"]:
        lines += _denoising_markdown(result["synthetic"]["denoising"])
    if "long" in result["synthetic"]:
        lines += _drift_markdown(result["synthetic"]["long"])
    if "video_folder" in result:
        lines += _section_markdown(f"Video folder {config['video_folder']}", result["video_folder"], titles, physics=False)
    return "\n".join(lines).rstrip() + "\n"


def _sampler_title(config: dict) -> str:
    """"DDIM", "DDIM (eta 0.5)" or "DDPM"."""
    sampler, eta = config["sampler"], config["eta"]
    return sampler.upper() + (f" (eta {eta:g})" if sampler == "ddim" and eta else "")


def _guidance_title(config: dict) -> str:
    """", frame guidance 2 for FVDM" ("" without guidance, and in reports from before it existed)."""
    strength = config.get("frame_guidance", 1.0)
    return f", frame guidance {strength:g} for FVDM" if strength != 1.0 else ""


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _section_markdown(title: str, section: dict, titles: dict[str, str], physics: bool) -> list[str]:
    columns = [("reconstruction", task, metric) for task in section["reconstruction"] for metric in ("psnr", "ssim")]
    generation_metrics = ("plausible", "sharpness") if physics else ("sharpness",)
    columns += [("generation", task, metric) for task in section["generation"] for metric in generation_metrics]
    methods = [m for m in METHODS if any(_entry(section, m, group, task) for group, task, _ in columns)]
    header = ["Method", *(f"{titles[task]} {METRIC_TITLES[metric]}" for _, task, metric in columns)]
    rows = [
        [METHODS[m], *(_format(metric, _value(_entry(section, m, group, task), metric)) for group, task, metric in columns)]
        for m in methods
    ]
    lines = [f"### {title} ({section['clips']} clips)", "", *_table(header, rows), ""]
    lines += _paired_markdown(section.get("paired", {}), titles)
    lines += _orders_markdown(section.get("orders", {}), titles)
    if physics and section["generation"]:
        lines += _rules_markdown(section, titles)
    return lines + _fvd_markdown(section, titles)


def _entry(section: dict, method: str, group: str, task: str) -> dict | None:
    """The scores of `method` on `task`; the real clips stand in for every generation task."""
    if method == "real":
        return section["real"] if group == "generation" else None
    return section[group][task].get(method)


def _value(entry: dict | None, metric: str):
    if entry is None:
        return None
    if metric == "plausible":
        return entry.get("physics", {}).get("share_plausible")
    return entry.get(metric)


def _format(metric: str, value, signed: bool = False) -> str:
    if value is None:
        return "–"
    if metric in ("psnr", "ssim"):
        digits, sign = (2 if metric == "psnr" else 3), ("+" if signed else "")
        return f"{value['mean']:{sign}.{digits}f} ± {value['ci95']:.{digits}f}"
    if metric == "plausible":
        return f"{100 * value:.1f}%"
    return f"{value:.0f}" if metric == "sharpness" else f"{value:.1f}"


def _paired_markdown(paired: dict, titles: dict[str, str]) -> list[str]:
    """FVDM minus each other method on the same clips, per reconstruction task."""
    columns = [(task, metric) for task, by_method in paired.items() if by_method for metric in ("psnr", "ssim")]
    methods = [m for m in METHODS if any(m in paired[task] for task, _ in columns)]
    if not methods:
        return []
    header = ["FVDM minus", *(f"{titles[task]} {METRIC_TITLES[metric]}" for task, metric in columns)]
    rows = [[METHODS[m], *(_format(metric, paired[task].get(m, {}).get(metric), signed=True) for task, metric in columns)]
            for m in methods]
    return [
        "#### Paired differences: FVDM minus each method on the same clips (mean ± 95% CI; positive: FVDM is better)",
        "", *_table(header, rows), "",
    ]


def _orders_markdown(orders: dict, titles: dict[str, str]) -> list[str]:
    """Each model's pyramid minus its together run, per task run in both orders."""
    if not orders:
        return []
    columns = [(task, metric) for task in orders for metric in ("psnr", "ssim")]
    header = ["Pyramid minus together", *(f"{titles[task]} {METRIC_TITLES[metric]}" for task, metric in columns)]
    methods = [m for m in METHODS if any(m in by_method for by_method in orders.values())]
    rows = [
        [METHODS[m], *(_format(metric, orders[task].get(m, {}).get(metric), signed=True) for task, metric in columns)]
        for m in methods
    ]
    return [
        "#### Frame order: each model's pyramid minus its together run, on the same clips and seeds (mean ± 95% CI)",
        "", *_table(header, rows), "",
    ]


def _rules_markdown(section: dict, titles: dict[str, str]) -> list[str]:
    entries = [(titles[task], METHODS[m], entry) for task, by_method in section["generation"].items()
               for m, entry in by_method.items()]
    entries.append(("–", METHODS["real"], section["real"]))
    header = ["Task", "Method", *RULE_TITLES.values(), "Objects / clip", *PERSISTENCE_TITLES.values()]
    rows = [
        [task, method, *(_format("plausible", entry["physics"][rule]) for rule in RULE_TITLES),
         f"{entry['physics']['mean_objects']:.2f}",
         *(_format("plausible", entry["physics"].get(key)) for key in PERSISTENCE_TITLES)]
        for task, method, entry in entries
    ]
    return [
        "#### Physics rules: share of clips passing each",
        "",
        *_table(header, rows, text_columns=2),
        "",
        "Appears / vanishes: share of clips where an object is missing from the first / the last frame "
        "(it appeared from nothing or vanished; the world's objects stay in every frame).",
        "",
    ]


def _fvd_markdown(section: dict, titles: dict[str, str]) -> list[str]:
    by_task = {**section["reconstruction"], **section["generation"]}
    tasks = [task for task, by_method in by_task.items() if any("fvd" in entry for entry in by_method.values())]
    if not tasks:
        return []
    methods = [m for m in METHODS if any(m in by_task[task] for task in tasks)]
    rows = [[METHODS[m], *(_format("fvd", by_task[task].get(m, {}).get("fvd")) for task in tasks)] for m in methods]
    return ["#### FVD against the real clips (lower is better)", "", *_table(["Method", *(titles[t] for t in tasks)], rows), ""]


def _ceiling_markdown(section: dict) -> list[str]:
    """The models and cross-fade at interpolation K=1 next to a perfect sampler of the world."""
    ceiling = section["interpolation_ceiling"]
    scores = section["reconstruction"]["interpolation_k1"]
    rows = [[METHODS[m], _format("psnr", entry["psnr"]), _format("ssim", entry["ssim"])] for m, entry in scores.items()]
    truth_share = ceiling["truth_probability"]["mean"]
    if "other_psnr" in ceiling:
        rows.append([f"Perfect sampler, a draw of another route ({100 * (1 - truth_share):.0f}% of draws)",
                     _format("psnr", ceiling["other_psnr"]), _format("ssim", ceiling["other_ssim"])])
    rows.append(["Posterior mean of every route (a blur)", _format("psnr", ceiling["mean_psnr"]),
                 _format("ssim", ceiling["mean_ssim"])])
    return [
        "#### Interpolation K=1: what a perfect sampler of the world scores",
        "",
        (
            f"The two end frames leave each object's route open (straight, or bouncing off a wall): "
            f"{ceiling['routes']['median']:g} routes per clip fit both ends "
            f"(median; at most {ceiling['routes']['max']}), "
            f"and a perfect sampler of the world draws the true clip {100 * truth_share:.0f}% of the time (scoring "
            "the PSNR cap). PSNR and SSIM score one ground truth, so a sharp draw of another route loses twice "
            "(where its objects are and where they should be); the posterior mean, every route blurred together, "
            "has the least expected squared error of any answer."
        ),
        "",
        *_table(["Interp. K=1", "PSNR", "SSIM"], rows),
        "",
    ]


def _denoising_markdown(denoising: dict) -> list[str]:
    levels = list(next(iter(denoising.values())))
    rows = [
        [METHODS[method].removesuffix(" + replacement"), *(_format("psnr", scores[level]) for level in levels)]
        for method, scores in denoising.items()
    ]
    return [
        "#### One-step denoising: PSNR (dB) of the clean estimate from noise level t, all frames noised",
        "",
        *_table(["Method", *levels], rows),
        "",
    ]


def _drift_markdown(long: dict) -> list[str]:
    window = long["window"]
    shares = long["share_plausible"]
    spans = [f"{w * window}–{(w + 1) * window - 1}" for w in range(len(next(iter(shares.values()))))]
    rows = [[METHODS[m], *(_format("plausible", share) for share in values)] for m, values in shares.items()]
    return [
        (
            f"#### Long video: share of plausible clips per {window}-frame window "
            f"({long['clips']} videos of {long['frames']} frames, {long['context']} context frames"
            f"{_long_order_note(long)})"
        ),
        "",
        *_table(["Method", *spans], rows),
        "",
    ]


def _long_order_note(long: dict) -> str:
    """How the windows descended; reports from before the option have no order (they were together)."""
    order = long.get("order", "together")
    return "" if order == "together" else f", each window {order}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], text_columns: int = 1) -> list[str]:
    """A Markdown table: the first `text_columns` columns left-aligned, the numbers right-aligned."""
    return [
        "| " + " | ".join(header) + " |",
        "|:--" * text_columns + "|--:" * (len(header) - text_columns) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
