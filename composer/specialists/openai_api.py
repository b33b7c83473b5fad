"""`openai/<model>` and `openai-compatible/<model>`: chat completions and the images endpoints.

- Chat models (`openai/gpt-4.1`, ...) are Understanders: images go as PNG data URLs before the
  prompt in one user message.
- `gpt-image-1` generates and edits; `dall-e-3` only generates; `dall-e-2` does both.
- `openai-compatible/<model>` is any server that speaks chat completions (vLLM, SGLang, Ollama,
  LM Studio): it needs `base_url`, takes a key only when `api_key_env` or `api_key_file` says
  where, and generates too when its `capabilities` say the server has the images endpoint.

    [models."openai-compatible/Qwen/Qwen2.5-VL-7B-Instruct"]
    base_url = "http://localhost:8000/v1"
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from composer.core.errors import ConfigError, RefusalError, SpecialistError
from composer.core.images import ImageRef, ImageStore
from composer.specialists.base import CallOptions, Capability, ImageReply, TextReply, Usage
from composer.specialists.hosted import (
    HostedOptions,
    HostedSpecialist,
    as_png,
    decode_b64,
    malformed_reply,
    png_data_url,
    resolve_key,
    scrub,
    sdk_fault,
    status_error,
    transport_fault,
)
from composer.specialists.pricing import priced

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types import ImagesResponse
    from openai.types.chat import ChatCompletion

_REFUSAL_CODES = frozenset({"content_policy_violation", "moderation_blocked", "content_filter"})


class OpenAIOptions(HostedOptions):
    """Options of an `openai/...` model."""

    size: str | None = None
    """Image size, e.g. "1024x1024" (image models)."""
    quality: str | None = None
    """Image quality, e.g. "medium" for gpt-image-1 or "standard" for dall-e-3."""
    detail: Literal["auto", "low", "high"] | None = None
    """How closely a chat model looks at input images."""


class OpenAICompatibleOptions(OpenAIOptions):
    """Options of an `openai-compatible/...` model: `base_url` is required."""

    capabilities: tuple[Capability, ...] = (Capability.UNDERSTAND,)
    """What the server offers: add "generate" (and "edit") where it serves the images API."""


def capabilities_of(model: str) -> frozenset[Capability]:
    """What an OpenAI model id can do, by family."""
    if model.startswith("gpt-image") or model.startswith("dall-e-2"):
        return frozenset({Capability.GENERATE, Capability.EDIT})
    if model.startswith("dall-e"):
        return frozenset({Capability.GENERATE})
    return frozenset({Capability.UNDERSTAND})


def to_request(
    model: str,
    prompt: str,
    images: Sequence[bytes] = (),
    *,
    max_tokens: int | None = None,
    temperature: float | None = None,
    detail: str | None = None,
    system: str | None = None,
    parts: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The chat completions request: one user message, images (as PNG data URLs) first.

    A benchmark that sends its own layout (Uni-MMMU's judge: `JudgeRequest.call_options`)
    gives `system` (a system message before it) and `parts`, the user message's texts and
    images in order (`{"text": ...}` or `{"image": i}`, i indexing `images`); `prompt` is
    then not sent.
    """

    def image(data: bytes) -> dict[str, Any]:
        url: dict[str, Any] = {"url": png_data_url(data)}
        if detail is not None:
            url["detail"] = detail
        return {"type": "image_url", "image_url": url}

    content: str | list[dict[str, Any]]
    if parts is not None:
        content = [_part(part, images, image) for part in parts]
    elif images:
        content = [image(data) for data in images] + [{"type": "text", "text": prompt}]
    else:
        content = prompt
    messages: list[dict[str, Any]] = [{"role": "user", "content": content}]
    if system is not None:
        messages.insert(0, {"role": "system", "content": system})
    request: dict[str, Any] = {"model": model, "messages": messages}
    if max_tokens is not None:
        request["max_completion_tokens"] = max_tokens
    if temperature is not None:
        request["temperature"] = temperature
    return request


def _part(
    part: Mapping[str, Any], images: Sequence[bytes], image: Callable[[bytes], dict[str, Any]]
) -> dict[str, Any]:
    """One item of a user message laid out by its caller (`to_request`'s `parts`)."""
    if isinstance(part.get("text"), str):
        return {"type": "text", "text": part["text"]}
    index = part.get("image")
    if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(images):
        return image(images[index])
    raise ValueError(f"a message part is neither a text nor one of the call's images: {part!r}")


