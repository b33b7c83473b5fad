"""`gemini/<model>`: Gemini models over the google-genai SDK's generateContent.

Text models (`gemini-2.5-pro`, `gemini-2.5-flash`) are Understanders. Image models
(`gemini-2.5-flash-image`, "Nano Banana") understand, generate and edit, so one of them runs as
a unified model in every graph. Images go as inline PNG parts before the prompt; generated
images come back as inline parts and are stored as PNG.

    [models."gemini/gemini-2.5-pro"]
    max_tokens = 2048
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from composer.core.errors import ConfigError, RefusalError, SpecialistError
from composer.core.images import ImageRef, ImageStore
from composer.specialists.base import CallOptions, Capability, ImageReply, TextReply, Usage
from composer.specialists.hosted import (
    HostedOptions,
    HostedSpecialist,
    as_png,
    malformed_reply,
    resolve_key,
    retry_after_seconds,
    scrub,
    sdk_fault,
    status_error,
    transport_fault,
)
from composer.specialists.pricing import priced

if TYPE_CHECKING:
    from google.genai import Client
    from google.genai.types import GenerateContentResponse

KEY_ENVS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
_BLOCKED = frozenset(
    {
        "SAFETY",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "MODEL_ARMOR",
    }
)


class GeminiOptions(HostedOptions):
    """Options of a `gemini/...` model."""

    aspect_ratio: str | None = None
    """Aspect ratio of generated images, e.g. "1:1" (image models)."""


def capabilities_of(model: str) -> frozenset[Capability]:
    """Image-output models do all three; every other Gemini model understands."""
    if "image" in model and not model.startswith("imagen"):
        return frozenset(Capability)
    return frozenset({Capability.UNDERSTAND})


def to_request(
    model: str,
    prompt: str,
    images: Sequence[bytes] = (),
    *,
    max_tokens: int | None = None,
    temperature: float | None = None,
    seed: int | None = None,
    image_output: bool = False,
    aspect_ratio: str | None = None,
) -> dict[str, Any]:
    """Keyword arguments of `models.generate_content`: inline PNG parts first, then the text."""
    parts: list[dict[str, Any]] = [
        {"inline_data": {"mime_type": "image/png", "data": data}} for data in images
    ]
    parts.append({"text": prompt})
    config: dict[str, Any] = {}
    if max_tokens is not None:
        config["max_output_tokens"] = max_tokens
    if temperature is not None:
        config["temperature"] = temperature
    if seed is not None:
        config["seed"] = seed
    if image_output:
        config["response_modalities"] = ["TEXT", "IMAGE"]
        if aspect_ratio is not None:
            config["image_config"] = {"aspect_ratio": aspect_ratio}
    return {"model": model, "contents": [{"role": "user", "parts": parts}], "config": config}


def _check_blocked(where: str, reply: GenerateContentResponse) -> None:
    request_id = reply.response_id
    feedback = reply.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        reason = getattr(feedback.block_reason, "value", feedback.block_reason)
        raise RefusalError(where, f"blocked the prompt ({reason}).", request_id=request_id)
    for candidate in reply.candidates or []:
        reason = getattr(candidate.finish_reason, "value", candidate.finish_reason)
        if reason in _BLOCKED:
            raise RefusalError(where, f"blocked the reply ({reason}).", request_id=request_id)


def _usage(reply: GenerateContentResponse, images: int = 0) -> Usage:
    meta = reply.usage_metadata
    reported = getattr(reply, "model_version", None) or None  # e.g. "gemini-2.5-pro-preview-05-06"
    if meta is None:
        return Usage(images=images, model=reported)
    return Usage(
        input_tokens=meta.prompt_token_count or 0,
        output_tokens=meta.candidates_token_count or 0,
        images=images,
        model=reported,
    )


def _parts(where: str, reply: GenerateContentResponse) -> list[Any]:
    _check_blocked(where, reply)
    candidates = reply.candidates or []
    if not candidates:
        raise malformed_reply(where, "no candidates in the reply", reply.response_id)
    content = candidates[0].content
    return list(content.parts or []) if content is not None else []


def from_reply(where: str, reply: GenerateContentResponse) -> TextReply:
    """The text parts of the first candidate; a safety block raises `RefusalError`."""
    parts = _parts(where, reply)
    text = "".join(p.text for p in parts if p.text and not p.thought)
    return TextReply(text=text, usage=_usage(reply), request_id=reply.response_id)


def image_from_reply(where: str, reply: GenerateContentResponse) -> tuple[bytes, Usage]:
    """The first inline image of the first candidate, as PNG bytes, and the usage."""
    for part in _parts(where, reply):
        inline = part.inline_data
        if inline is not None and inline.data:
            return as_png(where, inline.data), _usage(reply, images=1)
    raise malformed_reply(where, "no image in the reply", reply.response_id)


def _retry_delay(details: Any) -> float | None:
    """Seconds from a google.rpc.RetryInfo detail ("retryDelay": "1.5s"), if any."""
    error = details.get("error", details) if isinstance(details, dict) else {}
    for item in error.get("details", []) if isinstance(error, dict) else []:
        delay = item.get("retryDelay") if isinstance(item, dict) else None
        match = re.fullmatch(r"([0-9.]+)s", str(delay or ""))
        if match:
            return float(match.group(1))
    return None


def translate_error(where: str, exc: Exception, secret: str | None) -> SpecialistError:
    """A google-genai (or its HTTP library's) exception in the call layer's terms."""
    from google.genai import errors

    transport = transport_fault(where, exc, secret)
    if transport is not None:
        return transport
    if isinstance(exc, errors.APIError):
        response = getattr(exc, "response", None)
        headers = dict(getattr(response, "headers", None) or {})
        headers = {k.lower(): v for k, v in headers.items()}
        error = status_error(
            where, exc.code, scrub(str(exc.message or exc.status), secret), headers=headers
        )
        if error.is_rate_limit and error.retry_after is None:
            error.retry_after = _retry_delay(exc.details) or retry_after_seconds(headers)
        return error
    return sdk_fault(where, exc, secret, is_malformed=isinstance(exc, ValueError))


class GeminiSpecialist(HostedSpecialist):
    """A Gemini model over google-genai; image models implement all three protocols.

    Example:
        >>> banana = create("gemini/gemini-2.5-flash-image", {}, images=store)  # doctest: +SKIP
        >>> ref = await banana.generate("a red circle", seed=0)  # doctest: +SKIP
    """

    provider = "gemini"
    extra = "gemini"
    Options = GeminiOptions
    translate_error = staticmethod(translate_error)

    def __init__(
        self, model: str, options: GeminiOptions, client: Client, *, images: ImageStore
    ) -> None:
        """Wrap a ready google-genai `Client` (no retries in its HttpOptions)."""
        super().__init__(
            model,
            options,
            images=images,
            capabilities=capabilities_of(model),
            api_key=getattr(getattr(client, "_api_client", None), "api_key", None),
        )
        self.opts = options
        self.client = client

    @classmethod
    def from_name(
        cls, model: str, options: Mapping[str, Any], *, images: ImageStore
    ) -> GeminiSpecialist:
        """Build the client from `base_url` and GEMINI_API_KEY / GOOGLE_API_KEY."""
        from google.genai import Client
        from google.genai.types import HttpOptions, HttpRetryOptions

        opts = GeminiOptions(**options)
        key = resolve_key(f"{cls.provider}/{model}", opts, KEY_ENVS)
        http = HttpOptions(
            base_url=opts.base_url,
            timeout=600_000,
            retry_options=HttpRetryOptions(attempts=1),
            # No redirect is followed (see hosted.redirect_error). Each HTTP library the SDK
            # may use (aiohttp, httpx) takes the option it knows and the SDK drops the other.
            async_client_args={"follow_redirects": False, "allow_redirects": False},
            client_args={"follow_redirects": False},
        )
        return cls(model, opts, Client(api_key=key, http_options=http), images=images)

    async def aclose(self) -> None:
        """Close the SDK client's connections (call once the run is over)."""
        await self.client.aio.aclose()

    async def _send(self, request: dict[str, Any]) -> GenerateContentResponse:
        with self.sdk_errors():
            return await self.client.aio.models.generate_content(**request)

    def _require(self, capability: Capability) -> None:
        if capability not in self.capabilities:
            raise ConfigError(
                self.name,
                f"cannot {capability.value}: only Gemini image models draw and edit.",
                "Bind e.g. 'gemini/gemini-2.5-flash-image'.",
            )

    async def understand(
        self, prompt: str, images: Sequence[ImageRef] = (), *, options: CallOptions | None = None
    ) -> TextReply:
        """Ask the model about `images` (per-call `max_tokens`/`temperature` override)."""
        request = to_request(
            self.model,
            prompt,
            [self.images.read_bytes(ref) for ref in images],
            max_tokens=self.per_call(options, "max_tokens"),
            temperature=self.per_call(options, "temperature"),
        )
        reply = from_reply(self.name, await self._send(request))
        return reply.model_copy(update={"usage": priced(reply.usage, self.price)})

    async def _draw(
        self, prompt: str, inputs: Sequence[ImageRef], seed: int, options: CallOptions | None
    ) -> ImageRef:
        request = to_request(
            self.model,
            prompt,
            [self.images.read_bytes(ref) for ref in inputs],
            temperature=self.per_call(options, "temperature"),
            seed=seed,
            image_output=True,
            aspect_ratio=self.per_call(options, "aspect_ratio"),
        )
        png, usage = image_from_reply(self.name, await self._send(request))
        ref = self.images.put_png(png)
        return ImageReply(sha256=ref.sha256, usage=priced(usage, self.price))

    async def generate(
        self, prompt: str, *, seed: int, options: CallOptions | None = None
    ) -> ImageRef:
        """Draw one image from `prompt`."""
        self._require(Capability.GENERATE)
        return await self._draw(prompt, (), seed, options)

    async def edit(
        self,
        prompt: str,
        images: Sequence[ImageRef],
        *,
        seed: int,
        options: CallOptions | None = None,
    ) -> ImageRef:
        """Edit the input images as `prompt` says."""
        self._require(Capability.EDIT)
        self.check_edit_inputs(images)
        return await self._draw(prompt, images, seed, options)
