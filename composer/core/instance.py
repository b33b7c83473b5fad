"""Benchmark instances: one frozen record per RealUnify item, for either axis."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from composer.core.images import ImageRef


class Axis(StrEnum):
    """The two RealUnify axes."""

    UEG = "UEG"
    """Understanding enhances generation: a prompt that needs reasoning, scored on one image."""
    GEU = "GEU"
    """Generation enhances understanding: an image and a multiple-choice question."""


Parser = Literal["official", "strict"]
"""How a reply is read: as RealUnify's released scorer reads it, or by composer's strict reader
(see `composer.benchmarks.realunify.protocol`)."""

UEG_CATEGORIES: tuple[str, ...] = (
    "world_knowledge",
    "commonsense_reasoning",
    "mathematical_reasoning",
    "logical_reasoning",
    "scientific_reasoning",
    "code_to_image",
)
GEU_CATEGORIES: tuple[str, ...] = (
    "mental_reconstruction",
    "mental_tracking",
    "attentional_focusing",
    "cognitive_navigation",
)
CATEGORY_ABBREV: dict[str, str] = {
    "world_knowledge": "WK",
    "commonsense_reasoning": "CR",
    "mathematical_reasoning": "MR-I",
    "logical_reasoning": "LR",
    "scientific_reasoning": "SR",
    "code_to_image": "C2I",
    "mental_reconstruction": "MR-II",
    "mental_tracking": "MT",
    "attentional_focusing": "AF",
    "cognitive_navigation": "CN",
}
_ALIASES: dict[str, str] = {
    "commonsense": "commonsense_reasoning",
    "mathematical": "mathematical_reasoning",
    "logical": "logical_reasoning",
    "scientific": "scientific_reasoning",
    "c2t": "code_to_image",
    "code_to_text": "code_to_image",
    "code2image": "code_to_image",
    "mri": "mathematical_reasoning",
    "mrii": "mental_reconstruction",
    "attention_focusing": "attentional_focusing",
    "attentional_focus": "attentional_focusing",
    "navigation": "cognitive_navigation",
    "reconstruction": "mental_reconstruction",
    "tracking": "mental_tracking",
}


def category_axis(category: str) -> Axis:
    """Return the axis a canonical category belongs to."""
    return Axis.UEG if category in UEG_CATEGORIES else Axis.GEU


def normalize_category(name: str) -> str | None:
    """Map a category name or paper abbreviation to its canonical `task_type`, or None.

    Example:
        >>> normalize_category("C2T"), normalize_category("Mental Tracking")
        ('code_to_image', 'mental_tracking')
    """
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key in UEG_CATEGORIES or key in GEU_CATEGORIES:
        return key
    compact = key.replace("_", "")
    for canonical, abbrev in CATEGORY_ABBREV.items():
        if compact == abbrev.lower().replace("-", ""):
            return canonical
    return _ALIASES.get(key) or _ALIASES.get(compact)


class Check(BaseModel):
    """One UEG verification question and the answer a correct image earns."""

    model_config = ConfigDict(frozen=True)

    question: str
    answer: Literal["yes", "no"]


class Instance(BaseModel):
    """One benchmark item, UEG or GEU, with the fields of RealUnify's direct and step files.

    UEG uses `prompt`, `step_prompt` (the step file's `new_prompt`) and `checks`; GEU uses
    `image`, `question`, `options`, `answer`, `evaluation_prompt` and `edit_prompt`.
    """

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
    meta: dict[str, Any] = Field(default_factory=dict)
