"""Benchmark instances: what a system is shown, what it must produce, and what only scorers see.

An `Instance` is benchmark-neutral:

- `context`: the ordered parts the system is shown, text and images (any number of images);
- `requests`: the benchmark's own wording of the steps a strategy may take (`rewrite` a
  prompt before drawing, `edit` an image before answering, ...), filled in by the loader;
- `output`: what the system must produce (a text reply, how many images);
- `references`: expected answers, checks and ground-truth material for scorers only. A graph
  is handed `instance.shown()`, whose references are empty: a strategy cannot read them.

Each benchmark builds its instances from its own records (RealUnify's in
`composer.benchmarks.realunify.records`); its categories and their abbreviations live with it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from composer.core.images import ImageRef


class Axis(StrEnum):
    """The two directions a unified-model benchmark asks about."""

    UEG = "UEG"
    """Understanding enhances generation: the system must produce images."""
    GEU = "GEU"
    """Generation enhances understanding: the system must produce an answer."""


Parser = Literal["official", "strict"]
"""How a reply is read: as the benchmark's released scorer reads it, or by composer's strict
reader (for RealUnify, see `composer.benchmarks.realunify.protocol`)."""

REWRITE: Final = "rewrite"
"""The request that asks an understanding model to make a generation prompt explicit."""
STEP: Final = "step"
"""The benchmark's own ready step request for a rewrite (RealUnify's `new_prompt`), if any."""
EDIT: Final = "edit"
"""The request that asks an editor to change the input image before the answer."""
VERIFY: Final = "verify"
"""A yes/no question template about an image, with a `{question}` slot."""
STOP: Final = "stop"
"""A marker that ends a step loop the system decides the length of: a text reply holding it
(in any case), to any call but the last, skips to the last call (Uni-MMMU with k withheld)."""


class Check(BaseModel):
    """One verification question and the answer a correct image earns."""

    model_config = ConfigDict(frozen=True)

    question: str
    answer: Literal["yes", "no"]


class TextPart(BaseModel):
    """A piece of text the system is shown."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["text"] = "text"
    text: str


class ImagePart(BaseModel):
    """An image the system is shown."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["image"] = "image"
    image: ImageRef


Part = Annotated[TextPart | ImagePart, Field(discriminator="kind")]
"""One part of an instance's context."""


class OutputSpec(BaseModel):
    """What a system must produce for an instance."""

    model_config = ConfigDict(frozen=True)

    text: bool = False
    """A text reply is scored (an answer, a move list, a proof)."""
    images: int = 0
    """How many images are scored (0: none)."""
    images_told: bool = True
    """Whether the system is told how many images to produce (Uni-MMMU's k, in `official`).
    When it is not, `images` is 0 and the system decides how many it draws (see `STOP`)."""


class CallSpec(BaseModel):
    """One call of a benchmark's own protocol over a growing context, in order.

    Uni-MMMU's sample scripts are such protocols: each call sees the context so far plus its
    `suffix`; a call with `feed_back` appends its output (after `label`, when there is one) to
    the context of the later calls. `kept` marks the text the benchmark scores, or an image it
    scores.
    """

    model_config = ConfigDict(frozen=True)

    output: Literal["text", "image"]
    suffix: str = ""
    feed_back: bool = False
    label: str | None = None
    kept: bool = False


class References(BaseModel):
    """What only scorers see: the expected answer, checks, ground-truth material."""

    model_config = ConfigDict(frozen=True)

    answer: str | None = None
    checks: tuple[Check, ...] = ()
    data: dict[str, Any] = Field(default_factory=dict)
    """Benchmark-specific ground truth (moves, ground-truth image paths, a solution)."""

    @property
    def is_empty(self) -> bool:
        """True when there is nothing here (as in every instance a graph is handed)."""
        return self.answer is None and not self.checks and not self.data


class Instance(BaseModel):
    """One benchmark item: context shown, output wanted, references hidden from systems.

    Example:
        >>> from composer.core.instance import TextPart
        >>> item = Instance(id="1", axis=Axis.UEG, category="demo",
        ...                 context=(TextPart(text="a red circle"),), output=OutputSpec(images=1))
        >>> item.text, item.output.images
        ('a red circle', 1)
    """

    model_config = ConfigDict(frozen=True)

    id: str
    axis: Axis
    category: str
    subtask: str | None = None
    benchmark: str = "realunify"
    context: tuple[Part, ...] = ()
    requests: dict[str, str] = Field(default_factory=dict)
    calls: tuple[CallSpec, ...] = ()
    """The benchmark's own calls in order, where its protocol is a call sequence (else empty)."""
    output: OutputSpec = OutputSpec()
    references: References = References()
    fields: dict[str, Any] = Field(default_factory=dict)
    """The benchmark record's own fields that reports show and exports write back (a question
    and its options, an input image's path); never scored, never a reference."""
    source: str = ""
    meta: dict[str, Any] = Field(default_factory=dict)

    @property
    def text(self) -> str:
        """The text parts of the context, in order, joined by blank lines."""
        return "\n\n".join(p.text for p in self.context if isinstance(p, TextPart))

    @property
    def images(self) -> tuple[ImageRef, ...]:
        """The images of the context, in order."""
        return tuple(p.image for p in self.context if isinstance(p, ImagePart))

    def request(self, kind: str) -> str | None:
        """The benchmark's wording of a step request (`REWRITE`, `STEP`, `EDIT`, ...), or None."""
        return self.requests.get(kind)

    def shown(self) -> Instance:
        """This instance as one task sees it: no references, its own copies of the dicts.

        The copies are of the record's fields, the step requests and the meta. The instance is
        frozen, but those three are dicts: a node that wrote into one (a
        request reworded, an option appended) changed what every later task was shown, other
        systems' included; now it changes its own copy.
        """
        update: dict[str, Any] = {}
        if not self.references.is_empty:
            update["references"] = References()
        if self.requests:
            update["requests"] = dict(self.requests)  # str to str
        if self.fields:
            update["fields"] = _own_copy(self.fields)
        if self.meta:
            update["meta"] = _own_copy(self.meta)
        return self.model_copy(update=update) if update else self

    def field(self, name: str, default: Any = None) -> Any:
        """One of the record's own fields (`fields`), or `default`."""
        return self.fields.get(name, default)


def _own_copy(value: Any) -> Any:
    """`value` with every dict, list and set in it copied (the rest is immutable, or shared).

    JSON-like record data only: `copy.deepcopy` does the same at three times the cost, paid by
    every task.
    """
    kind = type(value)
    if kind is dict:
        return {k: _own_copy(v) for k, v in value.items()}
    if kind is list:
        return [_own_copy(v) for v in value]
    if kind is tuple:
        return tuple(_own_copy(v) for v in value)
    if kind is set:
        return set(value)
    return value
