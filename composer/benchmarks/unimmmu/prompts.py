"""Uni-MMMU's task prompts and per-call suffixes, word for word from `sample_code_example/gpt/`.

A sample script builds an ordered context of text and images, then calls
`generate_text_from_context(ctx, prompt_suffix)` and `generate_image_from_context(ctx,
out_path, prompt_suffix)` in a fixed order, feeding some outputs back into the context. The
constants below are its prompts and suffixes exactly (typos included: "planing", the
unclosed quote in the step suffix); `files` lays them out per item.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from string import Template

MAZE_PROMPT = """You are a precise maze solver.

SEMANTICS (for all mazes)
- Black squares: walls (impassable)
- White squares: path (walkable)
- Blue dot: start (the agent)
- Green rectangular frame: goal (reaching any white cell inside the green frame counts as success)
- Legal moves: up, down, left, right only. One cell per step; no diagonals, no jumps; never cross walls.

OUTPUT FORMAT (STRICT)
1) MULTI-IMAGE MODE — generate a SEQUENCE OF SEPARATE IMAGES, one per move:
   - Each output image must depict the maze state AFTER applying exactly one legal move.
   - Do NOT include the initial (pre-move) state.
   - Keep palette/layout/scale identical to the input; only the blue dot moves.
   - The number of returned images MUST equal the number of moves in the final answer (see step 2).
   - Absolutely FORBIDDEN: any collage/montage/spritesheet/grid/multi-panel/side-by-side/stacked images; no arrows, captions, or overlays; no GIFs/animations/video.

2) After all step images, emit EXACTLY ONE LINE containing ONLY the final move list as a JSON array of lowercase strings, wrapped as:
   <ANSWER_JSON>["right","down","left"]</ANSWER_JSON>


NO EXTRAS
- No tools, no OCR, no explanations, and no text other than the single <ANSWER_JSON>…</ANSWER_JSON> line.
- Do not restate the instructions or the condition.

REMINDERS
- Decide the full path first, then emit the image sequence (one image per move), then the single <ANSWER_JSON> line.
- One move per image; images must be separate files/parts, not stitched together in any way.
"""  # noqa: E501
"""maze.py's `PROMPT_TEMPLATE`."""

SLIDING_PROMPT = """You are a precise sliding puzzle solver.

TASK
- You will be given two images: an INITIAL state and a FINAL state of a 3x3 sliding puzzle.
- The goal is to find the sequence of moves to transform the INITIAL state into the FINAL state.

SEMANTICS
- The puzzle is a 3x3 grid with 8 colored tiles and one empty space.
- The RED square represents the EMPTY space.
- A "move" consists of sliding an adjacent colored tile INTO the empty (red) space.
- Moves are named by the direction the COLORED TILE moves. For example, if the blue tile is directly above the red space, moving the blue tile down into the red space's position is a "down" move.
- Legal moves: up, down, left, right only. One tile per step.

OUTPUT FORMAT (STRICT)
1) MULTI-IMAGE MODE — generate a SEQUENCE OF SEPARATE IMAGES, one per move:
   - Each output image must depict the puzzle state AFTER applying exactly one legal move.
   - Do NOT include the initial (pre-move) state.
   - Keep the visual style identical to the inputs; only tile positions change.
   - The number of returned images MUST equal the number of moves in the final answer (see step 2).
   - Absolutely FORBIDDEN: collage/montage/grid/stacked images; no arrows, captions, or overlays; no GIFs/animations/video.

2) After all step images, emit EXACTLY ONE LINE containing ONLY the final move list as a JSON array of lowercase strings, wrapped as:
   <ANSWER_JSON>["down","right","up"]</ANSWER_JSON>


NO EXTRAS
- No tools, no explanations, and no text other than the single <ANSWER_JSON>…</ANSWER_JSON> line.
- Do not restate the instructions.

REMINDERS
- First decide the full path, then emit the image sequence (one image per move), then the single <ANSWER_JSON> line.
- One move per image; images must be separate files/parts, not stitched.

After the single <ANSWER_JSON>…</ANSWER_JSON> line, output nothing else.
"""  # noqa: E501
"""sliding.py's `PROMPT_TEMPLATE`."""

