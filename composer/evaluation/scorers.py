"""Scorers: the parts of a run that turn a stored output into scores.

A scorer has an identity (`id`, a short key of `definition()`, which holds its kind and its
version) stored with every score it gives, so a changed scorer re-scores stored outputs and
never relabels another's numbers; `applies(instance)` says which instances it scores; `score`
returns a `Scored` (the headline correctness, both readings, plus any named channels) and the
judgments behind it. Three kinds:

- programmatic: RealUnify's GEU letter reader (`ChoiceReader`), Uni-MMMU's maze, sliding and
  jigsaw scorers (`UniMMMUProgrammatic`);
- model-judged: a `Judge` with its model (`JudgeScorer`; RealUnify's polling judge);
- reference-based: Uni-MMMU's jigsaw image distance, inside `UniMMMUProgrammatic`.

The runner asks every scorer that applies to an instance; it knows no benchmark.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from composer.benchmarks.unimmmu.channels import Kind
from composer.core.errors import ComposerError, shown_argument
from composer.core.images import ImageRef, ImageStore
from composer.core.instance import Axis, Instance
from composer.core.outputs import geu_output, ueg_output
from composer.evaluation.judges import (
    GEU_SCORER,
    GEU_SCORER_ID,
    GEU_SCORER_LABEL,
    Judge,
    code_version,
    definition_key,
    score_geu,
)
from composer.evaluation.store import Judgment, Scored
from composer.specialists.base import Understander


class Scorer(Protocol):
    """What the runner needs of a scorer."""

    @property
    def id(self) -> str:
        """The scores' identity in the store."""
        ...

    @property
    def label(self) -> str:
        """How reports name it."""
        ...

    def definition(self) -> dict[str, Any]:
        """What makes it what it is (kind, version, options); stored once per scorer."""
        ...

    def applies(self, instance: Instance) -> bool:
        """Whether it scores `instance`."""
        ...

    async def score(
        self, instance: Instance, state: Mapping[str, Any]
    ) -> tuple[Scored, Sequence[Judgment]]:
        """Score one output (the graph's final state, or a stored output restored)."""
        ...


_RANGES = {
    Kind.BINARY: (0.0, 1.0),
    Kind.FRACTION: (0.0, 1.0),
    Kind.RUBRIC: (0.0, 5.0),
    Kind.DISTANCE: (0.0, math.inf),
}
"""The values each channel kind takes (a binary channel's are 0 and 1 alone)."""
_CELL_KEYS = frozenset({"kind", "official", "strict", "note"})


def checked_score(
    scorer: Scorer, returned: object, *, declared: bool = False
) -> tuple[Scored, Sequence[Judgment]]:
    """What `scorer.score()` returned, if the store can keep it and the report read it.

    Every result must be a `(Scored, judgments)` pair under its scorer's own id. A `declared`
    scorer (a benchmark's own, from a file or a package) is code the run cannot vouch for:
    each of its channels must also be a known kind whose readings are finite numbers in the
    kind's range, or None. Anything else would be stored as it came (a NaN that makes every
    mean NaN, a "offical" key read as unscored, another scorer's id overwriting its scores) or
    fail far from its cause. composer's own scorers keep their releases' readings, quirks
    included (Uni-MMMU's official code rubric is whatever number its judge wrote).

    Raises:
        ComposerError: what is wrong, where; the runner fails that one score with it.
    """
    where, scorer_id = f"scorer {scorer.label!r}", scorer.id
    fix = "Return (Scored(...), judgments) from score(), as examples/custom_benchmark.py does."
    if not isinstance(returned, tuple | list) or len(returned) != 2:
        raise ComposerError(
            where, f"returned {shown_argument(returned)}, not a (Scored, judgments) pair.", fix
        )
    scored, judgments = returned
    if not isinstance(scored, Scored):
        raise ComposerError(where, f"returned {shown_argument(scored)} for its Scored.", fix)
    if not isinstance(judgments, Sequence) or isinstance(judgments, str):
        raise ComposerError(where, f"returned {shown_argument(judgments)} for its judgments.", fix)
    if any(not isinstance(j, Judgment) for j in judgments):
        bad = next(j for j in judgments if not isinstance(j, Judgment))
        raise ComposerError(where, f"returned {shown_argument(bad)} among its judgments.", fix)
    if scored.judge != scorer_id:
        raise ComposerError(
            where,
            f"scored under the id {scored.judge!r}, not its own: its scores would be stored as "
            "another scorer's.",
            f"Build Scored(judge=self.id, ...) (here {scorer_id!r}).",
        )
    for name, cell in scored.channels.items() if declared else ():
        problem = _channel_problem(cell)
        if problem is not None:
            raise ComposerError(
                where,
                f"channel {name!r}: {problem}",
                'A channel is {"kind": one of '
                + ", ".join(repr(str(k)) for k in Kind)
                + ', "official": value or None, "strict": value or None[, "note": text]}, '
                "each value a finite number in its kind's range (binary 0 or 1, fraction 0 to "
                "1, rubric_0_5 0 to 5, distance 0 or more); None leaves the case unscored in "
                "that reading.",
            )
    return scored, judgments


