"""The report of a Uni-MMMU run: each task under the release's summary keys, and the leaderboard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from composer.benchmarks.unimmmu.channels import Channel, Kind
from composer.benchmarks.unimmmu.leaderboard import AVERAGE_RULE, PUBLISHED, TABLE_COLUMNS
from composer.benchmarks.unimmmu.puzzles import DEFAULT_MAX_STEPS
from composer.benchmarks.unimmmu.records import Task
from composer.benchmarks.unimmmu.summaries import MAZE_KEYS, summarize
from composer.cli import app
from composer.evaluation.store import RunStore

cli = CliRunner()
RUN_FILE = """
[benchmark]
name = "uni-mmmu-synthetic"
n_per_category = 2
withhold_k = {withhold}

[systems.naive]
geu = "interleaved"
roles = {{ model = "symbolic/naive-unified" }}

[systems.composed]
geu = "interleaved"
roles = {{ reasoner = "symbolic/reasoner", editor = "{painter}", generator = "{painter}" }}
"""


def synthetic_run(folder: Path, *, withhold: bool = False) -> Path:
    """A synthetic Uni-MMMU run: a composed and a naive unified system, 2 items per task."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "run.toml"
    config.write_text(RUN_FILE.format(withhold=str(withhold).lower(), painter="symbolic/painter"))
    run_dir = folder / "run"
    result = cli.invoke(app, ["run", str(config), "--out", str(run_dir), "--quiet"])
    assert result.exit_code == 0, result.output
    return run_dir


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_run(tmp_path_factory.mktemp("unimmmu-report"))


