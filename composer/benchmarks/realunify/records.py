"""RealUnify items as benchmark-neutral `Instance`s: what each axis shows, asks and hides.

- UEG: the context is the prompt; the system draws one image; the checks are references. The
  `rewrite` request is the paper's refine template filled with the prompt, `step` the data's
  own `new_prompt` when the step file has one.
- GEU: the context is the input image, then the multiple-choice request (the record's
  `evaluation_prompt`, else the paper's template); the system answers in text; the answer
  letter is a reference. The `edit` request is the record's `edit_prompt`, else the
  category's.

The loaders (RealUnify's folder, JSONL files, the synthetic suite through the folder) build
every instance here, and run folders written before instances were benchmark-neutral are read
through `from_flat`, so one rule says what a RealUnify instance is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from composer.benchmarks.realunify.protocol import choice_request, edit_request, refine_request
from composer.core.images import ImageRef
from composer.core.instance import (
    EDIT,
    REWRITE,
    STEP,
    Axis,
    Check,
    ImagePart,
    Instance,
    OutputSpec,
    References,
    TextPart,
)

BENCHMARK = "realunify"


def ueg_instance(
    *,
    id: str,
    category: str,
    prompt: str,
    checks: Sequence[Check],
    step_prompt: str | None = None,
    subtask: str | None = None,
    source: str = "",
    meta: Mapping[str, Any] | None = None,
) -> Instance:
    """A UEG instance: draw `prompt`; scored by `checks`, which the system never sees."""
    requests = {REWRITE: refine_request(prompt)}
    if step_prompt is not None:
        requests[STEP] = step_prompt
    return Instance(
        id=id,
        axis=Axis.UEG,
        category=category,
        subtask=subtask,
        benchmark=BENCHMARK,
        context=(TextPart(text=prompt),),
        requests=requests,
        output=OutputSpec(images=1),
        references=References(checks=tuple(checks)),
        source=source,
        meta=dict(meta or {}),
    )


def geu_instance(
    *,
    id: str,
    category: str,
    image: ImageRef,
    question: str,
    options: Sequence[str],
    answer: str,
    evaluation_prompt: str | None = None,
    edit_prompt: str | None = None,
    subtask: str | None = None,
    source: str = "",
    meta: Mapping[str, Any] | None = None,
) -> Instance:
    """A GEU instance: answer the question about `image`; `answer` is hidden from the system."""
    request = evaluation_prompt or choice_request(question, options)
    return Instance(
        id=id,
        axis=Axis.GEU,
        category=category,
        subtask=subtask,
        benchmark=BENCHMARK,
        context=(ImagePart(image=image), TextPart(text=request)),
        requests={EDIT: edit_prompt or edit_request(category, question)},
        output=OutputSpec(text=True),
        references=References(answer=answer),
        fields={
            "question": question,
            "options": list(options),
            "evaluation_prompt": evaluation_prompt,
            "edit_prompt": edit_prompt,
        },
        source=source,
        meta=dict(meta or {}),
    )


class FlatRecord(BaseModel):
    """An instance as composer stored it before instances were benchmark-neutral (schema 3)."""

    model_config = ConfigDict(frozen=True)

    id: str
    axis: Axis
    category: str
    subtask: str | None = None
    prompt: str | None = None
    step_prompt: str | None = None
    checks: tuple[Check, ...] = ()
    image: ImageRef | None = None
    question: str | None = None
    options: tuple[str, ...] = ()
    answer: str | None = None
    evaluation_prompt: str | None = None
    edit_prompt: str | None = None
    source: str = ""
    meta: dict[str, Any] = {}


def is_flat(record: Mapping[str, Any]) -> bool:
    """True for a record in the flat RealUnify shape (a JSONL line, a schema-3 run folder)."""
    return "context" not in record and any(
        k in record for k in ("prompt", "image", "question", "checks")
    )


def from_flat(record: Mapping[str, Any]) -> Instance:
    """The instance a flat RealUnify-shaped record describes (pydantic validates it).

    Raises:
        pydantic.ValidationError: a field has the wrong type.
        ValueError: a field the axis needs is missing.
    """
    flat = FlatRecord.model_validate(record)
    common: dict[str, Any] = {
        "id": flat.id,
        "category": flat.category,
        "subtask": flat.subtask,
        "source": flat.source,
        "meta": flat.meta,
    }
    if flat.axis is Axis.UEG:
        if flat.prompt is None:
            raise ValueError(f"instance {flat.id!r}: a UEG record needs 'prompt'.")
        return ueg_instance(
            prompt=flat.prompt, checks=flat.checks, step_prompt=flat.step_prompt, **common
        )
    if flat.image is None or flat.question is None or flat.answer is None:
        raise ValueError(f"instance {flat.id!r}: a GEU record needs image, question and answer.")
    return geu_instance(
        image=flat.image,
        question=flat.question,
        options=flat.options,
        answer=flat.answer,
        evaluation_prompt=flat.evaluation_prompt,
        edit_prompt=flat.edit_prompt,
        **common,
    )


def read_stored(record: Mapping[str, Any]) -> Instance:
    """An instance record from a run folder, in today's shape or the flat one before it."""
    if is_flat(record):
        return from_flat(record)
    return Instance.model_validate(record)