def _channel_problem(cell: Mapping[str, Any]) -> str | None:
    """What is wrong with one channel's cell, or None."""
    unknown = sorted(set(cell) - _CELL_KEYS)
    if unknown:
        return f"has the key {unknown[0]!r}, which no channel has."
    if cell.get("kind") not in _RANGES:
        return f"has the kind {cell.get('kind')!r}, which is not one composer compares."
    kind = Kind(cell["kind"])
    low, high = _RANGES[kind]
    for reading in ("official", "strict"):
        value = cell.get(reading)
        if value is None:
            continue
        if isinstance(value, bool) and kind is not Kind.BINARY:
            return f"its {reading} reading is {value!r}, a bool: a {kind} channel takes numbers."
        if not isinstance(value, int | float) or not math.isfinite(value):
            return f"its {reading} reading is {shown_argument(value)}, not a finite number."
        if not low <= value <= high or (kind is Kind.BINARY and value not in (0, 1)):
            span = "0 or 1" if kind is Kind.BINARY else f"{low:g} to {high:g}"
            return f"its {reading} reading is {value!r}, outside a {kind} channel's range ({span})."
    if not isinstance(cell.get("note", ""), str):
        return f"its note is {shown_argument(cell['note'])}, not text."
    return None


@dataclass(frozen=True)
class ChoiceReader:
    """RealUnify's GEU scorer: the letter each reader takes from the reply, against the answer."""

    id: str = GEU_SCORER_ID
    label: str = GEU_SCORER_LABEL

    def definition(self) -> dict[str, Any]:
        """The reader's identity (its code's digest), as stored since schema 3."""
        return dict(GEU_SCORER)

    def applies(self, instance: Instance) -> bool:
        """A GEU instance with an answer letter among its references."""
        return instance.axis is Axis.GEU and instance.references.answer is not None

    async def score(
        self, instance: Instance, state: Mapping[str, Any]
    ) -> tuple[Scored, Sequence[Judgment]]:
        """Exact match of the letter under both readers."""
        result = score_geu(geu_output(state)["response"], instance.references.answer or "")
        scored = Scored(
            judge=self.id,
            status="ok",
            correct_official=result.official,
            correct_strict=result.strict,
        )
        return scored, []


@dataclass(frozen=True)
class JudgeScorer:
    """A model-judged scorer: a `Judge` (model, method, options) and its model.

    The model is called through the call layer. It scores the UEG instances that carry checks.
    """

    judge: Judge
    model: Understander

    @property
    def id(self) -> str:
        """The judge's id (unchanged from before scorers: stored scores keep their owner)."""
        return self.judge.id

    @property
    def label(self) -> str:
        """The judge's label."""
        return self.judge.label

    def definition(self) -> dict[str, Any]:
        """The judge's definition."""
        return self.judge.definition()

    def applies(self, instance: Instance) -> bool:
        """A UEG instance with checks to ask."""
        return instance.axis is Axis.UEG and bool(instance.references.checks)

    async def score(
        self, instance: Instance, state: Mapping[str, Any]
    ) -> tuple[Scored, Sequence[Judgment]]:
        """Ask the checks about the output image."""
        image = ueg_output(state)["image"]
        result = await self.judge.judge(self.model, image, instance.references.checks)
        scored = Scored(
            judge=self.id,
            status="ok",
            correct_official=result.official,
            correct_strict=result.strict,
        )
        return scored, result.judgments


