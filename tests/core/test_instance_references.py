"""A graph never sees an instance's references: checks, expected answers, ground truth."""

from __future__ import annotations

import json
from pathlib import Path

from mockbench import write_fixture
from typer.testing import CliRunner

from composer.benchmarks.realunify.records import from_flat, geu_instance, ueg_instance
from composer.cli import app
from composer.core.images import ImageRef
from composer.core.instance import Check, ImagePart, Instance, References, TextPart

PEEKING_STRATEGY = '''
from typing import Any
from dataclasses import dataclass

import composer.graphs as cg


class State(cg.UEGState, cg.GEUState, total=False):
    seen: str


@dataclass(frozen=True)
class Roles:
    model: cg.Generator


@dataclass(frozen=True)
class GEURoles:
    model: cg.Understander


def peek(instance: Any) -> str:
    """Everything a graph could read of the answer, by any name it ever had."""
    found = {
        name: repr(getattr(instance, name, None))
        for name in ("references", "checks", "answer")
    }
    return json.dumps(found, sort_keys=True)


async def draw(state: State, runtime: cg.Runtime[Roles]) -> dict:
    image = await runtime.context.model.generate(state["instance"].text, seed=state["seed"])
    return {"image": image, "seen": peek(state["instance"])}


async def answer(state: State, runtime: cg.Runtime[GEURoles]) -> dict:
    return {"response": "A", "seen": peek(state["instance"])}


@cg.register_graph("peek", axes=(cg.Axis.UEG, cg.Axis.GEU))
def build(axis: cg.Axis, options: dict) -> cg.Strategy:
    roles = Roles if axis is cg.Axis.UEG else GEURoles
    step = draw if axis is cg.Axis.UEG else answer
    builder = cg.StateGraph(State, context_schema=roles)
    builder.add_node("step", step)
    builder.add_edge(cg.START, "step")
    builder.add_edge("step", cg.END)
    return cg.Strategy("peek", axis, builder.compile(), roles)
'''


def test_a_graph_that_reads_the_references_gets_nothing(tmp_path: Path) -> None:
    data = write_fixture(tmp_path / "data")
    strategy = tmp_path / "peek.py"
    strategy.write_text("import json\n" + PEEKING_STRATEGY)
    config = tmp_path / "peek.toml"
    config.write_text(
        "\n".join(
            [
                "[benchmark]",
                f'path = "{data}"',
                "categories = ['WK', 'MT']",
                "limit = 2",
                "[judge]",
                'model = "mock/judge"',
                "[systems.peek]",
                f'ueg = "{strategy}:build"',
                f'geu = "{strategy}:build"',
                'roles = { model = "mock/m" }',
            ]
        )
    )
    cli = CliRunner()
    run_dir = tmp_path / "run"
    result = cli.invoke(app, ["run", str(config), "--out", str(run_dir), "--quiet"])
    assert result.exit_code == 0, result.output
    rows = [
        json.loads(line)
        for line in cli.invoke(
            app, ["report", str(run_dir), "--format", "jsonl"]
        ).stdout.splitlines()
    ]
    assert {r["axis"] for r in rows} == {"UEG", "GEU"} and all(r["status"] == "ok" for r in rows)
    for row in rows:
        seen = json.loads(row["output"]["seen"])
        # The old flat fields are gone, and the references a graph is handed are empty.
        assert seen["checks"] == "None" and seen["answer"] == "None", seen
        assert seen["references"] == repr(References()), seen
    # The scorers did see them: GEU answers "A" are scored against the hidden letter.
    geu = [r for r in rows if r["axis"] == "GEU"]
    assert all(r["correct_official"] is not None for r in geu)


def test_shown_keeps_the_context_and_drops_only_the_references() -> None:
    ref = ImageRef(sha256="0" * 64)
    instance = geu_instance(
        id="g", category="mental_tracking", image=ref, question="Q?", options=["a", "b"], answer="B"
    )
    shown = instance.shown()
    assert shown.references.answer is None and instance.references.answer == "B"
    assert shown.context == instance.context and shown.requests == instance.requests
    assert isinstance(shown.context[0], ImagePart) and isinstance(shown.context[1], TextPart)


def test_a_flat_record_of_an_older_run_folder_reads_as_the_same_instance() -> None:
    made = ueg_instance(
        id="UEG-1",
        category="world_knowledge",
        prompt="three circles",
        checks=[Check(question="Three?", answer="yes")],
        step_prompt="refine three circles",
    )
    flat = {
        "id": "UEG-1",
        "axis": "UEG",
        "category": "world_knowledge",
        "prompt": "three circles",
        "step_prompt": "refine three circles",
        "checks": [{"question": "Three?", "answer": "yes"}],
        "meta": {},
    }
    assert from_flat(flat) == made
    assert Instance.model_validate_json(made.model_dump_json()) == made
