"""Uni-MMMU items as typed, frozen records: what a system sees, must produce, and what scorers read.

An `Item` keeps three things apart, as composer's instance model does:

- `context` and `calls`: the ordered text and image parts a sample script shows the system,
  then its calls in order (each with the script's prompt suffix, and whether its output goes
  back into the context, after which label). Prompts are word for word (`prompts`).
- `expected`: what the system must produce (text tags, number of images). For maze and
  sliding the image count k is the number of ground-truth moves, which the release tells the
  system (`k_given`); a run may withhold it.
- `references`: only scorers read these (ground-truth moves and frames, overlays, grids,
  solutions, reference renderings); a graph is never handed them.

Paths point into the data folder, read in place (the data is CC-BY-NC-ND: never copied).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict


class Task(StrEnum):
    """The six Uni-MMMU tasks, by composer's name."""

    MAZE = "maze"
    SLIDING = "sliding"
    GEOMETRY = "geometry"
    JIGSAW = "jigsaw"
    SCIENCE = "science"
    CODE = "code"


OUTPUT_FOLDERS: dict[Task, str] = {
    Task.MAZE: "maze",
    Task.SLIDING: "sliding",
    Task.GEOMETRY: "math",
    Task.JIGSAW: "jigsaw",
    Task.SCIENCE: "science",
    Task.CODE: "code",
}
"""The release's folder for each task under `outputs/<model>/` and `eval/<model>/`."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TextPart(_Frozen):
    """A text part of a context."""

    kind: Literal["text"] = "text"
    text: str


class ImagePart(_Frozen):
    """An image part of a context: a file in the data folder (or a demonstration's frame)."""

    kind: Literal["image"] = "image"
    path: Path


Part = TextPart | ImagePart


class Call(_Frozen):
    """One model call of a sample script, in order.

    Attributes:
        output: "text" (`generate_text_from_context`) or "image" (`..._image_...`).
        suffix: The call's `prompt_suffix`, word for word ("" where the script passes none).
        feed_back: Whether the output is appended to the context for the later calls.
        label: A text the script appends just before feeding the output back (or None).
        saved_as: Where the release's layout keeps the output, relative to the case folder
            (None for a step text the script does not keep).
    """

    output: Literal["text", "image"]
    suffix: str
    feed_back: bool
    label: str | None = None
    saved_as: str | None = None


class Expected(_Frozen):
    """What a system must produce for an item.

    Attributes:
        images: How many images (k for maze and sliding).
        text_tags: The tags its kept text must hold, e.g. ("<ANSWER_JSON>", "</ANSWER_JSON>").
        k_given: True where the release tells the system k (maze, sliding); a run may
            withhold it and must then say so in the report.
    """

    images: int
    text_tags: tuple[str, ...]
    k_given: bool = False


class MazeReferences(_Frozen):
    """Maze: the step-0 image the scorer parses, the moves and the dataset's step frames."""

    step0: Path
    moves_json: Path
    moves: tuple[str, ...]
    frames: tuple[Path, ...]


class SlidingReferences(_Frozen):
    """Sliding: initial and final states, the moves (as stored) and the GT step images."""

    initial: Path
    final: Path
    moves_json: Path
    moves: tuple[str, ...]
    frames: tuple[Path, ...]


class GeometryReferences(_Frozen):
    """Geometry: the base figure, the GT overlay, the solution and the judge's problem type."""

    base: Path
    overlay: Path
    auxiliary_text: str
    problem: str
    solution: str
    type: str
    judge_type: Literal["CALCULATION", "PROVING"]


class JigsawReferences(_Frozen):
    """Jigsaw: the label and the completed and wrong 2x2 grids (the scorer's pairing order)."""

    label: Literal[0, 1]
    completed: Path
    wrong: Path

    @property
    def pair(self) -> tuple[Path, Path]:
        """The ground truth for model images 1 and 2 (completed first when label is 0)."""
        return (self.completed, self.wrong) if self.label == 0 else (self.wrong, self.completed)


class ScienceReferences(_Frozen):
    """Science: the initial image, the condition (unstripped, as the scorer reads it), GT text."""

    initial: Path
    condition: str
    output_text: str


class CodeReferences(_Frozen):
    """Code: the SVG and its reference PNG (None: the scorer rasterises the SVG)."""

    svg: Path
    png: Path | None
    svg_field: str
    png_field: str


References = (
    MazeReferences
    | SlidingReferences
    | GeometryReferences
    | JigsawReferences
    | ScienceReferences
    | CodeReferences
)


class Item(_Frozen):
    """One Uni-MMMU item.

    Attributes:
        task: Its task.
        id: The release's case folder name (`case_00001`, `G1__3`, ...), unique in its task.
        context: The parts shown before the first call, in order, demonstrations included.
        calls: The sample script's calls, in order (for maze and sliding, with k given).
        expected: What the system must produce.
        references: What only scorers read.
        result_fields: The fields the release's `result.json` carries that its scorer reads
            (e.g. maze "step0"), with paths written as the release writes them.
    """

    task: Task
    id: str
    context: tuple[TextPart | ImagePart, ...]
    calls: tuple[Call, ...]
    expected: Expected
    references: References
    result_fields: dict[str, str] = {}
