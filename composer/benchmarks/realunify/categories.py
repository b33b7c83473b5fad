"""RealUnify's ten categories, their axes, the paper's abbreviations and the aliases users type."""

from __future__ import annotations

from composer.core.instance import Axis

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
