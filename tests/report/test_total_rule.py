"""Total on a suite that is not RealUnify: correct / instances, or the weights the run file sets.

The suite: 4 UEG instances (one category) and 1 GEU instance; the judge passes 3 of the UEG
images and the model misses the GEU answer. So UEG = 75, GEU = 0, 3 of 5 right: Total 60.0 by
default, and 0.6 x 75 + 0.4 x 0 = 45.0 under RealUnify's weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from composer.cli import app
from composer.core.config import parse_config
from composer.core.errors import ConfigError
from composer.report.summary import total_rule

cli = CliRunner()

PROMPTS = ["a red kite", "a blue boat", "a green door", "a gold key"]


def write_suite(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    Image.new("RGB", (8, 8), (9, 9, 9)).save(root / "images" / "g.png")
    rows: list[dict[str, object]] = [
        {
            "id": f"u{i}",
            "axis": "UEG",
            "category": "culture",
            "prompt": prompt,
            "checks": [{"question": "Is it drawn?", "answer": "yes"}],
        }
        for i, prompt in enumerate(PROMPTS)
    ]
    rows.append(
        {
            "id": "g0",
            "axis": "GEU",
            "category": "geometry",
            "image": "images/g.png",
            "question": "Which angle?",
            "options": ["30", "45", "60", "90"],
            "answer": "B",
        }
    )
    path = root / "suite.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def config(suite: Path, extra: str = "") -> str:
    passed = "|".join(PROMPTS[:3])
    return f"""
[benchmark]
name = "jsonl"
path = "{suite}"
{extra}
[judge]
model = "mock/judge"
[systems.model]
ueg = "direct"
geu = "direct"
roles = {{ model = "mock/model" }}
[models."mock/model"]
default = "A"
[models."mock/judge"]
rules = [{{ match = "caption: ({passed})\\\\]", reply = "Yes" }}]
default = "No"
"""


def run(tmp_path: Path, text: str, name: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    run_dir = tmp_path / name
    result = cli.invoke(app, ["run", str(path), "--out", str(run_dir), "--quiet"])
    assert result.exit_code == 0, result.output
    return run_dir


def report(run_dir: Path, fmt: str) -> str:
    result = cli.invoke(app, ["report", str(run_dir), "--format", fmt])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    return write_suite(tmp_path / "suite")


def test_a_jsonl_suite_totals_correct_over_instances(suite: Path, tmp_path: Path) -> None:
    run_dir = run(tmp_path, config(suite), "pooled")
    data = json.loads(report(run_dir, "json"))
    system = data["systems"]["model"]
    assert system["UEG"]["accuracy"] == 75.0 and system["GEU"]["accuracy"] == 0.0
    assert system["total"] == pytest.approx(60.0)
    assert data["total_rule"]["rule"] == "pooled" and data["total_rule"]["weights"] is None
    sentence = data["total_rule"]["text"]
    assert sentence.startswith("Total = correct / instances")
    # Every table says so under itself: terminal, markdown and both HTML accuracy tables.
    table = report(run_dir, "table")
    assert "60.0" in table and sentence in " ".join(table.split())
    markdown = report(run_dir, "markdown")
    assert "| 60.0 |" in markdown and sentence in markdown
    result = cli.invoke(app, ["report", str(run_dir), "--format", "html"])
    assert result.exit_code == 0, result.output
    html = (run_dir / "report" / "index.html").read_text()
    # The other parser's table says the rule too, unless it collapsed to "the same as above".
    tables = 1 if 'id="same-under-other"' in html else 2
    assert html.count('<p class="meta total-rule">Total = correct / instances') == tables


def test_total_weights_set_the_rule(suite: Path, tmp_path: Path) -> None:
    extra = "total_weights = { UEG = 0.6, GEU = 0.4 }"
    run_dir = run(tmp_path, config(suite, extra), "weighted")
    data = json.loads(report(run_dir, "json"))
    assert data["systems"]["model"]["total"] == pytest.approx(45.0)
    assert data["total_rule"]["rule"] == "weighted"
    assert data["total_rule"]["weights"] == pytest.approx({"UEG": 0.6, "GEU": 0.4})
    assert data["total_rule"]["text"] == (
        "Total = 0.6 UEG + 0.4 GEU, each axis the mean of its categories "
        "(set by [benchmark] total_weights)."
    )
    assert data["total_rule"]["text"] in report(run_dir, "markdown")


def test_realunify_and_the_synthetic_suite_keep_the_papers_rule() -> None:
    for name in ("realunify", "synthetic"):
        rule = total_rule({"name": name})
        assert rule["rule"] == "weighted" and rule["weights"] == {"UEG": 0.6, "GEU": 0.4}
        assert rule["text"].startswith("Total = 0.6 UEG + 0.4 GEU")
    assert total_rule({"name": "realunify"})["text"] == (
        "Total = 0.6 UEG + 0.4 GEU, each axis the mean of its categories (RealUnify's rule)."
    )
    # Weights are shares: 3 and 1 are 0.75 and 0.25; an axis left out weighs 0.
    assert total_rule({"name": "jsonl", "total_weights": {"UEG": 3, "GEU": 1}})["weights"] == {
        "UEG": 0.75,
        "GEU": 0.25,
    }
    assert total_rule({"name": "jsonl", "total_weights": {"UEG": 1}})["text"].startswith(
        "Total = 1 UEG,"
    )


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"ueg": 1}, "has the key 'ueg'"),
        ({}, "is empty"),
        ({"UEG": -0.5, "GEU": 1}, "gives UEG the weight -0.5"),
        ({"UEG": 0, "GEU": 0}, "weighs every axis 0"),
    ],
)
def test_bad_total_weights_are_config_errors(weights: dict[str, float], message: str) -> None:
    data = {
        "benchmark": {"name": "jsonl", "total_weights": weights},
        "systems": {"s": {"ueg": "direct", "roles": {"model": "mock/m"}}},
    }
    with pytest.raises(ConfigError) as info:
        parse_config(data, source="run.toml", base_dir=Path("."))
    assert str(info.value).startswith("run.toml key benchmark.total_weights: ")
    assert message in str(info.value)
