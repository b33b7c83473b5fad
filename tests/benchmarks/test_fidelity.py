"""RealUnify fidelity: the official scorer's readings, imported outputs, export and re-import."""

import json
from pathlib import Path

import pytest
from realunify_fixture import (
    EXPECTED_GEU,
    EXPECTED_GEU_OFFICIAL,
    EXPECTED_GEU_STRICT,
    EXPECTED_UEG,
    EXPECTED_UEG_OFFICIAL,
    EXPECTED_UEG_STRICT,
    RUN_SYSTEMS,
    config,
    write_realunify,
)
from typer.testing import CliRunner

from composer.cli import app
from composer.evaluation.store import RunStore
from composer.report.export import export_realunify

cli = CliRunner()


def run(tmp_path: Path, text: str, name: str = "run", code: int = 0) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    run_dir = tmp_path / name
    result = cli.invoke(app, ["run", str(path), "--out", str(run_dir), "--quiet"])
    assert result.exit_code == code, result.output
    return run_dir


def rows(run_dir: Path) -> dict[tuple[str, str], dict]:
    out = cli.invoke(app, ["report", str(run_dir), "--format", "jsonl"]).stdout
    return {(r["system"], r["instance"]): r for r in map(json.loads, out.splitlines())}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_realunify(tmp_path / "RealUnify")


def test_official_and_strict_scoring_match_the_hand_computed_values(
    data: Path, tmp_path: Path
) -> None:
    run_dir = run(tmp_path, config(data, RUN_SYSTEMS))
    got = rows(run_dir)
    for index, official in EXPECTED_UEG_OFFICIAL.items():
        row = got[("model", f"UEG-{index}")]
        assert row["correct_official"] is official, index
        assert row["correct_strict"] is EXPECTED_UEG_STRICT[index], index
    for index, official in EXPECTED_GEU_OFFICIAL.items():
        row = got[("model", f"GEU-{index}")]
        assert row["correct_official"] is official, index
        assert row["correct_strict"] is EXPECTED_GEU_STRICT[index], index
    report = json.loads(cli.invoke(app, ["report", str(run_dir), "--format", "json"]).stdout)
    system = report["systems"]["model"]
    assert system["UEG"]["accuracy"] == pytest.approx(EXPECTED_UEG["official"])
    assert system["UEG"]["accuracy_strict"] == pytest.approx(EXPECTED_UEG["strict"])
    assert system["GEU"]["accuracy"] == pytest.approx(EXPECTED_GEU["official"])
    assert system["GEU"]["accuracy_strict"] == pytest.approx(EXPECTED_GEU["strict"])
    assert system["total"] == pytest.approx(0.6 * 200 / 6 + 0.4 * 50)
    assert report["parser"] == "official" and report["judge"] == "mock/judge"
    strict = json.loads(
        cli.invoke(app, ["report", str(run_dir), "--format", "json", "--parser", "strict"]).stdout
    )
    # A status follows the parser the report leads with: what strict cannot read is unscored.
    unread = sum(1 for v in EXPECTED_UEG_STRICT.values() if v is None)
    assert strict["systems"]["model"]["UEG"]["counts"]["unscored"] == unread
    official = report["systems"]["model"]["UEG"]["counts"]["unscored"]
    assert official == 0
    assert strict["systems"]["model"]["UEG"]["accuracy"] == pytest.approx(EXPECTED_UEG["strict"])


def test_judge_details_are_recorded_with_every_score(data: Path, tmp_path: Path) -> None:
    run_dir = run(tmp_path, config(data, RUN_SYSTEMS))
    store = RunStore(run_dir)
    judgments = store.all_judgments()[("model", "UEG-0")]
    assert [(j.question, j.reply, j.official, j.strict) for j in judgments] == [
        ("Q-a?", "Yes.", "yes", "yes"),
        ("Q-b?", "I don't know", "no", None),
    ]
    (judge_id,) = store.db.execute(
        "SELECT DISTINCT judge FROM judgments WHERE system = 'model' AND instance = 'UEG-0'"
    ).fetchone()
    definition = store.judges()[judge_id]["definition"]
    assert definition["model"] == "mock/judge" and definition["method"] == "realunify-polling"
    assert definition["method_version"]  # the prompt and readers the judgments were made with
    # An empty reply is asked again (up to 15 times, as the released script does) and is
    # never cached as an answer: the judgment keeps the empty text, the cache holds no row.
    (empty,) = [j for j in store.all_judgments()[("model", "UEG-4")] if not j.reply]
    assert empty.official is None and empty.strict is None
    empty_rows = [r for r in store.call_rows() if r["instance"] == "UEG-4" and r["node"] == "judge"]
    assert all(
        json.loads(
            store.db.execute("SELECT reply FROM calls WHERE key = ?", (r["key"],)).fetchone()[0]
        ).get("text")
        for r in empty_rows
    )
    instance = store.instances()["GEU-1"]
    assert instance.subtask == "color_digits" and instance.category == "mental_tracking"
    store.close()


