"""The HTML report's page per instance, and what every page of the report shares.

`write_pages` writes `instances/<id>.html`: every system side by side for one instance (input,
rewritten prompt, edited and output images, judge questions and replies, verdicts, errors,
every other output with its images shown), then each system's steps in order: every model call
its nodes and judges made, with what it asked and got (`composer.report.trace`).
`PageContext`, `slug`, `environment` (jinja2, autoescaping on), `image_ref` and
`outcome_class` serve the index in `composer.report.html` too.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from composer.core.definition import SystemDefinition
from composer.core.images import ImageRef, ImageStore
from composer.core.instance import STEP, Axis, Instance, Parser
from composer.core.outputs import EDITED_IMAGE, IMAGE, RESPONSE, REWRITE
from composer.evaluation.store import Judgment, Result, RunStore
from composer.report import stats
from composer.report.model import Report
from composer.report.trace import Step, output_fields, steps_of

_SHA = re.compile(r"^sha256:[0-9a-f]{64}$")
_MAIN_IMAGES = ((EDITED_IMAGE, "edited image"), (IMAGE, "output image"))
_SHOWN = {REWRITE, RESPONSE, EDITED_IMAGE, IMAGE}
_STATUS_CLASS = {"failed": "f", "refused": "f", "unscored": "f"}


@dataclass
class PageContext:
    """What every page needs: paths, the image store, the systems in order, and thumbnails."""

    out: Path
    images: ImageStore
    systems: list[str]
    definitions: Mapping[str, SystemDefinition]
    report: Report
    parser: Parser
    thumbs: dict[str, str] = field(default_factory=dict)
    """sha256 -> thumbnail file name, for images that need one."""
    stored: set[str] = field(default_factory=set)
    """sha256 of every image in the run's store, listed once (not one stat per image)."""
    judges_disagree: set[tuple[str, str]] = field(default_factory=set)
    """(system, instance) whose output the run's judges scored differently."""


