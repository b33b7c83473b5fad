"""`symbolic/<name>`: offline specialists that solve the synthetic suite from pixels and text.

- `symbolic/reasoner`: an Understander. Rewrites UEG prompts into explicit scene descriptions
  by computing (arithmetic, a fact table, constraint solving, a restricted Python evaluator);
  answers GEU questions and yes/no judge questions by reading the pixels.
- `symbolic/painter`: a Generator and Editor. Renders explicit scene descriptions; edits by
  restoring shuffled patches, applying recolourings, marking targets and tracing paths.
- `symbolic/naive-unified`: all three capabilities, behaving like the unified models in the
  paper: draws the literal words of a prompt, answers from the unedited image, rewrites and
  edits imperfectly.
- `symbolic/glance-judge`: an Understander that answers judge questions only, reading the
  pixels differently: it looks at the image at a third of its size (box-filtered), so small
  shapes blur away and touching ones merge. The demo's second judge, to show how far two
  judges agree.

All three also answer the Uni-MMMU sample scripts' maze, sliding-puzzle and jigsaw calls
(`symbolic/unimmmu.py`): the reasoner and the painter solve them from pixels (search, then
the step frames drawn as edits), the naive model answers in the right shape without solving.

They see only what a real model sees: the request text and the image pixels (PNG metadata is
dropped before they look), never the instance record. A request they do not understand is
refused with the reason (`vocabulary.py` lists what they understand).
"""

from __future__ import annotations

import collections
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PIL import Image

from composer.agents.revise import REVISE_PROMPT
from composer.agents.rewrite import REWRITE_PROMPT
from composer.agents.verify import DERIVE_CHECKS_PROMPT
from composer.benchmarks.realunify.protocol import (
    LETTERS,
    prompt_of_refine_request,
    question_of_judge_request,
)
from composer.core.errors import ConfigError
from composer.core.images import MAX_SIDE, ImageRef, ImageStore
from composer.specialists.base import CallOptions, Capability, Options, Specialist, TextReply, Usage
from composer.synthetic.symbolic import geu, ueg, unimmmu
from composer.synthetic.symbolic.vocabulary import NotUnderstood, refusing

MODELS: dict[str, frozenset[Capability]] = {
    "reasoner": frozenset({Capability.UNDERSTAND}),
    "painter": frozenset({Capability.GENERATE, Capability.EDIT}),
    "naive-unified": frozenset(Capability),
    "glance-judge": frozenset({Capability.UNDERSTAND}),
}
GLANCE_FACTOR = 3
"""How much smaller `symbolic/glance-judge` sees an image."""

# composer's own agent prompts, recognised by their fixed text around the filled-in fields.
_DERIVE_HEAD, _DERIVE_TAIL = DERIVE_CHECKS_PROMPT.split("{prompt}")
_REVISE_HEAD = REVISE_PROMPT.split("\n", 1)[0]
_REWRITE_HEAD, _REWRITE_TAIL = REWRITE_PROMPT.split("{prompt}")


def _prompt_of_rewrite_request(text: str) -> str | None:
    """The prompt inside composer's own rewrite request (a benchmark that words none)."""
    if text.startswith(_REWRITE_HEAD) and text.endswith(_REWRITE_TAIL):
        return text[len(_REWRITE_HEAD) : len(text) - len(_REWRITE_TAIL)]
    return None


SEEN_BYTES = 6 * 2**20
"""Decoded pixels the symbolic models keep, together (about 15 of the suite's images): a task
looks at its image several times (each judge question, each judge), and the next step of a
graph looks at the image the step before made."""


class Sight:
    """One image as the symbolic models see it: its pixels, and what they read from them once.

    Kept by content (the image's sha256) and shared by the symbolic models of a run (those
    reading one image store), so an image is decoded once while it is in use and its shapes
    are found once, however many judge questions ask about it. The pixels are read-only.
    """

    __slots__ = ("_glanced", "_shapes", "pixels")

    def __init__(self, pixels: np.ndarray) -> None:
        pixels.flags.writeable = False
        self.pixels = pixels
        self._shapes: list[ueg.Blob] | None = None
        self._glanced: list[ueg.Blob] | None = None

    def shapes(self) -> list[ueg.Blob]:
        """The shapes the pixel-reading judge finds (`ueg_vision.find_blobs`)."""
        if self._shapes is None:
            self._shapes = ueg.find_blobs(self.pixels)
        return self._shapes

    def glanced(self) -> list[ueg.Blob]:
        """The shapes found at a third of the size (box-filtered), back at full size."""
        if self._glanced is None:
            full = Image.fromarray(self.pixels)
            small = full.reduce(GLANCE_FACTOR)  # a box filter: edges blend into the background
            seen = small.resize(full.size, Image.Resampling.NEAREST)
            self._glanced = ueg.find_blobs(np.asarray(seen))
        return self._glanced


class _Seen:
    """The sights of one image store, by sha256, most recently used last, up to `SEEN_BYTES`."""

    def __init__(self) -> None:
        self.sights: collections.OrderedDict[str, Sight] = collections.OrderedDict()
        self.held = 0

    def get(self, sha256: str) -> Sight | None:
        return self.sights.get(sha256)

    def remember(self, sha256: str, sight: Sight) -> Sight:
        """Keep `sight` as the most recent, forgetting the oldest past `SEEN_BYTES`."""
        kept = self.sights.pop(sha256, None)
        if kept is not None:
            self.held -= kept.pixels.nbytes
        self.sights[sha256] = sight
        self.held += sight.pixels.nbytes
        while self.held > SEEN_BYTES and len(self.sights) > 1:
            _, dropped = self.sights.popitem(last=False)
            self.held -= dropped.pixels.nbytes
        return sight


