"""Bar charts of accuracy by category per system, drawn with matplotlib's Agg canvas.

matplotlib is imported inside `accuracy_chart` only, so `import composer` stays light, and
through `matplotlib.figure.Figure` rather than pyplot, so no global backend or figure state is
touched (a notebook that imports composer keeps its own backend).
"""

from __future__ import annotations

from pathlib import Path

from composer.benchmarks.catalog import CATEGORY_ABBREV, GEU_CATEGORIES, UEG_CATEGORIES
from composer.report.model import Report, axis_of

_CATEGORIES = {"UEG": UEG_CATEGORIES, "GEU": GEU_CATEGORIES}


def accuracy_chart(report: Report, axis: str, path: Path) -> Path | None:
    """Draw one axis's accuracy by category, one bar per system, into the PNG `path`.

    Returns the path, or None when no system ran that axis.

    Example:
        >>> accuracy_chart(summarize(store), "UEG", Path("report/ueg.png"))  # doctest: +SKIP
    """
    systems = {n: s for n, e in report["systems"].items() if (s := axis_of(e, axis)) is not None}
    if not systems:
        return None
    seen: set[str] = {str(c) for entry in systems.values() for c in entry["by_category"]}
    categories = [c for c in _CATEGORIES[axis] if c in seen] + sorted(seen - set(_CATEGORIES[axis]))
    labels: list[str] = [CATEGORY_ABBREV.get(c, c) for c in categories] + [f"{axis} mean"]

    from matplotlib.figure import Figure

    figure = Figure(figsize=(max(6.0, len(labels) * (0.4 + 0.15 * len(systems))), 3.6))
    ax = figure.add_subplot()
    width = 0.8 / len(systems)
    for i, (name, entry) in enumerate(systems.items()):
        values = [entry["by_category"].get(c, 0.0) for c in categories] + [entry["accuracy"]]
        positions = [x - 0.4 + width * (i + 0.5) for x in range(len(labels))]
        ax.bar(positions, values, width=width, label=name)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylim(0, 100)
    ax.set_ylabel(f"accuracy % ({report['parser']})")
    ax.set_title(f"{axis}: accuracy by category")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=90, bbox_inches="tight")
    return path
