"""The release's output layout: read another harness's outputs, write any system's.

The sample scripts write, under `<root>/outputs/<model>/<task folder>/` (`records.OUTPUT_FOLDERS`),
one folder per case holding `model_text.txt`, `model_image_NN.png` (maze and sliding: the step
frames in `cand_01/`), `result.json` and the resume marker `_done.ok`, plus the task's
`summary.json` (`per_item`). The scorer runs from `<root>`, the folder that also holds `data/`,
and opens the paths inside `result.json` relative to it (an absolute path stays as it is);
`resolve` does the same.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from composer.benchmarks.unimmmu.records import OUTPUT_FOLDERS, Item, Task
from composer.benchmarks.unimmmu.scoring import CANDIDATE_SEPARATOR
from composer.core.errors import DataError

TEXT_FILE = "model_text.txt"
RESULT_FILE = "result.json"
DONE_FILE = "_done.ok"
SUMMARY_FILE = "summary.json"
_CASE_GLOB = {
    Task.CODE: "case_*_*",
    Task.MAZE: "case_*",
    Task.SLIDING: "case_*",
    Task.SCIENCE: "case_*",
}


def read_json(path: Path) -> Any:
    """A JSON file as the release reads it: {} when missing or malformed (`read_json`)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, IsADirectoryError, json.JSONDecodeError, UnicodeDecodeError):
        return {}


def resolve(root: Path, recorded: str) -> Path:
    """A path from a result file, as the release opens it: relative to its root folder."""
    return root / recorded


def task_dir(root: Path, model: str, task: Task) -> Path:
    """`<root>/outputs/<model>/<task folder>`."""
    return root / "outputs" / model / OUTPUT_FOLDERS[task]


@dataclass(frozen=True)
class CaseOutput:
    """One case folder of the release's layout, read.

    Attributes:
        case: The folder name (the release's case id).
        folder: The folder itself.
        text: `model_text.txt` (None when absent).
        images: The `model_image_*.*` files, sorted as the scorer sorts them.
        candidates: Maze and sliding: the files of each `cand_*` folder, folders and files
            sorted (one tuple per candidate).
        result: `result.json` ({} when absent or malformed).
        done: Whether `_done.ok` is there.
    """

    case: str
    folder: Path
    text: str | None
    images: tuple[Path, ...]
    candidates: tuple[tuple[Path, ...], ...]
    result: Mapping[str, Any] = field(default_factory=dict)
    done: bool = False

    @property
    def texts(self) -> list[str]:
        """The candidates' texts: `model_text.txt` split on the release's separator."""
        return [] if self.text is None else self.text.split(CANDIDATE_SEPARATOR)


def read_case(folder: Path) -> CaseOutput:
    """Read one case folder (any task) without judging what is missing."""
    text_path = folder / TEXT_FILE
    text = text_path.read_text(encoding="utf-8") if text_path.is_file() else None
    candidates = tuple(
        tuple(sorted(p for p in cand.glob("*.*"))) for cand in sorted(folder.glob("cand_*"))
    )
    return CaseOutput(
        case=folder.name,
        folder=folder,
        text=text,
        images=tuple(sorted(folder.glob("model_image_*.*"))),
        candidates=candidates,
        result=read_json(folder / RESULT_FILE) if (folder / RESULT_FILE).is_file() else {},
        done=(folder / DONE_FILE).is_file(),
    )


def read_outputs(root: Path | str, model: str, task: Task) -> list[CaseOutput]:
    """The case folders of one task, in the order (and with the glob) its evaluator walks.

    Maze, sliding and science walk `case_*` and code `case_*_*`, sorted; geometry and jigsaw
    look cases up by id (see `score_release`), so every sub-folder is read here, sorted.

    Raises:
        DataError: when the task's folder does not exist (the release prints "Skipping").
    """
    base = task_dir(Path(root), model, task)
    if not base.is_dir():
        raise DataError(
            f"Uni-MMMU outputs {str(base)!r}",
            "is not a folder (the release skips the task).",
            "Point at the release root (holding outputs/<model>/) and name the model folder.",
        )
    pattern = _CASE_GLOB.get(task, "*")
    return [read_case(p) for p in sorted(base.glob(pattern)) if p.is_dir()]


def run_ids(root: Path | str, model: str, task: Task = Task.JIGSAW) -> list[Any]:
    """The ids in the task's own `summary.json` `per_item`, as stored (the jigsaw item list).

    The release compares them, unconverted, with the metadata's ids.
    """
    summary = read_json(task_dir(Path(root), model, task) / SUMMARY_FILE)
    items = summary.get("per_item", []) if isinstance(summary, dict) else []
    return [item["id"] for item in items if isinstance(item, dict) and "id" in item]


