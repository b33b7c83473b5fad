"""The three capability protocols every model adapter implements, and their shared types.

A *specialist* is one model behind one or more of `Understander`, `Generator` and `Editor`. A
unified model implements all three. Adapters translate requests and replies; the call layer
(`composer.evaluation.calls`) adds caching, retries, limits and accounting around them.
"""

from __future__ import annotations

import asyncio
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from composer.core.images import ImageRef, ImageStore


class Capability(StrEnum):
    """What a specialist can do; one per protocol."""

    UNDERSTAND = "understand"
    GENERATE = "generate"
    EDIT = "edit"


class Usage(BaseModel):
    """What one call consumed, for the accounting columns of the run store."""

    input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0
    cost_usd: float | None = None
    model: str | None = None
    """The exact model id the provider reported in its reply (a dated snapshot such as
    `gpt-4.1-2025-04-14`), for the run's reproducibility record; None where none is reported."""


class TextReply(BaseModel):
    """A text answer from an `Understander`."""

    model_config = ConfigDict(frozen=True)

    text: str
    usage: Usage = Usage()
    request_id: str | None = None


class ImageReply(ImageRef):
    """An image an adapter drew, with what drawing it used (tokens, images, cost).

    `generate` and `edit` return an `ImageRef`; an adapter that knows the call's usage returns
    this subclass instead, so the usage travels with the result (the call layer records it)
    and every caller that wants only the image still gets one.
    """

    usage: Usage = Usage()


CallOptions = Mapping[str, Any]


@runtime_checkable
class Understander(Protocol):
    """Answers a text prompt about zero or more images."""

    async def understand(
        self,
        prompt: str,
        images: Sequence[ImageRef] = (),
        *,
        options: CallOptions | None = None,
    ) -> TextReply:
        """Return the model's text reply to `prompt` shown after `images`."""
        ...


@runtime_checkable
class AsksAgainOnEmpty(Protocol):
    """An understander that asks again itself when a reply is empty (the call layer does).

    A caller that re-asks on its own (the released judge's 15 re-asks) takes the view
    `reporting_empty()` returns: the same model, whose empty reply comes back at once as an
    `EmptyReplyError` instead of being asked again with backoff first.
    """

    def reporting_empty(self) -> Understander:
        """The same understander, an empty reply raised at once rather than asked again."""
        ...


@runtime_checkable
class Generator(Protocol):
    """Draws one image from a text prompt."""

    async def generate(
        self, prompt: str, *, seed: int, options: CallOptions | None = None
    ) -> ImageRef:
        """Return a reference to the image drawn for `prompt` with `seed`."""
        ...


@runtime_checkable
class Editor(Protocol):
    """Edits one or more input images according to a text instruction."""

    async def edit(
        self,
        prompt: str,
        images: Sequence[ImageRef],
        *,
        seed: int,
        options: CallOptions | None = None,
    ) -> ImageRef:
        """Return a reference to the edited image."""
        ...


PROTOCOL_CAPABILITY: dict[type, Capability] = {
    Understander: Capability.UNDERSTAND,
    Generator: Capability.GENERATE,
    Editor: Capability.EDIT,
}


class SpecialistOptions(BaseModel):
    """Base of every adapter's options: strict, so a misspelt option is an error at start.

    A number or a flag written as text (`max_batch = "8"`) is an error too, as in the rest of
    the run file; lists still become tuples and names still become enums.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_text_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, str) and field is not None and _numeric(field.annotation):
            raise ValueError('must be a number or true/false, not text (write 8, not "8")')
        return value


def _numeric(annotation: Any) -> bool:
    """Whether a field holds only numbers or flags (optionally None)."""
    allowed = {int, float, bool, type(None)}
    args = typing.get_args(annotation)
    if args and typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return all(a in allowed for a in args)
    return annotation in (int, float, bool)


Options = SpecialistOptions


class Specialist:
    """Base class of model adapters.

    Subclasses set `provider`, `Options` and `capabilities`, implement the protocol methods of
    what they can do, and build themselves in `from_name`.

    Example:
        >>> class EchoSpecialist(Specialist):
        ...     provider = "echo"
        ...     async def understand(self, prompt, images=(), *, options=None):
        ...         return TextReply(text=prompt)
        ...     @classmethod
        ...     def from_name(cls, model, options, *, images):
        ...         return cls(model, cls.Options(**options), images=images,
        ...                    capabilities={Capability.UNDERSTAND})
    """

    provider: ClassVar[str] = ""
    extra: ClassVar[str | None] = None
    """The `unify-composer[...]` extra that installs what this provider imports."""
    Options: ClassVar[type[SpecialistOptions]] = SpecialistOptions

    def __init__(
        self,
        model: str,
        options: SpecialistOptions,
        *,
        images: ImageStore,
        capabilities: set[Capability] | frozenset[Capability],
        endpoint: str | None = None,
    ) -> None:
        """Keep the model id (the part after `provider/`), options and image store."""
        self.model = model
        self.options = options
        self.images = images
        self.capabilities = frozenset(capabilities)
        self.endpoint = endpoint or f"{self.provider}/{model}"

    @property
    def name(self) -> str:
        """The full `provider/model` name."""
        return f"{self.provider}/{self.model}"

    def supports(self, capability: Capability) -> bool:
        """Whether this model can be bound to a role that needs `capability`."""
        return capability in self.capabilities

    async def load(self) -> None:
        """Prepare before the run (local models load weights here); hosted ones do nothing."""

    def close(self) -> None:
        """Release what `load` took (worker threads, GPU memory); called when the run ends."""

    async def aclose(self) -> None:
        """Close network clients while the run's event loop is still running."""

    def progress_note(self) -> str:
        """A short live status for the progress display (batches, replicas); empty if none."""
        return ""

    def describe(self) -> dict[str, Any]:
        """What identifies this model's behaviour, for the run record and the cache key."""
        return {"name": self.name, "options": self.options.model_dump(mode="json")}

    def provenance(self) -> dict[str, Any]:
        """Where and how this model ran, for the run's reproducibility record.

        Never part of the cache key: a local model's device, dtype and attention kernel once
        loaded; {} for a hosted one (its replies report the exact model id, see `Usage.model`).
        """
        return {}

    @classmethod
    def from_name(cls, model: str, options: Mapping[str, Any], *, images: ImageStore) -> Specialist:
        """Build the specialist for `provider/<model>` with its `[models]` options."""
        # Adapters override this; a proxy built by the registry (e.g. the Ray backend) does not.
        raise TypeError(f"{cls.__name__} is not built from a model name; use the registry")

    def __repr__(self) -> str:
        """Show the name and capabilities."""
        caps = ",".join(sorted(self.capabilities))
        return f"<{type(self).__name__} {self.name} [{caps}]>"


async def load_all(specialists: Iterable[Specialist]) -> None:
    """Load every specialist at the same time; on the first failure, cancel the rest and raise.

    Local adapters read weights in worker threads and the Ray backend deploys from one, so the
    loads overlap and the whole takes about as long as the slowest. The error raised is the
    first to happen (among those at the same moment, the first in `specialists`); the loads
    still running are cancelled and awaited, so none is left half-done in the background.

    Example:
        >>> await load_all(runner.specialists.values())  # doctest: +SKIP
    """
    tasks = [asyncio.create_task(s.load(), name=f"load {s.name}") for s in specialists]
    if not tasks:
        return
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:  # also when the caller is cancelled: no load goes on unawaited
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:  # of the loads that had failed when `wait` returned, the first listed
        error = task.exception() if task in done and not task.cancelled() else None
        if error is not None:
            raise error
