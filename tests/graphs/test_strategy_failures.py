"""One bad step costs one instance and says where (issue 24, section 1).

Each test writes a small strategy file into a temporary folder and runs it through the real
CLI on the synthetic suite, beside a built-in system that must be untouched by the failure.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from strategy_runs import RUN_HEAD as STRATEGY_RUN_HEAD
from strategy_runs import beside_builtin
from typer.testing import CliRunner

from composer.cli import app
from composer.evaluation.store import RunStore
from composer.evaluation.store_schema import MIGRATIONS, SCHEMA_VERSION

cli = CliRunner()

HEAD = '''
"""A strategy with one bug, for the tests."""
import operator
from dataclasses import dataclass
from typing import Annotated

from PIL import Image

import composer.graphs as cg


class State(cg.UEGState, total=False):
    prompt: str
    notes: Annotated[list[str], operator.add]
    found: dict


@dataclass(frozen=True)
class Roles:
    generator: cg.Generator


async def plan(state: State, runtime: cg.Runtime[Roles]) -> dict:
    return {"prompt": state["instance"].text}


async def note(state: State, runtime: cg.Runtime[Roles]) -> dict:
    return {"notes": ["fine"]}


async def draw(state: State, runtime: cg.Runtime[Roles]) -> dict:
    return {"image": await runtime.context.generator.generate(state["prompt"], seed=state["seed"])}
'''

BUILD = """

@cg.register_graph("buggy", axes=(cg.Axis.UEG,))
def build(axis: cg.Axis, options: dict) -> cg.Strategy:
    graph = cg.StateGraph(State, context_schema=Roles)
    for name, fn in (("plan", plan), ("note", note), ("draw", {last})):
        graph.add_node(name, fn)
    graph.add_edge(cg.START, "plan")
    graph.add_edge("plan", "note")  # note and draw run side by side
    graph.add_edge("plan", "draw")
    return cg.Strategy("buggy", axis, graph.compile(), Roles)
"""

BUGS = {
    "pil": """
async def draw_pixels(state: State, runtime: cg.Runtime[Roles]) -> dict:
    return {"image": Image.new("RGB", (8, 8), "red")}
""",
    "raise": """
async def draw_ratio(state: State, runtime: cg.Runtime[Roles]) -> dict:
    shapes = 0
    return {"prompt": f"{1 / shapes}"}
""",
    "library": """
async def draw_settings(state: State, runtime: cg.Runtime[Roles]) -> dict:
    import json

    return {"prompt": json.loads("{not json")}
""",
    "forget": """
async def draw_nothing(state: State, runtime: cg.Runtime[Roles]) -> dict:
    return {"prompt": state["prompt"] + " (not drawn)"}
""",
    "exit": """
async def draw_and_quit(state: State, runtime: cg.Runtime[Roles]) -> dict:
    import sys

    sys.exit(3)
""",
    "base": """
class Failed(BaseException):  # as pytest's fail() raises: not an Exception
    pass


async def draw_and_fail(state: State, runtime: cg.Runtime[Roles]) -> dict:
    raise Failed("not drawn")
""",
    "cycle": """
async def draw_loop(state: State, runtime: cg.Runtime[Roles]) -> dict:
    found = {"shapes": []}
    found["shapes"].append(found)
    return {"prompt": state["prompt"], "notes": [], "found": found}
""",
    "nan": """
async def draw_nan(state: State, runtime: cg.Runtime[Roles]) -> dict:
    return {"prompt": state["prompt"], "notes": [], "found": {"ratio": float("nan")}}
""",
    "message": """
class Unprintable(Exception):
    def __str__(self) -> str:
        raise ValueError("no message")


async def draw_badly(state: State, runtime: cg.Runtime[Roles]) -> dict:
    raise Unprintable()
""",
    "list prompt": """
async def draw_words(state: State, runtime: cg.Runtime[Roles]) -> dict:
    words = state["prompt"].split()
    return {"image": await runtime.context.generator.generate(words, seed=state["seed"])}
""",
    "text seed": """
async def draw_seeded(state: State, runtime: cg.Runtime[Roles]) -> dict:
    seed = str(state["seed"])
    return {"image": await runtime.context.generator.generate(state["prompt"], seed=seed)}
""",
    "cannot": """
async def draw_asking(state: State, runtime: cg.Runtime[Roles]) -> dict:
    reply = await runtime.context.generator.understand(state["prompt"])
    return {"image": await runtime.context.generator.generate(reply.text, seed=state["seed"])}
