"""A node that changes the instance it is handed changes its own copy, never another task's.

Every task is handed `instance.shown()`. The instance is frozen, but its record's fields, the
benchmark's step requests and its meta are dicts: a node that wrote into them changed what
every later task (other systems, other seeds, the same system's next instance run) was shown,
and a stepwise built-in graph read the changed request. Each task now gets its own copies.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from composer.cli import app
from composer.evaluation.store import RunStore

cli = CliRunner()

STRATEGY = """
from dataclasses import dataclass

import composer.graphs as cg


class State(cg.GEUState, total=False):
    seen: dict


@dataclass(frozen=True)
class Roles:
    model: cg.Understander


async def answer(state: State) -> dict:
    instance = state["instance"]
    seen = {{
        "question": instance.fields.get("question"),
        "options": list(instance.fields.get("options", [])),
        "edit": instance.requests.get("edit"),
        "meta": sorted(instance.meta),
    }}
    if {mutate}:
        instance.fields["question"] = "CHANGED"
        instance.fields["options"].append("E. changed")
        instance.requests["edit"] = "CHANGED"
        instance.meta["changed"] = True
    return {{"response": "A", "seen": seen}}


@cg.register_graph("{name}", axes=(cg.Axis.GEU,))
def build(axis: cg.Axis, options: dict) -> cg.Strategy:
    graph = cg.StateGraph(State, context_schema=Roles).add_sequence([answer])
    return cg.Strategy("{name}", axis, graph.add_edge(cg.START, "answer").compile(), Roles)
"""

RUN = """
concurrency = 1
seeds = [0, 1]
[benchmark]
name = "synthetic"
n_per_category = 1
categories = ["mental_tracking"]
[judge]
model = "symbolic/reasoner"
[systems.changer]
geu = { graph = "changer.py:build" }
roles = { model = "symbolic/reasoner" }
[systems.reader]
geu = { graph = "reader.py:build" }
roles = { model = "symbolic/reasoner" }
[systems.stepwise]
geu = "generate-then-reason"
roles = { reasoner = "symbolic/reasoner", editor = "symbolic/painter" }
"""


def test_a_node_that_changes_its_instance_leaves_every_other_task_its_own(
    tmp_path: Path,
) -> None:
    (tmp_path / "changer.py").write_text(STRATEGY.format(name="changer", mutate=True))
    (tmp_path / "reader.py").write_text(STRATEGY.format(name="reader", mutate=False))
    (tmp_path / "run.toml").write_text(RUN)
    run_dir = tmp_path / "run"
    result = cli.invoke(app, ["run", str(tmp_path / "run.toml"), "--out", str(run_dir), "--quiet"])
    assert result.exit_code == 0, result.output
    store = RunStore(run_dir)
    try:
        results = list(store.results())
    finally:
        store.close()
    with sqlite3.connect(run_dir / "run.db") as db:
        rows = db.execute("SELECT request FROM calls WHERE method = 'edit'").fetchall()
    edits = [json.loads(request)["prompt"] for (request,) in rows]
    seen = [r.output["seen"] for r in results if "seen" in r.output]
    assert len(seen) == 4  # changer and reader, two seeds each
    first = seen[0]
    assert "CHANGED" not in str(first) and "changed" not in first["meta"]
    assert all(s == first for s in seen), seen  # what each task saw is what the first saw
    assert edits and all("CHANGED" not in e for e in edits)
