"""Uni-MMMU through composer's runner: instances, the interleaved graph and both kinds of scorer."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result
from unimmmu_data import write_data

from composer.cli import app
from composer.evaluation.store import RunStore

VERDICT = {
    "overlay_ok": 1,
    "text_ok": 1,
    "reasoning_rigorous": 1,
    "conclusion_correct": 1,
    "calc_numeric_match": 1,
    "reasoning_correct": 1,
    "result_correct": 1,
    "image_correct": 0,
    "text_semantic_match": 1,
    "shape_color_accuracy": 5,
    "position_accuracy": 3,
    "verdict": "partial",
}


UNIFIED = ["[systems.unified]", 'geu = "interleaved"', 'roles = { model = "mock/m" }']
"""One system making every call of the release's loop with the mock model."""


def run_file(tmp_path: Path, benchmark: list[str], *rest: str) -> tuple[Result, Path]:
    """Run a run file whose [benchmark] reads a tiny release folder; the CLI result, the run."""
    root = write_data(tmp_path / "release")
    config = tmp_path / "run.toml"
    lines = ["[benchmark]", 'name = "uni-mmmu"', f'path = "{root}"', *benchmark, *rest]
    config.write_text("\n".join(lines))
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", str(config), "--out", str(run_dir), "--quiet"])
    return result, run_dir


def run(tmp_path: Path) -> Path:
    result, run_dir = run_file(
        tmp_path,
        ["tasks = ['geometry', 'science', 'code', 'maze']"],
        "[judge]",
        'model = "mock/judge"',
        '[models."mock/judge"]',
        f"default = {json.dumps(json.dumps(VERDICT))}",
        '[models."mock/m"]',
        'default = "<ANSWER_JSON>[\\"right\\"]</ANSWER_JSON> **Final answer: 2**"',
        "[systems.unified]",
        'ueg = "interleaved"',
        'geu = "interleaved"',
        'roles = { model = "mock/m" }',
        "[systems.decomposed]",
        'ueg = "decompose-then-generate"',
        'roles = { reasoner = "mock/m", generator = "mock/m" }',
    )
    assert result.exit_code == 0, result.output
    return run_dir


def test_judged_tasks_are_scored_by_the_runs_judge_with_the_release_prompts(
    tmp_path: Path,
) -> None:
    store = RunStore(run(tmp_path))
    stored = store.channels()
    channels = {key[1]: scored for key, scored in stored.items() if key[0] == "unified"}
    by_task: dict[str, dict[str, dict[str, float]]] = {}
    for instance, scorers in channels.items():
        ((scorer, values),) = scorers.items()
        by_task.setdefault(instance.split("-", 1)[0], {}).update(
            {name: v["official"] for name, v in values.items()}
        )
        kind = "programmatic" if instance.startswith("maze") else "judged"
        assert scorer.startswith(f"uni-mmmu-{kind}-"), (instance, scorer)
    # What the judge said, read as the release reads it.
    assert by_task["geometry"]["overlay_ok"] == 1.0 and by_task["geometry"]["text_ok"] == 1.0
    assert by_task["science"]["result_correct"] == 1.0 and by_task["science"]["image_correct"] == 0
    assert by_task["code"]["shape_color_accuracy"] == 5.0
    assert by_task["code"]["position_accuracy"] == 3.0
    # The maze is scored from pixels: the mock model's frames are no maze.
    assert by_task["maze"]["text_exact"] == 0.0
    # Each judged task's headline is its judged scorer's (they used to read as unscored: the
    # headline looked for the polling judge on UEG and a programmatic scorer on GEU).
    headline = {r.instance.split("-", 1)[0]: r for r in store.results("unified")}
    assert headline["geometry"].status == "ok" and headline["geometry"].correct_official
    assert headline["science"].status == "ok" and headline["science"].correct_official is False
    assert "Uni-MMMU judge prompts" in headline["science"].judge
    assert headline["maze"].judge.startswith("Uni-MMMU programmatic")
    # Every judge call went out with the release's own wording.
    calls = store.db.execute("SELECT request FROM calls WHERE node = 'judge'").fetchall()
    requests = " ".join(row[0] for row in calls)
    assert "geometry diagram overlays" in requests
    assert "strict but science-aware evaluator" in requests
    # Decompose-then-generate on the understanding-aids-generation tasks: the reasoner's text
    # and the generator's image are judged the same way.
    decomposed = {key[1] for key in stored if key[0] == "decomposed"}
    assert {i.split("-", 1)[0] for i in decomposed} == {"science", "code"}


