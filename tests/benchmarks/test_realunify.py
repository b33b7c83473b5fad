import json
from pathlib import Path

import pytest
from mockbench import write_fixture

from composer.benchmarks.realunify import load_folder
from composer.benchmarks.realunify.categories import normalize_category
from composer.core.errors import DataError
from composer.core.images import ImageStore
from composer.core.instance import EDIT, STEP, Axis


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_fixture(tmp_path / "data")


def load(data: Path, tmp_path: Path, **kwargs: object):  # type: ignore[no-untyped-def]
    return load_folder(data, ImageStore(tmp_path / "images"), **kwargs)  # type: ignore[arg-type]


def test_direct_and_step_records_merge_by_index(data: Path, tmp_path: Path) -> None:
    step = [
        {**r, "new_prompt": f"refine: {r['prompt']}"}
        for r in json.loads((data / "UEG_direct.json").read_text())
    ]
    step.reverse()  # order must not matter, the index does
    for r in step:
        del r["prompt"]
    (data / "UEG_step.json").write_text(json.dumps(step))
    instances = load(data, tmp_path)
    assert len(instances) == 40
    first = instances[0]
    assert first.id == "UEG-0" and first.axis is Axis.UEG and first.category == "world_knowledge"
    assert first.request(STEP) == f"refine: {first.text}"
    assert [c.answer for c in first.references.checks] == ["yes", "no"]
    geu = next(i for i in instances if i.id == "GEU-5")
    assert (
        geu.subtask == "sub1"
        and geu.references.answer == "B"
        and geu.field("options") == ["one", "two", "three", "four"]
    )
    assert geu.request(EDIT) == "edit for mental_tracking 1"
    assert len(geu.images) == 1


def test_categories_by_alias_and_limit_per_category(data: Path, tmp_path: Path) -> None:
    instances = load(data, tmp_path, categories=["WK", "C2T", "Mental Tracking"], limit=2)
    assert [(i.category, i.id) for i in instances] == [
        ("world_knowledge", "UEG-0"),
        ("world_knowledge", "UEG-1"),
        ("code_to_image", "UEG-20"),
        ("code_to_image", "UEG-21"),
        ("mental_tracking", "GEU-4"),
        ("mental_tracking", "GEU-5"),
    ]
    with pytest.raises(DataError, match="unknown category 'astrology'"):
        load(data, tmp_path, categories=["astrology"])


@pytest.mark.parametrize(
    ("file", "index", "field", "value", "message"),
    [
        ("UEG_direct.json", 3, "task_type", "painting", "field 'task_type' is not a UEG category"),
        ("UEG_direct.json", 4, "prompt", "", "field 'prompt' must be a non-empty string"),
        (
            "UEG_direct.json",
            2,
            "question_list",
            [],
            "field 'question_list' must be a non-empty list",
        ),
        ("GEU_direct.json", 1, "answer", "E", "field 'answer' must be one of the option letters"),
        ("GEU_direct.json", 6, "option", "A,B", "field 'option' must be a list"),
        (
            "GEU_direct.json",
            0,
            "input_image",
            "image/none.png",
            "field 'input_image' names a missing image",
        ),
    ],
)
def test_a_bad_record_names_file_index_and_field(
    data: Path, tmp_path: Path, file: str, index: int, field: str, value: object, message: str
) -> None:
    records = json.loads((data / file).read_text())
    records[index][field] = value
    (data / file).write_text(json.dumps(records))
    with pytest.raises(DataError) as info:
        load(data, tmp_path)
    assert str(info.value).startswith(f"{file} index {index}: {message}")


def test_not_json_and_not_a_folder(data: Path, tmp_path: Path) -> None:
    (data / "GEU_direct.json").write_text("{oops")
    with pytest.raises(DataError, match="GEU_direct.json: is not valid JSON"):
        load(data, tmp_path)
    with pytest.raises(DataError, match="is not a folder"):
        load(tmp_path / "nowhere", tmp_path)


def test_category_names_normalise() -> None:
    assert normalize_category("MR-I") == "mathematical_reasoning"
    assert normalize_category("MR-II") == "mental_reconstruction"
    assert normalize_category("commonsense") == "commonsense_reasoning"
    assert normalize_category("AF") == "attentional_focusing"
    assert normalize_category("cooking") is None