def report_of(run_dir: Path, *args: str) -> Any:
    result = cli.invoke(app, ["report", str(run_dir), "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def stored_rows(run_dir: Path, system: str) -> dict[Task, list[dict[str, Channel]]]:
    """The stored channels of a system, per task, as the release's summary reads them."""
    store = RunStore(run_dir)
    try:
        rows: dict[Task, list[dict[str, Channel]]] = {}
        for (name, instance, _), scorers in store.channels().items():
            if name == system:
                ((_, channels),) = scorers.items()
                rows.setdefault(Task(instance.split("-", 1)[0]), []).append(
                    {
                        k: Channel(Kind(v["kind"]), v["official"], v["strict"], v.get("note", ""))
                        for k, v in channels.items()
                    }
                )
        return rows
    finally:
        store.close()


def test_each_task_is_reported_under_the_release_summary_keys(run_dir: Path) -> None:
    report = report_of(run_dir)
    for system in ("naive", "composed"):
        entry = report["systems"][system]
        rows = stored_rows(run_dir, system)
        assert set(entry["tasks"]) == {"maze", "sliding", "jigsaw"}
        for task, task_rows in rows.items():
            assert entry["tasks"][task.value] == summarize(task, task_rows, "official")
            assert entry["tasks_strict"][task.value] == summarize(task, task_rows, "strict")
        # The keys the release writes into maze's and sliding's summary.json.
        assert set(entry["tasks"]["maze"]) == {"total_candidates", *MAZE_KEYS}
        assert set(entry["tasks"]["sliding"]) == {"total_candidates", *list(MAZE_KEYS)[:4]}
        assert set(entry["tasks"]["jigsaw"]["metrics"]) == {
            "mean_distance_penalized",
            "image_score_penalized",
            "text_accuracy",
        }
    # The symbolic solver solves every maze; the naive model none (whole sequences).
    assert report["systems"]["composed"]["tasks"]["maze"]["text_accuracy_exact"] == 1.0
    assert report["systems"]["naive"]["tasks"]["maze"]["img_accuracy_exact"] == 0.0


def test_a_strict_headline_keeps_the_official_numbers_beside(run_dir: Path) -> None:
    entry = report_of(run_dir, "--parser", "strict")["systems"]["composed"]
    assert "tasks_official" in entry and "tasks_strict" not in entry
    assert "unscored" in entry["tasks"]["maze"]  # the strict reading counts what it left out


def test_the_leaderboard_has_the_14_columns_and_the_published_rows_quoted(run_dir: Path) -> None:
    board = report_of(run_dir)["unimmmu"]
    assert list(board["columns"]) == list(TABLE_COLUMNS)
    composed = next(r for r in board["rows"] if r["system"] == "composed")
    assert composed["quoted"] is False
    assert composed["cells"]["Maze T"] == [100.0, 100.0]
    assert composed["cells"]["Math T"] is None  # no geometry in the synthetic suite
    assert composed["avg"] is None  # composer's Avg needs all six tasks (its stated rule)
    assert composed["task_means"]["maze"] == 100.0
    assert board["avg_rule"] == AVERAGE_RULE
    assert [q["model"] for q in board["published"]] == [q.model for q in PUBLISHED]
    assert all(q["quoted"] is True for q in board["published"])
    gpt = next(q for q in board["published"] if q["model"] == "GPT4.1 + GPT-image")
    assert gpt["avg"] == 44.1 and gpt["cells"]["Maze T"] == [49.0, 18.1]
    assert board["k"]["told"] == 4 and board["k"]["withheld"] == 0


def test_unscored_channels_are_listed_with_the_reason(run_dir: Path) -> None:
    board = report_of(run_dir)["unimmmu"]
    jigsaw = [u for u in board["unscored"] if u["task"] == "jigsaw"]
    assert {u["system"] for u in jigsaw} == {"naive", "composed"}
    assert all(u["channel"] == "d_mean" and "DreamSim" in u["reason"] for u in jigsaw)
    # The choice is still scored without DreamSim.
    tasks = report_of(run_dir)["systems"]["composed"]["tasks"]["jigsaw"]
    assert tasks["metrics"]["text_accuracy"] == 1.0
    assert tasks["metrics"]["image_score_penalized"] is None


def test_every_format_shows_the_leaderboard(run_dir: Path) -> None:
    for fmt in ("markdown", "csv"):
        text = cli.invoke(app, ["report", str(run_dir), "--format", fmt]).stdout
        assert "GPT4.1 + GPT-image" in text and "Code S&C" in text.replace("&amp;", "&")
    terminal = cli.invoke(app, ["report", str(run_dir)], env={"COLUMNS": "220"}).stdout
    assert "Uni-MMMU leaderboard" in terminal and "quoted" in terminal
    assert "DreamSim unavailable" in terminal


def test_whether_k_was_told_is_said(run_dir: Path, tmp_path: Path) -> None:
    board = report_of(run_dir)["unimmmu"]
    assert board["k"]["told"] == 4 and board["k"]["withheld"] == 0
    assert "max_steps" not in board["k"] and "as the release does" in board["k"]["text"]
    # A run that withholds k: the systems end their own loops, at most max_steps steps.
    board = report_of(synthetic_run(tmp_path, withhold=True))["unimmmu"]
    assert board["k"]["withheld"] == 4 and board["k"]["told"] == 0
    assert board["k"]["max_steps"] == DEFAULT_MAX_STEPS
    assert (
        "withheld on all 4" in board["k"]["text"]
        and "ended its own step loop" in board["k"]["text"]
    )


def test_the_unimmmu_report_validates_against_its_declared_types(run_dir: Path) -> None:
    from pydantic import TypeAdapter

    from composer.report.model import Report

    report = report_of(run_dir)
    assert TypeAdapter(Report).validate_python(report) == report


def test_a_run_folder_given_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`composer demo` (its default --out is relative) and `run --out rel`: the synthetic
    suite's files are found under the relative folder, not under it twice."""
    monkeypatch.chdir(tmp_path)
    Path("run.toml").write_text(
        RUN_FILE.format(withhold="false", painter="symbolic/painter").replace(
            "n_per_category = 2", "n_per_category = 1"
        )
    )
    result = cli.invoke(app, ["run", "run.toml", "--out", "rel/run", "--quiet"])
    assert result.exit_code == 0, result.output
    assert report_of(Path("rel/run"))["systems"]["composed"]["tasks"]