_SEEN: weakref.WeakKeyDictionary[ImageStore, _Seen] = weakref.WeakKeyDictionary()
"""Per image store, so one run's models share what they saw and a run never reads another's."""


class SymbolicOptions(Options):
    """Symbolic specialists take no options."""


class SymbolicSpecialist(Specialist):
    """One of the three symbolic models; see the module docstring."""

    provider = "symbolic"
    Options = SymbolicOptions

    @classmethod
    def from_name(
        cls, model: str, options: Mapping[str, Any], *, images: ImageStore
    ) -> SymbolicSpecialist:
        """Build `symbolic/reasoner`, `symbolic/painter` or `symbolic/naive-unified`."""
        if model not in MODELS:
            raise ConfigError(
                f"model 'symbolic/{model}'",
                "is not a symbolic model.",
                f"Use one of: {', '.join('symbolic/' + m for m in MODELS)}.",
            )
        return cls(model, SymbolicOptions(**options), images=images, capabilities=MODELS[model])

    @property
    def is_naive(self) -> bool:
        """Whether this is the naive unified model."""
        return self.model == "naive-unified"

    def _sights(self, refs: Sequence[ImageRef]) -> list[Sight]:
        # Pixels only: converting to an RGB array drops every PNG text chunk.
        seen = self._seen()
        sights = []
        for ref in refs:
            sight = seen.get(ref.sha256)
            if sight is None:
                sight = Sight(np.asarray(self.images.open(ref).convert("RGB")))
            sights.append(seen.remember(ref.sha256, sight))
        return sights

    def _seen(self) -> _Seen:
        seen = _SEEN.get(self.images)
        if seen is None:
            seen = _SEEN[self.images] = _Seen()
        return seen

    def _put(self, image: Image.Image) -> ImageRef:
        """Store an image this model made, and keep its pixels as the models will see them.

        The pixels are those the stored PNG decodes to (PNG is lossless, and `ImageStore.open`
        changes only an image larger than `MAX_SIDE`), so the judge reading this image next
        does not decode it again.
        """
        ref = self.images.put(image, text={})
        if max(image.size) <= MAX_SIDE:
            self._seen().remember(ref.sha256, Sight(np.asarray(image.convert("RGB"))))
        return ref

    @refusing
    async def understand(
        self,
        prompt: str,
        images: Sequence[ImageRef] = (),
        *,
        options: CallOptions | None = None,
    ) -> TextReply:
        """Dispatch on the request: refine, judge question, derive checks, revise, or choice."""
        return TextReply(
            text=self._reply(prompt, self._sights(images)),
            usage=Usage(input_tokens=len(prompt.split())),
        )

    def _reply(self, prompt: str, sights: list[Sight]) -> str:
        if self.model == "glance-judge":
            return self._glance(prompt, sights)
        pixels = [s.pixels for s in sights]
        board = unimmmu.reply(prompt, pixels, model=self.model, naive=self.is_naive)
        if board is not None:
            return board
        original = prompt_of_refine_request(prompt) or _prompt_of_rewrite_request(prompt)
        if original is not None:
            return ueg.rewrite(original, naive=self.is_naive)
        question = question_of_judge_request(prompt)
        if question is not None:
            if not sights:
                raise NotUnderstood("a judge question needs an image, and none was given.")
            return ueg.answer_from_shapes(question, sights[0].shapes())
        if prompt.startswith(_DERIVE_HEAD):
            # The prompt may span lines (code-to-image programs); the instructions follow it.
            target = prompt[len(_DERIVE_HEAD) :].rsplit(_DERIVE_TAIL, 1)[0]
            return "\n".join(f"{q} ({a})" for q, a in ueg.derive_checks(target))
        if prompt.startswith(_REVISE_HEAD):
            return ueg.revise_from_request(prompt, naive=self.is_naive)
        choice = geu.parse_choice_request(prompt)
        if choice is not None:
            question, options = choice
            if not pixels:
                raise NotUnderstood("a multiple-choice question needs an image, none was given.")
            letter_index = geu.answer_choice(question, options, pixels, naive=self.is_naive)
            return LETTERS[letter_index]
        raise NotUnderstood(
            "it is none of the requests it answers (refine, judge question, derive checks, "
            f"revise, multiple choice): {prompt[:80]!r}."
        )

    def _glance(self, prompt: str, sights: list[Sight]) -> str:
        question = question_of_judge_request(prompt)
        if question is None:
            raise NotUnderstood(f"it answers judge questions only, not {prompt[:80]!r}.")
        if not sights:
            raise NotUnderstood("a judge question needs an image, and none was given.")
        return ueg.answer_from_shapes(question, sights[0].glanced())

    @refusing
    async def generate(
        self, prompt: str, *, seed: int, options: CallOptions | None = None
    ) -> ImageRef:
        """Render the scene `prompt` describes (a Uni-MMMU call needs its images: refused)."""
        unimmmu.refuse_without_images(prompt, model=self.model)
        return self._put(ueg.render(prompt, seed, naive=self.is_naive))

    @refusing
    async def edit(
        self,
        prompt: str,
        images: Sequence[ImageRef],
        *,
        seed: int,
        options: CallOptions | None = None,
    ) -> ImageRef:
        """Edit the first image as the instruction asks (a Uni-MMMU call: the last one)."""
        pixels = [s.pixels for s in self._sights(images)]
        board = unimmmu.edit(prompt, pixels, model=self.model, naive=self.is_naive)
        if board is not None:
            return self._put(board)
        return self._put(geu.edit(prompt, pixels[0], seed, naive=self.is_naive))
