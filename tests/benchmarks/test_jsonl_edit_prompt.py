"""A JSONL GEU instance always has an edit prompt: its own, its category's, or the generic one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from composer.benchmarks.jsonl import load_jsonl
from composer.benchmarks.realunify.protocol import EDIT_PROMPTS, GENERIC_EDIT_PROMPT, edit_request
from composer.cli import app
from composer.core.errors import DataError
from composer.core.images import ImageStore
from composer.core.instance import EDIT

cli = CliRunner()


def geu(category: str, **extra: object) -> dict[str, object]:
    return {
        "id": f"g-{category}",
        "axis": "GEU",
        "category": category,
        "image": "images/g.png",
        "question": "Which angle is marked?",
        "options": ["30", "45", "60", "90"],
        "answer": "B",
        **extra,
    }


def write(root: Path, rows: list[dict[str, object]]) -> Path:
    (root / "images").mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (1, 2, 3)).save(root / "images" / "g.png")
    path = root / "suite.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_each_geu_instance_gets_an_edit_prompt(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [geu("geometry"), geu("MT"), geu("charts", edit_prompt="Circle the tallest bar.")],
    )
    found = {i.category: i for i in load_jsonl(path, ImageStore(tmp_path / "store"))}
    # Another suite's category: the generic prompt, filled in at load and kept with it.
    assert found["geometry"].request(EDIT) == GENERIC_EDIT_PROMPT.format(
        question="Which angle is marked?"
    )
    # A RealUnify category gets RealUnify's own prompt; the record itself had none.
    assert found["mental_tracking"].field("edit_prompt") is None
    assert found["mental_tracking"].request(EDIT) == EDIT_PROMPTS["mental_tracking"].format(
        question="Which angle is marked?"
    )
    assert edit_request("mental_tracking", "Q?") == EDIT_PROMPTS["mental_tracking"].format(
        question="Q?"
    )
    # The instance's own prompt wins.
    assert found["charts"].request(EDIT) == "Circle the tallest bar."


@pytest.mark.parametrize("value", ["", "   ", 5, ["edit"]])
def test_an_edit_prompt_that_is_not_text_names_its_line(tmp_path: Path, value: object) -> None:
    path = write(tmp_path, [geu("geometry"), geu("charts", edit_prompt=value)])
    with pytest.raises(DataError) as info:
        load_jsonl(path, ImageStore(tmp_path / "store"))
    message = str(info.value)
    assert message.startswith("suite.jsonl line 2: field 'edit_prompt' must be a non-empty string")
    assert "leave the field out" in message


def test_a_stepwise_run_edits_an_instance_of_another_suite(tmp_path: Path) -> None:
    # Before: KeyError 'geometry' at run time, the instance failed.
    path = write(tmp_path / "suite", [geu("geometry")])
    config = tmp_path / "run.toml"
    config.write_text(
        f'[benchmark]\nname = "jsonl"\npath = "{path}"\n'
        '[systems.step]\ngeu = "generate-then-reason"\nroles = { model = "mock/m" }\n'
        '[models."mock/m"]\ndefault = "B"\n'
    )
    run_dir = tmp_path / "run"
    result = cli.invoke(app, ["run", str(config), "--out", str(run_dir), "--quiet"])
    assert result.exit_code == 0, result.output
    rows = cli.invoke(app, ["report", str(run_dir), "--format", "jsonl"]).stdout.splitlines()
    (row,) = map(json.loads, rows)
    assert row["status"] == "ok" and row["correct_official"] is True, row