@dataclass(frozen=True)
class UniMMMUProgrammatic:
    """Uni-MMMU's programmatic scorers (maze, sliding, jigsaw), as `eval_ummmu.py` scores.

    Every channel is stored in both readings (`channels`); the headline correctness is the
    whole answer: the move list exactly (maze, sliding) or the jigsaw choice. The jigsaw image
    distance needs DreamSim (`distance`); without it that channel is unscored and says so.
    """

    images: ImageStore
    distance: Any = None

    TASKS = frozenset({"maze", "sliding", "jigsaw"})
    HEADLINE = {"maze": "text_exact", "sliding": "text_exact", "jigsaw": "text_correct"}

    @property
    def label(self) -> str:
        """How reports name it."""
        return "Uni-MMMU programmatic (eval_ummmu.py)"

    def definition(self) -> dict[str, Any]:
        """Kind, version (the scoring modules' code) and whether DreamSim scores images."""
        from composer.benchmarks.unimmmu import case_scoring, grids, scoring

        return {
            "model": None,
            "method": "uni-mmmu-programmatic",
            # The scorer's own reading of the state (which text, which images) counts too.
            "method_version": code_version(case_scoring, grids, scoring, type(self)),
            "options": {"dreamsim": self.distance is not None},
        }

    @property
    def id(self) -> str:
        """`uni-mmmu-programmatic-` and a key of the definition."""
        return "uni-mmmu-programmatic-" + definition_key(self.definition())

    def applies(self, instance: Instance) -> bool:
        """A Uni-MMMU maze, sliding or jigsaw instance."""
        return instance.benchmark == "uni-mmmu" and instance.category in self.TASKS

    async def score(
        self, instance: Instance, state: Mapping[str, Any]
    ) -> tuple[Scored, Sequence[Judgment]]:
        """The release's channels for the kept text and the drawn images."""
        from composer.benchmarks.unimmmu.case_scoring import score_programmatic
        from composer.benchmarks.unimmmu.instances import item_of

        text = state.get("response")
        drawn = [_ref(uri) for uri in state.get("drawn", [])]
        frames = [self.images.open(ref) for ref in drawn]
        channels = score_programmatic(
            item_of(instance),
            text if isinstance(text, str) else None,
            frames,
            distance=self.distance,
        )
        left_out = state.get("release_left_out")  # an imported case the release makes no row of
        if isinstance(left_out, str) and left_out:
            channels = {k: replace(c, official=None, note=left_out) for k, c in channels.items()}
        head = channels.get(self.HEADLINE[instance.category])
        return (
            Scored(
                judge=self.id,
                status="ok",
                correct_official=_passed(head.official) if head else None,
                correct_strict=_passed(head.strict) if head else None,
                channels=_stored(channels),
            ),
            [],
        )


