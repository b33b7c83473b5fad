"""A run folder written before instances were benchmark-neutral resumes and reports as it did.

The folder is made by today's code and then rewritten the way schema 4 stored it: flat
RealUnify-shaped instance records, no score channels, no stored decisions, and the prompts
digest over the prompts the agents had then.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from composer.cli import app
from composer.core.instance import STEP, Axis, Instance
from composer.evaluation.binding import _PROMPTS_OF_SCHEMA_4, _digest_of


def flat(instance: Instance) -> dict[str, Any]:
    """The record schema 4 stored for an instance (`Instance.model_dump_json()` back then)."""
    record: dict[str, Any] = {
        "id": instance.id,
        "axis": instance.axis.value,
        "category": instance.category,
        "subtask": instance.subtask,
        "prompt": None,
        "step_prompt": None,
        "checks": [c.model_dump() for c in instance.references.checks],
        "image": None,
        "question": None,
        "options": [],
        "answer": instance.references.answer,
        "evaluation_prompt": None,
        "edit_prompt": None,
        "source": instance.source,
        "meta": instance.meta,
    }
    if instance.axis is Axis.UEG:
        record.update(prompt=instance.text, step_prompt=instance.request(STEP))
    else:
        record.update(
            image={"sha256": instance.images[0].sha256},
            question=instance.field("question"),
            options=instance.field("options"),
            evaluation_prompt=instance.field("evaluation_prompt"),
            edit_prompt=instance.field("edit_prompt"),
        )
    return record


def as_schema_4(run_dir: Path) -> None:
    old_prompts = _digest_of(_PROMPTS_OF_SCHEMA_4)
    with sqlite3.connect(run_dir / "run.db") as db:
        for row_id, record in db.execute("SELECT id, record FROM instances").fetchall():
            instance = Instance.model_validate_json(record)
            db.execute(
                "UPDATE instances SET record = ? WHERE id = ?", (json.dumps(flat(instance)), row_id)
            )
        for name, definition in db.execute("SELECT name, definition FROM systems").fetchall():
            data = json.loads(definition)
            data["prompts"] = old_prompts
            db.execute(
                "UPDATE systems SET definition = ? WHERE name = ?",
                (json.dumps(data, sort_keys=True), name),
            )
        db.execute("ALTER TABLE scores DROP COLUMN channels")
        db.execute("DELETE FROM meta WHERE key = 'decisions'")
        db.execute("UPDATE meta SET value = '4' WHERE key = 'schema'")


def report(run_dir: Path) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["report", str(run_dir), "--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_a_schema_4_folder_reports_the_same_and_resumes_without_a_task(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    cli = CliRunner()
    args = ["demo", "--out", str(run_dir), "--n-per-category", "1", "--quiet", "--no-uni-mmmu"]
    first = cli.invoke(app, args)
    assert first.exit_code == 0, first.output
    before = report(run_dir)
    as_schema_4(run_dir)
    assert report(run_dir) == before  # read as it is, not migrated by a reader
    again = cli.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "0 tasks" in again.output
    assert report(run_dir) == before
    with sqlite3.connect(run_dir / "run.db") as db:
        schema = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]
    assert schema == "5"  # migrated by the resuming run
