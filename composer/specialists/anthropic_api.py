"""`anthropic/<model>`: Claude models as Understanders over the Messages API.

Images go as base64 PNG blocks before the prompt in one user message. Claude does not draw, so
these models bind only to understanding roles (reasoner, judge).

    [models."anthropic/claude-sonnet-4-5"]
    max_tokens = 1024
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import Field

from composer.core.errors import RefusalError, SpecialistError
from composer.core.images import ImageRef, ImageStore
from composer.specialists.base import CallOptions, Capability, TextReply, Usage
from composer.specialists.hosted import (
    HostedOptions,
    HostedSpecialist,
    b64,
    malformed_reply,
    resolve_key,
    scrub,
    sdk_fault,
    status_error,
    transport_fault,
)
from composer.specialists.pricing import priced

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic
    from anthropic.types import Message

DEFAULT_MAX_TOKENS = 1024
"""The Messages API requires a cap on the reply; enough for a rewrite or an answer."""


class AnthropicOptions(HostedOptions):
    """Options of an `anthropic/...` model."""

    max_tokens: int | None = Field(default=DEFAULT_MAX_TOKENS, ge=1)


def to_request(
    model: str,
    prompt: str,
    images: Sequence[bytes] = (),
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    temperature: float | None = None,
) -> dict[str, Any]:
    """The Messages request: one user turn, base64 PNG image blocks first, then the text."""
    content: list[dict[str, Any]] = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": b64(d)}}
        for d in images
    ]
    content.append({"type": "text", "text": prompt})
    request: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": content}],
    }
    if temperature is not None:
        request["temperature"] = temperature
    return request


def from_reply(where: str, reply: Message) -> TextReply:
    """The text blocks of a reply, joined; `stop_reason == "refusal"` raises `RefusalError`."""
    request_id = getattr(reply, "_request_id", None)
    if getattr(reply, "stop_reason", None) == "refusal":
        raise RefusalError(
            where, "refused the request (stop_reason 'refusal').", request_id=request_id
        )
    content = getattr(reply, "content", None)
    if content is None:
        raise malformed_reply(where, "no content in the reply", request_id)
    text = "".join(block.text for block in content if block.type == "text")
    usage = Usage(model=getattr(reply, "model", None) or None)
    if getattr(reply, "usage", None) is not None:
        usage = Usage(
            input_tokens=reply.usage.input_tokens or 0,
            output_tokens=reply.usage.output_tokens or 0,
            model=usage.model,
        )
    return TextReply(text=text, usage=usage, request_id=request_id)


def translate_error(where: str, exc: Exception, secret: str | None) -> SpecialistError:
    """An Anthropic SDK exception in the call layer's terms, with the key masked out."""
    import anthropic

    transport = transport_fault(where, exc, secret)
    if transport is not None:
        return transport
    if isinstance(exc, anthropic.APIStatusError):
        message = exc.api_message or exc.message
        return status_error(
            where,
            exc.status_code,
            scrub(str(message), secret),
            headers=exc.response.headers,
            request_id=exc.request_id,
        )
    malformed = isinstance(exc, anthropic.APIResponseValidationError | ValueError)
    return sdk_fault(where, exc, secret, is_malformed=malformed)


class AnthropicSpecialist(HostedSpecialist):
    """A Claude model over the official SDK.

    Example:
        >>> judge = create("anthropic/claude-sonnet-4-5", {}, images=store)  # doctest: +SKIP
    """

    provider = "anthropic"
    extra = "anthropic"
    Options = AnthropicOptions
    translate_error = staticmethod(translate_error)

    def __init__(
        self, model: str, options: AnthropicOptions, client: AsyncAnthropic, *, images: ImageStore
    ) -> None:
        """Wrap a ready `AsyncAnthropic` client (its own retries should be 0)."""
        super().__init__(
            model,
            options,
            images=images,
            capabilities={Capability.UNDERSTAND},
            api_key=getattr(client, "api_key", None),
        )
        self.opts = options
        self.client = client

    @classmethod
    def from_name(
        cls, model: str, options: Mapping[str, Any], *, images: ImageStore
    ) -> AnthropicSpecialist:
        """Build the SDK client from `base_url` (or ANTHROPIC_BASE_URL) and the key."""
        from anthropic import AsyncAnthropic, DefaultAsyncHttpxClient

        opts = AnthropicOptions(**options)
        key = resolve_key(f"{cls.provider}/{model}", opts, ("ANTHROPIC_API_KEY",))
        client = AsyncAnthropic(
            api_key=key,
            base_url=opts.base_url,
            max_retries=0,
            timeout=600.0,
            http_client=DefaultAsyncHttpxClient(
                follow_redirects=False
            ),  # see hosted.redirect_error
        )
        return cls(model, opts, client, images=images)

    async def aclose(self) -> None:
        """Close the SDK client's connections (call once the run is over)."""
        await self.client.close()

    async def understand(
        self, prompt: str, images: Sequence[ImageRef] = (), *, options: CallOptions | None = None
    ) -> TextReply:
        """Ask Claude about `images` (per-call `max_tokens`/`temperature` override)."""
        request = to_request(
            self.model,
            prompt,
            [self.images.read_bytes(ref) for ref in images],
            max_tokens=self.per_call(options, "max_tokens") or DEFAULT_MAX_TOKENS,
            temperature=self.per_call(options, "temperature"),
        )
        with self.sdk_errors():
            reply = await self.client.messages.create(**request)
            text = from_reply(self.name, reply)
        return text.model_copy(update={"usage": priced(text.usage, self.price)})
