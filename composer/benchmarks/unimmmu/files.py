"""The folder Uni-MMMU's `data.tar` unpacks to, read in place into validated `Item`s.

Layout (from `eval_ummmu.py` and `sample_code_example/gpt/*.py`), under `<root>/data/`:
`maze/maze_6x6_<id>_steps/maze_step_NNNN.png` with `maze/maze_6x6_steps_<id>.json`
(`steps_long`; example 00015 is the demonstration, left out); `sliding/<p>_3x3_<id>_steps/*.png`
with `sliding/<p>_3x3_steps_words_<id>.json` (`steps_words`; `demo_3x3_00001` is the
demonstration); `math_data/filtered.json`; `jigsaw_dataset_2x2ref/metadata.json`;
`science/dim_all.json`; `svg/metadata.json`. The release runs from `<root>` and several files
name paths relative to it; each path is looked up where the release's scripts look.

Every record is validated; a bad one is a `DataError` naming file, record and field. The data
is CC-BY-NC-ND-4.0: nothing here copies or converts it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from composer.benchmarks.unimmmu.folder import DATASET, HOW_TO_GET, Folder
from composer.benchmarks.unimmmu.puzzles import read_maze, read_sliding
from composer.benchmarks.unimmmu.readers import read_code, read_geometry, read_jigsaw, read_science
from composer.benchmarks.unimmmu.records import Item, Task
from composer.core.errors import DataError

__all__ = ["DATASET", "READERS", "Folder", "load_folder", "locate_data", "task_names"]

READERS = {
    Task.MAZE: read_maze,
    Task.SLIDING: read_sliding,
    Task.GEOMETRY: read_geometry,
    Task.JIGSAW: read_jigsaw,
    Task.SCIENCE: read_science,
    Task.CODE: read_code,
}


def task_names(tasks: Iterable[str] | None) -> list[Task]:
    """The selected tasks (all six when None); "math" is accepted for geometry, "svg" for code."""
    if tasks is None:
        return list(Task)
    aliases = {"math": "geometry", "svg": "code", "sliding_puzzle": "sliding"}
    chosen = []
    for name in tasks:
        key = aliases.get(name.strip().lower(), name.strip().lower())
        if key not in Task.__members__.values():
            raise DataError(
                "[benchmark] tasks",
                f"unknown Uni-MMMU task {name!r}.",
                f"Use some of {[t.value for t in Task]}.",
            )
        chosen.append(Task(key))
    return chosen


def load_folder(path: Path | str, *, tasks: Iterable[str] | None = None) -> dict[Task, list[Item]]:
    """Read the selected tasks of a Uni-MMMU data folder (the release root or its `data/`).

    Raises:
        DataError: naming the file, the record and the field of the first bad record.
    """
    folder = Folder(path)
    return {task: READERS[task](folder) for task in task_names(tasks)}


def locate_data(*, download: bool = False) -> Path:
    """The release root of a Uni-MMMU copy found through the Hugging Face cache.

    Looks for the dataset's snapshot (cached by `git clone` through the hub or by
    `huggingface_hub`; with `download`, fetches `data.tar` where the gate is accepted) and
    returns it when `data/` is unpacked inside it.

    Raises:
        DataError: saying how to get and unpack the data when no unpacked copy is found.
    """
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # pragma: no cover - a base dependency
        raise DataError(
            "Uni-MMMU data", "was not found (huggingface_hub is missing).", HOW_TO_GET
        ) from None
    try:
        snapshot = Path(
            snapshot_download(
                DATASET,
                repo_type="dataset",
                allow_patterns=["data.tar"],
                local_files_only=not download,
            )
        )
    except Exception as exc:  # noqa: BLE001 - any hub failure means: not available here
        raise DataError(
            "Uni-MMMU data",
            f"is not in the Hugging Face cache ({type(exc).__name__}).",
            HOW_TO_GET,
        ) from None
    if (snapshot / "data").is_dir():
        return snapshot
    raise DataError(
        "Uni-MMMU data",
        f"is cached at {snapshot} but not unpacked.",
        f"Run `tar -xf {snapshot / 'data.tar'} -C <root>` and set [benchmark] path = <root>.",
    )
