"""`composer demo` writes the HTML report and prints its path; `composer compare` on its run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from chromium import images_loaded, open_page
from typer.testing import CliRunner

from composer.cli import app

cli = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    run_dir = tmp_path_factory.mktemp("demo") / "run"
    result = cli.invoke(app, ["demo", "--out", str(run_dir), "--n-per-category", "2", "--quiet"])
    assert result.exit_code == 0, result.output
    return run_dir, result.stdout


def test_demo_ends_by_printing_its_html_report(demo: tuple[Path, str]) -> None:
    run_dir, stdout = demo
    last = stdout.strip().splitlines()[-1]
    assert last == str(run_dir / "report" / "index.html")
    assert Path(last).is_file()
    assert len(list((run_dir / "report" / "instances").glob("*.html"))) == 20


def test_the_demo_report_renders_without_console_errors(
    browser: Any, demo: tuple[Path, str]
) -> None:
    run_dir, _ = demo
    report = run_dir / "report"
    assert open_page(browser, report / "index.html") == []
    assert all(images_loaded(browser))
    for page in ("UEG-0", "GEU-0"):
        assert open_page(browser, report / "instances" / f"{page}.html") == []
        assert all(images_loaded(browser))


def test_compare_prints_the_paired_table_and_the_differing_instances(
    demo: tuple[Path, str],
) -> None:
    run_dir, _ = demo
    result = cli.invoke(app, ["compare", str(run_dir), "oracle", "naive-stepwise"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    for column in ("both", "only A", "only B", "neither", "95% CI", "p"):
        assert column in text
    assert "instances differ" in text
    differing = [
        line.split()[0]
        for line in text.splitlines()
        if line.endswith("right") and line.startswith("  ")
    ]
    assert differing and all(name.startswith(("UEG-", "GEU-")) for name in differing)
    # Systems one role apart are named as such.
    swap = cli.invoke(app, ["compare", str(run_dir), "naive-direct", "reasoner-alone"])
    assert swap.exit_code == 0 and "differ only in role 'model'" in swap.stdout
    unknown = cli.invoke(app, ["compare", str(run_dir), "oracle", "nope"])
    assert unknown.exit_code == 2 and "Systems: naive-direct" in unknown.output


def test_report_json_holds_the_comparison_metrics(demo: tuple[Path, str]) -> None:
    import json

    run_dir, _ = demo
    report = json.loads(cli.invoke(app, ["report", str(run_dir), "--format", "json"]).stdout)
    assert {"paired", "attribution", "costs", "comparisons"} <= set(report)
    assert any(c["comparison"].startswith("oracle headroom") for c in report["comparisons"])
    assert report["costs"]["oracle"]["nodes"]["rewrite"]["calls"] == 12
