"""Vector figures for a paper: accuracy with seed error bars, and the paired differences.

`write_figures(report, folder)` writes, as SVG and PDF:

- `accuracy.svg|pdf`: per system, UEG, GEU and Total accuracy; with several run seeds the bar
  is the mean over seeds and the error bar its sample standard deviation.
- `paired.svg|pdf` (when the run has pairs that answer its question): each pair's difference
  with its 95% interval (over instances and seeds), and with several judges the interval over
  instances, seeds and judges beside it.

matplotlib is imported here only, through `matplotlib.figure.Figure` (no pyplot, no global
backend), and the files carry no date, so the same report writes the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from composer.report.model import AXES, Report, axis_of
from composer.report.pairs import split_pairs

FORMATS = ("svg", "pdf")
_METADATA = {"svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None}}


def _sd(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return float((sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5)


def accuracy_bars(report: Report) -> dict[str, list[tuple[str, float, float]]]:
    """Per system: (scope, mean accuracy, SD over seeds) for UEG, GEU and Total where present."""
    bars: dict[str, list[tuple[str, float, float]]] = {}
    for name, entry in report["systems"].items():
        found: list[tuple[str, float, float]] = []
        for axis in AXES:
            data = axis_of(entry, axis)
            if data is not None:
                found.append((axis, data["accuracy"], _sd(list(data["by_seed"].values()))))
        if entry["total"] is not None:
            totals = list((entry.get("total_by_seed") or {}).values())
            found.append(("Total", entry["total"], _sd(totals)))
        bars[name] = found
    return bars


def _save(figure: Any, folder: Path, stem: str, formats: Sequence[str]) -> list[Path]:
    from matplotlib import rc_context

    written = []
    with rc_context({"svg.hashsalt": "composer", "pdf.fonttype": 42}):
        for fmt in formats:
            path = folder / f"{stem}.{fmt}"
            figure.savefig(path, format=fmt, bbox_inches="tight", metadata=_METADATA[fmt])
            written.append(path)
    return written


def accuracy_figure(report: Report) -> Any:
    """The accuracy figure (a matplotlib `Figure`), error bars = SD over run seeds."""
    from matplotlib.figure import Figure

    bars = accuracy_bars(report)
    present = {scope for values in bars.values() for scope, _, _ in values}
    scopes = [s for s in ("UEG", "GEU", "Total") if s in present]
    figure = Figure(figsize=(max(4.5, 1.1 * len(bars) * max(1, len(scopes)) / 2 + 2), 3.2))
    ax = figure.add_subplot()
    width = 0.8 / max(1, len(scopes))
    several = len(report.get("seeds", [])) > 1
    for k, scope in enumerate(scopes):
        xs, heights, errors = [], [], []
        for i, values in enumerate(bars.values()):
            for name, mean, sd in values:
                if name == scope:
                    xs.append(i - 0.4 + width * (k + 0.5))
                    heights.append(mean)
                    errors.append(sd)
        # An accuracy lies in [0, 100]: the bar's SD whisker stops there.
        whiskers = [
            [min(sd, mean) for mean, sd in zip(heights, errors, strict=True)],
            [min(sd, 100.0 - mean) for mean, sd in zip(heights, errors, strict=True)],
        ]
        ax.bar(xs, heights, width=width, label=scope, yerr=whiskers if several else None, capsize=3)
    ax.set_xticks(range(len(bars)), list(bars), rotation=20, ha="right")
    ax.set_ylim(0, 100)
    spread = f", mean ± SD over {len(report['seeds'])} seeds" if several else ""
    ax.set_ylabel(f"accuracy % ({report['parser']}{spread})")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small", frameon=False)
    return figure


def paired_figure(report: Report) -> Any | None:
    """Each leading pair's difference (all scopes) with its 95% interval; None without pairs."""
    from matplotlib.figure import Figure

    leading, _ = split_pairs(report)
    if not leading:
        return None
    labels = [f"{p['a']} vs {p['b']} ({p['scope']})" for p in leading]
    figure = Figure(figsize=(6.0, 0.9 + 0.32 * len(leading)))
    ax = figure.add_subplot()
    ys = list(range(len(leading)))[::-1]
    diffs = [p["difference"] for p in leading]
    low = [p["difference"] - p["ci95"][0] for p in leading]
    high = [p["ci95"][1] - p["difference"] for p in leading]
    ax.errorbar(diffs, ys, xerr=[low, high], fmt="o", capsize=3, label="95% CI")
    judged = [(y, p) for y, p in zip(ys, leading, strict=True) if p.get("ci95_all_judges")]
    if judged:
        ax.errorbar(
            [p["difference_all_judges"] for _, p in judged],
            [y - 0.25 for y, _ in judged],
            xerr=[
                [p["difference_all_judges"] - p["ci95_all_judges"][0] for _, p in judged],
                [p["ci95_all_judges"][1] - p["difference_all_judges"] for _, p in judged],
            ],
            fmt="s",
            capsize=3,
            label="95% CI, all judges",
        )
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_yticks(ys, labels, fontsize="small")
    ax.set_xlabel("A - B, accuracy points")
    ax.legend(fontsize="small", frameon=False, loc="best")
    return figure


def write_figures(
    report: Report, folder: Path | str, formats: Sequence[str] = FORMATS
) -> list[Path]:
    """Write the figures into `folder` in each format; return the paths written.

    Example:
        >>> write_figures(summarize(store), "paper/figures")  # doctest: +SKIP
        [PosixPath('paper/figures/accuracy.svg'), PosixPath('paper/figures/accuracy.pdf'), ...]
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = _save(accuracy_figure(report), out, "accuracy", formats)
    paired = paired_figure(report)
    if paired is not None:
        written += _save(paired, out, "paired", formats)
    return written
