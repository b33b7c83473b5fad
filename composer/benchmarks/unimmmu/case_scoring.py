"""One item's outputs scored, for a run: the programmatic channels and the judged requests.

A runner holds, per item, the kept text and the images in call order (maze and sliding: the
step frames). `score_programmatic` returns the channels of maze, sliding and jigsaw items;
`judge_requests` and `judged_channels` turn geometry, science and code outputs into the
release's judge calls and read the replies. Values match the release's per-case values
(`folder_scoring` walks whole output folders the same way).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from composer.benchmarks.unimmmu.channels import Channels
from composer.benchmarks.unimmmu.grids import parse_sliding
from composer.benchmarks.unimmmu.judged import (
    JudgeRequest,
    code_channels,
    code_requests,
    geometry_channels,
    geometry_requests,
    no_code_reference,
    science_channels,
    science_requests,
)
from composer.benchmarks.unimmmu.records import (
    CodeReferences,
    GeometryReferences,
    Item,
    JigsawReferences,
    MazeReferences,
    ScienceReferences,
    SlidingReferences,
    Task,
)
from composer.benchmarks.unimmmu.scoring import (
    Distance,
    ImageSource,
    jigsaw_image_channels,
    jigsaw_text_channels,
    maze_case_channels,
    move_channels,
    sliding_frame_channels,
)
from composer.core.errors import ConfigError


def score_programmatic(
    item: Item,
    text: str | None,
    images: Sequence[ImageSource],
    *,
    distance: Distance | None = None,
) -> Channels:
    """The channels of a maze, sliding or jigsaw item's output (one candidate).

    Args:
        item: The item (its references are read here, never shown to the system).
        text: The kept text (`model_text.txt`); None when the system wrote none.
        images: The images in call order (maze and sliding: the step frames).
        distance: The jigsaw image distance (`perceptual.load_dreamsim()`); None leaves the
            image channel unscored.

    Raises:
        ConfigError: for a task that is judged (see `judge_requests`).
    """
    refs = item.references
    if isinstance(refs, MazeReferences):
        return maze_case_channels(text or "", refs.moves, refs.step0, images)
    if isinstance(refs, SlidingReferences):
        gt_ascii = [parse_sliding(frame) for frame in refs.frames]
        strict_gt = [parse_sliding(frame, fixed_square=True) for frame in refs.frames]
        return {
            **move_channels(text or "", refs.moves, gt_as_stored=True),
            **sliding_frame_channels(images, gt_ascii, strict_gt=strict_gt),
        }
    if isinstance(refs, JigsawReferences):
        return {
            **jigsaw_text_channels(text, refs.label),
            **jigsaw_image_channels(images, refs.pair, distance),
        }
    raise ConfigError(
        f"Uni-MMMU item {item.task.value}/{item.id}",
        "is scored by a judge, not programmatically.",
        "Use judge_requests and judged_channels.",
    )


def judge_requests(
    item: Item, text: str | None, images: Sequence[Path], *, reference: Path | None = None
) -> dict[str, JudgeRequest]:
    """The release's judge calls for a geometry, science or code item's output.

    Args:
        item: The item.
        text: The kept text (None: none written).
        images: The output images as files, in order (the judge reads the first; code: all).
        reference: Code only: the reference image, when not the item's PNG (the SVG
            rasterised with `judged.rasterize_svg`, or what an imported case's `result.json`
            names); None with no PNG: no requests.
    """
    refs = item.references
    if isinstance(refs, GeometryReferences):
        return geometry_requests(refs, text, images)
    if isinstance(refs, ScienceReferences):
        return science_requests(refs, text, images)
    if isinstance(refs, CodeReferences):
        ref = reference or refs.png
        return {} if ref is None else code_requests(refs, ref, text, images)
    raise ConfigError(
        f"Uni-MMMU item {item.task.value}/{item.id}",
        "is scored programmatically, not by a judge.",
        "Use score_programmatic.",
    )


def judged_channels(
    item: Item, replies: Mapping[str, str], *, has_reference: bool = True
) -> Channels:
    """The channels read from the judge's replies to `judge_requests(item, ...)`.

    `has_reference` False (a code item with no PNG and no rasterised SVG) gives the release's
    zeros officially and unscored strictly.
    """
    if item.task is Task.GEOMETRY:
        return geometry_channels(replies)
    if item.task is Task.SCIENCE:
        return science_channels(replies)
    if item.task is Task.CODE:
        return code_channels(replies) if has_reference else no_code_reference()
    raise ConfigError(
        f"Uni-MMMU item {item.task.value}/{item.id}",
        "is scored programmatically, not by a judge.",
        "Use score_programmatic.",
    )
