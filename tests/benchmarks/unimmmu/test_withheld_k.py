"""k withheld (issue 23, section 2): the system ends the maze and sliding loops itself.

The release tells the system k through its loop, one step call per ground-truth move. With
`[benchmark] withhold_k = true` an instance lists up to `max_steps` steps whose text calls also
ask for `<GOAL_REACHED>`, and the interleaved graph goes to the final call at the first reply
holding it; the frames and the move list are then scored by the release's scorers.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from test_unimmmu_report import report_of
from typer.testing import CliRunner
from unimmmu_data import write_data

from composer.benchmarks.unimmmu import prompts as P
from composer.benchmarks.unimmmu.files import load_folder
from composer.benchmarks.unimmmu.folder_scoring import score_maze, score_sliding
from composer.benchmarks.unimmmu.instances import to_instance
from composer.benchmarks.unimmmu.puzzles import DEFAULT_MAX_STEPS, step_calls
from composer.benchmarks.unimmmu.records import MazeReferences, SlidingReferences, Task
from composer.cli import app
from composer.core.images import ImageStore
from composer.core.instance import STOP
from composer.synthetic.suite.unimmmu import write_unimmmu_suite

cli = CliRunner()
CAP = 10
PAINTER = "symbolic/painter"
RUN_FILE = f"""
[benchmark]
name = "uni-mmmu-synthetic"
n_per_category = 2
withhold_k = true
max_steps = {CAP}

[systems.naive]
geu = "interleaved"
roles = {{ model = "symbolic/naive-unified" }}

[systems.composed]
geu = "interleaved"
roles = {{ reasoner = "symbolic/reasoner", editor = "{PAINTER}", generator = "{PAINTER}" }}

