"""The report is what `composer.report.model` declares: every key, every type, nothing more.

Renderers are type-checked against these declarations, so a report that held an undeclared key
or a value of another type would be read by code mypy never saw. The demo with two seeds and
its two judges fills every optional section.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter
from typer.testing import CliRunner

from composer.cli import app
from composer.evaluation.store import RunStore
from composer.report.model import AxisSummary, Report, SystemSummary, axes_of
from composer.report.summary import summarize

cli = CliRunner()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    run_dir = tmp_path_factory.mktemp("model") / "demo"
    args = ["demo", "--out", str(run_dir), "--n-per-category", "2", "--seeds", "0,1", "--quiet"]
    result = cli.invoke(app, args)
    assert result.exit_code in (0, 1), result.output
    store = RunStore(run_dir)
    try:
        return summarize(store)
    finally:
        store.close()


def _declared(typed: Any) -> set[str]:
    return set(typed.__required_keys__) | set(typed.__optional_keys__)


def test_the_report_validates_against_its_declared_types(report: Report) -> None:
    checked = TypeAdapter(Report).validate_python(report, strict=True)
    assert checked == report


def test_every_key_of_the_report_is_declared(report: Report) -> None:
    assert set(report) <= _declared(Report)
    for name, entry in report["systems"].items():
        assert set(entry) <= _declared(SystemSummary), name
        for axis, summary in axes_of(entry).items():
            assert set(summary) <= _declared(AxisSummary), (name, axis)


def test_the_demo_fills_the_optional_sections(report: Report) -> None:
    # Two seeds and two judges: pass rates, the judges section and per-seed totals exist.
    assert {"pass_rates", "judges", "reproducibility"} <= set(report)
    oracle = report["systems"]["oracle"]
    assert oracle["kind"] == "composed" and oracle["mode"] == "stepwise"
    assert set(oracle.get("total_by_seed", {})) == {"0", "1"}
    assert report["systems"]["naive-direct"]["mode"] == "direct"
    # RealUnify's scorers store no score channels, so the report has no channels section.
    assert "channels" not in report


def test_json_output_is_the_typed_report(report: Report, tmp_path: Path) -> None:
    # What `report --format json` prints is this same structure, key for key.
    text = json.dumps(report)
    assert TypeAdapter(Report).validate_json(text) == json.loads(text)


def test_a_realunify_report_has_no_unimmmu_section(report: Report) -> None:
    # Uni-MMMU's tasks and leaderboard appear only for a run holding Uni-MMMU instances.
    assert "unimmmu" not in report
    assert not any(
        {"tasks", "tasks_strict", "tasks_official"} & set(s) for s in report["systems"].values()
    )
