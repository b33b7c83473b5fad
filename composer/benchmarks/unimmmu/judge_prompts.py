# ruff: noqa: E501
"""The release's judge prompts, word for word from `eval_ummmu.py`'s `Configurations`.

Geometry (overlay: Qwen2.5-VL-72B; proof: Qwen3-32B with thinking), science (reasoning,
result and image: Qwen2.5-VL-72B) and code (image rubric and summary: Qwen2.5-VL-72B). The
templates are filled with `str.format` as the release fills them.
"""

from __future__ import annotations

GEOMETRY_OVERLAY_SYSTEM = (
    "You are a strict yet fair judge for geometry diagram overlays.\n"
    "Your job: compare images to decide if the candidate overlay correctly draws the REQUIRED auxiliary lines.\n"
    "Input images:\n"
    "  (1) base: original (no overlays), the clean figure.\n"
    "  (2) gt  : ground-truth overlay (what SHOULD be drawn).\n"
    "  (3) pred: ONLY ONE candidate overlay to judge.\n"
    "Also given the English text listing auxiliary lines to draw.\n\n"
    "Rules:\n"
    "  - Focus on whether the REQUIRED lines exist (correct endpoints/relations) in the candidate.\n"
    "  - Ignore extra small ticks/labels/harmless marks if they do not distort the meaning.\n"
    "  - Tolerate minor pixel/position noise if geometry intent is clear (parallel/perpendicular/through-point).\n"
    "  - ALL specified lines must be present; otherwise mark 0.\n"
    '  - Output MUST be a compact JSON: {"overlay_ok":0|1,"overlay_reason":"<short>"}\n'
)  # fmt: skip

GEOMETRY_TEXT_SYSTEM = (
    "You are a rigorous grader for geometry reasoning.\n"
    "Given: problem statement (text), ground-truth solution text (reference), and a candidate solution text.\n"
    "Decide two things: (i) is the reasoning rigorous (no major logical gaps or false claims), "
    "(ii) is the final conclusion correct.\n"
    "For CALCULATION problems: conclusion correctness means the final NUMERIC result matches the ground-truth "
    "(ignore formatting/units; radicals/π are okay if numerically equivalent), even if choices differ.\n"
    "For PROVING problems: conclusion correctness means the claim is indeed established (may differ in steps but must be valid).\n"
    "Only if (rigorous AND correct) → text_ok=1, else 0.\n"
    'Output MUST be a compact JSON: {"reasoning_rigorous":0|1,"conclusion_correct":0|1,'
    '"calc_numeric_match":0|1|null,"text_ok":0|1,"text_reason":"<short>"}\n'
)  # fmt: skip

GEOMETRY_OVERLAY_USER = """
Task: Check if the candidate overlay draws the REQUIRED auxiliary lines.

Auxiliary lines to draw (English; draw ALL): 
{aux_en}

Important:
- Evaluate ONLY ONE candidate overlay image (pred_1).
- Allow extra harmless marks/letters if they don't distort meaning.
- Focus on presence/placement/direction of REQUIRED lines.

Images in order:
- base (original, no overlays)
- gt (ground-truth overlay)
- pred_1 (the ONLY candidate to judge)

Return strictly-formatted JSON only. Do Not Use any markers like ```json ...  ```
"""  # noqa: W291

GEOMETRY_TEXT_USER = """Task: Grade the candidate solution text for rigor and correctness.

Type: {task_type}
Problem (may have EN/CN):
{problem}

Ground-truth solution text (reference, not necessarily the only path):
{gt_text}

Candidate solution text (to grade):
{cand_text}

Rules:
- Only accept text_ok=1 if (reasoning_rigorous=1 AND conclusion_correct=1).
- For calculation: calc_numeric_match=1 if numeric answer equals reference (choices ignored).
- Return strictly-formatted JSON only. Do Not Use any markers like ```json ...  ```
            """  # noqa: W291, W293

SCIENCE_TEXT_SYSTEM = (
    "You are a strict but science-aware evaluator.\n"
    'Output ONLY a compact JSON: {"reasoning_correct":0|1, "result_correct":0|1}.\n'
    "- reasoning_correct = 1 if the explanation identifies and applies appropriate causal/world mechanisms "
    "linking the condition to the final state (no incorrect laws). Otherwise 0.\n"
    "- result_correct = 1 if the claimed final state is reasonable/plausible under the scene and condition, "
    "consistent with real-world science/commonsense. Prefer agreement with the provided GT text, but if it "
    "differs from GT, still set 1 when it remains scientifically sound and does not contradict the condition/scene. "
    "Otherwise 0.\n"
    "No meta talk."
)  # fmt: skip

SCIENCE_TEXT_USER = """
Decide two binary labels for the candidate explanation:
1) reasoning_correct: 1 if it identifies & applies appropriate causal/world knowledge connecting the condition to the final state; 0 otherwise.
2) result_correct: 1 if the final state described is reasonable/plausible under the scene and condition and consistent with real-world science/commonsense.
- Use the Ground Truth (GT) text as a preferred reference.
- If the candidate differs from GT, still mark result_correct=1 when it is scientifically sound and not contradictory to the scene/condition.
- Penalize wrong mechanisms and contradictions.

Scene: {scene}
Condition: {condition}
Ground truth final state (text, reference):
{gt_text}
Candidate explanation (text to evaluate):
{pred_text}
Return ONLY JSON.
"""  # noqa: E501