JIGSAW_PROMPT = """
You are a unified vision-language model. You will be given:
(1) a 2×2 reference image with the bottom-right cell hidden, and
(2) two candidate patch images (“Candidate 0” and “Candidate 1”).

Your job:
- For each candidate, synthesize a completed 2×2 image by placing that candidate EXACTLY into the bottom-right cell. Keep the other three cells pixel-identical to the reference (no filtering, no re-rendering). If sizes differ, only scale the candidate to fit that quadrant; do NOT rotate, mirror, or alter colors.
- Compare the two completed results and decide which candidate yields the correct completion.

Output EXACTLY the following, in order:

1) A single image with Candidate 0 placed in the bottom-right cell

2) A single image with Candidate 1 placed in the bottom-right cell


3) analysis comparing seam continuity, color/texture gradient, structural alignment, and global semantics

4) One strict JSON object with your decision, wrapped as:
<FINAL_ANSWER_JSON>
{"choice": 0 or 1, "rationale": "≤30 words decisive cue"}
</FINAL_ANSWER_JSON>

Hard constraints:
- Deterministic, single outcome. No hedging, no multiple possibilities.
- No meta talk about prompts, models, or pipelines.
- Do not restate the task as the answer; reason from visual evidence.
- The only edits allowed are pasting the candidate into the bottom-right cell and necessary size matching for that cell. All other pixels must remain identical to the reference.

Inputs :
"""  # noqa: E501
"""jigsaw.py's `PROMPT`."""

GEOMETRY_PROMPT = Template("""You are a geometry diagram editor and solver.

TASK ORDER:
1) OVERLAY: On the attached base figure, overlay the auxiliary lines EXACTLY as specified below.
   - Add overlays only; do not move/erase the original objects or labels.
   - Keep labels (A, B, C, …) unchanged and clearly visible.
   - Draw clean, visible lines.

2) REASONING: Give a concise, logically ordered solution or proof (≤150 words), using the constructed auxiliary lines.
   - Keep math tokens (△, ∠, √, π, °) unchanged.
   - Reference elements by their labels.

3) FINISHING:
   - For calculation problems, end with:  **Final answer: <VALUE>**.
   - For proving problems, end with:     **Conclusion: <STATEMENT>**.

PROBLEM:
$PROBLEM_TEXT

CHOICES (if any):
$CHOICES_TEXT

AUXILIARY LINES TO DRAW (English; follow exactly and draw these first):
$AUX_EN
""")  # noqa: E501
"""math_geo.py's `PROMPT_TMPL` (filled with `safe_substitute`)."""

SCIENCE_PROMPT = """You are a unified vision-language model. You will be given:

(1) one initial image, and 
(2) a textual condition describing an operation/environmental change.

Your job:
- Infer the UNIQUE final state using real-world knowledge and deterministic reasoning.
- Do NOT restate the condition as the result; derive the result causally.
- Do NOT introduce new persistent objects unless they follow necessarily from the condition (e.g., foam from gas, puddle from melting).
- Keep the scene consistent: objects present initially should remain unless the condition implies their removal.
- Output EXACTLY:
<OUTPUT_PROMPT> a concise, deterministic explanation (≤120 words) ending with a precise visual description of the final state. No hedging, no multiple possibilities. </OUTPUT_PROMPT>
And generate EXACTLY ONE image depicting the final state (no extra text).

Hard constraints:
- Deterministic, single outcome.
- No meta talk about prompts, models, or pipelines.
- Do not copy the condition as the result; reason from it.
"""  # noqa: E501, W291
"""science.py's `PROMPT_TEMPLATE` (the trailing space after "and" is the release's)."""

CODE_PROMPT = """You will be given SVG source code. Internally parse and render it without tools, then output:
(1) <RENDER_SUMMARY>…</RENDER_SUMMARY> (≤60 words, objective, deterministic description of the final image)
(2) One final rendered image.
Rendering rules (strict):
Canvas size: determined by <svg> width/height and viewBox.
Background: only as explicitly drawn (e.g. a <rect>); do not add defaults.
Coordinates: respect viewBox; (x,y,r,cx,cy, etc.) in user space.
Stacking: later elements overlay earlier ones.
Styles: fill, stroke, stroke-width, opacity, fill-rule, stroke-linecap/join, etc.
Defaults follow SVG spec (e.g. fill=black, stroke=none).
Transforms: apply from right to left; all path/text positions affected.
On success, output summary + image.
Never output reasoning steps or explanations.
"""  # noqa: E501
"""code_rendering.py's `PROMPT_TEMPLATE`."""


def step_text_suffix(i: int) -> str:
    """The maze and sliding suffix of the text call before step image `i` (1-based)."""
    return (
        f"Now planing for step {i}, Please output a sentence in the form: "
        '"Next, move one step up/down/left/right.'
    )


def step_image_suffix(i: int) -> str:
    """The maze and sliding suffix of the call that draws step image `i` (1-based)."""
    return f"Now, generate the image for step {i}. "


STOP_MARKER = "<GOAL_REACHED>"
"""composer's reply that ends a step loop when k is withheld (the release has none: its loop
makes one step call per ground-truth move). A step reply holding it, in any case, ends the
loop: no image is drawn for that step and the final call follows."""

