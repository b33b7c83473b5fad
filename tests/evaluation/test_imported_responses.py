"""An imported GEU `response` is read the way the released scorer reads it."""

import json
from pathlib import Path

from realunify_fixture import write_realunify

from composer.benchmarks.realunify import load_folder
from composer.core.images import ImageStore
from composer.evaluation.imported import read_imported


def test_a_listed_response_is_read_from_its_first_item(tmp_path: Path) -> None:
    data = write_realunify(tmp_path / "RealUnify")
    images = ImageStore(tmp_path / "images")
    instances = load_folder(data, images)
    records = json.loads((data / "GEU_direct.json").read_text())
    # cal_multiple_choice_acc in eval/eval_understanding.py: a list response becomes its [0].
    records[0]["response"] = ["The answer is B", "D"]
    records[1]["response"] = "C"
    records[2]["response"] = []  # the release fails on [0] here: composer marks it failed
    records[3]["response"] = [3]
    results = tmp_path / "bagel"
    results.mkdir()
    (results / "GEU_direct.json").write_text(json.dumps(records))
    imported = read_imported(results, "direct", images, instances)
    assert imported.outputs["GEU-0"] == {"response": "The answer is B"}
    assert imported.outputs["GEU-1"] == {"response": "C"}
    assert "GEU-2" in imported.missing and "GEU-3" in imported.missing


def test_a_step_records_edit_image_is_shown_never_required(tmp_path: Path) -> None:
    """eval_understanding.py reads a GEU record's response alone: an edit_image that is
    missing, broken or an author's absolute path is noted and not read; the answer is scored
    (it failed the instance, or refused the whole import)."""
    data = write_realunify(tmp_path / "RealUnify")
    images = ImageStore(tmp_path / "images")
    instances = load_folder(data, images)
    records = json.loads((data / "GEU_direct.json").read_text())
    results = tmp_path / "bagel"
    (results / "img").mkdir(parents=True)
    (results / "img" / "broken.png").write_bytes(b"not a png")
    paths = ["img/missing.png", "img/broken.png", "/home/authors/out/x.png"]
    for i, record in enumerate(records):
        record["response"] = "A"
        if i < len(paths):
            record["edit_image"] = paths[i]
    (results / "GEU_step.json").write_text(json.dumps(records))
    imported = read_imported(results, "step", images, instances)
    assert not imported.missing
    notes = [imported.outputs[f"GEU-{i}"]["edit_image_note"] for i in range(3)]
    assert "missing file" in notes[0] and "not a usable image" in notes[1]
    assert "escapes the import folder" in notes[2]
    assert all(imported.outputs[f"GEU-{i}"]["response"] == "A" for i in range(3))
