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