def code_reference(root: Path | str, case: CaseOutput) -> tuple[Path | None, Path | None]:
    """The code scorer's reference for a case: (PNG, SVG) from its `result.json`.

    `_get_reference_image`: `data/svg/<png>` when `png` is set and the file exists (then the
    SVG is not looked at); else `data/svg/<svg>` when `svg` is set, to be rasterised
    (`judged.rasterize_svg`); (None, None) is the release's "no_reference_image".
    """
    base = Path(root) / "data" / "svg"
    png, svg = case.result.get("png"), case.result.get("svg")
    if png and (base / str(png)).exists():
        return base / str(png), None
    return None, (base / str(svg) if svg else None)


def judged_cases(
    root: Path | str, model: str, task: Task, items: Sequence[Item]
) -> list[tuple[Item | None, CaseOutput | None]]:
    """A judged task's (item, case) pairs in the order its evaluator walks them.

    Geometry: every item of `filtered.json`, None for a missing case folder (the release's
    `error_missing_case_dir`, out of `scored_items`). Science: every item, `case_NN` (a
    missing folder reads as no text and no image). Code: every `case_*_*` folder, sorted,
    with the item of the same id (None when the data has none).
    """
    base = task_dir(Path(root), model, task)
    if task is Task.CODE:
        by_id = {item.id: item for item in items}
        return [(by_id.get(case.case), case) for case in read_outputs(root, model, task)]
    if task is Task.GEOMETRY:
        return [(i, read_case(base / i.id) if (base / i.id).is_dir() else None) for i in items]
    return [(item, read_case(base / item.id)) for item in items]


ImageLike = Image.Image | Path | str


def _save(image: ImageLike, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(image, Image.Image):
        image.save(path, format="PNG")
    else:
        with Image.open(image) as opened:
            opened.save(path, format="PNG")
    return str(path)


def write_case(
    root: Path | str, model: str, item: Item, text: str | None, images: Sequence[ImageLike]
) -> CaseOutput:
    """Write one system's output for `item` in the release's layout, for its scorer.

    Args:
        root: The release root (its scorer will run from here; `data/` should be beside).
        model: The `outputs/<model>` folder name.
        item: The item answered (its id names the folder; its `result_fields` go into
            `result.json`, written as the release writes them).
        text: The kept text (`model_text.txt`); None writes no text file.
        images: The images in call order: maze and sliding step frames go to
            `cand_01/<stem>_step_NNNN.png`, others to `model_image_NN.png`.

    Call `write_summary` once a task's cases are written: the jigsaw scorer scores only the
    ids listed there.
    """
    folder = task_dir(Path(root), model, item.task) / item.id
    folder.mkdir(parents=True, exist_ok=True)
    image_calls = [c for c in item.calls if c.output == "image" and c.saved_as]
    saved = []
    for i, image in enumerate(images, 1):
        name = image_calls[i - 1].saved_as if i <= len(image_calls) else None
        if name is None:  # more images than the protocol's calls (k withheld, extra frames)
            first = image_calls[0].saved_as or "" if image_calls else ""
            is_steps = item.task in (Task.MAZE, Task.SLIDING)
            stem = first.rsplit("_step_", 1)[0]
            name = f"{stem}_step_{i:04d}.png" if is_steps else f"model_image_{i:02d}.png"
        saved.append(_save(image, folder / name))
    if text is not None:
        (folder / TEXT_FILE).write_text(text, encoding="utf-8")
    record = {
        "id": item.result_fields.get("id", item.id),
        "status": "ok",
        "case_dir": str(folder),
        **{k: v for k, v in item.result_fields.items() if k != "id"},
        "text_file": str(folder / TEXT_FILE) if text is not None else None,
        "images_saved": saved,
        "errors": [],
    }
    if item.task in (Task.MAZE, Task.SLIDING):
        record["images_saved_flatten"] = record.pop("images_saved")
    (folder / RESULT_FILE).write_text(json.dumps(record, ensure_ascii=False, indent=2), "utf-8")
    (folder / DONE_FILE).write_text("ok", encoding="utf-8")
    return read_case(folder)


def write_summary(root: Path | str, model: str, task: Task, cases: Sequence[CaseOutput]) -> Path:
    """Write the task's `summary.json` (`per_item` records, as the sample scripts write it)."""
    base = task_dir(Path(root), model, task)
    base.mkdir(parents=True, exist_ok=True)
    per_item = [dict(case.result) for case in cases]
    summary = {
        "out_root": str(base),
        "count_total": len(cases),
        "count_success": sum(1 for c in per_item if c.get("status") == "ok"),
        "per_item": per_item,
    }
    path = base / SUMMARY_FILE
    path.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return path
