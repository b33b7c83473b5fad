"""Paper-ready output: LaTeX (booktabs), mean ± SD over seeds, the interval over judges in every
format, and vector figures with seed error bars."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from mockbench import config_text, write_fixture
from typer.testing import CliRunner

from composer.cli import app
from composer.report.latex import escape
from composer.report.pairs import oriented
from composer.report.tables import interval_text

cli = CliRunner()
HOSTILE_NAME = "comp_v2 & #1 {x} ~50% $y^2$ \\z"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo: two seeds, two judges."""
    run_dir = tmp_path_factory.mktemp("paper") / "run"
    args = ["demo", "--out", str(run_dir), "--n-per-category", "1", "--seeds", "0,1", "--quiet"]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    return run_dir


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mock run, its composed system named with every LaTeX special character."""
    root = tmp_path_factory.mktemp("latex")
    text = config_text(write_fixture(root / "data"))
    text = text.replace("[systems.composed]", f"[systems.{json.dumps(HOSTILE_NAME)}]")
    (root / "c.toml").write_text(text)
    result = cli.invoke(app, ["run", str(root / "c.toml"), "--out", str(root / "run"), "--quiet"])
    assert result.exit_code == 1, result.output  # the fixture's scripted failure
    return root / "run"


def _report(run_dir: Path, fmt: str) -> str:
    result = cli.invoke(app, ["report", str(run_dir), "--format", fmt])
    assert result.exit_code == 0, result.output
    return result.stdout


def _check_structure(tex: str) -> None:
    """Balanced environments, booktabs rules in order, every row as wide as its header."""
    stack: list[str] = []
    for kind, name in re.findall(r"\\(begin|end)\{(\w+\*?)\}", tex):
        if kind == "begin":
            stack.append(name)
        else:
            assert stack and stack.pop() == name, (name, stack)
    assert stack == []
    tabulars = re.findall(r"\\begin\{tabular\}\{([lr]+)\}(.*?)\\end\{tabular\}", tex, re.S)
    assert len(tabulars) == 2
    for spec, body in tabulars:
        rules = re.findall(r"\\(toprule|midrule|bottomrule)", body)
        assert rules == ["toprule", "midrule", "bottomrule"]
        rows = [r for r in body.split("\\\\") if "&" in r]
        for row in rows:
            cells = re.split(r"(?<!\\)&", row)
            assert len(cells) == len(spec), row
    # No special character is left bare outside the commands composer writes.
    text = re.sub(r"\\[a-zA-Z]+(\{[^{}]*\})*|\\[&%$#_{}]|\$\\pm\$|\$-\$|\{|\}", "", tex)
    text = "\n".join(line for line in text.splitlines() if not line.startswith("%"))
    assert not re.search(r"[&%$#_^~]", text.replace("&", "")), text


def test_escape_covers_every_special_character() -> None:
    assert escape(HOSTILE_NAME) == (
        r"comp\_v2 \& \#1 \{x\} \textasciitilde{}50\% \$y\textasciicircum{}2\$ \textbackslash{}z"
    )


def test_latex_is_booktabs_with_escaped_names(hostile: Path) -> None:
    tex = _report(hostile, "latex")
    _check_structure(tex)
    assert escape(HOSTILE_NAME) in tex
    assert HOSTILE_NAME not in tex
    assert "tab:composer-accuracy" in tex and "tab:composer-paired" in tex


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no TeX engine (pdflatex) installed")
def test_latex_compiles(hostile: Path, demo: Path, tmp_path: Path) -> None:
    for run_dir in (hostile, demo):
        document = (
            "\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n"
            f"{_report(run_dir, 'latex')}\\end{{document}}\n"
        )
        (tmp_path / "t.tex").write_text(document)
        done = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout[-2000:]
        assert (tmp_path / "t.pdf").read_bytes()[:5] == b"%PDF-"


def test_mean_and_sd_over_seeds_in_one_table_in_every_format(demo: Path) -> None:
    data = json.loads(_report(demo, "json"))
    oracle = data["systems"]["oracle"]
    ueg = f"{oracle['UEG']['accuracy']:.1f} ± {oracle['UEG']['seed_sd']:.1f}"
    assert re.search(rf"oracle .*{re.escape(ueg)}", _report(demo, "table"))
    assert "mean ± SD" in _report(demo, "table")
    markdown = _report(demo, "markdown")
    assert "### Accuracy, mean ± SD over run seeds" in markdown
    assert re.search(rf"\| oracle \| composed \| stepwise \| {re.escape(ueg)} \|", markdown)
    csv = _report(demo, "csv")
    assert "# accuracy, mean and SD over run seeds" in csv and "UEG mean,UEG SD" in csv
    tex = _report(demo, "latex")
    assert ueg.replace(" ± ", r" $\pm$ ") in tex and "mean $\\pm$ SD over 2 run seeds" in tex
    site = demo / "site"
    assert cli.invoke(app, ["report", str(demo), "--format", "html", "--output", str(site)])
    index = (site / "index.html").read_text()
    assert 'id="mean-sd-table"' in index and ueg in index


def test_the_interval_over_judges_is_in_every_format(demo: Path) -> None:
    data = json.loads(_report(demo, "json"))
    judged = [p for p in data["paired"] if p.get("ci95_all_judges")]
    assert judged
    first = judged[0]
    shown = interval_text(first["ci95_all_judges"])
    assert "CI all judges" in _report(demo, "table")
    markdown = _report(demo, "markdown")
    assert "95% CI (all judges)" in markdown and shown in markdown
    csv = _report(demo, "csv")
    assert "95% CI (all judges)" in csv and shown in csv
    assert "95\\% CI, all judges" in _report(demo, "latex")
    site = demo / "site-judges"
    cli.invoke(app, ["report", str(demo), "--format", "html", "--output", str(site)])
    assert "95% CI (all judges)" in (site / "index.html").read_text()


def test_a_pair_read_the_other_way_turns_its_judges_interval_round_too() -> None:
    pair = {
        "a": "x",
        "b": "y",
        "only_a": 1,
        "only_b": 5,
        "accuracy_a": 10.0,
        "accuracy_b": 50.0,
        "difference": -40.0,
        "ci95": [-60.0, -20.0],
        "difference_all_judges": -38.0,
        "ci95_all_judges": [-65.8, -25.8],
    }
    flipped = oriented(pair)
    assert flipped["ci95_all_judges"] == [25.8, 65.8]
    assert flipped["difference_all_judges"] == 38.0


def test_figures_are_svg_and_pdf_with_seed_error_bars(demo: Path, tmp_path: Path) -> None:
    folder = tmp_path / "figures"
    result = cli.invoke(app, ["report", str(demo), "--figures", str(folder), "--format", "json"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["accuracy.pdf", "accuracy.svg", "paired.pdf", "paired.svg"]
    assert (folder / "accuracy.pdf").read_bytes()[:5] == b"%PDF-"
    svg = ET.parse(folder / "accuracy.svg").getroot()
    groups = [g.get("id", "") for g in svg.iter("{http://www.w3.org/2000/svg}g")]
    assert any(g.startswith("LineCollection") for g in groups)  # the seeds' error bars
    assert any(g.startswith("patch") for g in groups)  # the bars
    first = {p.name: p.read_bytes() for p in folder.iterdir()}
    cli.invoke(app, ["report", str(demo), "--figures", str(folder), "--format", "json"])
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == first  # reproducible bytes


def test_figures_into_a_file_is_refused_and_writes_nothing(demo: Path, tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("")
    result = cli.invoke(app, ["report", str(demo), "--figures", str(target)])
    assert result.exit_code == 2 and "--figures" in result.output
    assert target.read_text() == ""
