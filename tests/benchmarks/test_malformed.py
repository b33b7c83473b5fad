"""Twenty kinds of malformed input: each one clear message (where, what, fix) and exit code 2."""

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from realunify_fixture import RUN_SYSTEMS, config, write_realunify
from typer.testing import CliRunner

from composer.cli import app

cli = CliRunner()
Mutation = Callable[[Path], None]


def edit(file: str, index: int, change: Callable[[dict], None]) -> Mutation:
    def apply(root: Path) -> None:
        records = json.loads((root / file).read_text())
        change(records[index])
        (root / file).write_text(json.dumps(records))

    return apply


def write(file: str, text: str) -> Mutation:
    return lambda root: (root / file).write_text(text)


def imported(records_change: Callable[[list], object]) -> Mutation:
    def apply(root: Path) -> None:
        folder = root.parent / "results"
        folder.mkdir(exist_ok=True)
        records = json.loads((root / "UEG_direct.json").read_text())
        records_change(records)
        (folder / "UEG_direct.json").write_text(
            json.dumps(records) if isinstance(records, list) else str(records)
        )

    return apply


CASES: dict[str, tuple[Mutation, str]] = {
    "missing prompt": (
        edit("UEG_direct.json", 0, lambda r: r.pop("prompt")),
        "UEG_direct.json index 0: field 'prompt'",
    ),
    "missing question_list": (
        edit("UEG_direct.json", 1, lambda r: r.pop("question_list")),
        "index 1: field 'question_list'",
    ),
    "missing task_type": (
        edit("GEU_direct.json", 0, lambda r: r.pop("task_type")),
        "GEU_direct.json index 0: field 'task_type'",
    ),
    "missing input_image": (
        edit("GEU_direct.json", 1, lambda r: r.pop("input_image")),
        "index 1: field 'input_image'",
    ),
    "missing answer": (
        edit("GEU_direct.json", 2, lambda r: r.pop("answer")),
        "index 2: field 'answer'",
    ),
    "missing new_prompt in step file": (
        edit("UEG_step.json", 2, lambda r: r.pop("new_prompt")),
        "UEG_step.json index 2: field 'new_prompt'",
    ),
    "prompt of the wrong type": (
        edit("UEG_direct.json", 3, lambda r: r.update(prompt=42)),
        "field 'prompt' must be a non-empty string",
    ),
    "options not a list": (
        edit("GEU_direct.json", 3, lambda r: r.update(option="red, green")),
        "field 'option' must be a list",
    ),
    "question_list item not an object": (
        edit("UEG_direct.json", 4, lambda r: r.update(question_list=["Q?"])),
        "field 'question_list[0]'",
    ),
    "check answer not yes/no": (
        edit("UEG_direct.json", 5, lambda r: r["question_list"][0].update(answer="maybe")),
        "question_list[0]",
    ),
    "index of the wrong type": (
        edit("UEG_direct.json", 0, lambda r: r.update(index=[0])),
        "field 'index' must be an integer or a string",
    ),
    "unknown category": (
        edit("UEG_direct.json", 6, lambda r: r.update(task_type="painting")),
        "field 'task_type' is not a UEG category",
    ),
    "GEU category in the UEG file": (
        edit("UEG_direct.json", 2, lambda r: r.update(task_type="mental_tracking")),
        "is not a UEG category",
    ),
    "answer not among the options": (
        edit("GEU_direct.json", 0, lambda r: r.update(answer="E")),
        "field 'answer' must be one of the option letters",
    ),
    "image missing": (
        edit("GEU_direct.json", 1, lambda r: r.update(input_image="image/none/x.jpg")),
        "names a missing image",
    ),
    "path escaping the folder": (
        edit("GEU_direct.json", 2, lambda r: r.update(input_image="../../outside.jpg")),
        "escapes the dataset folder",
    ),
    "empty file": (write("GEU_direct.json", ""), "GEU_direct.json: is empty"),
    "not JSON": (write("UEG_direct.json", "{index: 0,"), "UEG_direct.json: is not valid JSON"),
    "not a list of records": (
        write("UEG_direct.json", '{"index": 0}'),
        "must hold a JSON list of records",
    ),
    "repeated index": (
        edit("UEG_direct.json", 1, lambda r: r.update(index=0)),
        "index 0: field 'index' repeats",
    ),
    "step task_type differs": (
        edit("GEU_step.json", 3, lambda r: r.update(task_type="mental_tracking")),
        "GEU_step.json index 3: field 'task_type' differs",
    ),
    "imported file names an unknown index": (
        imported(lambda rs: rs[0].update(index=99)),
        "UEG_direct.json index 99: names no instance",
    ),
    "imported file not JSON": (
        imported(lambda rs: rs.clear() or rs.append("x")),
        "must hold a JSON list of records",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_input_stops_with_one_clear_message(case: str, tmp_path: Path) -> None:
    data = write_realunify(tmp_path / "RealUnify")
    mutate, expected = CASES[case]
    mutate(data)
    systems = RUN_SYSTEMS
    if case.startswith("imported"):
        systems = f'[systems.bagel]\nimport = "{tmp_path / "results"}"\nmode = "direct"'
    path = tmp_path / "run.toml"
    path.write_text(config(data, systems))
    result = cli.invoke(app, ["run", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_there_are_at_least_twenty_kinds() -> None:
    assert len(CASES) >= 20