def from_reply(where: str, reply: ChatCompletion) -> TextReply:
    """The text of a chat completion; a refusal or content filter raises `RefusalError`."""
    request_id = getattr(reply, "_request_id", None)
    choices = getattr(reply, "choices", None)
    if not choices:
        raise malformed_reply(where, "no choices in the reply", request_id)
    choice = choices[0]
    message = choice.message
    if message is None:
        raise malformed_reply(where, "a choice without a message", request_id)
    if message.refusal:
        raise RefusalError(where, f"refused: {message.refusal}", request_id=request_id)
    if choice.finish_reason == "content_filter":
        raise RefusalError(where, "the reply was blocked by the content filter.")
    usage = Usage(model=getattr(reply, "model", None) or None)
    if reply.usage is not None:
        usage = Usage(
            input_tokens=reply.usage.prompt_tokens or 0,
            output_tokens=reply.usage.completion_tokens or 0,
            model=usage.model,
        )
    return TextReply(text=message.content or "", usage=usage, request_id=request_id)


def image_request(
    model: str,
    prompt: str,
    *,
    size: str | None = None,
    quality: str | None = None,
    b64_json: bool = False,
) -> dict[str, Any]:
    """Keyword arguments of images.generate / images.edit (without the input images).

    The images API takes no seed; the seed still keys the call layer's cache.
    """
    request: dict[str, Any] = {"model": model, "prompt": prompt, "n": 1}
    if size is not None:
        request["size"] = size
    if quality is not None:
        request["quality"] = quality
    if b64_json:
        # gpt-image models always answer base64 and reject this parameter; DALL-E and most
        # compatible servers answer with a URL unless asked.
        request["response_format"] = "b64_json"
    return request


def image_from_reply(where: str, reply: ImagesResponse) -> tuple[bytes, Usage]:
    """The PNG bytes of the first image and the usage the reply reports."""
    request_id = getattr(reply, "_request_id", None)
    data = getattr(reply, "data", None)
    if not data:
        raise malformed_reply(where, "no image in the reply", request_id)
    png = as_png(where, decode_b64(where, data[0].b64_json, request_id))
    usage = Usage(images=1)
    if reply.usage is not None:
        usage = Usage(
            input_tokens=reply.usage.input_tokens or 0,
            output_tokens=reply.usage.output_tokens or 0,
            images=1,
        )
    return png, usage


def translate_error(where: str, exc: Exception, secret: str | None) -> SpecialistError:
    """An OpenAI SDK exception in the call layer's terms, with the key masked out."""
    import openai

    transport = transport_fault(where, exc, secret)
    if transport is not None:
        return transport
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        message = str(body.get("message") or exc.message)
        return status_error(
            where,
            exc.status_code,
            scrub(message, secret),
            headers=exc.response.headers,
            request_id=exc.request_id,
            is_refusal=exc.code in _REFUSAL_CODES,
        )
    malformed = isinstance(exc, openai.APIResponseValidationError | ValueError)
    return sdk_fault(where, exc, secret, is_malformed=malformed)