def slug(instance_id: str) -> str:
    """A file name for an instance id: safe characters, kept apart from ids that differ."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", instance_id)[:80]
    if safe != instance_id:  # keep ids that differ only in unsafe characters apart
        safe += "-" + hashlib.sha256(instance_id.encode()).hexdigest()[:8]
    return safe


@functools.cache
def environment() -> Any:
    """The jinja2 environment of the report's templates, autoescaping every text."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(
        loader=PackageLoader("composer.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def image_ref(value: Any) -> ImageRef | None:
    """The image a stored output field refers to (`sha256:...`), or None."""
    return ImageRef.parse(value) if isinstance(value, str) and _SHA.match(value) else None


def outcome_class(result: Result | None, parser: Parser) -> str:
    """`r` right, `x` ran but not right, `f` failed, refused or unscored, `` did not run."""
    if result is None:
        return ""
    if result.status in _STATUS_CLASS:
        return "f"
    return "r" if stats.is_right(result, parser) else "x"


def _image_src(ctx: PageContext, ref: ImageRef | None, base: str) -> str | None:
    if ref is None or ref.sha256 not in ctx.stored:
        return None
    return f"{base}/{ImageStore.relative_path(ref)}"


def _verdict(given: str | None, expected: str) -> str:
    if given is None:
        return "f"
    return "r" if given == expected else "x"


def _card(
    ctx: PageContext,
    system: str,
    result: Result,
    judgments: list[Judgment],
    base: str,
    steps: list[Step],
) -> dict[str, Any]:
    definition = ctx.definitions.get(system)
    axis_def = definition.axes.get(result.axis) if definition else None
    entry = ctx.report["systems"].get(system)
    output = result.output
    images = [
        (label, _image_src(ctx, image_ref(output[key]), base))
        for key, label in _MAIN_IMAGES
        if image_ref(output.get(key))
    ]
    extra = {k: v for k, v in output.items() if k not in _SHOWN}

    def src(uri: str) -> str | None:
        return _image_src(ctx, ImageRef.parse(uri), base)

    def verdict(value: bool | None) -> str:
        return "-" if value is None else ("right" if value else "wrong")

    response = output.get(RESPONSE)
    return {
        "name": system,
        "kind": entry["kind"] if entry else definition.kind if definition else "",
        "mode": entry["mode"] if entry else "",
        "graph": axis_def.graph if axis_def else "",
        "cls": outcome_class(result, ctx.parser),
        "status": result.status,
        "official": verdict(result.correct_official),
        "strict": verdict(result.correct_strict),
        "latency": result.latency_s,
        "cost": result.cost_usd,
        "error": result.error,
        "failure": result.failure,
        "rewrite": output.get(REWRITE) if isinstance(output.get(REWRITE), str) else None,
        "images": images,
        "response": response if isinstance(response, str) else None,
        "judgments": [
            {
                "question": j.question,
                "expected": j.expected,
                "reply": j.reply,
                "official": j.official,
                "strict": j.strict,
                "official_cls": _verdict(j.official, j.expected),
                "strict_cls": _verdict(j.strict, j.expected),
            }
            for j in judgments
        ],
        "extra": [
            {"path": f.path, "kind": f.kind, "value": f.value, "src": src(f.value)}
            if f.kind == "image"
            else {"path": f.path, "kind": f.kind, "value": f.value}
            for f in output_fields(extra)
        ],
        "steps": [_step_row(step, src) for step in steps],
    }


def _step_row(step: Step, src: Callable[[str], str | None]) -> dict[str, Any]:
    """One row of an instance page's step table: the call, its images as thumbnails."""
    return {
        "node": step.node,
        "role": step.role,
        "model": step.model,
        "method": step.method,
        "prompt": step.prompt,
        "reply": step.reply,
        "options": json.dumps(dict(step.options), ensure_ascii=False) if step.options else "",
        "images_in": [(uri, src(uri)) for uri in step.images_in],
        "images_out": [(uri, src(uri)) for uri in step.images_out],
        "latency": "-" if step.latency_s is None else f"{step.latency_s:.2f} s",
        "cached": {True: "yes", False: "no", None: "-"}[step.cached],
        "error": step.error,
    }


def write_pages(
    ctx: PageContext,
    store: RunStore,
    instances: list[Instance],
    results: Mapping[str, Mapping[str, Result]],
) -> None:
    """Write `instances/<id>.html` for every instance: all systems side by side."""
    page = environment().get_template("instance.html")
    base = Path(os.path.relpath(ctx.images.root.resolve(), (ctx.out / "instances").resolve()))
    image_base = base.as_posix()
    judgments = store.all_judgments(ctx.report.get("judge_id"))
    for k, instance in enumerate(instances):
        ran = results[instance.id]
        cards = [
            _card(
                ctx,
                s,
                ran[s],
                judgments.get((s, instance.id), []),
                image_base,
                steps_of(store, ran[s]),
            )
            for s in ctx.systems
            if s in ran
        ]
        neighbours = [
            f"{slug(instances[j].id)}.html" if 0 <= j < len(instances) else None
            for j in (k - 1, k + 1)
        ]
        (ctx.out / "instances" / f"{slug(instance.id)}.html").write_text(
            page.render(
                root="../",
                i=instance_view(instance),
                image=_image_src(ctx, _first(instance.images), image_base),
                cards=cards,
                prev=neighbours[0],
                next=neighbours[1],
            ),
            "utf-8",
        )


def _first(images: tuple[ImageRef, ...]) -> ImageRef | None:
    return images[0] if images else None


def instance_view(instance: Instance) -> dict[str, Any]:
    """What an instance page shows of an instance: its input, then what only scorers see."""
    is_ueg = instance.axis is Axis.UEG
    return {
        "id": instance.id,
        "axis": instance.axis,
        "category": instance.category,
        "subtask": instance.subtask,
        "prompt": instance.text if is_ueg else None,
        "step_prompt": instance.request(STEP),
        "question": instance.field("question") or (None if is_ueg else instance.text),
        "options": instance.field("options", ()),
        "answer": instance.references.answer,
        "edit_prompt": instance.field("edit_prompt"),
        "evaluation_prompt": instance.field("evaluation_prompt"),
        "checks": instance.references.checks,
    }
