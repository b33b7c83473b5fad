import json
from pathlib import Path

import pytest
from PIL import Image

from composer.benchmarks.jsonl import load_jsonl
from composer.benchmarks.loaders import REALUNIFY_REPO, download_realunify
from composer.core.errors import DataError, PrerequisiteError
from composer.core.images import ImageStore
from composer.core.instance import Axis


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


UEG_ROW = {
    "id": "wise-1",
    "axis": "UEG",
    "category": "culture",
    "prompt": "the flower of the Netherlands in spring",
    "checks": [{"question": "Is there a tulip?", "answer": "yes"}],
}


def geu_row(tmp_path: Path) -> dict:
    (tmp_path / "images").mkdir(exist_ok=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "images" / "7.png")
    return {
        "id": "mmmu-7",
        "axis": "GEU",
        "category": "geometry",
        "subtask": "angles",
        "image": "images/7.png",
        "question": "Which angle?",
        "options": ["30", "45", "60", "90"],
        "answer": "B",
        "meta": {"source_split": "val"},
    }


def test_jsonl_instances_load_with_their_fields(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "suite.jsonl",
        [
            UEG_ROW,
            geu_row(tmp_path),
            {
                "id": "x",
                "axis": "UEG",
                "category": "WK",
                "prompt": "p",
                "checks": [{"question": "q?", "answer": "no"}],
            },
        ],
    )
    instances = load_jsonl(path, ImageStore(tmp_path / "store"))
    assert [i.id for i in instances] == ["wise-1", "mmmu-7", "x"]
    assert instances[0].axis is Axis.UEG and instances[0].references.checks[0].answer == "yes"
    assert instances[1].images and instances[1].subtask == "angles"
    assert instances[1].meta == {"source_split": "val", "input_image": "images/7.png"}
    assert instances[2].category == "world_knowledge"  # RealUnify names are normalised
    assert [
        i.id for i in load_jsonl(path, ImageStore(tmp_path / "s2"), categories=["geometry"])
    ] == ["mmmu-7"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"axis": "BOTH"}, "field 'axis' must be UEG or GEU"),
        ({"checks": None}, "field 'checks' is required for a UEG instance"),
        ({"promt": "typo"}, "field 'promt' is not an instance field"),
        ({"checks": [{"question": "q?", "answer": "perhaps"}]}, " field checks[0].answer: "),
        ({"id": ""}, "field 'id' must be a non-empty string"),
    ],
)
def test_bad_jsonl_lines_name_line_and_field(tmp_path: Path, change: dict, message: str) -> None:
    path = write_jsonl(tmp_path / "suite.jsonl", [UEG_ROW, {**UEG_ROW, "id": "two", **change}])
    with pytest.raises(DataError) as info:
        load_jsonl(path, ImageStore(tmp_path / "store"))
    assert str(info.value).startswith("suite.jsonl line 2") and message in str(info.value)


def test_bad_jsonl_images_and_duplicates(tmp_path: Path) -> None:
    row = geu_row(tmp_path)
    for change, message in [
        ({"image": "../x.png"}, "escapes the file's folder"),
        ({"image": "images/none.png"}, "names a missing image"),
        ({"answer": "E"}, "must be one of the option letters"),
    ]:
        path = write_jsonl(tmp_path / "s.jsonl", [{**row, **change}])
        with pytest.raises(DataError, match=message):
            load_jsonl(path, ImageStore(tmp_path / "store"))
    path = write_jsonl(tmp_path / "s.jsonl", [UEG_ROW, UEG_ROW])
    with pytest.raises(DataError, match="line 2: field 'id' repeats"):
        load_jsonl(path, ImageStore(tmp_path / "store"))
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    with pytest.raises(DataError, match="bad.jsonl line 1: is not valid JSON"):
        load_jsonl(tmp_path / "bad.jsonl", ImageStore(tmp_path / "store"))


def test_realunify_offline_and_not_cached_says_how_to_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(PrerequisiteError) as info:
        download_realunify()
    text = str(info.value)
    assert (
        "huggingface-cli download DogNeverSleep/RealUnify" in text
        and 'path = "data/realunify"' in text
    )


def test_realunify_from_the_hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants as constants
    from realunify_fixture import write_realunify

    hub = tmp_path / "hub"
    repo = hub / f"datasets--{REALUNIFY_REPO.replace('/', '--')}"
    commit = "0" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    write_realunify(repo / "snapshots" / commit / "data")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert download_realunify() == repo / "snapshots" / commit / "data"
