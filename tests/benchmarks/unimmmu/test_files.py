"""Reading the data folder as the sample scripts and the scorer read it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from unimmmu_data import MAZE_MOVES, SLIDING_MOVES, write_data

from composer.benchmarks.unimmmu import prompts as P
from composer.benchmarks.unimmmu.files import load_folder, locate_data, task_names
from composer.benchmarks.unimmmu.records import ImagePart, Task, TextPart
from composer.core.errors import DataError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_data(tmp_path / "ummmu")


def texts(parts: tuple[TextPart | ImagePart, ...]) -> list[str]:
    return [p.text if isinstance(p, TextPart) else f"<{p.path.name}>" for p in parts]


def test_maze_context_calls_and_references(root: Path) -> None:
    """maze.py: demo problem image + label, two demo steps + labels, demo moves (json.dumps),
    the prompt, the step-0 image; k = len(steps_long) text/image pairs, then the final text.
    The demo 00015 is excluded; the GT moves are lower-cased (load_gt_moves_and_k)."""
    (item,) = load_folder(root, tasks=["maze"])[Task.MAZE]
    assert item.id == "case_00001"
    assert texts(item.context) == [
        "<maze_step_0000.png>",
        "DEMONSTRATION: Example problem image above.",
        "<maze_step_0001.png>",
        "DEMONSTRATION: example step image #1.",
        "<maze_step_0002.png>",
        "DEMONSTRATION: example step image #2.",
        'DEMONSTRATION: final moves\n<ANSWER_JSON>["right", "right"]</ANSWER_JSON>',
        P.MAZE_PROMPT,
        "<maze_step_0000.png>",
    ]
    assert item.references.moves == tuple(m.lower() for m in MAZE_MOVES)  # type: ignore[union-attr]
    assert item.expected.images == 6 and item.expected.k_given
    assert [c.output for c in item.calls] == ["text", "image"] * 6 + ["text"]
    assert item.calls[0].suffix == (
        "Now planing for step 1, Please output a sentence in the form: "
        '"Next, move one step up/down/left/right.'
    )
    assert item.calls[1].saved_as == "cand_01/maze_step_0000_step_0001.png"
    assert item.calls[-1].saved_as == "model_text.txt" and not item.calls[-1].feed_back
    assert item.result_fields == {"step0": "data/maze/maze_6x6_00001_steps/maze_step_0000.png"}
    assert len(item.references.frames) == 6  # type: ignore[union-attr]


def test_sliding_context_and_ground_truth(root: Path) -> None:
    """sliding.py: the demonstration block, the prompt, the NEW TASK lines, the initial image
    and "Final state is exactly the same as example"; GT as _derive_gt_files finds it."""
    (item,) = load_folder(root, tasks=["sliding"])[Task.SLIDING]
    shown = texts(item.context)
    assert shown[0] == "--- DEMONSTRATION START ---"
    assert '<ANSWER_JSON>["down", "right", "x"]</ANSWER_JSON>' in shown
    assert shown[-4:] == [
        P.SLIDING_NEW_TASK,
        "NEW TASK: Initial state.",
        "<puzzle_step_0000.png>",
        "NEW TASK: Final state is exactly the same as example",
    ]
    refs = item.references
    assert refs.moves == tuple(SLIDING_MOVES)  # type: ignore[union-attr]
    assert [p.name for p in refs.frames] == ["puzzle_step_0001.png", "puzzle_step_0002.png"]  # type: ignore[union-attr]
    assert item.expected.images == 2


def test_geometry_prompt_and_references(root: Path) -> None:
    """math_geo.py: safe_substitute with problem, choices joined by newline, aux stripped;
    id sanitize(big)__sanitize(small); type starting "calc" -> CALCULATION."""
    (item,) = load_folder(root, tasks=["math"])[Task.GEOMETRY]
    assert item.id == "G_1__3"
    prompt = item.context[0].text  # type: ignore[union-attr]
    assert "PROBLEM:\nFind x.\n\nCHOICES (if any):\nA. 1\nB. 2\n\n" in prompt
    assert prompt.endswith("draw these first):\nConnect AC.\n")
    assert item.references.judge_type == "CALCULATION"  # type: ignore[union-attr]
    assert item.calls[0].label == "OVERLAY RESULT (reference for reasoning):"


def test_jigsaw_pairs_and_ids(root: Path) -> None:
    """jigsaw.py: folder sanitize(id); GT pair (completed, wrong) if label 0 else swapped."""
    items = load_folder(root, tasks=["jigsaw"])[Task.JIGSAW]
    assert [i.id for i in items] == ["jig_0", "jig_1"]
    assert [p.name for p in items[1].references.pair] == ["bad.png", "ok.png"]  # type: ignore[union-attr]
    assert items[0].result_fields == {"id": "jig 0"}
    assert texts(items[0].context)[1:] == [
        "REFERENCE_2x2:",
        "<ref.png>",
        "CANDIDATE_0:",
        "<c0.png>",
        "CANDIDATE_1:",
        "<c1.png>",
    ]


def test_science_and_code(root: Path) -> None:
    """science.py: case_{idx:02d} over the flattened blocks, condition stripped;
    code_rendering.py: case_{idx:02d}_{id}, the SVG text after the prompt."""
    tasks = load_folder(root, tasks=["science", "code"])
    science = tasks[Task.SCIENCE]
    assert [i.id for i in science] == ["case_01", "case_02"]
    assert texts(science[0].context)[-1] == "Condition: Heat the ice."
    (code,) = tasks[Task.CODE]
    assert code.id == "case_01_s7"
    assert code.context[1].text.startswith("<svg")  # type: ignore[union-attr]
    assert code.result_fields == {"svg": "a.svg", "png": "a.png"}


def test_a_bad_record_names_file_record_and_field(root: Path) -> None:
    meta = root / "data" / "jigsaw_dataset_2x2ref" / "metadata.json"
    data = json.loads(meta.read_text())
    data["items"][1]["label"] = "1"
    meta.write_text(json.dumps(data))
    with pytest.raises(DataError, match=r"metadata.json item 'jig 1'.*field 'label'"):
        load_folder(root, tasks=["jigsaw"])


def test_a_missing_image_says_where_it_looked(root: Path) -> None:
    (root / "data" / "math_data" / "img" / "aux.png").unlink()
    with pytest.raises(DataError, match=r"field 'auxiliary_image' names a missing file"):
        load_folder(root, tasks=["geometry"])


def test_paths_may_not_leave_the_release_folder(root: Path) -> None:
    meta = root / "data" / "svg" / "metadata.json"
    meta.write_text(json.dumps({"samples": [{"id": "x", "svg": "../../../etc/passwd"}]}))
    with pytest.raises(DataError, match="escapes"):
        load_folder(root, tasks=["code"])


def test_task_selection() -> None:
    assert task_names(None) == list(Task)
    assert task_names(["svg", "Maze"]) == [Task.CODE, Task.MAZE]
    with pytest.raises(DataError, match="unknown Uni-MMMU task 'chess'"):
        task_names(["chess"])


def test_the_data_folder_itself_is_accepted(root: Path) -> None:
    assert load_folder(root / "data", tasks=["code"])[Task.CODE][0].id == "case_01_s7"


def test_no_cached_copy_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataError, match=r"git clone https://huggingface.co/datasets/Vchitect"):
        locate_data()


def test_maze_truth_must_be_steps_long(root: Path) -> None:
    """The scorer reads `steps_long` only (the sampler's `steps` fallback would score 0)."""
    (root / "data" / "maze" / "maze_6x6_steps_00001.json").write_text('{"steps": ["down"]}')
    with pytest.raises(DataError, match="field 'steps_long'"):
        load_folder(root, tasks=["maze"])