""",
}
LAST = {
    "pil": "draw_pixels",
    "raise": "draw_ratio",
    "library": "draw_settings",
    "forget": "draw_nothing",
    "exit": "draw_and_quit",
    "base": "draw_and_fail",
    "cycle": "draw_loop",
    "nan": "draw_nan",
    "message": "draw_badly",
    "list prompt": "draw_words",
    "text seed": "draw_seeded",
    "cannot": "draw_asking",
}

RUN_HEAD = STRATEGY_RUN_HEAD.format(top="")
"""The run files' benchmark and judge: two world-knowledge instances, judged symbolically."""

RUN_FILE = beside_builtin('graph = "buggy.py:build"')


def run_bug(tmp_path: Path, bug: str) -> tuple[Any, Path]:
    (tmp_path / "buggy.py").write_text(HEAD + BUGS[bug] + BUILD.replace("{last}", LAST[bug]))
    (tmp_path / "run.toml").write_text(RUN_FILE)
    run_dir = tmp_path / "run"
    result = cli.invoke(app, ["run", str(tmp_path / "run.toml"), "--out", str(run_dir), "--quiet"])
    return result, run_dir


def stored(run_dir: Path) -> dict[str, list[Any]]:
    store = RunStore(run_dir)
    try:
        found: dict[str, list[Any]] = {}
        for r in store.results():
            found.setdefault(r.system, []).append(r)
        return found
    finally:
        store.close()