[systems.text]
geu = "text-only"
roles = {{ reasoner = "symbolic/reasoner" }}
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("withheld-k")
    (folder / "run.toml").write_text(RUN_FILE)
    out = folder / "run"
    result = cli.invoke(app, ["run", str(folder / "run.toml"), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out


def _rows(run_dir: Path, query: str) -> list[Any]:
    with sqlite3.connect(run_dir / "run.db") as db:
        return db.execute(query).fetchall()


def outputs(run_dir: Path) -> dict[tuple[str, str], dict[str, Any]]:
    rows = _rows(run_dir, "SELECT system, instance, status, output FROM results")
    assert {status for *_, status, _ in rows} == {"ok"}
    return {(s, i): json.loads(o) for s, i, _, o in rows}


def channels(run_dir: Path) -> dict[tuple[str, str], dict[str, float | None]]:
    found = {}
    for system, instance, scorer, stored in _rows(
        run_dir, "SELECT system, instance, judge, channels FROM scores"
    ):
        if scorer.startswith("uni-mmmu-programmatic"):
            found[system, instance] = {k: v["official"] for k, v in json.loads(stored).items()}
    return found


def ground_truth(run_dir: Path) -> dict[str, tuple[str, ...]]:
    """The ground-truth moves per maze and sliding instance (the scorers' references)."""
    items = load_folder(run_dir / "unimmmu-suite" / "data", tasks=("maze", "sliding"))
    return {
        f"{item.task.value}-{item.id}": item.references.moves  # type: ignore[union-attr]
        for found in items.values()
        for item in found
    }


def test_nothing_a_system_is_shown_depends_on_k(tmp_path: Path) -> None:
    data = write_unimmmu_suite(tmp_path / "suite", per_task=1, seed=4)
    images = ImageStore(tmp_path / "images")
    for task in (Task.MAZE, Task.SLIDING):
        (item,) = load_folder(data, tasks=(task.value,))[task]
        refs = item.references
        assert isinstance(refs, MazeReferences | SlidingReferences)
        # The same item with one more ground-truth move: another k, as the loader makes it.
        k = len(refs.moves) + 1
        stem = refs.step0.stem if isinstance(refs, MazeReferences) else refs.initial.stem
        other = item.model_copy(
            update={
                "references": refs.model_copy(update={"moves": (*refs.moves, "up")}),
                "expected": item.expected.model_copy(update={"images": k}),
                "calls": step_calls(k, item.calls[-1].suffix, stem),
            }
        )
        withheld = [to_instance(i, images, withhold_k=True) for i in (item, other)]
        told = [to_instance(i, images) for i in (item, other)]
        seen = [i.shown().model_dump_json() for i in withheld]
        assert seen[0] == seen[1]
        told_seen = [i.shown().model_dump_json() for i in told]
        assert told_seen[0] != told_seen[1]  # the release's loop: one step call per move
        shown = withheld[0].shown()
        assert shown.output.images_told is False and shown.output.images == 0
        assert shown.request(STOP) == P.STOP_MARKER
        # DEFAULT_MAX_STEPS steps (a text and an image call each), then the release's final call.
        assert len(shown.calls) == 2 * DEFAULT_MAX_STEPS + 1
        for i in range(1, DEFAULT_MAX_STEPS + 1):
            text, image = shown.calls[2 * i - 2], shown.calls[2 * i - 1]
            assert text.suffix == f"{P.step_text_suffix(i)}\n{P.STOP_INSTRUCTIONS[task.value]}"
            assert image.suffix == P.step_image_suffix(i) and image.kept
        assert shown.calls[-1].suffix == item.calls[-1].suffix and shown.calls[-1].kept
        assert [p.text for p in shown.context if p.kind == "text"] == [
            p.text  # type: ignore[union-attr]
            for p in item.context
            if p.kind == "text"
        ]


def test_the_told_protocol_is_the_release_loop_unchanged(tmp_path: Path) -> None:
    data = write_unimmmu_suite(tmp_path / "suite", per_task=1, seed=4)
    images = ImageStore(tmp_path / "images")
    for task, items in load_folder(data, tasks=("maze", "sliding", "jigsaw")).items():
        for item in items:
            told = to_instance(item, images)
            assert told == to_instance(item, images, withhold_k=False, max_steps=3)
            assert told.request(STOP) is None and told.output.images_told
            assert [c.suffix for c in told.calls] == [c.suffix for c in item.calls]
            assert told.output.images == item.expected.images
            if task is Task.JIGSAW:  # the release tells no k here: withholding changes nothing
                assert to_instance(item, images, withhold_k=True) == told


def test_the_model_decides_how_many_steps_and_the_release_scorers_score_them(
    run_dir: Path,
) -> None:
    found, scores, truth = outputs(run_dir), channels(run_dir), ground_truth(run_dir)
    assert len(truth) == 4 and all(len(moves) < CAP for moves in truth.values())
    for instance, moves in truth.items():
        k = len(moves)
        # The solver stops once the board it tracks is solved: k moves, k frames, then its
        # stop reply and the final answer; text-only takes the same steps without drawing.
        composed, text = found["composed", instance], found["text", instance]
        assert len(composed["drawn"]) == k and len(composed["replies"]) == k + 2
        assert composed["replies"][k] == P.STOP_MARKER
        assert len(text["replies"]) == k + 2 and not text["drawn"]
        assert json.loads(composed["response"].split(">", 1)[1].split("<")[0]) == list(moves)
        assert set(scores["composed", instance].values()) == {1.0}, instance
        assert scores["text", instance]["text_exact"] == 1.0
        assert scores["text", instance]["img_frame_acc"] == 0.0
        naive = found["naive", instance]
        assert scores["naive", instance]["img_exact"] == 0.0
        if instance.startswith("maze"):
            # It stops when its straight route through the walls is used up, at the wrong time.
            assert naive["replies"][-2] == P.STOP_MARKER and len(naive["drawn"]) < CAP
            assert len(naive["drawn"]) != k or naive["response"] != composed["response"]


def test_the_cap_ends_a_loop_the_model_never_ends(run_dir: Path) -> None:
    found, scores, truth = outputs(run_dir), channels(run_dir), ground_truth(run_dir)
    sliding = [i for i in truth if i.startswith("sliding")]
    for instance in sliding:
        # The naive model never looks at the final state, so it never stops: CAP steps, then
        # the final call, whose answer lists its CAP moves.
        naive = found["naive", instance]
        assert len(naive["drawn"]) == CAP and len(naive["replies"]) == CAP + 1
        assert P.STOP_MARKER not in " ".join(naive["replies"])
        assert len(json.loads(naive["response"].split(">", 1)[1].split("<")[0])) == CAP
        # Scored over the ground truth's length, as the release scores any count.
        assert scores["naive", instance]["text_exact"] == 0.0


def test_the_report_and_the_stored_decisions_say_k_was_withheld(run_dir: Path) -> None:
    board = report_of(run_dir)["unimmmu"]
    assert board["k"]["withheld"] == 4 and board["k"]["told"] == 0
    assert board["k"]["max_steps"] == CAP
    # The naive model never ends a sliding loop (2 of its 4 loops met the cap); the solver and
    # the text-only solver end every one.
    assert board["k"]["loops"] == {
        "naive": {"ended": 2, "capped": 2},
        "composed": {"ended": 4, "capped": 0},
        "text": {"ended": 4, "capped": 0},
    }
    assert (
        "met the cap (never ended by the system): naive 2 of 4, composed 0 of 4"
        in (board["k"]["text"])
    )
    assert (
        "withheld on all 4" in board["k"]["text"] and f"at most {CAP} steps" in board["k"]["text"]
    )
    ((stored,),) = _rows(run_dir, "SELECT value FROM meta WHERE key = 'decisions'")
    decisions = json.loads(stored)
    assert decisions["k_told"] is False
    assert decisions["benchmark"]["withhold_k"] is True
    assert decisions["benchmark"]["max_steps"] == CAP


def test_the_release_walk_of_the_exported_folder_agrees_with_the_run(
    run_dir: Path, tmp_path: Path
) -> None:
    """Frames of any count in `cand_01/` (CAP of them, fewer than k, none), scored as the
    release's MazeEvaluator and SlidingPuzzleEvaluator walk them, give the run's numbers."""
    root = tmp_path / "release"
    shutil.copytree(run_dir / "unimmmu-suite" / "data", root / "data")
    result = cli.invoke(
        app, ["export", str(run_dir), "--format", "uni-mmmu", "--output", str(root)]
    )
    assert result.exit_code == 0, result.output
    frames = root / "outputs" / "naive" / "sliding" / "case_sliding_3x3_00000" / "cand_01"
    assert len(list(frames.iterdir())) == CAP
    report = report_of(run_dir)
    for system in ("naive", "composed", "text"):
        tasks = report["systems"][system]
        for reading, other in (("official", "tasks"), ("strict", "tasks_strict")):
            assert getattr(score_maze(root, system), reading) == tasks[other]["maze"]
            assert getattr(score_sliding(root, system), reading) == tasks[other]["sliding"]


def run_release(tmp_path: Path, benchmark: list[str], *models: str) -> tuple[Any, Path]:
    root = write_data(tmp_path / "release")
    lines = ["[benchmark]", 'name = "uni-mmmu"', f'path = "{root}"', *benchmark]
    lines += ["[systems.unified]", 'geu = "interleaved"', 'roles = { model = "mock/m" }', *models]
    (tmp_path / "run.toml").write_text("\n".join(lines))
    out = tmp_path / "run"
    result = cli.invoke(app, ["run", str(tmp_path / "run.toml"), "--out", str(out), "--quiet"])
    return result, out


def test_a_stop_in_any_case_ends_the_loop_and_a_model_that_never_stops_meets_the_cap(
    tmp_path: Path,
) -> None:
    final = re.escape(P.MAZE_FINAL_SUFFIX) + "$"
    mock = [
        '[models."mock/m"]',
        "rules = [",
        f"  {{ match = {json.dumps(final)}, reply = '<ANSWER_JSON>[\"right\"]</ANSWER_JSON>' }},",
        "  { match = 'planing for step 3,', reply = 'Done: <goal_reached>' },",
        "]",
        'default = "Next, move one step right."',
    ]
    result, out = run_release(tmp_path / "a", ["tasks = ['maze']", "withhold_k = true"], *mock)
    assert result.exit_code == 0, result.output
    ((output,),) = [list(outputs(out).values())]
    assert len(output["drawn"]) == 2 and output["replies"][2] == "Done: <goal_reached>"
    assert output["response"] == '<ANSWER_JSON>["right"]</ANSWER_JSON>'
    # Without a stop, at most max_steps steps.
    mock = [line.replace("step 3,", "step 99,") for line in mock]
    result, out = run_release(
        tmp_path / "b", ["tasks = ['maze']", "withhold_k = true", "max_steps = 4"], *mock
    )
    assert result.exit_code == 0, result.output
    ((output,),) = [list(outputs(out).values())]
    assert len(output["drawn"]) == 4 and len(output["replies"]) == 5


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("max_steps = 0", "max_steps: Input should be greater than or equal to 1 (got 0)"),
        ("max_steps = 5000", "max_steps: Input should be less than or equal to 1000 (got 5000)"),
        ('max_steps = "12"', "max_steps: Input should be a valid integer (got '12')"),
        ("max_steps = 12.0", "max_steps: Input should be a valid integer"),
        ('withhold_k = "yes"', "withhold_k: Input should be a valid boolean"),
    ],
)
def test_bad_settings_stop_the_run_before_it_starts(
    tmp_path: Path, setting: str, message: str
) -> None:
    withhold = [] if setting.startswith("withhold_k") else ["withhold_k = true"]
    result, out = run_release(tmp_path, ["tasks = ['maze']", *withhold, setting])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("told", [[], ["withhold_k = false"]])
def test_a_cap_without_withholding_k_is_refused(tmp_path: Path, told: list[str]) -> None:
    result, out = run_release(tmp_path, ["tasks = ['maze']", *told, "max_steps = 12"])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "sets max_steps = 12, which caps the step loop only when k is withheld" in text
    assert "set withhold_k = true, or remove max_steps" in text
    assert not out.exists()
