"""The Uni-MMMU boards' shared vocabulary: palettes, board sizes, move names and the prompts.

Neutral ground for the synthetic Uni-MMMU-style suite (`composer.synthetic.suite.unimmmu`)
and the symbolic models that solve it (`composer.synthetic.symbolic.unimmmu`), so the solvers
never import the generator. It holds conventions only: the palettes the release's scorer
(`eval_ummmu.py`) parses frames with, how a move is named, and the release's prompts and
per-call suffixes word for word (from `sample_code_example/gpt/maze.py`, `sliding.py`,
`jigsaw.py`), which is what a model is shown.

A request to a model is the release's context flattened: its text parts in order, joined by
newlines, with the call's suffix last (`context_text`); its images in order beside it.
"""

from __future__ import annotations

from collections.abc import Sequence

RGB = tuple[int, int, int]


def hex_rgb(code: str) -> RGB:
    """`"#1f2937"` -> `(31, 41, 55)`."""
    code = code.lstrip("#")
    return (int(code[0:2], 16), int(code[2:4], 16), int(code[4:6], 16))


MAZE_SIZE = 6
"""Mazes are 6x6 cells (the scorer parses `grid_h = grid_w = 6`)."""

MAZE_COLOURS: dict[str, RGB] = {
    "floor": hex_rgb("#f4efe6"),
    "wall": hex_rgb("#1f2937"),
    "start": hex_rgb("#2563eb"),
    "goal": hex_rgb("#22c55e"),
}
"""The scorer's maze palette: a cell is labelled by the nearest of these four colours."""

SLIDING_SIZE = 3
"""Sliding puzzles are 3x3."""

SET1: tuple[RGB, ...] = tuple(
    hex_rgb(code)
    for code in (
        "#e41a1c",
        "#377eb8",
        "#4daf4a",
        "#984ea3",
        "#ff7f00",
        "#ffff33",
        "#a65628",
        "#f781bf",
        "#999999",
    )
)
"""The scorer's sliding palette (ColorBrewer Set1); a tile's label is its index + 1."""

EMPTY_TILE = 0
"""The index in `SET1` of the empty space: red."""

MOVES: dict[str, tuple[int, int]] = {
    "up": (-1, 0),
    "down": (1, 0),
    "left": (0, -1),
    "right": (0, 1),
}
"""(row, column) steps. A maze move moves the agent; a sliding move moves the TILE, so the
empty space steps the opposite way."""

STEP_SENTENCE = "Next, move one step {move}."
"""The sentence the release asks for at each step (`STEP_SENTENCE.format(move="up")`)."""

ANSWER_TAG = "<ANSWER_JSON>{moves}</ANSWER_JSON>"
"""The final move list's wrapper; `moves` is a JSON array of lower-case strings."""

FINAL_ANSWER_TAG = "<FINAL_ANSWER_JSON>{body}</FINAL_ANSWER_JSON>"
"""The jigsaw decision's wrapper; `body` is `{"choice": 0 or 1, "rationale": "..."}`."""

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
"""`PROMPT_TEMPLATE` of the release's `maze.py`, word for word."""

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
"""`PROMPT_TEMPLATE` of the release's `sliding.py`, word for word."""

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
"""`PROMPT` of the release's `jigsaw.py`, word for word."""

STEP_TEXT_SUFFIX = (
    'Now planing for step {i}, Please output a sentence in the form: "Next, move one step '
    "up/down/left/right."
)
"""The text call before step image `i` (maze and sliding; the release's spelling)."""

STEP_IMAGE_SUFFIX = "Now, generate the image for step {i}. "
"""The image call for step `i` (maze and sliding)."""

MAZE_FINAL_SUFFIX = (
    "After the images, emit EXACTLY ONE LINE containing ONLY the final move list "
    "as <ANSWER_JSON>[...]</ANSWER_JSON>. No other text."
)
"""The maze's last text call."""

SLIDING_FINAL_SUFFIX = (
    "Now, emit EXACTLY ONE LINE containing ONLY the final move list "
    "as <ANSWER_JSON>[...]</ANSWER_JSON>. No other text."
)
"""The sliding puzzle's last text call."""

MAZE_DEMO_PROBLEM = "DEMONSTRATION: Example problem image above."
MAZE_DEMO_STEP = "DEMONSTRATION: example step image #{i}."
MAZE_DEMO_MOVES = "DEMONSTRATION: final moves\n<ANSWER_JSON>{moves}</ANSWER_JSON>"

SLIDING_DEMO_START = "--- DEMONSTRATION START ---"
SLIDING_DEMO_INITIAL = "DEMONSTRATION: The initial state."
SLIDING_DEMO_FINAL = "DEMONSTRATION: The final state to reach."
SLIDING_DEMO_STEPS = (
    "DEMONSTRATION: The sequence of moves to solve the puzzle (one image per move)."
)
SLIDING_DEMO_MOVES = "DEMONSTRATION: The final moves list in JSON format."
SLIDING_DEMO_END = "--- DEMONSTRATION END ---"
SLIDING_NEW_TASK = (
    "Now solve the NEW TASK below. Emit ONE separate image per move, then a single "
    "<ANSWER_JSON> line."
)
SLIDING_NEW_INITIAL = "NEW TASK: Initial state."
SLIDING_NEW_FINAL = "NEW TASK: Final state is exactly the same as example"

JIGSAW_REFERENCE = "REFERENCE_2x2:"
JIGSAW_CANDIDATE = "CANDIDATE_{n}:"
JIGSAW_COMPLETED = "COMPLETED WITH CANDIDATE {n}:"
JIGSAW_IMAGE_SUFFIXES = (
    "Output ONLY item (1): a single image with Candidate 0 placed in the bottom-right cell. "
    "No text.",
    "Output ONLY item (2): a single image with Candidate 1 placed in the bottom-right cell. "
    "No text.",
)
"""The two image calls, for candidate 0 and candidate 1."""

JIGSAW_TEXT_SUFFIX = (
    'Now output EXACTLY ONE <FINAL_ANSWER_JSON>{"choice": 0 or 1, "rationale": '
    '"≤30 words"}</FINAL_ANSWER_JSON>\nDo not output any additional images.'
)
"""The jigsaw's text call."""


def context_text(texts: Sequence[str], suffix: str) -> str:
    """Flatten a release context's text parts and a call's suffix into one request text.

    Example:
        >>> context_text(["CANDIDATE_0:"], "No text.").splitlines()
        ['CANDIDATE_0:', 'No text.']
    """
    return "\n".join([*texts, suffix])
