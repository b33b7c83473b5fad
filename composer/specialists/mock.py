"""`mock/<name>`: a scripted test double that runs through the real engine.

Its replies are computed from its inputs only: the prompt and the captions of the images it is
shown. Images it draws are small PNGs whose colour comes from a hash of (prompt, seed) and whose
`caption` text chunk records what they show, so a scripted judge can "see" them.

    [models."mock/judge"]
    rules = [{ match = "caption: a red circle.*Is it red", reply = "yes" }]
    default = "no"
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from composer.core.errors import PrerequisiteError, RefusalError, SpecialistError
from composer.core.images import ImageRef, ImageStore
from composer.specialists.base import CallOptions, Capability, Options, Specialist, TextReply, Usage


class Rule(BaseModel):
    """Reply `reply` when the regex `match` occurs in the request text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match: str
    reply: str

    @field_validator("match")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:  # not a ValueError: pydantic would let it out as a traceback
            raise ValueError(f"is not a regular expression ({exc})") from None
        return value


class MockOptions(Options):
    """Options of a mock model (all optional)."""

    rules: tuple[Rule, ...] = ()
    """First matching rule wins; `reply` may use `{prompt}`."""
    default: str = ""
    """Reply when no rule matches."""
    capabilities: tuple[Capability, ...] = (
        Capability.UNDERSTAND,
        Capability.GENERATE,
        Capability.EDIT,
    )
    fail: str | None = None
    """Regex: matching requests raise a non-retryable error."""
    flaky: str | None = None
    """Regex: matching requests fail with a retryable error on their first `flaky_times` tries."""
    flaky_times: int = 1
    refuse: str | None = None
    """Regex: matching requests are refused (content policy)."""
    latency_s: float = 0.0
    load_s: float = 0.0
    """Seconds `load` takes, blocking a worker thread as reading weights does."""
    load_error: str | None = None
    """`load` fails with this message, after `load_s` (a model whose weights cannot be read)."""
    size: int = 16
    caption_seed: bool = False
    """Add `(seed N)` to the captions of drawn images, so a scripted judge can tell them apart."""


class MockSpecialist(Specialist):
    """A scripted model: see the module docstring for its behaviour."""

    provider = "mock"
    Options = MockOptions

    def __init__(self, model: str, options: MockOptions, *, images: ImageStore) -> None:
        """Build from validated options."""
        super().__init__(model, options, images=images, capabilities=set(options.capabilities))
        self.opts = options
        self._tries: dict[str, int] = {}
        self.requests: list[str] = []
        self.is_loaded = False

    @classmethod
    def from_name(
        cls, model: str, options: Mapping[str, Any], *, images: ImageStore
    ) -> MockSpecialist:
        """Build `mock/<model>` from its `[models]` table."""
        return cls(model, MockOptions(**options), images=images)

    async def load(self) -> None:
        """Take `load_s` seconds in a worker thread, then fail if `load_error` is set."""
        if self.opts.load_s:
            await asyncio.to_thread(time.sleep, self.opts.load_s)
        if self.opts.load_error is not None:
            raise PrerequisiteError(f"mock/{self.model}", f"{self.opts.load_error} (scripted).")
        self.is_loaded = True

    def _subject(self, prompt: str, images: Sequence[ImageRef]) -> str:
        captions = [self.images.open(ref).info.get("caption", "") for ref in images]
        return "\n".join([*(f"[image caption: {c}]" for c in captions), prompt])

    async def _gate(self, subject: str) -> None:
        self.requests.append(subject)
        if self.opts.latency_s:
            await asyncio.sleep(self.opts.latency_s)
        where = f"mock/{self.model}"
        if self.opts.refuse and re.search(self.opts.refuse, subject, re.S):
            raise RefusalError(where, "refused the request (scripted).")
        if self.opts.fail and re.search(self.opts.fail, subject, re.S):
            raise SpecialistError(where, "failed (scripted).")
        if self.opts.flaky and re.search(self.opts.flaky, subject, re.S):
            tries = self._tries.get(subject, 0)
            self._tries[subject] = tries + 1
            if tries < self.opts.flaky_times:
                raise SpecialistError(where, "transient failure (scripted).", is_retryable=True)

    async def understand(
        self,
        prompt: str,
        images: Sequence[ImageRef] = (),
        *,
        options: CallOptions | None = None,
    ) -> TextReply:
        """Reply with the first rule whose regex occurs in the captions plus prompt."""
        subject = self._subject(prompt, images)
        await self._gate(subject)
        for rule in self.opts.rules:
            if re.search(rule.match, subject, re.S):
                text = rule.reply.replace("{prompt}", prompt)
                break
        else:
            text = self.opts.default
        return TextReply(text=text, usage=Usage(input_tokens=len(subject.split())))

    def _draw(self, caption: str, seed: int) -> ImageRef:
        from PIL import Image

        digest = hashlib.sha256(f"{caption}|{seed}".encode()).digest()
        image = Image.new("RGB", (self.opts.size, self.opts.size), tuple(digest[:3]))
        return self.images.put(image, text={"caption": caption})

    async def generate(
        self, prompt: str, *, seed: int, options: CallOptions | None = None
    ) -> ImageRef:
        """Draw a flat image captioned with the prompt."""
        await self._gate(prompt)
        return self._draw(f"{prompt} (seed {seed})" if self.opts.caption_seed else prompt, seed)

    async def edit(
        self,
        prompt: str,
        images: Sequence[ImageRef],
        *,
        seed: int,
        options: CallOptions | None = None,
    ) -> ImageRef:
        """Draw a flat image captioned with the instruction and the inputs' captions."""
        subject = self._subject(prompt, images)
        await self._gate(subject)
        return self._draw(f"edit({prompt}) of [{subject}]", seed)