def test_import_judge_export_reimport_keeps_every_score(data: Path, tmp_path: Path) -> None:
    step_systems = (
        RUN_SYSTEMS
        + """
[systems.stepwise]
ueg = "decompose-then-generate"
geu = "generate-then-reason"
roles = { model = "mock/vlm" }
"""
    )
    first = run(tmp_path, config(data, step_systems), "first")
    store = RunStore(first)
    folders = export_realunify(store, tmp_path / "export")
    store.close()
    assert sorted(p.name for p in (tmp_path / "export" / "model").glob("*.json")) == [
        "GEU_direct.json",
        "UEG_direct.json",
    ]
    assert sorted(p.name for p in (tmp_path / "export" / "stepwise").glob("*.json")) == [
        "GEU_step.json",
        "UEG_step.json",
    ]
    exported = json.loads((tmp_path / "export" / "stepwise" / "UEG_step.json").read_text())
    assert exported[0]["new_prompt"].startswith("Here is the prompt for image generation: prompt 0")
    assert exported[0]["generated_image"] == "images/UEG-0.png" and "response" in exported[0]
    modes = {"model": "direct", "stepwise": "step"}
    imported = "\n".join(
        f'[systems.{f.name}-imported]\nimport = "{f}"\nmode = "{modes[f.name]}"' for f in folders
    )
    second = run(tmp_path, config(data, imported), "second")
    before, after = rows(first), rows(second)
    for (system, instance), row in before.items():
        again = after[(f"{system}-imported", instance)]
        assert (again["correct_official"], again["correct_strict"]) == (
            row["correct_official"],
            row["correct_strict"],
        )
    report = json.loads(cli.invoke(app, ["report", str(second), "--format", "json"]).stdout)
    assert report["systems"]["model-imported"]["kind"] == "unified"
    assert report["systems"]["stepwise-imported"]["mode"] == "stepwise"


def test_an_imported_instance_without_output_is_failed_and_shown(
    data: Path, tmp_path: Path
) -> None:
    results = tmp_path / "bagel"
    results.mkdir()
    records = json.loads((data / "UEG_direct.json").read_text())
    from PIL import Image

    Image.new("RGB", (8, 8)).save(results / "0.png")
    records[0]["generated_image"] = "0.png"
    records[1]["generated_image"] = "missing.png"
    (results / "UEG_direct.json").write_text(json.dumps(records[:2]))
    run_dir = run(
        tmp_path, config(data, f'[systems.bagel]\nimport = "{results}"\nmode = "direct"'), code=1
    )
    got = rows(run_dir)
    assert got[("bagel", "UEG-0")]["status"] == "ok"
    assert (
        got[("bagel", "UEG-1")]["status"] == "failed"
        and "missing file" in got[("bagel", "UEG-1")]["error"]
    )
    assert (
        got[("bagel", "UEG-2")]["status"] == "failed"
        and "no record" in got[("bagel", "UEG-2")]["error"]
    )
    report = json.loads(cli.invoke(app, ["report", str(run_dir), "--format", "json"]).stdout)
    counts = report["systems"]["bagel"]["UEG"]["counts"]
    assert counts["n"] == 7 and counts["failed"] == 6


def test_export_command(data: Path, tmp_path: Path) -> None:
    run_dir = run(tmp_path, config(data, RUN_SYSTEMS))
    result = cli.invoke(
        app, ["export", str(run_dir), "--format", "realunify", "--output", str(tmp_path / "x")]
    )
    assert result.exit_code == 0, result.output
    records = json.loads((tmp_path / "x" / "model" / "GEU_direct.json").read_text())
    assert records[0]["response"] == "Based on the image, D"
    assert records[0]["input_image"] == "image/mental_reconstruction/jigsaw_2x2/images/img_001.jpg"
    bad = cli.invoke(
        app, ["export", str(run_dir), "--output", str(tmp_path / "y"), "--systems", "nope"]
    )
    assert bad.exit_code == 2 and "no system named 'nope'" in bad.output