@dataclass(frozen=True)
class UniMMMUJudged:
    """Uni-MMMU's model-judged scorers (geometry, science, code), with the run's judge model.

    The release's judge calls (its prompts word for word, its image order) go to `model`
    through the call layer, so any provider judges: the release's own judges are
    Qwen2.5-VL-72B and Qwen3-32B, served greedy behind an OpenAI-compatible endpoint
    (docs/benchmarks.md). The OpenAI-compatible adapter sends each request as the release
    does (the system message, then the texts and images in order: `JudgeRequest.call_options`);
    another judge gets the system message leading its prompt. Every raw reply is kept
    as a judgment; the channels are read from them in both readings. Headline: the proof
    (geometry), the final-state image (science), the rendering (code).
    """

    judge: Judge
    model: Understander
    images: ImageStore
    text_model: Understander | None = None
    """The text-only judge (the release's Qwen3-32B, for geometry proofs); None: `model`."""
    text_model_name: str | None = None

    TASKS = frozenset({"geometry", "science", "code"})
    HEADLINE = {"geometry": "text_ok", "science": "image_correct", "code": "image_match"}

    @property
    def label(self) -> str:
        """How reports name it: the judge model."""
        return f"{self.judge.model} (Uni-MMMU judge prompts)"

    def definition(self) -> dict[str, Any]:
        """The model, its options and the judged scorers' code."""
        from composer.benchmarks.unimmmu import case_scoring, judge_prompts, judged

        return {
            "model": self.judge.model,
            "model_options": dict(self.judge.model_options),
            "method": "uni-mmmu-judged",
            # The scorer's own reading of the state and asking of the judge count too.
            "method_version": code_version(case_scoring, judge_prompts, judged, type(self)),
            "options": {"text_model": self.text_model_name} if self.text_model_name else {},
        }

    @property
    def id(self) -> str:
        """`uni-mmmu-judged-` and a key of the definition."""
        return "uni-mmmu-judged-" + definition_key(self.definition())

    @staticmethod
    def is_judged(instance: Instance) -> bool:
        """Whether `instance` is one this scorer judges (the run then needs a judge model)."""
        return instance.benchmark == "uni-mmmu" and instance.category in UniMMMUJudged.TASKS

    def applies(self, instance: Instance) -> bool:
        """A Uni-MMMU geometry, science or code instance."""
        return self.is_judged(instance)

    async def score(
        self, instance: Instance, state: Mapping[str, Any]
    ) -> tuple[Scored, Sequence[Judgment]]:
        """Ask the release's judge calls about the output; read the channels from the replies."""
        from composer.benchmarks.unimmmu.case_scoring import judge_requests, judged_channels
        from composer.benchmarks.unimmmu.instances import item_of

        item = item_of(instance)
        # An empty text is judged, as the release judges an empty `model_text.txt`; no text
        # at all (an imported case without the file) is not.
        text = state.get("response")
        if not text and isinstance(state.get("rewrite"), str):
            text = state["rewrite"]
        drawn = [self.images.path(_ref(uri)) for uri in state.get("drawn", [])]
        if not drawn and state.get("image") is not None:
            drawn = [self.images.path(_ref(state["image"]))]
        with tempfile.TemporaryDirectory() as scratch:
            reference, has_reference = self._code_reference(item, state, Path(scratch))
            requests = (
                judge_requests(
                    item, text if isinstance(text, str) else None, drawn, reference=reference
                )
                if has_reference
                else {}
            )
            judgments, replies = await self._ask(requests)
        has_reference = bool(requests) or instance.category != "code"
        channels = judged_channels(item, replies, has_reference=has_reference)
        head = channels.get(self.HEADLINE[instance.category])
        scored = Scored(
            judge=self.id,
            status="ok",
            correct_official=_passed(head.official) if head else None,
            correct_strict=_passed(head.strict) if head else None,
            channels=_stored(channels),
        )
        return scored, judgments

    async def _ask(self, requests: Mapping[str, Any]) -> tuple[list[Judgment], dict[str, str]]:
        """Send the judge calls in order; every raw reply kept as a judgment."""
        from composer.benchmarks.unimmmu.judged import TEXT_MODEL

        judgments, replies = [], {}
        for position, (key, request) in enumerate(requests.items()):
            refs = [self.images.put_file(path) for path in request.images]
            judge = self.text_model if request.model == TEXT_MODEL and self.text_model else None
            reply = await (judge or self.model).understand(
                request.flat_prompt, refs, options=request.call_options()
            )
            replies[key] = reply.text
            judgments.append(
                Judgment(
                    position=position,
                    question=key,
                    expected="",
                    reply=reply.text,
                    official=None,
                    strict=None,
                )
            )
        return judgments, replies

    def _code_reference(
        self, item: Any, state: Mapping[str, Any], scratch: Path
    ) -> tuple[Path | None, bool]:
        """A code item's reference image, and whether it has one (others: None, True).

        An imported case's `result.json` decides, as `CodeSVGEvaluator` reads it: the PNG,
        else the SVG rasterised (with cairosvg), else none. A run's item: its PNG, else its
        SVG rasterised. Without cairosvg an SVG gives none, as the release without it.
        """
        from composer.benchmarks.unimmmu.judged import rasterize_svg
        from composer.benchmarks.unimmmu.records import CodeReferences

        refs = item.references
        if not isinstance(refs, CodeReferences):
            return None, True
        given = state.get("code_reference")
        if isinstance(given, Mapping):
            if given.get("png"):
                return self.images.path(_ref(given["png"])), True
            svg = given.get("svg")
        else:
            if refs.png is not None:
                return refs.png, True
            svg = refs.svg
        drawn = rasterize_svg(Path(svg), scratch / "_ref_from_svg.png") if svg else None
        return drawn, drawn is not None


def _stored(channels: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Channels as the store keeps them: name -> {kind, official, strict[, note]}."""
    return {
        name: {
            "kind": str(c.kind),
            "official": c.official,
            "strict": c.strict,
            **({"note": c.note} if c.note else {}),
        }
        for name, c in channels.items()
    }


def _passed(value: float | None) -> bool | None:
    return None if value is None else value >= 1.0


def _ref(value: Any) -> ImageRef:
    if isinstance(value, ImageRef):
        return value
    if isinstance(value, str):
        return ImageRef.parse(value)
    raise ComposerError("Uni-MMMU scorer", f"a drawn image is not an image reference ({value!r}).")
