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

An output whose image is not in the run folder (deleted, or a link that leads out of the
folder, which is never read through) stops the export before anything is written, naming the
images; `allow_missing` writes those records with the image field null instead, and the
caller says how many.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
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


@dataclass
class ExportPlan:
    """What an export writes, decided before anything is written."""

    files: dict[Path, list[dict[str, Any]]] = field(default_factory=dict)
    """Each result file and its records."""
    copies: list[tuple[Path, Path]] = field(default_factory=list)
    """(image in the run folder, where it goes)."""
    missing: list[str] = field(default_factory=list)
    """Outputs whose image is not in the run folder: 'system instance (field): why'."""
    folders: list[Path] = field(default_factory=list)


def image_source(run_dir: Path, uri: Any) -> tuple[Path | None, str | None]:
    """The file in `run_dir/images` of an output's image, or None and why it is not there.

    (None, None) when the output names no image (a failed task): nothing is missing. A link
    that leads out of the image folder is not read through: it counts as missing, as does a
    file whose bytes are not the ones it is named by (truncated or overwritten since).
    """
    if uri is None:
        return None, None
    try:
        ref = ImageRef.parse(uri) if isinstance(uri, str) else None
    except DataError:
        ref = None
    if ref is None or not re.fullmatch(r"[0-9a-f]{64}", ref.sha256):  # a hand-made run.db
        return None, f"not an image reference ({str(uri)[:40]!r})"
    root = run_dir / "images"
    path = root / ImageStore.relative_path(ref)
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(Path(os.path.realpath(root))):
        return None, f"{ref.uri[:19]}... is a link out of the run folder, not read"
    if not real.is_file():
        return None, f"{ref.uri[:19]}... is not in {root}"
    if hashlib.sha256(real.read_bytes()).hexdigest() != ref.sha256:
        return None, f"{ref.uri[:19]}... in {root} is damaged (its bytes are not the image's)"
    return path, None


def _filled(
    run_dir: Path,
    result: Result,
    instance: Instance,
    mode: str,
    folder: Path,
    names: _Names,
    plan: ExportPlan,
) -> dict[str, Any]:
    record = base_record(instance, mode)
    output = result.output

    def image(key: str, name: str, field_name: str) -> str | None:
        source, missing = image_source(run_dir, output.get(key))
        if missing is not None:
            plan.missing.append(f"{result.system} {instance.id} ({field_name}): {missing}")
        if source is None:
            return None
        stem = names.take(name)
        plan.copies.append((source, folder / "images" / f"{stem}.png"))
        return f"images/{stem}.png"

    if instance.axis is Axis.UEG:
        if mode == "step":
            record["response"] = output.get(REWRITE)
        record["generated_image"] = image(IMAGE, instance.id, "generated_image")
    else:
        if mode == "step":
            record["edit_image"] = image(EDITED_IMAGE, f"{instance.id}-edit", "edit_image")
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


def plan_export(store: RunStore, output: Path, systems: list[str] | None = None) -> ExportPlan:
    """What exporting `store` into `output` writes (see `export_realunify`); writes nothing."""
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
    plan = ExportPlan()
    system_names = _Names()
    for name, seed, several in _system_seeds(store, names):
        mode = "direct" if definitions[name].mode == "direct" else "step"
        folder = output / system_names.take(f"{name}-seed{seed}" if several else name)
        image_names = _Names()
        plan.folders.append(folder)
        for result in store.results(name):
            if result.seed != seed:
                continue
            instance = instances[result.instance]
            record = _filled(store.run_dir, result, instance, mode, folder, image_names, plan)
            plan.files.setdefault(folder / f"{instance.axis.value}_{mode}.json", []).append(record)
    return plan


def write_export(plan: ExportPlan, run_dir: Path, *, allow_missing: bool = False) -> None:
    """Write what `plan` holds; refuse (writing nothing) if an image is missing.

    Raises:
        DataError: an output's image is not in the run folder and `allow_missing` is not set.
    """
    if plan.missing and not allow_missing:
        shown = "; ".join(plan.missing[:5]) + ("; ..." if len(plan.missing) > 5 else "")
        raise DataError(
            f"run folder {run_dir}",
            f"lacks the images of {len(plan.missing)} outputs ({shown}).",
            "Nothing was written. Restore the images (or rerun those tasks into a new --out "
            "folder), or pass --allow-missing to export their records with the image null.",
        )
    for folder in plan.folders:
        folder.mkdir(parents=True, exist_ok=True)
    for source, target in plan.copies:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    for file, records in plan.files.items():
        records.sort(key=lambda r: (isinstance(r["index"], str), r["index"]))
        file.write_text(json.dumps(records, indent=1), encoding="utf-8")


def export_realunify(
    store: RunStore,
    output: Path,
    systems: list[str] | None = None,
    *,
    allow_missing: bool = False,
) -> list[Path]:
    """Write each system's result files into `output/<system>/`; return the folders.

    A run of several seeds writes one folder per system and seed, `output/<system>-seed<N>/`
    (RealUnify's files hold one output per instance); import each back with `seed = N`.

    Raises:
        DataError: an output's image is not in the run folder and `allow_missing` is not set;
            nothing is written.
    """
    plan = plan_export(store, output, systems)
    write_export(plan, store.run_dir, allow_missing=allow_missing)
    return plan.folders
