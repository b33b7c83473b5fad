"""Export a run's outputs as RealUnify result files, one folder per system.

Each folder holds the result files of the system's mode (`UEG_direct.json` and
`GEU_direct.json` for a direct system, the step files otherwise) with the benchmark's fields
and the outputs filled in (`generated_image`, `response`, `edit_image`), plus the images under
`images/`, referenced by paths relative to the folder. With several run seeds there is one
folder per system and seed (`<system>-seed<N>`). The released RealUnify evaluation
scripts read these files, and `import = "DIR"` reads them back into composer.

Every name written is made from an id by `file_name` (letters, digits, `.`, `_`, `-`; anything
else replaced and the name suffixed with a hash of the id), and names are kept apart case-blind,
so a run folder from elsewhere can neither write outside `--output` nor make two records share
one file.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

from composer.benchmarks.realunify.protocol import refine_request
from composer.core.errors import ConfigError, DataError
from composer.core.images import ImageRef, ImageStore
from composer.core.instance import STEP, Axis, Instance
from composer.core.outputs import EDITED_IMAGE, IMAGE, RESPONSE, REWRITE
from composer.evaluation.store import Result, RunStore


def file_name(name: str) -> str:
    """`name` as a file name that stays in its folder; distinct names stay distinct.

    Example:
        >>> file_name("UEG-0"), file_name("UEG-../../x")[:13]
        ('UEG-0', 'UEG-.._.._x-7')
    """
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:80].lstrip(".") or "_"
    if safe != name:  # keep names that differ only in unsafe characters apart
        safe += "-" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return safe


class _Names:
    """File names handed out in one folder: never the same file twice, even case-blind."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, name: str) -> str:
        stem = file_name(name)
        if stem.casefold() in self.used:
            digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
            stem = f"{stem}-{digest[:12]}"
            while stem.casefold() in self.used:  # only if two names share a digest prefix
                stem += "_"
        self.used.add(stem.casefold())
        return stem


def _index(instance: Instance) -> Any:
    return instance.meta.get("index", instance.id.split("-", 1)[-1])


def base_record(instance: Instance, mode: str) -> dict[str, Any]:
    """The benchmark fields of `instance` as its RealUnify record of `mode` has them."""
    record: dict[str, Any] = {
        "index": _index(instance),
        "task_type": instance.meta.get("task_type") or instance.category,
    }
    if instance.axis is Axis.UEG:
        if mode == "step":
            record["new_prompt"] = instance.request(STEP) or refine_request(instance.text)
        else:
            record["prompt"] = instance.text
        record["question_list"] = [c.model_dump() for c in instance.references.checks]
        return record
    record.update(
        {
            "input_image": instance.meta.get("input_image"),
            "question": instance.field("question"),
            "option": list(instance.field("options", ())),
            "answer": instance.references.answer,
            "evaluation_prompt": instance.field("evaluation_prompt"),
        }
    )
    if mode == "step":
        record["edit_prompt"] = instance.field("edit_prompt")
    return record


def _copy_image(store: RunStore, uri: Any, folder: Path, name: str) -> str | None:
    if not isinstance(uri, str):
        return None
    source = store.run_dir / "images"
    try:
        ref = ImageRef.parse(uri)
    except DataError:
        return None
    if not re.fullmatch(r"[0-9a-f]{64}", ref.sha256):  # a hand-made run.db: no path tricks
        return None
    path = source / ImageStore.relative_path(ref)
    if not path.is_file():
        return None
    target = folder / "images" / f"{name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    return f"images/{name}.png"


def _filled(
    store: RunStore,
    result: Result,
    instance: Instance,
    mode: str,
    folder: Path,
    names: _Names,
) -> dict[str, Any]:
    record = base_record(instance, mode)
    output = result.output
    if instance.axis is Axis.UEG:
        if mode == "step":
            record["response"] = output.get(REWRITE)
        record["generated_image"] = _copy_image(
            store, output.get(IMAGE), folder, names.take(instance.id)
        )
    else:
        if mode == "step":
            record["edit_image"] = _copy_image(
                store, output.get(EDITED_IMAGE), folder, names.take(f"{instance.id}-edit")
            )
        record["response"] = output.get(RESPONSE)
    return record


def _system_seeds(store: RunStore, names: list[str]) -> list[tuple[str, int, bool]]:
    """(system, seed, whether the system has several seeds) for every folder to write."""
    found: dict[str, set[int]] = {name: set() for name in names}
    for result in store.results():
        if result.system in found:
            found[result.system].add(result.seed)
    return [
        (name, seed, len(found[name]) > 1) for name in names for seed in sorted(found[name] or {0})
    ]


def export_realunify(store: RunStore, output: Path, systems: list[str] | None = None) -> list[Path]:
    """Write each system's result files into `output/<system>/`; return the folders.

    A run of several seeds writes one folder per system and seed, `output/<system>-seed<N>/`
    (RealUnify's files hold one output per instance); import each back with `seed = N`.
    """
    definitions = store.system_definitions()
    names = systems or list(definitions)
    unknown = [n for n in names if n not in definitions]
    if unknown:
        raise ConfigError(
            "--systems",
            f"no system named {', '.join(map(repr, unknown))} in this run.",
            f"It has: {', '.join(definitions)}.",
        )
    instances = store.instances()
    folders = []
    system_names = _Names()
    for name, seed, several in _system_seeds(store, names):
        mode = "direct" if definitions[name].mode == "direct" else "step"
        folder = output / system_names.take(f"{name}-seed{seed}" if several else name)
        folder.mkdir(parents=True, exist_ok=True)
        files: dict[str, list[dict[str, Any]]] = {}
        image_names = _Names()
        for result in store.results(name):
            if result.seed != seed:
                continue
            instance = instances[result.instance]
            file = f"{instance.axis.value}_{mode}.json"
            record = _filled(store, result, instance, mode, folder, image_names)
            files.setdefault(file, []).append(record)
        for file, records in files.items():
            records.sort(key=lambda r: (isinstance(r["index"], str), r["index"]))
            (folder / file).write_text(json.dumps(records, indent=1), encoding="utf-8")
        folders.append(folder)
    return folders
