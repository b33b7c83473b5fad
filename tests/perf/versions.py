"""What the perf scripts read of an instance and a run store, on this composer and on the one
before issue 26 (76691d5), so that `sitting.py` can run today's scripts against both trees.

76691d5's `Instance` had one `image`, `prompt`/`step_prompt`, `checks`, `question` and
`evaluation_prompt`; today's has `images`, `text`, `request(kind)` and `references.checks`.
Its run store was one class (`RunStore(dir, writer=True)`), today's writer is `RunWriter`. The
baselines send the calls each version's graphs send: before, the edit's prompt was the
question and the answer's the evaluation prompt (its own `overhead.py` did so).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MODERN = True
"""Whether the composer on the path has today's instance model."""
try:
    from composer.core.instance import EDIT, STEP
except ImportError:  # 76691d5: no request kinds
    MODERN = False


def images_of(instance: Any) -> list[Any]:
    """The instance's input images."""
    if MODERN:
        return list(instance.images)
    return [instance.image] if instance.image is not None else []


def prompt_of(instance: Any) -> str:
    """A UEG instance's prompt."""
    return str(instance.text if MODERN else instance.prompt)


def rewrite_prompt(instance: Any) -> str:
    """What a UEG instance's rewrite step is asked."""
    if MODERN:
        return str(instance.request(STEP) or instance.text)
    return str(instance.step_prompt or instance.prompt)


def checks_of(instance: Any) -> list[Any]:
    """A UEG instance's yes/no checks (each with a `question`)."""
    return list(instance.references.checks if MODERN else instance.checks)


def edit_prompt(instance: Any) -> str:
    """What a GEU instance's edit step is asked."""
    if MODERN:
        return str(instance.request(EDIT) or "")
    return str(instance.question)


def answer_prompt(instance: Any) -> str:
    """What a GEU instance's answer step is asked."""
    return str(instance.text if MODERN else instance.evaluation_prompt)


def run_writer(run_dir: Path) -> Any:
    """A locked writer of a run store at `run_dir`, whichever class this version has."""
    try:
        from composer.evaluation.store_writer import RunWriter
    except ImportError:  # 76691d5: one class read and wrote
        from composer.evaluation.store import RunStore

        return RunStore(run_dir, writer=True)  # type: ignore[call-arg]
    return RunWriter(run_dir, lock=True)


def has_store_floor() -> bool:
    """Whether `store_floor.py` can record this version's rows (its schema module exists)."""
    try:
        import composer.evaluation.store_schema  # noqa: F401
    except ImportError:
        return False
    return True
