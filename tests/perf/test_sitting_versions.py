"""`sitting.py` runs today's perf scripts on the commit before issue 26 too.

They read an instance through `versions.py`, which must give today's instance's inputs and the
older model's alike (else the before side's plain loop sends other calls, and the ratio is
wrong), and `sitting.py` turns `overhead.py`'s rounds into the table's figures.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import versions
from sitting import instructions, orchestration

from composer.core.images import ImageRef
from composer.core.instance import (
    EDIT,
    STEP,
    Axis,
    Check,
    ImagePart,
    Instance,
    OutputSpec,
    References,
    TextPart,
)

IMAGE = ImageRef(sha256="ab" * 32)


def test_today_s_instance_is_read_from_its_parts() -> None:
    ueg = Instance(
        id="u",
        axis=Axis.UEG,
        category="c",
        context=(TextPart(text="draw two stars"),),
        requests={STEP: "refine: draw two stars"},
        output=OutputSpec(images=1),
        references=References(checks=(Check(question="Two stars?", answer="yes"),)),
    )
    geu = Instance(
        id="g",
        axis=Axis.GEU,
        category="c",
        context=(TextPart(text="Which? A or B"), ImagePart(image=IMAGE)),
        requests={EDIT: "mark the answer"},
    )
    assert versions.MODERN
    assert versions.rewrite_prompt(ueg) == "refine: draw two stars"
    assert versions.prompt_of(ueg) == "draw two stars"
    assert [c.question for c in versions.checks_of(ueg)] == ["Two stars?"]
    assert versions.images_of(ueg) == []
    assert versions.images_of(geu) == [IMAGE]
    assert versions.edit_prompt(geu) == "mark the answer"
    assert versions.answer_prompt(geu) == "Which? A or B"
    assert versions.has_store_floor()


def test_the_older_instance_model_is_read_from_its_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(versions, "MODERN", False)
    check = SimpleNamespace(question="Two stars?")
    ueg = SimpleNamespace(prompt="draw", step_prompt=None, checks=(check,), image=None)
    geu = SimpleNamespace(image=IMAGE, question="mark it", evaluation_prompt="Which?")
    assert versions.rewrite_prompt(ueg) == "draw"  # no step prompt: the prompt itself
    assert versions.prompt_of(ueg) == "draw"
    assert versions.checks_of(ueg) == [check]
    assert versions.images_of(ueg) == []
    assert versions.images_of(geu) == [IMAGE]
    assert versions.edit_prompt(geu) == "mark it"
    assert versions.answer_prompt(geu) == "Which?"


def _round(plain: float, graphs: float, composer: float, models: float, **more: float) -> dict:
    phases = {"plain": plain, "graphs": graphs, "composer": composer, "models": models, **more}
    return {name: {"cpu": seconds} for name, seconds in phases.items()}


def test_the_orchestration_figures_come_from_overhead_rounds() -> None:
    rounds = [
        _round(0.5, 1.0, 2.0, 1.6),  # (2.0 - 0.5) / 1.0 = 1.5x; own share 1.4x
        _round(0.4, 0.8, 2.0, 1.5),  # (2.0 - 0.4) / 0.8 = 2.0x; own share 1.625x
        _round(0.6, 1.2, 2.4, 1.8),  # 1.5x; own share 1.5x
    ]
    text = orchestration(rounds)
    # Minimums: plain 0.4, graphs 0.8, composer 2.0: (2.0 - 0.4) / 0.8.
    assert text.startswith("2.00x from minimums, 1.50x median (rounds 1.50 to 2.00)")
    assert "own share beyond LangGraph + models 1.50x" in text
    assert "composer 2.00 ms" in text  # 2.0 s over 1,000 instances
    assert "floor" not in text  # the older commit has none
    floored = orchestration([_round(0.5, 1.0, 2.0, 1.6, floor=0.2)])
    assert floored.endswith("beyond the store's floor too 1.20x")


def test_the_instruction_figures_are_per_instance_less_counting_s_own_cost() -> None:
    n = 100
    counts = {  # totals of each counted process, counting's own cost (nothing) in each
        "nothing": 5e6,
        "plain": 5e6 + 2e6 * n,
        "graphs": 5e6 + 4e6 * n,
        "models": 5e6 + 6e6 * n,
        "composer": 5e6 + 8e6 * n,
    }
    text = instructions(counts, n)
    assert "plain 2.000, graphs 4.000, models 6.000, composer 8.000" in text
    assert "(composer - plain) / LangGraph alone 1.50x" in text  # (8 - 2) / 4
    assert "own share beyond LangGraph + models 1.50x" in text  # 1 + (8 - 6) / 4
