"""Bar charts of accuracy by category per system, drawn as PNG with Pillow's `ImageDraw`.

A chart is a few rectangles, lines and labels, so it is drawn directly rather than through
matplotlib: importing matplotlib and rendering one figure cost about a second of CPU, a tenth
of `composer demo`, for two images. Pillow is already what composer reads and writes images
with; its default font is the FreeType one it ships (a bitmap font where Pillow was built
without FreeType), so the chart looks the same on every machine and needs no font lookup.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from composer.benchmarks.catalog import CATEGORY_ABBREV, GEU_CATEGORIES, UEG_CATEGORIES
from composer.report.model import Report, axis_of

if TYPE_CHECKING:
    from PIL import ImageDraw, ImageFont

_CATEGORIES = {"UEG": UEG_CATEGORIES, "GEU": GEU_CATEGORIES}
COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
"""One colour per system, in order (the ten-colour cycle most plotting tools use), repeating."""
_PLOT_H = 240
"""Height of the plot area in pixels (0 to 100 %)."""
_PER_GROUP = 18
"""Width of one bar in pixels; a category's group is one bar per system plus a gap."""
_GAP = 16
_MARGIN = 12
_FONT = 12


Font: TypeAlias = "ImageFont.FreeTypeFont | ImageFont.ImageFont"


def _font(size: int) -> Font:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError):  # Pillow < 10.1, or built without FreeType
        return ImageFont.load_default()


def _text_size(draw: ImageDraw.ImageDraw, text: str, font: Font) -> tuple[int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    return int(right - left), int(bottom - top)


def _write(draw: ImageDraw.ImageDraw, x: int, y: int, text: str, font: Font, at: str) -> None:
    """Write `text` with its left edge, centre or right edge (`at`) at `x`, its middle at `y`.

    Placed from its measured box rather than with Pillow's anchors, which bitmap fonts lack.
    """
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    width = right - left
    shift = {"left": 0.0, "centre": width / 2, "right": width}[at]
    draw.text((x - left - shift, y - (top + bottom) / 2), text, fill="black", font=font)


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
    bars = {
        name: [entry["by_category"].get(c, 0.0) for c in categories] + [entry["accuracy"]]
        for name, entry in systems.items()
    }

    from PIL import Image, ImageDraw

    font, title_font = _font(_FONT), _font(_FONT + 2)
    measure = ImageDraw.Draw(Image.new("L", (1, 1)))
    text_h = _text_size(measure, "Ag%", font)[1]
    widest = max(_text_size(measure, t, font)[0] for t in labels)
    group = max(_PER_GROUP * len(systems) + _GAP, widest + 6)
    y_label = f"accuracy % ({report['parser']})"
    axis_x = _MARGIN + text_h + 8 + _text_size(measure, "100", font)[0] + 6
    plot_w = group * len(labels)
    legend_x = axis_x + plot_w + 2 * _MARGIN
    legend_w = 18 + max(_text_size(measure, name, font)[0] for name in systems)
    top = _MARGIN + 2 * text_h + 8
    row = text_h + 8
    plot_h = max(_PLOT_H, row * len(systems))
    width = legend_x + legend_w + _MARGIN
    height = top + plot_h + row + _MARGIN

    def y_of(value: float) -> int:
        return top + round(plot_h * (1 - min(max(value, 0.0), 100.0) / 100))

    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    title = f"{axis}: accuracy by category"
    _write(draw, axis_x + plot_w // 2, _MARGIN + text_h // 2, title, title_font, "centre")
    for tick in range(0, 101, 20):
        draw.line([(axis_x, y_of(tick)), (axis_x + plot_w, y_of(tick))], fill="#e0e0e0")
        _write(draw, axis_x - 6, y_of(tick), str(tick), font, "right")
    for g, label in enumerate(labels):
        left = axis_x + g * group + (group - _PER_GROUP * len(systems)) // 2
        for i, values in enumerate(bars.values()):
            if values[g] > 0:
                x = left + i * _PER_GROUP
                colour = COLOURS[i % len(COLOURS)]
                draw.rectangle([(x + 1, y_of(values[g])), (x + _PER_GROUP - 2, y_of(0))], colour)
        _write(draw, axis_x + g * group + group // 2, y_of(0) + row // 2, label, font, "centre")
    draw.line([(axis_x, top), (axis_x, y_of(0)), (axis_x + plot_w, y_of(0))], fill="black")

    # The y label, sideways: written on a strip of its own that is then turned a quarter.
    label_w, _ = _text_size(draw, y_label, font)
    strip = Image.new("L", (label_w + 8, row), 0)
    pen = ImageDraw.Draw(strip)
    x0, y0, _, y1 = pen.textbbox((0, 0), y_label, font=font)
    pen.text((4 - x0, (row - y0 - y1) / 2), y_label, fill=255, font=font)
    strip = strip.rotate(90, expand=True)
    image.paste("black", (_MARGIN, top + (plot_h - strip.height) // 2), strip)

    for i, name in enumerate(systems):
        y = top + i * row
        draw.rectangle([(legend_x, y), (legend_x + 11, y + 11)], COLOURS[i % len(COLOURS)])
        _write(draw, legend_x + 18, y + 6, name, font, "left")

    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
    return path
