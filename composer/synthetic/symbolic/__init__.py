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
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from composer.agents.revise import REVISE_PROMPT
from composer.agents.rewrite import REWRITE_PROMPT
from composer.agents.verify import DERIVE_CHECKS_PROMPT
from composer.benchmarks.realunify.protocol import (
    LETTERS,
    prompt_of_refine_request,
    question_of_judge_request,
)
from composer.core.errors import ConfigError
from composer.core.images import ImageRef, ImageStore
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


_DECODED_KEPT = 8
"""Decoded images a symbolic model keeps: a task asks about its image several times in a row."""


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """As `Specialist`, with an empty cache of decoded images."""
        super().__init__(*args, **kwargs)
        self._decoded: collections.OrderedDict[str, np.ndarray] = collections.OrderedDict()

    @property
    def is_naive(self) -> bool:
        """Whether this is the naive unified model."""
        return self.model == "naive-unified"

    def _pixels(self, refs: Sequence[ImageRef]) -> list[np.ndarray]:
        # Pixels only: converting to an RGB array drops every PNG text chunk. An image is
        # looked at several times in a row (each judge question, each judge), and decoding it
        # was a third of the demo's model time: the last few are kept, read-only, by content.
        decoded = self._decoded
        arrays = []
        for ref in refs:
            array = decoded.pop(ref.sha256, None)
            if array is None:
                array = np.asarray(self.images.open(ref).convert("RGB"))
                array.flags.writeable = False
            decoded[ref.sha256] = array
            arrays.append(array)
        while len(decoded) > _DECODED_KEPT:
            decoded.popitem(last=False)
        return arrays

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
            text=self._reply(prompt, self._pixels(images)),
            usage=Usage(input_tokens=len(prompt.split())),
        )

    def _reply(self, prompt: str, pixels: list[np.ndarray]) -> str:
        if self.model == "glance-judge":
            return self._glance(prompt, pixels)
        board = unimmmu.reply(prompt, pixels, model=self.model, naive=self.is_naive)
        if board is not None:
            return board
        original = prompt_of_refine_request(prompt) or _prompt_of_rewrite_request(prompt)
        if original is not None:
            return ueg.rewrite(original, naive=self.is_naive)
        question = question_of_judge_request(prompt)
        if question is not None:
            if not pixels:
                raise NotUnderstood("a judge question needs an image, and none was given.")
            return ueg.answer_yes_no(question, pixels[0])
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

    def _glance(self, prompt: str, pixels: list[np.ndarray]) -> str:
        question = question_of_judge_request(prompt)
        if question is None:
            raise NotUnderstood(f"it answers judge questions only, not {prompt[:80]!r}.")
        if not pixels:
            raise NotUnderstood("a judge question needs an image, and none was given.")
        from PIL import Image

        full = Image.fromarray(pixels[0])
        small = full.reduce(GLANCE_FACTOR)  # a box filter: edges blend into the background
        seen = small.resize(full.size, Image.Resampling.NEAREST)
        return ueg.answer_yes_no(question, np.asarray(seen))

    @refusing
    async def generate(
        self, prompt: str, *, seed: int, options: CallOptions | None = None
    ) -> ImageRef:
        """Render the scene `prompt` describes (a Uni-MMMU call needs its images: refused)."""
        unimmmu.refuse_without_images(prompt, model=self.model)
        return self.images.put(ueg.render(prompt, seed, naive=self.is_naive), text={})

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
        pixels = self._pixels(images)
        board = unimmmu.edit(prompt, pixels, model=self.model, naive=self.is_naive)
        if board is not None:
            return self.images.put(board, text={})
        edited = geu.edit(prompt, pixels[0], seed, naive=self.is_naive)
        return self.images.put(edited, text={})