def check_one_instance_lost(result: Any, run_dir: Path) -> list[Any]:
    """The run went on: exit 1 (failures), the built-in system whole, ours failed per instance."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    results = stored(run_dir)
    assert [r.status for r in results["builtin"]] == ["ok", "ok"]
    mine = results["mine"]
    assert [r.status for r in mine] == ["failed", "failed"]
    return mine


def test_a_node_returning_a_pil_image_fails_its_instance_naming_the_node(tmp_path: Path) -> None:
    result, run_dir = run_bug(tmp_path, "pil")
    for r in check_one_instance_lost(result, run_dir):
        assert r.error.startswith("graph 'buggy.py:build', node 'draw': returned PIL.")
        assert "'image'" in r.error and "ImageRef" in r.error
        assert r.failure is not None and r.failure.node == "draw"
        # What the graph had before the bad step is kept; the pixels are not.
        assert r.output.get("prompt") and "image" not in r.output


def test_a_node_that_raises_stores_graph_node_line_and_traceback(tmp_path: Path) -> None:
    result, run_dir = run_bug(tmp_path, "raise")
    mine = check_one_instance_lost(result, run_dir)
    line = (HEAD + BUGS["raise"]).splitlines().index('    return {"prompt": f"{1 / shapes}"}') + 1
    for r in mine:
        assert r.failure is not None
        assert (r.failure.graph, r.failure.node) == ("buggy.py:build", "draw")
        assert r.failure.location == f"buggy.py:{line}"
        assert r.failure.error == "ZeroDivisionError: division by zero"
        assert "1 / shapes" in r.failure.traceback and "langgraph" not in r.failure.traceback
        assert f"node 'draw': raised ZeroDivisionError: division by zero at buggy.py:{line}" in (
            r.error
        )
    # Shown: the report's failure listing and the jsonl rows ...
    table = cli.invoke(app, ["report", str(run_dir)])
    assert table.exit_code == 0, table.output
    listed = [ln for ln in table.stdout.splitlines() if "(seed 0): graph 'buggy.py:build'" in ln]
    assert len(listed) == 2 and all(f"node 'draw' at buggy.py:{line}" in ln for ln in listed)
    assert "failed: 2 outputs" in table.stdout
    rows = cli.invoke(app, ["report", str(run_dir), "--format", "jsonl"]).stdout.splitlines()
    failures = [json.loads(r)["failure"] for r in rows if json.loads(r)["system"] == "mine"]
    assert all(f["node"] == "draw" and "1 / shapes" in f["traceback"] for f in failures)
    # ... and the HTML instance page, traceback included.
    html = cli.invoke(app, ["report", str(run_dir), "--format", "html"])
    assert html.exit_code == 0, html.output
    page = next((run_dir / "report" / "instances").glob("*.html")).read_text()
    assert "node <code>draw</code>" in page and f"<code>buggy.py:{line}</code>" in page
    assert "1 / shapes" in page and "traceback" in page


def test_an_error_raised_inside_a_library_is_located_at_the_nodes_own_line(
    tmp_path: Path,
) -> None:
    result, run_dir = run_bug(tmp_path, "library")
    code = (HEAD + BUGS["library"]).splitlines()
    line = code.index('    return {"prompt": json.loads("{not json")}') + 1
    for r in check_one_instance_lost(result, run_dir):
        assert r.failure is not None and r.failure.error.startswith("JSONDecodeError: ")
        assert r.failure.location == f"buggy.py:{line}"  # not json/decoder.py
        assert "json/decoder.py" in r.failure.traceback  # the library's frames are kept


def test_a_graph_without_its_output_names_the_graph_and_the_key(tmp_path: Path) -> None:
    result, run_dir = run_bug(tmp_path, "forget")
    for r in check_one_instance_lost(result, run_dir):
        assert r.error.startswith("graph 'buggy.py:build': returned no 'image'")
        assert "`image: ImageRef`" in r.error and "holds: notes, prompt" in r.error
        assert "KeyError" not in r.error
        assert r.failure is not None and r.failure.graph == "buggy.py:build"


def test_a_node_calling_sys_exit_fails_its_instance_not_the_run(tmp_path: Path) -> None:
    """asyncio lets a task's SystemExit out of the event loop: it used to end the whole run
    (exit 3, the other system never run)."""
    result, run_dir = run_bug(tmp_path, "exit")
    for r in check_one_instance_lost(result, run_dir):
        assert r.failure is not None and r.failure.node == "draw"
        assert r.failure.error == "NodeExit: called sys.exit(3)"
        assert r.failure.location.startswith("buggy.py:") and "sys.exit(3)" in r.failure.traceback


def test_a_node_raising_a_base_exception_fails_its_instance_not_the_run(tmp_path: Path) -> None:
    """It used to end the run with a traceback and no result stored."""
    result, run_dir = run_bug(tmp_path, "base")
    for r in check_one_instance_lost(result, run_dir):
        assert r.failure is not None and r.failure.node == "draw"
        assert r.failure.error == "NodeExit: raised Failed('not drawn'), a BaseException"


@pytest.mark.parametrize(
    ("bug", "what"),
    [
        ("cycle", "returned builtins.dict that contains itself under 'found'['shapes'][0]"),
        ("nan", "returned the number nan under 'found'['ratio']"),
    ],
)
def test_a_value_with_no_json_form_fails_its_instance_naming_the_node(
    tmp_path: Path, bug: str, what: str
) -> None:
    """A dict that contains itself (it used to fail with RecursionError, node unnamed) and a
    NaN (it was stored, and made the jsonl report invalid JSON)."""
    result, run_dir = run_bug(tmp_path, bug)
    for r in check_one_instance_lost(result, run_dir):
        assert r.error.startswith(f"graph 'buggy.py:build', node 'draw': {what}"), r.error
        assert "nan" not in json.dumps(r.output).lower()


@pytest.mark.parametrize(
    ("bug", "what"),
    [
        ("list prompt", "generator.generate() takes the prompt as text (a str), not list ["),
        ("text seed", "generator.generate() takes a whole-number seed (state['seed']), not str"),
        (
            "cannot",
            "generator.understand(): symbolic/painter cannot understand (it can: edit, generate).",
        ),
    ],
)
def test_a_model_call_with_the_wrong_arguments_is_located_at_the_nodes_call(
    tmp_path: Path, bug: str, what: str
) -> None:
    """A list for the prompt reached the symbolic painter, which raised AttributeError located
    in composer's own vocab.py; a text seed was sent as it was; a call of a method the role's
    model does not claim reached its adapter (the symbolic painter answered it)."""
    result, run_dir = run_bug(tmp_path, bug)
    source = (tmp_path / "buggy.py").read_text().splitlines()
    for r in check_one_instance_lost(result, run_dir):
        assert r.failure is not None and r.failure.node == "draw"
        assert r.failure.error.startswith(f"TypeError: {what}"), r.failure.error
        file, line = r.failure.location.split(":")
        assert file == "buggy.py" and "await runtime.context.generator." in source[int(line) - 1]
        assert r.usage["calls"] == 0  # refused before anything was sent or cached


def test_an_exception_whose_message_fails_still_names_its_node(tmp_path: Path) -> None:
    result, run_dir = run_bug(tmp_path, "message")
    for r in check_one_instance_lost(result, run_dir):
        assert r.failure is not None and r.failure.node == "draw"
        assert r.failure.error == "Unprintable: <Unprintable: its message could not be made>"


@pytest.mark.parametrize(
    ("source", "line", "what"),
    [
        ("import composer.graphs as cg\n\n\ndef build(axis, options:\n    pass\n", 4, "valid"),
        ("import composer.graphs as cg\nimport no_such_module_here\n", 2, "No module named"),
        ("import composer.graphs as cg\n\nLIMIT = 1 / 0\n", 3, "ZeroDivisionError"),
        ("import sys\n\nsys.exit(5)\n", 3, "calls sys.exit(5)"),  # it used to exit 5, silent
        ("class Stop(BaseException):\n    pass\n\n\nraise Stop('no')\n", 5, "Stop: no"),
    ],
)
def test_a_broken_strategy_file_is_exit_2_with_one_line(
    tmp_path: Path, source: str, line: int, what: str
) -> None:
    (tmp_path / "buggy.py").write_text(source)
    (tmp_path / "run.toml").write_text(RUN_FILE)
    run_dir = tmp_path / "run"
    result = cli.invoke(app, ["run", str(tmp_path / "run.toml"), "--out", str(run_dir)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert f"buggy.py line {line} " in lines[0] and what in lines[0]
    assert lines[0].startswith("error graph ")
    assert not run_dir.exists()  # a rejected run writes nothing
    drawn = cli.invoke(app, ["graph", f"{tmp_path / 'buggy.py'}:build"])
    assert drawn.exit_code == 2 and f"buggy.py line {line} " in drawn.output


@pytest.mark.parametrize(
    ("body", "line", "what"),
    [
        ("    return 1 / 0\n", 6, "ZeroDivisionError: division by zero"),
        ("    raise SystemExit(4)\n", 6, "SystemExit: 4"),  # it used to exit 4, silent
        (  # a graph LangGraph refuses to compile: an edge to a node that does not exist
            "    graph = cg.StateGraph(cg.UEGState)\n"
            "    graph.add_edge(cg.START, 'draw')\n"
            "    return cg.Strategy('buggy', axis, graph.compile(), object)\n",
            8,
            "ValueError: ",
        ),
    ],
)
def test_a_build_that_raises_is_exit_2_with_one_line(
    tmp_path: Path, body: str, line: int, what: str
) -> None:
    source = "import composer.graphs as cg\n\n\n@cg.register_graph('buggy', axes=(cg.Axis.UEG,))\n"
    source += "def build(axis, options):\n" + body
    (tmp_path / "buggy.py").write_text(source)
    (tmp_path / "run.toml").write_text(RUN_FILE)
    run_dir = tmp_path / "run"
    result = cli.invoke(app, ["run", str(tmp_path / "run.toml"), "--out", str(run_dir)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert "graph 'buggy.py:build': build() raised " + what in lines[0]
    assert f"at buggy.py:{line}." in lines[0]
    assert not run_dir.exists()


STRATEGY_OF = """import dataclasses
import composer.graphs as cg


