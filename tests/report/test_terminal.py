"""Terminal tables at 80, 100 and 120 columns: every name and number whole, never an ellipsis."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

from composer.cli import app
from composer.evaluation.store import RunStore
from composer.report import noise
from composer.report.pairs import p_text, split_pairs
from composer.report.summary import summarize
from composer.report.terminal import compare_layouts, print_fitted, print_report

cli = CliRunner()
WIDTHS = (80, 100, 120)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    run_dir = tmp_path_factory.mktemp("terminal") / "run"
    result = cli.invoke(app, ["demo", "--out", str(run_dir), "--n-per-category", "3", "--quiet"])
    assert result.exit_code == 0, result.output
    report = cli.invoke(app, ["report", str(run_dir), "--format", "json"])
    assert report.exit_code == 0, report.output
    return run_dir, json.loads(report.stdout)


def render(width: int, draw: Any) -> str:
    console = Console(width=width, file=io.StringIO(), force_terminal=True, color_system=None)
    draw(console)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "…" not in text and "..." not in text
    assert all(cell_len(line) <= width for line in text.splitlines())
    return str(text)


def accuracies(report: dict[str, Any]) -> dict[str, list[str]]:
    """Every accuracy of every system in report --format json, to one decimal."""
    values: dict[str, list[str]] = {}
    for name, entry in report["systems"].items():
        found = [] if entry["total"] is None else [entry["total"]]
        for axis in ("UEG", "GEU"):
            if axis in entry:
                found += [entry[axis]["accuracy"], *entry[axis]["by_category"].values()]
        values[name] = [f"{v:.1f}" for v in found]
    return values


@pytest.mark.parametrize("width", WIDTHS)
def test_the_report_shows_every_name_and_number_whole(
    demo: tuple[Path, dict[str, Any]], width: int
) -> None:
    _, report = demo
    text = render(width, lambda console: print_report(console, report))
    numbers = set(re.findall(r"[+-]?\d+\.\d", text))
    for name, values in accuracies(report).items():
        start = rf"\s*{re.escape(name)}\s+(\d|-|unified|composed|specialist)"
        rows = [line for line in text.splitlines() if re.match(start, line)]
        assert rows, (name, text)  # the name whole, at the start of an accuracy table row
        assert set(values) <= numbers, (name, values)
        for row in rows:  # and each row of that system holds only its own numbers
            assert set(re.findall(r"\d+\.\d", row)) <= set(values) | {"0.0"}
    # Category headers are abbreviated and spelled out once.
    assert "WK = world knowledge" in " ".join(text.split())
    # The paired table leads with the question and names its tests.
    assert text.index("does integration help?") < text.index("other pairs")
    flat = " ".join(text.split())
    assert "exact McNemar test" in flat and "paired bootstrap" in flat
    assert "strict parser: every number is the same as above." in flat


def test_a_wide_console_keeps_the_one_wide_table(demo: tuple[Path, dict[str, Any]]) -> None:
    run_dir, report = demo
    piped = cli.invoke(app, ["report", str(run_dir)])  # not a terminal: 200 columns
    assert piped.exit_code == 0, piped.output
    header = next(line for line in piped.stdout.splitlines() if " WK " in line)
    assert "Total" in header and "MR-II" in header and "kind" in header
    narrow = render(80, lambda console: print_report(console, report))
    header = next(line for line in narrow.splitlines() if " WK " in line)
    assert "Total" not in header and "MR-II" not in header


def test_question_pairs_come_first_and_oriented(demo: tuple[Path, dict[str, Any]]) -> None:
    _, report = demo
    leading, rest = split_pairs(report)
    pairs = {(p["a"], p["b"]) for p in leading}
    assert ("naive-stepwise", "naive-direct") in pairs  # stepwise - direct
    assert {("oracle", "naive-direct"), ("oracle", "naive-stepwise")} <= pairs
    assert all("painter-alone" not in (p["a"], p["b"]) for p in leading)
    assert any("painter-alone" in (p["a"], p["b"]) for p in rest)
    assert len(leading) + len(rest) == len(report["paired"])
    flipped = next(p for p in leading if p["a"] == "oracle" and p["scope"] == "all")
    original = next(
        p
        for p in report["paired"]
        if {p["a"], p["b"]} == {"oracle", flipped["b"]} and p["scope"] == "all"
    )
    sign = 1 if original["a"] == "oracle" else -1
    assert flipped["difference"] == pytest.approx(sign * original["difference"])
    text = render(80, lambda console: print_report(console, report))
    assert "--all-pairs" in text and "vs painter-alone" not in " ".join(text.split())
    everything = render(80, lambda console: print_report(console, report, all_pairs=True))
    assert "every other pair" in everything
    assert "vs painter-alone" in " ".join(everything.split())


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_prints_p_whole_with_its_test(
    demo: tuple[Path, dict[str, Any]], width: int
) -> None:
    run_dir, _ = demo
    store = RunStore(run_dir)
    try:
        grouped = noise.outcomes(store.results(parser="official"), parser="official")
    finally:
        store.close()
    rows = noise.compare("oracle", "naive-direct", grouped, seed=0)
    title = "oracle (A) vs naive-direct (B)"
    text = render(width, lambda console: print_fitted(console, compare_layouts(title, rows, 0)))
    for p in rows:
        assert p_text(p.p_value) in text
        assert f"[{p.ci_low:+.1f}, {p.ci_high:+.1f}]" in text
    assert "exact McNemar" in " ".join(text.split())
    assert p_text(3.5e-15) == "3.5e-15" and p_text(0.0) == "< 1e-300"


def test_compare_command_names_its_tests(demo: tuple[Path, dict[str, Any]]) -> None:
    run_dir, _ = demo
    result = cli.invoke(app, ["compare", str(run_dir), "oracle", "naive-stepwise"])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.stdout.split())
    assert "…" not in flat and "exact McNemar test" in flat and "paired bootstrap" in flat


def test_the_judges_table_fits_80_columns(demo: tuple[Path, dict[str, Any]]) -> None:
    _, report = demo
    assert "judges" in report
    text = render(80, lambda console: print_report(console, report))
    flat = " ".join(text.split())
    for judge in report["judges"]["judges"]:
        assert judge in flat
    for pair in report["judges"]["agreement"]:
        assert f"{100 * pair['questions']['agreement']:.1f}" in text


def test_a_long_category_list_is_split_into_chunks() -> None:
    from composer.report.terminal import abbreviations, accuracy_layouts

    categories = [f"category_number_{k}" for k in range(14)]
    entry = {
        "kind": "composed",
        "mode": "stepwise",
        "total": 50.0,
        "UEG": {
            "accuracy": 50.0,
            "by_category": {c: 50.0 for c in categories},
            "counts": {"n": 14, "failed": 0, "refused": 0, "unscored": 0},
        },
    }
    report = {"parser": "official", "judge": "j", "systems": {"s": entry}, "comparisons": []}
    report["total_rule"] = {"rule": "pooled", "weights": None, "text": "Total = ..."}
    assert len(set(abbreviations(categories).values())) == 14
    layouts = accuracy_layouts(report, 80)
    console = Console(width=80, file=io.StringIO(), color_system=None)
    from composer.report.terminal import natural_width

    assert all(natural_width(console, grid) <= 80 for grid in layouts[-1])
    assert len(layouts[-1]) > 2  # the UEG table in chunks, then the summary


def test_summaries_of_a_store_render_at_every_width(demo: tuple[Path, dict[str, Any]]) -> None:
    run_dir, _ = demo
    store = RunStore(run_dir)
    try:
        report = summarize(store, "strict")
    finally:
        store.close()
    for width in WIDTHS:
        render(width, lambda console: print_report(console, report, all_pairs=True))
