"""Graphs drawn as SVG from their Mermaid source: in `composer graph` and in the HTML report."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from chromium import open_page
from typer.testing import CliRunner

from composer.cli import app
from composer.core.instance import Axis
from composer.graphs.base import build_strategy, graphs
from composer.report.svg import layers, mermaid_svg, parse_mermaid

cli = CliRunner()
SVG = "{http://www.w3.org/2000/svg}"


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    assert root.tag == f"{SVG}svg"
    return [t.text or "" for t in root.iter(f"{SVG}text")]


@pytest.mark.parametrize("name", sorted(graphs()))
def test_every_builtin_graph_draws_every_node(name: str) -> None:
    entry = graphs()[name]
    for axis in sorted(entry.axes):
        source = build_strategy(name, Axis(axis), {}).mermaid()
        chart = parse_mermaid(source)
        assert "__start__" in chart.nodes and "__end__" in chart.nodes
        drawn = texts(mermaid_svg(source, name))
        assert set(chart.nodes.values()) <= set(drawn)


def test_the_refine_loop_is_drawn_back_and_its_branches_dashed() -> None:
    source = build_strategy("refine", Axis.UEG, {}).mermaid()
    chart = parse_mermaid(source)
    layer, back = layers(chart)
    assert ("revise", "draw") in back  # the loop closes upwards
    assert layer["__start__"] < layer["draw"] < layer["verify"] < layer["__end__"]
    dashed = {(a, b) for a, b, is_dashed, _ in chart.edges if is_dashed}
    assert ("verify", "revise") in dashed and ("verify", "__end__") in dashed
    svg = mermaid_svg(source)
    assert svg.count('stroke-dasharray="5,4"') == len(dashed)


def test_labels_and_names_are_escaped() -> None:
    source = (
        "graph TD;\n  a([<p>a&amp;b</p>]):::first\n  x(&lt;script&gt;)\n"
        "  a -- &nbsp;go&nbsp; --> x;\n  x -. back .-> a;\n"
    )
    chart = parse_mermaid(source)
    assert chart.nodes == {"a": "a&b", "x": "<script>"}
    assert chart.edges == [("a", "x", False, "go"), ("x", "a", True, "back")]
    drawn = texts(mermaid_svg(source, "<t>"))
    assert {"a&b", "<script>", "go", "back"} <= set(drawn)


def test_graph_command_prints_svg_or_mermaid() -> None:
    svg = cli.invoke(app, ["graph", "generate-then-reason", "--format", "svg"])
    assert svg.exit_code == 0, svg.output
    assert {"edit", "answer", "__start__", "__end__"} <= set(texts(svg.stdout))
    mermaid = cli.invoke(app, ["graph", "generate-then-reason"])
    assert mermaid.exit_code == 0 and mermaid.stdout.lstrip().startswith("---")
    bad = cli.invoke(app, ["graph", "direct", "--format", "png"])
    assert bad.exit_code == 2 and "must be mermaid or svg" in bad.output


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("svg") / "run"
    result = cli.invoke(app, ["demo", "--out", str(run_dir), "--n-per-category", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    return run_dir / "report"


def test_the_report_draws_each_graph_and_leads_with_the_question(demo_report: Path) -> None:
    index = (demo_report / "index.html").read_text()
    drawings = sorted((demo_report / "graphs").glob("*.svg"))
    assert len(drawings) == 5  # direct x 2 axes, decompose, generate-then-reason, refine
    for path in drawings:
        assert f'src="graphs/{path.name}"' in index
        assert texts(path.read_text())
    assert "http://" not in index.replace('xmlns="http://www.w3.org/2000/svg"', "")
    # The question's pairs come first; every other pair is folded behind one click.
    assert index.index('id="paired-table"') < index.index('<details id="other-pairs">')
    assert (
        "painter-alone" not in index[index.index('id="paired-table"') : index.index("other-pairs")]
    )
    # The strict table equals the official one here: one line instead of a second table.
    assert 'id="same-under-other"' in index and 'id="systems-2"' not in index


def test_graphs_section_in_chromium_with_no_network(
    browser: Any, demo_report: Path, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
    )
    try:
        assert open_page(browser, demo_report / "index.html") == []
        images = browser.find_elements(By.CSS_SELECTOR, "#graphs img.graph")
        assert len(images) == 5
        assert all(
            browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", i)
            for i in images
        )
        urls = browser.execute_script(
            "return Array.from(document.querySelectorAll('img, script, link, iframe, object'))"
            ".map(e => e.src || e.href || e.data)"
        )
        assert urls and all(u.startswith(("file://", "data:")) for u in urls), urls
        section = browser.find_element(By.ID, "graphs")
        browser.execute_script("arguments[0].scrollIntoView()", section)
        shot = tmp_path / "graphs.png"
        assert section.screenshot(str(shot)) and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        browser.find_element(By.CSS_SELECTOR, "#other-pairs summary").click()
        assert browser.find_element(By.ID, "other-pairs-table").is_displayed()
    finally:
        browser.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