def test_geometry_proofs_go_to_the_text_judge_when_one_is_named(tmp_path: Path) -> None:
    no_proof = {**VERDICT, "text_ok": 0}
    result, run_dir = run_file(
        tmp_path,
        ["tasks = ['geometry']"],
        "[judge]",
        'model = "mock/vl-judge"',
        'text_model = "mock/text-judge"',
        '[models."mock/vl-judge"]',
        f"default = {json.dumps(json.dumps(VERDICT))}",
        '[models."mock/text-judge"]',
        f"default = {json.dumps(json.dumps(no_proof))}",
        '[models."mock/m"]',
        'default = "**Final answer: 2**"',
        *UNIFIED,
    )
    assert result.exit_code == 0, result.output
    store = RunStore(run_dir)
    ((values,),) = [list(s.values()) for s in store.channels().values()]
    # The overlay (an image) is the vision judge's; the proof (text) the text judge's.
    assert values["overlay_ok"]["official"] == 1.0 and values["text_ok"]["official"] == 0.0
    query = "SELECT model, COUNT(*) FROM calls WHERE node = 'judge' GROUP BY model"
    judges = dict(store.db.execute(query))
    assert set(judges) == {"mock/vl-judge", "mock/text-judge"}


def test_dreamsim_asked_for_but_not_installed_says_how_to_get_it(tmp_path: Path) -> None:
    if importlib.util.find_spec("dreamsim") is not None:
        pytest.skip("dreamsim is installed here")
    result, run_dir = run_file(tmp_path, ["tasks = ['jigsaw']", "dreamsim = true"], *UNIFIED)
    assert result.exit_code == 2, result.output
    assert "dreamsim" in result.output and "unify-composer[unimmmu]" in result.output
    assert not run_dir.exists()


def test_without_a_path_the_hub_is_asked_and_the_message_says_how_to_get_the_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants as constants

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    config = tmp_path / "hub.toml"
    config.write_text(
        '[benchmark]\nname = "uni-mmmu"\n[systems.unified]\ngeu = "interleaved"\n'
        'roles = { model = "mock/m" }\n'
    )
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", str(config), "--out", str(run_dir), "--quiet"])
    assert result.exit_code == 2, result.output
    assert "git clone https://huggingface.co/datasets/Vchitect" in result.output
    assert not run_dir.exists()


def test_an_official_reading_out_of_its_range_is_kept_as_the_release_keeps_it(
    tmp_path: Path,
) -> None:
    """The release `float()`s a code rubric whatever its value: a judge's 7 on a 0-5 rubric is
    7.0 officially (strictly unscored). Results of composer's own scorers are not held to the
    channel ranges a benchmark's own scorer is (`checked_score`), or the official reading would
    fail where the release counts it."""
    verdict = {**VERDICT, "shape_color_accuracy": 7}
    result, run_dir = run_file(
        tmp_path,
        ["tasks = ['code']"],
        "[judge]",
        'model = "mock/judge"',
        '[models."mock/judge"]',
        f"default = {json.dumps(json.dumps(verdict))}",
        '[models."mock/m"]',
        'default = "a red square"',
        "[systems.decomposed]",
        'ueg = "decompose-then-generate"',
        'roles = { reasoner = "mock/m", generator = "mock/m" }',
    )
    assert result.exit_code == 0, result.output
    store = RunStore(run_dir)
    try:
        ((values,),) = [list(scorers.values()) for scorers in store.channels().values()][:1]
        assert values["shape_color_accuracy"]["official"] == 7.0
        assert values["shape_color_accuracy"]["strict"] is None
    finally:
        store.close()
