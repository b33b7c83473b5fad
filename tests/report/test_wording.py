"""The report's and compare's wording (issue 24, section 6): titles that break between phrases,
category abbreviations that name one category each, plurals, and balanced quotes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from composer.cli import app
from composer.evaluation.store import RunStore
from composer.report import noise
from composer.report.terminal import abbreviations, compare_layouts, legend, print_fitted

cli = CliRunner()

RUN_FILE = """
seed = 0
[benchmark]
name = "synthetic"
n_per_category = 1
categories = ["mathematical_reasoning", "attentional_focusing"]
[judge]
model = "symbolic/reasoner"
[systems.{a}]
ueg = "decompose-then-generate"
geu = "generate-then-reason"
[systems.{a}.roles]
reasoner = "symbolic/reasoner"
generator = "symbolic/painter"
editor = "symbolic/painter"
[systems.{b}]
ueg = {{ graph = "refine", max_rounds = 2 }}
geu = "generate-then-reason"
[systems.{b}.roles]
reasoner = "symbolic/reasoner"
generator = "symbolic/painter"
editor = "symbolic/painter"
"""
A = "oracle-with-reasoner-and-painter-composed"
B = "refine-loop-with-the-same-specialists"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wording")
    (root / "run.toml").write_text(RUN_FILE.format(a=A, b=B))
    result = cli.invoke(app, ["run", str(root / "run.toml"), "--out", str(root / "run"), "--quiet"])
    assert result.exit_code == 0, result.output
    return root / "run"


def test_the_compare_title_breaks_between_phrases_at_120_columns(run: Path) -> None:
    store = RunStore(run)
    try:
        rows = noise.compare(A, B, noise.outcomes(store.results(), parser="official"), seed=0)
    finally:
        store.close()
    title = f"{A} (A) vs {B} (B), parser official, judge symbolic/reasoner, bootstrap seed 0"
    console = Console(width=120, file=io.StringIO(), color_system=None)
    print_fitted(console, compare_layouts(title, rows, 0))
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    head = lines[: next(i for i, line in enumerate(lines) if "scope" in line)]
    shown = [line.strip() for line in head]
    assert len(shown) > 1  # the title does not fit the table's width
    assert all(line.endswith(",") for line in shown[:-1]), shown
    assert " ".join(shown) == title  # whole, broken only after a phrase's comma


def test_category_abbreviations_name_one_category_each() -> None:
    short = abbreviations(["culture", "counting", "colour", "cultural_history", "cult_items"])
    assert len(set(short.values())) == len(short), short
    assert short["culture"] == "Cult" and short["counting"] == "Coun"
    assert short["colour"] == "colour"  # short enough to stay


def test_the_legend_spells_out_each_abbreviation_once_across_both_axes() -> None:
    def entry(axis: str, category: str) -> dict[str, object]:
        return {axis: {"by_category": {category: 50.0}}}

    report = {"systems": {"x": entry("UEG", "culture") | entry("GEU", "counting")}}
    assert legend(report) == "Cult = culture; Coun = counting"  # type: ignore[arg-type]
    report = {"systems": {"x": entry("UEG", "cultures") | entry("GEU", "culturist")}}
    assert legend(report) == "Cult = cultures; Cult2 = culturist"  # type: ignore[arg-type]


def test_one_other_pair_is_singular(run: Path) -> None:
    text = cli.invoke(app, ["report", str(run)]).stdout
    assert "1 other pair (" in " ".join(text.split())
    assert "1 other pairs" not in text


def test_a_changed_system_is_named_with_balanced_quotes(run: Path, tmp_path: Path) -> None:
    strategy = Path(__file__).parents[2] / "examples" / "minimal_strategy.py"
    (tmp_path / "mine.py").write_text(strategy.read_text())
    run_file = RUN_FILE.format(a=A, b=B) + (
        '[systems.mine]\nueg = { graph = "mine.py:build" }\n'
        'roles = { reasoner = "symbolic/reasoner", generator = "symbolic/painter" }\n'
    )
    (tmp_path / "run.toml").write_text(run_file)
    first = cli.invoke(app, ["run", str(tmp_path / "run.toml"), "--out", str(tmp_path / "r")])
    assert first.exit_code == 0, first.output
    (tmp_path / "mine.py").write_text(strategy.read_text() + "\n# an edit\n")
    again = cli.invoke(app, ["run", str(tmp_path / "run.toml"), "--out", str(tmp_path / "r")])
    assert again.exit_code == 2, again.output
    message = " ".join(again.output.split())
    assert "system 'mine': differs from the one already run" in message
    changed = message.split("(", 1)[1].split(").", 1)[0]
    assert changed.count('"') % 2 == 0 and changed.count('"') >= 4, changed
    assert '"sha256:' in changed and "..." in changed  # head and tail of each digest
