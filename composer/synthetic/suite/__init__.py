"""The built-in synthetic suite: procedurally generated RealUnify-format instances.

`write_suite` writes the four RealUnify JSON files and the GEU images into a folder that the
RealUnify loader reads like the real data. One generator per RealUnify category; the same seed
gives the same suite.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Literal

from composer.benchmarks.realunify.categories import GEU_CATEGORIES, UEG_CATEGORIES
from composer.benchmarks.realunify.protocol import choice_request, edit_request, refine_request
from composer.synthetic.suite import geu, ueg

Difficulty = Literal["easy", "medium", "hard", "mixed"]
LEVELS: tuple[str, ...] = ("easy", "medium", "hard")


def _level(difficulty: Difficulty, i: int) -> str:
    return LEVELS[i % len(LEVELS)] if difficulty == "mixed" else difficulty


def write_suite(
    out: Path | str,
    *,
    n_per_category: int = 10,
    seed: int = 0,
    difficulty: Difficulty = "mixed",
    categories: tuple[str, ...] = UEG_CATEGORIES + GEU_CATEGORIES,
) -> Path:
    """Write a suite of `n_per_category` instances per category into `out` and return it.

    `difficulty="mixed"` cycles easy, medium, hard within each category.
    """
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    ueg_direct: list[dict[str, object]] = []
    ueg_step: list[dict[str, object]] = []
    geu_direct: list[dict[str, object]] = []
    geu_step: list[dict[str, object]] = []
    for category in categories:
        for i in range(n_per_category):
            rng = random.Random(f"{seed}/{category}/{i}")
            level = _level(difficulty, i)
            if category in UEG_CATEGORIES:
                item = ueg.make_item(category, rng, level)
                index = len(ueg_direct)
                base = {
                    "index": index,
                    "task_type": category,
                    "subtask": item.subtask,
                    "difficulty": level,
                }
                checks = [{"question": q, "answer": a} for q, a in item.checks]
                ueg_direct.append({**base, "prompt": item.prompt, "question_list": checks})
                ueg_step.append(
                    {**base, "new_prompt": refine_request(item.prompt), "question_list": checks}
                )
            else:
                item_g = geu.make_item(category, rng, level)
                index = len(geu_direct)
                relative = f"image/{category}/{item_g.subtask}/images/img_{index:04d}.png"
                target = root / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                # compress_level 1: a twentieth of the default's encode time, twice the bytes.
                item_g.image.save(target, format="PNG", compress_level=1)
                base = {
                    "index": index,
                    "task_type": category,
                    "difficulty": level,
                    "input_image": relative,
                    "question": item_g.question,
                    "option": list(item_g.options),
                    "answer": "ABCD"[item_g.answer],
                    "evaluation_prompt": choice_request(item_g.question, item_g.options),
                }
                geu_direct.append(base)
                geu_step.append({**base, "edit_prompt": edit_request(category, item_g.question)})
    for name, records in (
        ("UEG_direct.json", ueg_direct),
        ("UEG_step.json", ueg_step),
        ("GEU_direct.json", geu_direct),
        ("GEU_step.json", geu_step),
    ):
        if records:
            (root / name).write_text(json.dumps(records, indent=1), encoding="utf-8")
    return root