SCIENCE_IMAGE_SYSTEM = (
    "You are a strict visual editor-evaluator.\n"
    "You will be given: (A) an INITIAL image, (B) a TARGET text that describes the desired final state, "
    "and (C) a CANDIDATE image supposedly obtained by editing the initial image to satisfy the target.\n"
    "Judge with two criteria only:\n"
    "1) Background consistency: the candidate should preserve the initial scene's persistent layout/identity "
    "(e.g., camera viewpoint, major objects, textures) unless the target requires changes.\n"
    "2) Semantic edit correctness: the candidate should realize the target text's change(s) without contradictions.\n"
    'Ignore style or minor rendering differences. Output ONLY a compact JSON: {"image_correct":0|1}.'
)  # fmt: skip

SCIENCE_IMAGE_USER = """
Condition (context): {condition}
TARGET text (final state to achieve):
{gt_text}
"""

CODE_IMAGE_PROMPT = """\
You are a precise visual evaluator. Compare the **Reference (expected)** drawing against the **Candidate** drawing. The reference originates from SVG code that may include circles, polygons (3–6 sides), lines, and curves, sometimes generated with loops and at three difficulty tiers:

* Tier A: single shape
* Tier B: multiple shapes (no overlap)
* Tier C: multiple shapes (overlap allowed; layering matters)

Your job is to judge two abilities:

1. Inferring unit sizes and colors implied by the code/spec.
2. Planning absolute and relative positions in the layout.

### Color Palette (qualitative matching)

Colors appear only from this set (fills/strokes):
PALETTE = \\['#E74C3C','#3498DB','#2ECC71','#F1C40F','#9B59B6','#34495E','#1ABC9C','#E67E22']
Treat color matching *qualitatively*: map the Candidate’s visible color to the **nearest palette color by appearance** (light/dark variations OK). A palette-neighbor match counts as correct; off-palette hues or clearly wrong family count as errors.

### What to check (high-level)

* **Shapes & counts (strict):** shape type and **polygon side count must match exactly** (triangle/4/5/6-gon). Circles vs polygons must not be confused. Lines/curves should preserve topology (straight vs curved).
* **Colors (qualitative):** per object, check if fill/stroke maps to the expected palette member (tint/shade OK).
* **Positions (qualitative):** judge relative layout (left/center/right; top/middle/bottom), ordering, spacing relations (e.g., equal spacing), alignments, rotation/angles, scale **relative to canvas**. Use human-style categories, e.g., “three circles evenly spaced horizontally; overall group center-left”.
* **Overlaps & z-order (Tier C):** verify intended overlap patterns and layer order. Partial occlusion is acceptable if consistent with the reference.
* **Tolerances:** minor antialiasing/compression and ±1 px stroke differences are negligible. Ignore tiny noise <1% canvas area. Focus on whether relationships and categories remain correct.
* **Loops/patterns:** if the SVG implies repeated elements (via loops), verify **count**, **regularity (rhythm/spacing)**, and **pattern alignment**.

### Scoring (integers only)

Return **two scores in \\[0–5]**, where:

* 0 = complete mismatch
* 1 = very poor (vast majority incorrect)
* 2 = poor (many major issues)
* 3 = fair/partial (mixed; roughly half right)
* 4 = good (most aspects correct; small issues)
* 5 = perfect/near-perfect

**Shape & Color Accuracy (0–5)** — weight shape/type/side-count highest; colors are qualitative to palette.

* **5**: all types & side counts exact; all intended objects present; colors map to correct palette items; only negligible rendering differences.
* **4**: one or two *minor* issues (e.g., small radius/size deviation, slight stroke variance, or 1 palette-neighbor ambiguity).
* **3**: multiple minor issues or one *major* (e.g., one missing/extra object *or* one wrong side count); color family mostly right.
* **2**: several majors (multiple wrong types/counts or many color families wrong).
* **1**: only a few elements resemble the reference.
* **0**: entirely different content.

If unexpected shapes or text symbols appear, the Shape&Color Accuracy score must also be deducted.

**Position Accuracy (0–5)** — qualitative categories for placement and relationships.

* **5**: all relative orders, alignments, equal-spacing patterns, global placement (e.g., “center-left”), rotations, and overlaps match.
* **4**: small drifts that keep the same categories (still left-to-right order; spacing looks equal by eye; alignment near-exact).
* **3**: noticeable deviations that break some relationships (e.g., spacing no longer equal, slight order change in a subgroup), but overall layout still recognizable.
* **2**: many relationships broken (order flips, obvious misalignment, wrong global region); overlap patterns largely wrong.
* **1**: only a few coarse relations match.
* **0**: placement bears no resemblance.



### Verdict

* **"match"** if both scores ≥ 4
* **"partial"** if both ≥ 2 **or** (one ≥ 4 and the other ≥ 1)
* **"mismatch"** otherwise

### Output format

Return a **strict JSON object** with these keys only:

* `"shape_color_accuracy"`: integer in \\[0–5]
* `"position_accuracy"`: integer in \\[0–5]
* `"verdict"`: one of \\["match","partial","mismatch"]
* `"explanation"`: ≤50 words, concise, no extra formatting

**Output strictly JSON without markdown or commentary.**
"""

CODE_TEXT_PROMPT = """\
You are a strict semantic checker. Decide if the candidate description **semantically matches** the **Reference** drawing (binary).

Criteria for a match (all must hold):
- Objects: types and counts are correct (e.g., circle vs polygon, triangle vs 4/5/6-gon).
- Colors: qualitative family matches (palette-neighbor acceptable; off-palette is wrong).
- Positions: relative layout/ordering/spacing/alignments/rotations/overlaps match at a human categorical level.

Tolerate tiny rendering noise; focus on semantics.

Return STRICT JSON only:
{"text_semantic_match": 0 or 1, "explanation": "≤30 words"}
"""
