"""A small benchmark in the exact RealUnify schema, written by the tests (never the real data).

Every category, the step files, nested JPEG image folders, and judge/answer replies chosen to
exercise the released scorer's quirks. EXPECTED_* below are worked out by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

from mockbench import toml_rules
from PIL import Image

from composer.benchmarks.realunify.protocol import choice_request, edit_request, refine_request

# (index, task_type, checks as (question, expected), judge replies per question)
UEG = [
    (0, "world_knowledge", [("Q-a?", "yes"), ("Q-b?", "no")], ["Yes.", "I don't know"]),
    (1, "commonsense_reasoning", [("Q-c?", "yes")], ["Not sure"]),
    (
        2,
        "mathematical_reasoning",
        [("Q-d?", "yes"), ("Q-e?", "no")],
        ["yes", "No, but yes in part"],
    ),
    (3, "logical_reasoning", [("Q-f?", "yes")], ["YES"]),
    (4, "scientific_reasoning", [("Q-g?", "no")], [""]),
    (5, "code_to_image", [("Q-h?", "yes"), ("Q-i?", "yes")], ["no", "yes"]),
    (6, "world_knowledge", [("Q-j?", "yes")], ["yes"]),
]
# (index, task_type, subtask, answer, reply)
GEU = [
    (0, "mental_reconstruction", "jigsaw_2x2", "B", "Based on the image, D"),
    (1, "mental_tracking", "color_digits", "C", "The answer is (C)."),
    (
        2,
        "attentional_focusing",
        "count_small",
        "A",
        "I am not able to determine anything useful from this picture at all, sorry",
    ),
    (3, "cognitive_navigation", "maze_exit", "D", "A or D"),
]

# Official: "I don't know" reads no (right); "Not sure" reads no (wrong); "No, but yes in
# part" reads yes (wrong); "" after 15 tries is unread (wrong); "Based on the image, D"
# reads B; a long reply without A-D is empty; "A or D" reads A.
EXPECTED_UEG_OFFICIAL = {0: True, 1: False, 2: False, 3: True, 4: False, 5: False, 6: True}
EXPECTED_UEG_STRICT = {0: None, 1: None, 2: True, 3: True, 4: None, 5: False, 6: True}
EXPECTED_GEU_OFFICIAL = {0: True, 1: True, 2: False, 3: False}
EXPECTED_GEU_STRICT = {0: False, 1: True, 2: None, 3: None}
# Category means: official WK 100, CR 0, MR-I 0, LR 100, SR 0, C2I 0 -> 33.33;
# strict WK 50, CR 0, MR-I 100, LR 100, SR 0, C2I 0 -> 41.67. GEU official 50, strict 25.
EXPECTED_UEG = {"official": 200 / 6, "strict": 250 / 6}
EXPECTED_GEU = {"official": 50.0, "strict": 25.0}

OPTIONS = ["red", "green", "blue", "yellow"]


def write_realunify(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    ueg_direct, ueg_step, geu_direct, geu_step = [], [], [], []
    for index, task, checks, _ in UEG:
        question_list = [{"question": q, "answer": a} for q, a in checks]
        prompt = f"prompt {index} for {task}"
        ueg_direct.append(
            {"index": index, "task_type": task, "prompt": prompt, "question_list": question_list}
        )
        ueg_step.append(
            {
                "index": index,
                "task_type": task,
                "new_prompt": refine_request(prompt),
                "question_list": question_list,
            }
        )
    for index, task, subtask, answer, _ in GEU:
        relative = f"image/{task}/{subtask}/images/img_{index + 1:03d}.jpg"
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (32, 24), (40 * index, 80, 120)).save(root / relative, format="JPEG")
        question = f"Which colour, case {index}?"
        record = {
            "index": index,
            "task_type": task,
            "input_image": relative,
            "question": question,
            "option": OPTIONS,
            "answer": answer,
            "evaluation_prompt": choice_request(question, OPTIONS),
        }
        geu_direct.append(record)
        geu_step.append({**record, "edit_prompt": edit_request(task, question)})
    for name, records in (
        ("UEG_direct.json", ueg_direct),
        ("UEG_step.json", ueg_step),
        ("GEU_direct.json", geu_direct),
        ("GEU_step.json", geu_step),
    ):
        (root / name).write_text(json.dumps(records, indent=2))
    return root


def judge_rules() -> str:
    rules = []
    for _, _, checks, replies in UEG:
        for (question, _), reply in zip(checks, replies, strict=True):
            rules.append({"match": f"Question: {question.replace('?', '[?]')}", "reply": reply})
    return toml_rules(rules)


def vlm_rules() -> str:
    return toml_rules(
        [{"match": f"case {index}[?]", "reply": reply} for index, _, _, _, reply in GEU]
    )


def config(data: Path, systems: str) -> str:
    # A [models."..."] table that no system uses is an error (a typo), so the VLM's table is
    # written only when a system binds it.
    vlm = ['[models."mock/vlm"]', f"rules = {vlm_rules()}", 'default = "A"']
    return "\n".join(
        [
            "[benchmark]",
            'name = "realunify"',
            f'path = "{data}"',
            "[judge]",
            'model = "mock/judge"',
            systems,
            '[models."mock/judge"]',
            f"rules = {judge_rules()}",
            'default = "No."',
            *(vlm if "mock/vlm" in systems else []),
        ]
    )


RUN_SYSTEMS = """
[systems.model]
ueg = "direct"
geu = "direct"
roles = { model = "mock/vlm" }
"""
