"""The geometry, jigsaw, science and code items, from their metadata files, in file order."""

from __future__ import annotations

from composer.benchmarks.unimmmu import prompts as P
from composer.benchmarks.unimmmu.folder import Folder, field, sanitize
from composer.benchmarks.unimmmu.records import (
    Call,
    CodeReferences,
    Expected,
    GeometryReferences,
    ImagePart,
    Item,
    JigsawReferences,
    ScienceReferences,
    Task,
    TextPart,
)
from composer.core.errors import DataError
from composer.core.files import read_text


def read_geometry(folder: Folder) -> list[Item]:
    """The geometry items of `math_data/filtered.json` ({group: {key: item}}), in file order."""
    data = folder.json("math_data/filtered.json")
    base = folder.data / "math_data"
    if not isinstance(data, dict) or not all(isinstance(g, dict) for g in data.values()):
        raise DataError(str(base / "filtered.json"), "must map groups to {key: item} objects.")
    items = []
    for big, group in data.items():
        for small, raw in group.items():
            where = f"filtered.json item {big}/{small}"
            if not isinstance(raw, dict):
                raise DataError(where, "must be an object.")
            original = folder.find(raw.get("original_image"), [base], where, "original_image")
            overlay = folder.find(raw.get("auxiliary_image"), [base], where, "auxiliary_image")
            problem = raw.get("problem_text_en") or raw.get("problem_text")
            solution = raw.get("solution_en") or raw.get("solution")
            kind = raw.get("type")
            if not isinstance(solution, str) or not solution.strip():
                raise DataError(
                    where, f"field 'solution_en' must be a non-empty string (got {solution!r})."
                )
            if not isinstance(kind, str):
                raise DataError(where, f"field 'type' must be a string (got {kind!r}).")
            aux = raw.get("auxiliary_text_en") or ""
            refs = GeometryReferences(
                base=original,
                overlay=overlay,
                auxiliary_text=str(aux),
                problem=str(problem or ""),
                solution=solution,
                type=kind,
                judge_type="CALCULATION" if kind.lower().startswith("calc") else "PROVING",
            )
            prompt = P.geometry_prompt(problem, raw.get("choices_en"), str(aux))
            items.append(
                Item(
                    task=Task.GEOMETRY,
                    id=f"{sanitize(big)}__{sanitize(small)}",
                    context=(
                        TextPart(text=prompt),
                        TextPart(text=P.GEOMETRY_BASE_LABEL),
                        ImagePart(path=original),
                    ),
                    calls=(
                        Call(
                            output="image",
                            suffix=P.GEOMETRY_IMAGE_SUFFIX,
                            feed_back=True,
                            label=P.GEOMETRY_OVERLAY_LABEL,
                            saved_as="model_image_01.png",
                        ),
                        Call(
                            output="text",
                            suffix=P.GEOMETRY_TEXT_SUFFIX,
                            feed_back=False,
                            saved_as="model_text.txt",
                        ),
                    ),
                    expected=Expected(images=1, text_tags=()),
                    references=refs,
                )
            )
    return items


def read_jigsaw(folder: Folder) -> list[Item]:
    """The jigsaw items of `jigsaw_dataset_2x2ref/metadata.json`, in file order."""
    base = folder.data / "jigsaw_dataset_2x2ref"
    data = folder.json("jigsaw_dataset_2x2ref/metadata.json")
    records = data.get("items") if isinstance(data, dict) else None
    if not isinstance(records, list):
        raise DataError(str(base / "metadata.json"), "must hold an 'items' list.")
    items = []
    for index, raw in enumerate(records):
        where = f"metadata.json item {index}"
        if not isinstance(raw, dict):
            raise DataError(where, "must be an object.")
        where = f"metadata.json item {raw.get('id', index)!r}"
        label = raw.get("label")
        if label not in (0, 1) or isinstance(label, bool):
            raise DataError(where, f"field 'label' must be 0 or 1 (got {label!r}).")
        ref = folder.find(
            (raw.get("ref_panel") or {}).get("ref_image_path"),
            [base],
            where,
            "ref_panel.ref_image_path",
        )
        candidates = raw.get("candidate_paths")
        if not isinstance(candidates, list) or len(candidates) != 2:
            raise DataError(
                where, f"field 'candidate_paths' must list 2 paths (got {candidates!r})."
            )
        cand = [
            folder.find(c, [base], where, f"candidate_paths[{i}]") for i, c in enumerate(candidates)
        ]
        # The scorer opens these relative to the release root; the sampler resolves under base.
        gt = [
            folder.find(raw.get(k), [base, folder.root], where, k)
            for k in ("gt_completed_2x2_path", "gt_wrong_2x2_path")
        ]
        context: list[TextPart | ImagePart] = [TextPart(text=P.JIGSAW_PROMPT)]
        for text, path in zip(P.JIGSAW_LABELS, (ref, *cand), strict=True):
            context += [TextPart(text=text), ImagePart(path=path)]
        items.append(
            Item(
                task=Task.JIGSAW,
                id=sanitize(raw.get("id", f"ex_{index:05d}")),
                context=tuple(context),
                calls=tuple(
                    Call(
                        output="image",
                        suffix=suffix,
                        feed_back=True,
                        label=label_text,
                        saved_as=f"model_image_{i + 1:02d}.png",
                    )
                    for i, (suffix, label_text) in enumerate(
                        zip(P.JIGSAW_IMAGE_SUFFIXES, P.JIGSAW_COMPLETED, strict=True)
                    )
                )
                + (
                    Call(
                        output="text",
                        suffix=P.JIGSAW_TEXT_SUFFIX,
                        feed_back=False,
                        saved_as="model_text.txt",
                    ),
                ),
                expected=Expected(
                    images=2, text_tags=("<FINAL_ANSWER_JSON>", "</FINAL_ANSWER_JSON>")
                ),
                references=JigsawReferences(label=label, completed=gt[0], wrong=gt[1]),
                result_fields={"id": str(raw.get("id", f"ex_{index:05d}"))},
            )
        )
    return items