STOP_INSTRUCTIONS = {
    "maze": f"If the blue dot is already at the goal, output EXACTLY {STOP_MARKER} instead, "
    "and nothing else.",
    "sliding": f"If the puzzle is already in the FINAL state, output EXACTLY {STOP_MARKER} "
    "instead, and nothing else.",
}
"""composer's stop sentence per task, added to the release's step suffix when k is withheld."""


def open_step_text_suffix(i: int, task: str) -> str:
    """The step text suffix when k is withheld: the release's, then composer's stop sentence.

    `step_text_suffix(i)`, a newline, then `STOP_INSTRUCTIONS[task]`, which asks for
    `STOP_MARKER` once the goal is reached. The release's suffixes never state k (the number
    of its loop's calls tells it), so nothing is removed; the image suffix and the final suffix
    stay the release's.

    Example:
        >>> open_step_text_suffix(2, "maze").splitlines()[0] == step_text_suffix(2)
        True
    """
    return f"{step_text_suffix(i)}\n{STOP_INSTRUCTIONS[task]}"


MAZE_FINAL_SUFFIX = (
    "After the images, emit EXACTLY ONE LINE containing ONLY the final move list "
    "as <ANSWER_JSON>[...]</ANSWER_JSON>. No other text."
)
SLIDING_FINAL_SUFFIX = (
    "Now, emit EXACTLY ONE LINE containing ONLY the final move list "
    "as <ANSWER_JSON>[...]</ANSWER_JSON>. No other text."
)
SLIDING_NEW_TASK = (
    "Now solve the NEW TASK below. Emit ONE separate image per move, then a single "
    "<ANSWER_JSON> line."
)
SLIDING_INITIAL = "NEW TASK: Initial state."
SLIDING_FINAL_SAME = "NEW TASK: Final state is exactly the same as example"

JIGSAW_LABELS = ("REFERENCE_2x2:", "CANDIDATE_0:", "CANDIDATE_1:")
JIGSAW_COMPLETED = ("COMPLETED WITH CANDIDATE 0:", "COMPLETED WITH CANDIDATE 1:")
JIGSAW_IMAGE_SUFFIXES = (
    "Output ONLY item (1): a single image with Candidate 0 placed in the bottom-right cell. "
    "No text.",
    "Output ONLY item (2): a single image with Candidate 1 placed in the bottom-right cell. "
    "No text.",
)
JIGSAW_TEXT_SUFFIX = (
    'Now output EXACTLY ONE <FINAL_ANSWER_JSON>{"choice": 0 or 1, "rationale": "≤30 words"}'
    "</FINAL_ANSWER_JSON>\nDo not output any additional images."
)

GEOMETRY_BASE_LABEL = "BASE FIGURE: The following image is the original diagram."
GEOMETRY_OVERLAY_LABEL = "OVERLAY RESULT (reference for reasoning):"
GEOMETRY_IMAGE_SUFFIX = (
    "STEP 1 — OVERLAY now: Output EXACTLY ONE image of the base figure "
    "with the auxiliary lines overlaid as specified. "
    "Do not change existing objects/labels, do not add text, no captions."
)
GEOMETRY_TEXT_SUFFIX = (
    "STEP 2 — REASONING now: Provide ONLY the concise solution/proof (≤150 words), "
    "using the auxiliary lines. Keep math tokens (△, ∠, √, π, °) unchanged. "
    "For calculation problems, end with '**Final answer: <VALUE>**'. "
    "For proving problems, end with '**Conclusion: <STATEMENT>**'. "
    "Output TEXT ONLY (no images, no markdown images)."
)

SCIENCE_IMAGE_LABEL = "Initial image:"
CODE_TEXT_SUFFIX = "now thinking, do not generate image now"
CODE_IMAGE_SUFFIX = "Generate EXACTLY ONE final rendered image of the SVG (no extra text)."


def geometry_prompt(problem: str | None, choices: object, aux_en: str | None) -> str:
    """math_geo.py's prompt for one item.

    The problem (or "(no problem text)"), the choices joined by newlines (or "(no choices)")
    and the stripped auxiliary-line text, filled in with `safe_substitute`.
    """
    choices_text = (
        "\n".join(str(c) for c in choices)
        if isinstance(choices, list) and choices
        else "(no choices)"
    )
    return GEOMETRY_PROMPT.safe_substitute(
        PROBLEM_TEXT=problem or "(no problem text)",
        CHOICES_TEXT=choices_text,
        AUX_EN=(aux_en or "").strip(),
    )


def demo_moves(moves: Sequence[str]) -> str:
    """A demonstration's move list as the scripts print it (`json.dumps`, ", " between)."""
    return json.dumps([str(m).lower() for m in moves])