class State(cg.UEGState, total=False):
    prompt: str


{roles}


async def draw(state, runtime):
    return {{}}


@cg.register_graph('buggy', axes=(cg.Axis.UEG,))
def build(axis, options):
    graph = cg.StateGraph(State).add_node("draw", draw).add_edge(cg.START, "draw")
    return cg.Strategy('buggy', {axis}, graph.compile(), Roles)
"""


@pytest.mark.parametrize(
    ("roles", "axis", "what"),
    [
        (
            "class Roles:\n    generator = None",
            "axis",
            "declares its roles as the class Roles, which is not a dataclass.",
        ),
        (
            "@dataclasses.dataclass(frozen=True)\nclass Roles:\n    generator: str",
            "axis",
            "declares the role 'generator' as str, not a model protocol.",
        ),
        (
            "@dataclasses.dataclass(frozen=True)\nclass Roles:\n    generator: cg.Generator",
            "cg.Axis.GEU",
            "build() returned a Strategy for GEU when asked for UEG.",
        ),
    ],
    ids=["roles not a dataclass", "role typed str", "strategy for the other axis"],
)
def test_a_strategy_whose_roles_or_axis_are_wrong_is_exit_2_with_one_line(
    tmp_path: Path, roles: str, axis: str, what: str
) -> None:
    """The first two failed while binding, with a bare TypeError or KeyError traceback; the
    third ran a GEU strategy's graph on UEG instances."""
    (tmp_path / "buggy.py").write_text(STRATEGY_OF.format(roles=roles, axis=axis))
    (tmp_path / "run.toml").write_text(RUN_FILE)
    run_dir = tmp_path / "run"
    result = cli.invoke(app, ["run", str(tmp_path / "run.toml"), "--out", str(run_dir)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert lines[0].startswith(f"error graph 'buggy.py:build': {what}"), lines[0]
    assert not run_dir.exists()


def schema(run_dir: Path) -> str:
    db = sqlite3.connect(run_dir / "run.db")
    try:
        (version,) = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        return str(version)
    finally:
        db.close()


def test_a_folder_from_before_failures_were_stored_is_migrated_not_refused(
    tmp_path: Path,
) -> None:
    result, run_dir = run_bug(tmp_path, "raise")
    assert result.exit_code == 1
    db = sqlite3.connect(run_dir / "run.db")  # make it what schema 3's composer wrote
    added = [
        re.fullmatch(r"ALTER TABLE (\w+) ADD COLUMN (\w+) \w+", statement)
        for version in sorted(MIGRATIONS)
        for statement in MIGRATIONS[version][1]
    ]
    for match in added:
        assert match is not None  # the migrations add columns; undo them
        db.execute(f"ALTER TABLE {match[1]} DROP COLUMN {match[2]}")
    db.execute("UPDATE meta SET value = '3' WHERE key = 'schema'")
    db.commit()
    db.close()
    report = cli.invoke(app, ["report", str(run_dir), "--format", "jsonl"])
    assert report.exit_code == 0, report.output  # a report reads it as it is
    assert all(json.loads(r)["failure"] is None for r in report.stdout.splitlines())
    rejected = cli.invoke(
        app, ["run", str(tmp_path / "run.toml"), "--out", str(run_dir), "--rerun", "nobody"]
    )
    assert rejected.exit_code == 2, rejected.output
    assert schema(run_dir) == "3"  # a rejected run leaves the folder as it was
    again = cli.invoke(
        app,
        ["run", str(tmp_path / "run.toml"), "--out", str(run_dir), "--quiet", "--retry-failed"],
    )
    assert again.exit_code == 1, again.output  # the bug is still there, now located
    assert "could not be written" not in again.output
    assert schema(run_dir) == SCHEMA_VERSION  # migrated by the run's first write
    assert all(r.failure is not None for r in stored(run_dir)["mine"])


def test_plain_data_from_a_node_is_stored_as_before(tmp_path: Path) -> None:
    """The check of node values refuses pixels, not what a strategy legitimately keeps."""
    source = (
        HEAD
        + textwrap.dedent("""
        async def draw_more(state: State, runtime: cg.Runtime[Roles]) -> dict:
            image = await runtime.context.generator.generate(state["prompt"], seed=1)
            return {"image": image, "notes": [f"{image}", str({"n": 1.5, "ok": True})]}
        """)
        + BUILD.replace("{last}", "draw_more")
    )
    (tmp_path / "buggy.py").write_text(source)
    (tmp_path / "run.toml").write_text(RUN_FILE)
    run_dir = tmp_path / "run"
    result = cli.invoke(app, ["run", str(tmp_path / "run.toml"), "--out", str(run_dir), "--quiet"])
    assert result.exit_code == 0, result.output
    mine = stored(run_dir)["mine"]
    assert all(r.failure is None and "fine" in r.output["notes"] for r in mine)


def test_fixing_a_strategy_file_reruns_its_systems_in_one_go(tmp_path: Path) -> None:
    """The stored error says how: --rerun NAME. A fixed file used by two systems is refused
    once, naming both and the one --rerun that takes both (it was one system per attempt)."""
    result, run_dir = run_bug(tmp_path, "raise")
    (failed,) = {r.error for r in check_one_instance_lost(result, run_dir)}
    assert "rerun the system with --rerun NAME" in failed and "--retry-failed" not in failed
    twice = RUN_FILE + '[systems.again]\nueg = { graph = "buggy.py:build" }\n'
    twice += 'roles = { generator = "symbolic/painter" }\n'
    (tmp_path / "run.toml").write_text(twice)
    args = ["run", str(tmp_path / "run.toml"), "--out", str(run_dir), "--quiet"]
    assert cli.invoke(app, args).exit_code == 1  # `again` runs, with the same bug
    (tmp_path / "buggy.py").write_text(HEAD + BUILD.replace("{last}", "draw"))  # the fix
    refused = cli.invoke(app, args)
    assert refused.exit_code == 2, refused.output
    assert "systems 'mine', 'again': differ from the ones already run" in refused.output
    assert "--rerun mine,again " in refused.output
    fixed = cli.invoke(app, [*args, "--rerun", "mine,again"])
    assert fixed.exit_code == 0, fixed.output
    results = stored(run_dir)
    assert {r.status for s in ("mine", "again", "builtin") for r in results[s]} == {"ok"}


def test_a_model_call_that_fails_inside_a_graph_names_the_node(tmp_path: Path) -> None:
    """The failure of a call (after its retries) is stored with the graph and the node that
    made it, as a node's own bug is (it was stored with no failure: only `composer trace`
    showed the node)."""
    (tmp_path / "run.toml").write_text(
        RUN_HEAD
        + textwrap.dedent(
            """
            [systems.comp]
            ueg = "decompose-then-generate"
            roles = { reasoner = "mock/reasoner", generator = "symbolic/painter" }
            [models."mock/reasoner"]
            fail = "Rewrite"
            max_attempts = 1
            """
        )
    )
    run_dir = tmp_path / "run"
    result = cli.invoke(app, ["run", str(tmp_path / "run.toml"), "--out", str(run_dir)])
    assert result.exit_code == 1, result.output
    # Sent, unanswered: said beside the answered ones (it read "0 calls sent" alone).
    assert "0 calls sent (2 more requests got no answer)" in result.output
    for r in stored(run_dir)["comp"]:
        assert r.status == "failed" and r.failure is not None
        assert (r.failure.graph, r.failure.node) == ("decompose-then-generate", "rewrite")
        assert r.failure.error == r.error and "mock/reasoner" in r.error


def test_an_unstorable_return_is_located_at_its_nodes_function(tmp_path: Path) -> None:
    result, run_dir = run_bug(tmp_path, "pil")
    line = (
        (HEAD + BUGS["pil"])
        .splitlines()
        .index("async def draw_pixels(state: State, runtime: cg.Runtime[Roles]) -> dict:")
    )
    for r in check_one_instance_lost(result, run_dir):
        assert r.failure is not None and r.failure.location == f"buggy.py:{line + 1}"


def test_markdown_lists_failed_outputs_and_csv_says_what_read_them(tmp_path: Path) -> None:
    """Every text format says what the terminal table says: the failed outputs (Markdown)
    and the parser and judge the numbers were read with (CSV)."""
    result, run_dir = run_bug(tmp_path, "raise")
    check_one_instance_lost(result, run_dir)
    markdown = cli.invoke(app, ["report", str(run_dir), "--format", "markdown"]).stdout
    assert "### Failed outputs (2)" in markdown
    assert "- mine / UEG-0 (seed 0): graph 'buggy.py:build', node 'draw' at buggy.py:" in markdown
    for parser in ("official", "strict"):
        csv_text = cli.invoke(
            app, ["report", str(run_dir), "--format", "csv", "--parser", parser]
        ).stdout
        rows = list(csv.reader(io.StringIO(csv_text)))
        assert rows[0][:1] == ["system"] and rows[0][-2:] == ["parser", "UEG judge"]
        assert rows[1][-2:] == [parser, "symbolic/reasoner"]


def test_what_a_node_prints_goes_to_standard_error_not_into_the_table(tmp_path: Path) -> None:
    """`composer run RUN > table.txt` keeps the table alone; a node's debugging print is still
    shown, on standard error."""
    printing = HEAD.replace(
        'return {"notes": ["fine"]}', 'print("NOTE-FROM-NODE"); return {"notes": ["fine"]}'
    )
    assert printing != HEAD
    (tmp_path / "buggy.py").write_text(printing + BUILD.replace("{last}", "draw"))
    (tmp_path / "run.toml").write_text(RUN_FILE)
    command = ["run", str(tmp_path / "run.toml"), "--out", str(tmp_path / "run")]
    for quiet in ([], ["--quiet"]):
        done = subprocess.run(
            [sys.executable, "-m", "composer", *command, *quiet], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        if not quiet:  # the first run ran the node twice; the second finds it all done
            assert done.stderr.count("NOTE-FROM-NODE") == 2
        assert "NOTE-FROM-NODE" not in done.stdout
        assert "builtin" in done.stdout and "mine" in done.stdout