def read_science(folder: Folder) -> list[Item]:
    """The science items of `science/dim_all.json`, flattened over blocks: `case_01`, ..."""
    data = folder.json("science/dim_all.json")
    if not isinstance(data, list):
        raise DataError(str(folder.data / "science/dim_all.json"), "must hold a list of blocks.")
    samples = [s for block in data if isinstance(block, dict) for s in block.get("samples", [])]
    items = []
    for idx, raw in enumerate(samples, 1):
        where = f"dim_all.json sample {idx}"
        images = raw.get("input_image_file_path_list") if isinstance(raw, dict) else None
        if not isinstance(images, list) or not images:
            raise DataError(
                where, "field 'input_image_file_path_list' must list the initial image."
            )
        initial = folder.find(
            images[0],
            [folder.root, folder.data / "science", folder.data],
            where,
            "input_image_file_path_list[0]",
        )
        condition = field(raw, "input_prompt", where)  # the scorer uses it unstripped
        output_text = field(raw, "output_prompt", where)
        items.append(
            Item(
                task=Task.SCIENCE,
                id=f"case_{idx:02d}",
                context=(
                    TextPart(text=P.SCIENCE_PROMPT),
                    TextPart(text=P.SCIENCE_IMAGE_LABEL),
                    ImagePart(path=initial),
                    TextPart(text=f"Condition: {condition.strip()}"),
                ),
                calls=(
                    Call(output="text", suffix="", feed_back=True, saved_as="model_text.txt"),
                    Call(output="image", suffix="", feed_back=False, saved_as="model_image_01.png"),
                ),
                expected=Expected(images=1, text_tags=("<OUTPUT_PROMPT>", "</OUTPUT_PROMPT>")),
                references=ScienceReferences(
                    initial=initial, condition=condition, output_text=output_text
                ),
            )
        )
    return items


def read_code(folder: Folder) -> list[Item]:
    """The code items of `svg/metadata.json` (`samples`), `case_<NN>_<id>`, the SVG as text."""
    base = folder.data / "svg"
    data = folder.json("svg/metadata.json")
    samples = data.get("samples") if isinstance(data, dict) else None
    if not isinstance(samples, list):
        raise DataError(str(base / "metadata.json"), "must hold a 'samples' list.")
    items = []
    for idx, raw in enumerate(samples, 1):
        where = f"svg/metadata.json sample {idx}"
        if not isinstance(raw, dict):
            raise DataError(where, "must be an object.")
        svg = folder.find(raw.get("svg"), [base], where, "svg")
        png_field = raw.get("png") or ""
        png = folder.find(png_field, [base], where, "png") if png_field else None
        sid = raw.get("id", f"noid_{idx:02d}")
        items.append(
            Item(
                task=Task.CODE,
                id=f"case_{idx:02d}_{sid}",
                context=(
                    TextPart(text=P.CODE_PROMPT),
                    TextPart(text=read_text(svg, what="SVG file")),
                ),
                calls=(
                    Call(
                        output="text",
                        suffix=P.CODE_TEXT_SUFFIX,
                        feed_back=True,
                        saved_as="model_text.txt",
                    ),
                    Call(
                        output="image",
                        suffix=P.CODE_IMAGE_SUFFIX,
                        feed_back=False,
                        saved_as="model_image_01.png",
                    ),
                ),
                expected=Expected(images=1, text_tags=("<RENDER_SUMMARY>", "</RENDER_SUMMARY>")),
                references=CodeReferences(
                    svg=svg, png=png, svg_field=str(raw["svg"]), png_field=str(png_field)
                ),
                result_fields={"svg": str(raw["svg"]), "png": str(png_field)},
            )
        )
    return items