class OpenAISpecialist(HostedSpecialist):
    """An OpenAI model over the official SDK; what it supports depends on the model family.

    Example:
        >>> model = create("openai/gpt-4.1", {}, images=store)  # doctest: +SKIP
        >>> (await model.understand("What is shown?", [ref])).text  # doctest: +SKIP
    """

    provider = "openai"
    extra = "openai"
    Options = OpenAIOptions
    key_envs: tuple[str, ...] = ("OPENAI_API_KEY",)
    translate_error = staticmethod(translate_error)

    def __init__(
        self,
        model: str,
        options: OpenAIOptions,
        client: AsyncOpenAI,
        *,
        images: ImageStore,
        capabilities: frozenset[Capability] | None = None,
    ) -> None:
        """Wrap a ready `AsyncOpenAI` client (its own retries should be 0)."""
        super().__init__(
            model,
            options,
            images=images,
            capabilities=capabilities or capabilities_of(model),
            api_key=getattr(client, "api_key", None),
        )
        self.opts = options
        self.client = client

    @classmethod
    def _key(cls, where: str, options: OpenAIOptions) -> str | None:
        return resolve_key(where, options, cls.key_envs)

    @classmethod
    def _capabilities(cls, model: str, options: OpenAIOptions) -> frozenset[Capability]:
        return capabilities_of(model)

    @classmethod
    def from_name(
        cls, model: str, options: Mapping[str, Any], *, images: ImageStore
    ) -> OpenAISpecialist:
        """Build the SDK client from `base_url` and the key (option, file or environment)."""
        from openai import AsyncOpenAI, DefaultAsyncHttpxClient

        opts = cls.Options(**options)
        assert isinstance(opts, OpenAIOptions)
        where = f"{cls.provider}/{model}"
        key = cls._key(where, opts)
        client = AsyncOpenAI(
            api_key=key or "not-needed",
            base_url=opts.base_url,
            max_retries=0,
            timeout=600.0,
            http_client=DefaultAsyncHttpxClient(
                follow_redirects=False
            ),  # see hosted.redirect_error
        )
        return cls(model, opts, client, images=images, capabilities=cls._capabilities(model, opts))

    async def aclose(self) -> None:
        """Close the SDK client's connections (call once the run is over)."""
        await self.client.close()

    async def understand(
        self, prompt: str, images: Sequence[ImageRef] = (), *, options: CallOptions | None = None
    ) -> TextReply:
        """Ask a chat model about `images` (per-call `max_tokens`/`temperature` override)."""
        self._require(Capability.UNDERSTAND)
        request = to_request(
            self.model,
            prompt,
            [self.images.read_bytes(ref) for ref in images],
            max_tokens=self.per_call(options, "max_tokens"),
            temperature=self.per_call(options, "temperature"),
            detail=self.opts.detail,
            system=(options or {}).get("system"),
            parts=(options or {}).get("parts"),
        )
        with self.sdk_errors():
            reply = await self.client.chat.completions.create(**request)
            text = from_reply(self.name, reply)
        return text.model_copy(update={"usage": priced(text.usage, self.price)})

    def _image_request(self, prompt: str, options: CallOptions | None) -> dict[str, Any]:
        return image_request(
            self.model,
            prompt,
            size=self.per_call(options, "size"),
            quality=self.per_call(options, "quality"),
            b64_json=not self.model.startswith("gpt-image"),
        )

    def _store(self, reply: ImagesResponse) -> ImageRef:
        png, usage = image_from_reply(self.name, reply)
        ref = self.images.put_png(png)
        return ImageReply(sha256=ref.sha256, usage=priced(usage, self.price))

    async def generate(
        self, prompt: str, *, seed: int, options: CallOptions | None = None
    ) -> ImageRef:
        """Draw one image with images.generate."""
        self._require(Capability.GENERATE)
        with self.sdk_errors():
            reply = await self.client.images.generate(**self._image_request(prompt, options))
            return self._store(reply)

    async def edit(
        self,
        prompt: str,
        images: Sequence[ImageRef],
        *,
        seed: int,
        options: CallOptions | None = None,
    ) -> ImageRef:
        """Edit the input images with images.edit (PNG files in a multipart form)."""
        self._require(Capability.EDIT)
        self.check_edit_inputs(images)
        files = [
            (f"image_{i}.png", self.images.read_bytes(ref), "image/png")
            for i, ref in enumerate(images)
        ]
        image: Any = files[0] if len(files) == 1 else files
        request = self._image_request(prompt, options)
        with self.sdk_errors():
            reply = await self.client.images.edit(image=image, **request)
            return self._store(reply)

    def _require(self, capability: Capability) -> None:
        if capability not in self.capabilities:
            raise ConfigError(
                self.name,
                f"cannot {capability.value} (it supports {', '.join(sorted(self.capabilities))}).",
                "Bind it to a role that needs what it does.",
            )


class OpenAICompatibleSpecialist(OpenAISpecialist):
    """A self-hosted server speaking the OpenAI API (vLLM, SGLang, Ollama, LM Studio)."""

    provider = "openai-compatible"
    Options = OpenAICompatibleOptions

    @classmethod
    def _key(cls, where: str, options: OpenAIOptions) -> str | None:
        # Never send the OpenAI key to another server unless the config says so.
        if options.api_key_env is None and options.api_key_file is None:
            return None
        return resolve_key(where, options, ())

    @classmethod
    def _capabilities(cls, model: str, options: OpenAIOptions) -> frozenset[Capability]:
        assert isinstance(options, OpenAICompatibleOptions)
        return frozenset(options.capabilities)

    @classmethod
    def from_name(
        cls, model: str, options: Mapping[str, Any], *, images: ImageStore
    ) -> OpenAISpecialist:
        """Build the client; `base_url` is required."""
        if not options.get("base_url"):
            raise ConfigError(
                f'[models."{cls.provider}/{model}"] base_url',
                "is not set, and an OpenAI-compatible server has no default address.",
                'Add base_url = "http://host:port/v1".',
            )
        return super().from_name(model, options, images=images)
