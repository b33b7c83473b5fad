"""A 40-instance RealUnify-format fixture and a three-system mock config with known answers.

Every expected number in the tests that use it is worked out by hand in EXPECTED below.
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from composer.benchmarks.realunify.categories import GEU_CATEGORIES, UEG_CATEGORIES

SHAPES = ["circles", "squares", "stars", "triangles", "hearts", "moons"]


def ueg_prompt(ci: int, k: int) -> tuple[str, int, str]:
    """Instance k of UEG category ci: k=0 literal ("draw 5 circles"), else a sum to compute."""
    shape = SHAPES[ci]
    n = ci + k + 2
    prompt = f"draw {n} {shape}" if k == 0 else f"draw {k}+{ci + 2} {shape}"
    return prompt, n, shape


def write_fixture(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    ueg, geu, geu_step = [], [], []
    for ci, category in enumerate(UEG_CATEGORIES):
        for k in range(4):
            prompt, n, shape = ueg_prompt(ci, k)
            ueg.append(
                {
                    "index": len(ueg),
                    "task_type": category,
                    "prompt": prompt,
                    "question_list": [
                        {"question": f"Are there {n} {shape}?", "answer": "yes"},
                        {"question": "Is there a dragon?", "answer": "no"},
                    ],
                }
            )
    for ci, category in enumerate(GEU_CATEGORIES):
        for k in range(4):
            index = len(geu)
            relative = f"image/{category}/sub{ci}/images/img_{index:03d}.png"
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (8, 8), (index * 10, 0, 0)).save(root / relative)
            record = {
                "index": index,
                "task_type": category,
                "input_image": relative,
                "question": f"question {category} {k}?",
                "option": ["one", "two", "three", "four"],
                "answer": "ABCD"[k],
                "evaluation_prompt": f"Question: question {category} {k}?\nThe best answer is:",
            }
            geu.append(record)
            geu_step.append({**record, "edit_prompt": f"edit for {category} {k}"})
    (root / "UEG_direct.json").write_text(json.dumps(ueg))
    (root / "GEU_direct.json").write_text(json.dumps(geu))
    (root / "GEU_step.json").write_text(json.dumps(geu_step))
    return root


def _rewrite_rules(correct_ks: set[int]) -> list[dict[str, str]]:
    rules = []
    for ci in range(len(UEG_CATEGORIES)):
        for k in range(4):
            prompt, n, shape = ueg_prompt(ci, k)
            reply = f"draw {n} {shape}" if k in correct_ks else f"draw {k} {shape}"
            rules.append(
                {"match": f"generation: {prompt.replace('+', '[+]')} Please", "reply": reply}
            )
    return rules


def toml_rules(rules: list[dict[str, str]]) -> str:
    items = ", ".join(
        f"{{ match = {json.dumps(r['match'])}, reply = {json.dumps(r['reply'])} }}" for r in rules
    )
    return f"[{items}]"


def config_text(data: Path, *, latency_s: float = 0.0) -> str:
    """Three systems: a unified model direct and stepwise, and a composed one."""
    uni_rules = _rewrite_rules({0, 1}) + [
        {"match": "caption: edit\\(", "reply": "Based on the image, D"},
    ]
    reasoner_rules = _rewrite_rules({0, 1, 2, 3})
    for category in GEU_CATEGORIES:
        for k in range(3):
            reasoner_rules.append(
                {"match": f"question {category} {k}[?]", "reply": f"The answer is {'ABCD'[k]}."}
            )
    judge_rules = [
        {"match": "caption: draw 5 triangles\\].*dragon", "reply": "I do not know"},
        {"match": "caption: draw (\\d+) (\\w+)\\].*Are there \\1 \\2[?]", "reply": "Yes."},
    ]
    return "\n".join(
        [
            "seed = 7",
            "concurrency = 4",
            "[benchmark]",
            f'path = "{data}"',
            "[judge]",
            'model = "mock/judge"',
            "[systems.uni-direct]",
            'ueg = "direct"',
            'geu = "direct"',
            'roles = { model = "mock/uni" }',
            "[systems.uni-step]",
            'ueg = "decompose-then-generate"',
            'geu = "generate-then-reason"',
            'roles = { model = "mock/uni" }',
            "[systems.composed]",
            'ueg = "decompose-then-generate"',
            'geu = "generate-then-reason"',
            'roles = { reasoner = "mock/reasoner", generator = "mock/uni", editor = "mock/uni" }',
            '[models."mock/uni"]',
            f"rules = {toml_rules(uni_rules)}",
            'default = "A"',
            f"latency_s = {latency_s}",
            '[models."mock/reasoner"]',
            f"rules = {toml_rules(reasoner_rules)}",
            'default = "E"',
            'fail = "generation: draw 3[+]7 moons"',
            'refuse = "question mental_tracking 3"',
            f"latency_s = {latency_s}",
            '[models."mock/judge"]',
            f"rules = {toml_rules(judge_rules)}",
            'default = "No."',
            f"latency_s = {latency_s}",
        ]
    )


# Worked out by hand from the rules above:
# - uni-direct draws the prompt as given: only k=0 (literal) passes, 1 of 4 per UEG category;
#   it answers "A" to every question, right for k=0: 1 of 4 per GEU category.
# - uni-step rewrites k=0 and k=1 correctly: 2 of 4 per UEG category. On GEU it says
#   "Based on the image, D": the official reader takes the "B" of "Based" (right for k=1),
#   the strict reader takes "D" (right for k=3): 25% under both, on different instances.
# - composed rewrites all four correctly, but its reasoner fails on "draw 3+7 moons"
#   (code_to_image, k=3): 3 of 4 there. It answers k=0..2 right, "E" for k=3, and refuses
#   mental_tracking k=3: 75% per GEU category, one refused.
# - The judge answers "I do not know" to the dragon question on "draw 5 triangles"
#   (logical_reasoning, k=0): official reads "no" (right), strict leaves it unscored.
EXPECTED = {
    "uni-direct": {"UEG": 25.0, "GEU": 25.0, "total": 25.0, "UEG_strict": 20.833333333333332},
    "uni-step": {"UEG": 50.0, "GEU": 25.0, "total": 40.0, "UEG_strict": 45.833333333333336},
    "composed": {
        "UEG": (5 * 100 + 75) / 6,
        "GEU": 75.0,
        "total": 0.6 * (5 * 100 + 75) / 6 + 0.4 * 75,
        "UEG_strict": (4 * 100 + 75 + 75) / 6,
    },
}
