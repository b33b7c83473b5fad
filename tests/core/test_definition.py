"""A system definition is one frozen, typed record from binding to the store to every reader.

The store compares definitions on resume by their JSON, so the typed record must keep the
stored bytes of the dict it replaced; readers get `kind` and `mode` typed, never by key.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from composer.cli import app
from composer.core.definition import AxisDefinition, SystemDefinition, direct_or_stepwise
from composer.evaluation.store import RunStore

cli = CliRunner()


def _built() -> SystemDefinition:
    return SystemDefinition(
        kind="composed",
        mode="stepwise",
        axes={
            "UEG": AxisDefinition(
                graph="refine",
                options={"max_rounds": 2, "note": None},
                roles={"reasoner": "m/r", "generator": "m/g"},
                code="builtin",
            )
        },
        models={"m/r": {"temperature": None}, "m/g": {}},
        prompts="abc",
        composer="0.1",
    )


def test_the_json_form_holds_what_is_set_and_reads_back_equal() -> None:
    built = _built()
    data = built.to_json()
    assert "imported" not in data  # the key the dict never had for a run system
    assert data["axes"]["UEG"]["options"] == {"max_rounds": 2, "note": None}  # None kept
    assert data["models"]["m/r"] == {"temperature": None}
    assert SystemDefinition.from_json(json.loads(json.dumps(data))) == built
    imported = SystemDefinition(
        kind="unified",
        mode="direct",
        imported=True,
        axes={"GEU": AxisDefinition(graph="imported", options={"dir": "out", "mode": "direct"})},
    )
    assert imported.to_json() == {
        "kind": "unified",
        "mode": "direct",
        "imported": True,
        "axes": {
            "GEU": {"graph": "imported", "options": {"dir": "out", "mode": "direct"}, "roles": {}}
        },
    }


def test_a_definition_is_frozen_and_refuses_unknown_kinds() -> None:
    built = _built()
    with pytest.raises(ValidationError):
        built.kind = "unified"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        SystemDefinition.from_json({**built.to_json(), "kind": "hybrid"})
    with pytest.raises(ValidationError):
        SystemDefinition.from_json({**built.to_json(), "colour": "red"})


def test_direct_only_when_every_axis_runs_direct() -> None:
    assert direct_or_stepwise(["direct", "direct"]) == "direct"
    assert direct_or_stepwise(["direct", "generate-then-reason"]) == "stepwise"
    assert direct_or_stepwise(["my_file.py:build"]) == "stepwise"


def test_a_run_stores_typed_definitions_and_resumes_on_the_same_bytes(tmp_path: Path) -> None:
    run_dir = tmp_path / "demo"
    args = ["demo", "--out", str(run_dir), "--n-per-category", "1", "--quiet"]
    assert cli.invoke(app, args).exit_code in (0, 1)
    db = sqlite3.connect(run_dir / "run.db")
    first = dict(db.execute("SELECT name, definition FROM systems").fetchall())
    db.close()
    store = RunStore(run_dir)
    definitions = store.system_definitions()
    store.close()
    assert {d.kind for d in definitions.values()} == {"composed", "unified", "specialist"}
    assert definitions["naive-direct"].mode == "direct"
    assert definitions["oracle"].mode == "stepwise"
    assert definitions["oracle"].role("UEG", "reasoner") == "symbolic/reasoner"
    for name, text in first.items():
        assert json.dumps(definitions[name].to_json(), sort_keys=True) == text, name
    # A second run of the same systems finds its definitions unchanged (no --rerun needed).
    assert cli.invoke(app, args).exit_code in (0, 1)
    db = sqlite3.connect(run_dir / "run.db")
    assert dict(db.execute("SELECT name, definition FROM systems").fetchall()) == first
    db.close()
