"""The HTML report's accuracy charts: one bar per system and category, drawn to scale."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from PIL import Image

from composer.report.charts import COLOURS, accuracy_chart
from composer.report.model import Report


def report(systems: dict[str, dict[str, Any]]) -> Report:
    """A report holding only what a chart reads: the parser and each system's accuracies."""
    return cast(Report, {"parser": "official", "systems": systems})


def column(image: Image.Image, colour: str) -> tuple[int, int, int]:
    """The x of the first bar of `colour`, and the top and bottom rows of that bar."""
    rgb = Image.new("RGB", (1, 1), colour).getpixel((0, 0))
    width, height = image.size
    for x in range(width):
        rows = [y for y in range(height) if image.getpixel((x, y)) == rgb]
        if len(rows) > 2:
            return x, min(rows), max(rows)
    raise AssertionError(f"no bar of {colour}")


def test_bars_are_drawn_to_scale_one_colour_per_system(tmp_path: Path) -> None:
    systems = {
        "full": {"UEG": {"by_category": {"world_knowledge": 100.0}, "accuracy": 100.0}},
        "half": {"UEG": {"by_category": {"world_knowledge": 50.0}, "accuracy": 50.0}},
        "other-axis": {"GEU": {"by_category": {"mental_tracking": 80.0}, "accuracy": 80.0}},
    }
    path = accuracy_chart(report(systems), "UEG", tmp_path / "charts" / "ueg.png")
    assert path == tmp_path / "charts" / "ueg.png"
    with Image.open(path) as opened:
        assert opened.format == "PNG"
        image = opened.convert("RGB")
    x_full, top_full, bottom_full = column(image, COLOURS[0])
    x_half, top_half, bottom_half = column(image, COLOURS[1])
    assert x_full < x_half and bottom_full == bottom_half  # side by side, on one baseline
    full, half = bottom_full - top_full, bottom_half - top_half
    assert abs(half - full / 2) <= 1  # 50 % is half as tall as 100 %
    # The system that did not run UEG has no bar (the third colour appears nowhere).
    third = Image.new("RGB", (1, 1), COLOURS[2]).getpixel((0, 0))
    assert third not in {c for _, c in image.getcolors(maxcolors=1 << 16) or []}


def test_no_chart_for_an_axis_no_system_ran(tmp_path: Path) -> None:
    systems = {"s": {"GEU": {"by_category": {"mental_tracking": 80.0}, "accuracy": 80.0}}}
    assert accuracy_chart(report(systems), "UEG", tmp_path / "ueg.png") is None
    assert not (tmp_path / "ueg.png").exists()
