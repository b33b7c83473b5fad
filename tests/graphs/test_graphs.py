"""Each graph: a snapshot of its Mermaid drawing and an end-to-end run on scripted specialists."""

import json
import os
from pathlib import Path

import pytest
from mockbench import toml_rules, write_fixture
from typer.testing import CliRunner

from composer.benchmarks.realunify.records import ueg_instance
from composer.cli import app
from composer.core.images import ImageStore
from composer.core.instance import Axis, Check
from composer.graphs.base import build_strategy, graphs
from composer.specialists.mock import MockSpecialist

SNAPSHOTS = Path(__file__).parent / "snapshots"
EXAMPLES = Path(__file__).parents[2] / "examples"
CASES = [(name, axis) for name, entry in sorted(graphs().items()) for axis in sorted(entry.axes)]


@pytest.mark.parametrize(("name", "axis"), CASES)
def test_mermaid_snapshot(name: str, axis: Axis) -> None:
    drawing = build_strategy(name, axis, {}).mermaid()
    snapshot = SNAPSHOTS / f"{name}-{axis.value}.mmd"
    if os.environ.get("UPDATE_SNAPSHOTS") or not snapshot.exists():
        snapshot.write_text(drawing)
    assert drawing == snapshot.read_text()


def test_roles_declare_protocols() -> None:
    assert {
        r: c.value for r, c in build_strategy("refine", Axis.UEG, {}).required_roles().items()
    } == {
        "reasoner": "understand",
        "generator": "generate",
    }
    assert set(build_strategy("generate-then-reason", Axis.GEU, {}).required_roles()) == {
        "editor",
        "reasoner",
    }
    assert set(build_strategy("direct", Axis.GEU, {}).required_roles()) == {"model"}


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "images")


def model(store: ImageStore, **options: object) -> MockSpecialist:
    return MockSpecialist.from_name("m", options, images=store)


UEG = ueg_instance(
    id="UEG-0",
    category="mathematical_reasoning",
    prompt="draw 2+3 stars",
    checks=(Check(question="Are there 5 stars?", answer="yes"),),
)


async def test_decompose_then_generate_draws_the_rewrite(store: ImageStore) -> None:
    strategy = build_strategy("decompose-then-generate", Axis.UEG, {})
    reasoner = model(store, rules=[{"match": "2\\+3 stars", "reply": "Refined prompt: five stars"}])
    roles = strategy.roles(reasoner=reasoner, generator=model(store))
    state = await strategy.graph.ainvoke({"instance": UEG, "seed": 3}, context=roles)
    assert state["rewrite"] == "five stars"
    assert store.open(state["image"]).info["caption"] == "five stars"


async def test_refine_revises_until_its_checks_pass(store: ImageStore) -> None:
    reasoner = model(
        store,
        rules=[
            {"match": "^Write verification questions", "reply": "Are there 5 stars? (yes)"},
            {"match": "^Revise a prompt.*expected yes", "reply": "exactly 5 stars"},
            {"match": "^Here is the prompt", "reply": "stars"},
            {"match": "caption: exactly 5 stars\\].*Are there 5 stars", "reply": "Yes"},
        ],
        default="No",
    )
    strategy = build_strategy("refine", Axis.UEG, {"max_rounds": 3})
    state = await strategy.graph.ainvoke(
        {"instance": UEG, "seed": 0},
        context=strategy.roles(reasoner=reasoner, generator=model(store)),
    )
    assert [r["rewrite"] for r in state["rounds"]] == ["stars", "exactly 5 stars"]
    assert state["failures"] == []
    assert store.open(state["image"]).info["caption"] == "exactly 5 stars"


async def test_refine_stops_after_max_rounds(store: ImageStore) -> None:
    reasoner = model(
        store,
        rules=[
            {"match": "^Write verification questions", "reply": "Are there 5 stars? (yes)"},
            {"match": "^(Here is the prompt|Revise)", "reply": "stars"},
        ],
        default="No",
    )
    strategy = build_strategy("refine", Axis.UEG, {"max_rounds": 2})
    state = await strategy.graph.ainvoke(
        {"instance": UEG, "seed": 0},
        context=strategy.roles(reasoner=reasoner, generator=model(store)),
    )
    assert len(state["rounds"]) == 2 and state["failures"]


def test_unknown_graph_option_is_a_config_error() -> None:
    from composer.core.errors import ConfigError

    with pytest.raises(ConfigError, match="max_round"):
        build_strategy("refine", Axis.UEG, {"max_round": 2})


def test_a_strategy_from_a_users_file_runs_end_to_end(tmp_path: Path) -> None:
    data = write_fixture(tmp_path / "data")
    # The reasoner's check passes only for images drawn with an odd seed.
    reasoner_rules = [
        {"match": "^Write verification questions", "reply": "Is this the one? (yes)"},
        {"match": "caption: rewritten [(]seed \\d*[13579][)]\\].*Is this the one", "reply": "Yes"},
        {
            "match": "^Here is the prompt for image generation: (draw \\S+ \\w+)",
            "reply": "rewritten",
        },
    ]
    config = tmp_path / "custom.toml"
    config.write_text(
        "\n".join(
            [
                "[benchmark]",
                f'path = "{data}"',
                "categories = ['WK']",
                "[judge]",
                'model = "mock/judge"',
                "[systems.custom]",
                f'ueg = {{ graph = "{EXAMPLES / "custom_strategy.py"}:build", n = 3 }}',
                'roles = { reasoner = "mock/r", generator = "mock/g" }',
                '[models."mock/r"]',
                f"rules = {toml_rules(reasoner_rules)}",
                'default = "No"',
                '[models."mock/judge"]',
                'default = "No"',
                '[models."mock/g"]',
                "caption_seed = true",
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
    assert len(rows) == 4 and all(r["status"] == "ok" for r in rows)
    for row in rows:
        assert row["output"]["rewrite"] == "rewritten"
        scores = row["output"]["scores"]
        assert len(row["output"]["candidates"]) == 3 and scores in ([1, 0, 1], [0, 1, 0])
        assert row["output"]["image"] == row["output"]["candidates"][scores.index(1)]
    assert cli.invoke(app, ["graph", f"{EXAMPLES / 'custom_strategy.py'}:build"]).exit_code == 0
