"""What the hosted-API adapters share: key and URL options, HTTP error translation, encodings.

Each provider module (`openai_api`, `anthropic_api`, `gemini_api`) keeps its own request and
reply translation; this module holds only what would otherwise be written three times. It
imports no SDK.
"""

from __future__ import annotations

import base64
import email.utils
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field

from composer.core.credentials import scrub_credentials
from composer.core.errors import ConfigError, PrerequisiteError, RefusalError, SpecialistError
from composer.core.images import ImageRef, ImageStore, image_problem
from composer.specialists.base import Capability, Options, Specialist
from composer.specialists.pricing import Price, price_of

_TRANSPORT_KEYS = frozenset({"base_url", "api_key_env", "api_key_file", "price", "capabilities"})


class HostedOptions(Options):
    """Options every hosted provider accepts in its `[models."provider/model"]` table."""

    base_url: str | None = None
    """Where to send requests (a proxy, a self-hosted server, a test fake)."""
    api_key_env: str | None = None
    """The environment variable that holds the key (default: the provider's usual one)."""
    api_key_file: str | None = None
    """A file whose first line is the key; it takes precedence over the environment."""
    price: Price | None = None
    """Overrides the package's price table for this model."""
    max_tokens: int | None = Field(default=None, ge=1)
    """Cap on the reply's tokens (understanding calls)."""
    temperature: float | None = Field(default=None, ge=0)


def resolve_key(
    where: str,
    options: HostedOptions,
    default_envs: Sequence[str],
    *,
    required: bool = True,
) -> str | None:
    """Read the API key from `options.api_key_file`, `options.api_key_env` or `default_envs`.

    Raises:
        PrerequisiteError: No key was found and `required` is set; the message names the
            variable (never a value).
    """
    if options.api_key_file is not None:
        path = Path(options.api_key_file).expanduser()
        try:
            lines = path.read_text().strip().splitlines()
        except OSError:
            raise PrerequisiteError(
                where,
                f"cannot read its key file {str(path)!r}.",
                "Fix api_key_file, or remove it to read the key from the environment.",
            ) from None
        if lines and lines[0].strip():
            return lines[0].strip()
        raise PrerequisiteError(
            where, f"its key file {str(path)!r} is empty.", "Put the key in it."
        )
    envs = [options.api_key_env] if options.api_key_env else list(default_envs)
    for name in envs:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    if not required:
        return None
    names = " or ".join(envs)
    return _missing_key(where, names)


def _missing_key(where: str, names: str) -> str:
    raise PrerequisiteError(
        where,
        f"needs an API key, and {names} is not set.",
        f"Export {names.split(' or ')[0]}=..., or set api_key_env or api_key_file in "
        f'[models."{where}"].',
    )


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from a `Retry-After` (seconds or HTTP date) or `retry-after-ms` header.

    None where the header gives no wait to keep: absent, unreadable, or not a positive number
    (0, a negative, NaN, a date already past). The call layer then backs off with jitter, as
    for a fault without the header; taken as given, such a value sent every retry at once, a
    server that kept sending it used up `max_attempts` in milliseconds.
    """
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            seconds = _positive(float(millis) / 1000)
        except ValueError:
            seconds = None
        if seconds is not None:  # else what `retry-after` says (a server's "0" ms beside "1")
            return seconds
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return _positive(float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return _positive(when.timestamp() - time.time())


def _positive(seconds: float) -> float | None:
    return seconds if seconds > 0 else None  # NaN too: it is not > 0


def scrub(text: str, secret: str | None, limit: int = 300) -> str:
    """`text` shortened to `limit` characters, secrets masked out.

    The secrets are `secret` (an API key) and the user and password of any URL in the text.
    """
    if secret and len(secret) >= 8:  # real keys are long; a short one would mask letters
        text = text.replace(secret, "***")
    text = scrub_credentials(text)  # a base_url's user and password
    text = text.strip().rstrip(".")
    return text if len(text) <= limit else text[:limit] + "..."


def _suffix(request_id: str | None) -> str:
    return f" (request id {request_id})" if request_id else ""


def status_error(
    where: str,
    status: int,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    request_id: str | None = None,
    is_refusal: bool = False,
) -> SpecialistError:
    """Translate an HTTP error status into the call layer's terms.

    429 is a rate limit (retryable, honouring Retry-After); 408, 409 and 5xx are retryable; any
    other 4xx is final. `is_refusal` marks a content-policy rejection, which is never retried.
    """
    rid = _suffix(request_id)
    if is_refusal:
        return RefusalError(where, f"refused the request: {message}{rid}.", request_id=request_id)
    if 300 <= status < 400:
        return redirect_error(where, status, (headers or {}).get("location"), request_id)
    if status == 429:
        wait = retry_after_seconds(headers)
        return SpecialistError(
            where,
            f"rate limited (HTTP 429){rid}.",
            "The call layer retries; lower max_concurrency if this persists.",
            is_rate_limit=True,
            retry_after=wait,
            request_id=request_id,
        )
    if status >= 500 or status in (408, 409):
        return SpecialistError(
            where,
            f"server error (HTTP {status}): {message}{rid}.",
            is_retryable=True,
            request_id=request_id,
        )
    fix = "Check the key." if status in (401, 403) else "Check the model name and its options."
    return SpecialistError(
        where, f"rejected the request (HTTP {status}): {message}{rid}.", fix, request_id=request_id
    )


def redirect_error(
    where: str, status: int, location: str | None, request_id: str | None = None
) -> SpecialistError:
    """A redirect, which composer never follows: final, naming where it pointed (no path).

    Every hosted adapter builds its SDK's HTTP client with redirects off, so a request, and
    the key in its headers, only ever goes to the model's `base_url`.

    Only the scheme, host and port of `location` are shown: its path or query may hold a
    token.
    """
    target = "elsewhere"
    if location:
        parts = urlsplit(location)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        target = f"{parts.scheme}://{host}{port}" if parts.scheme and host else "a relative URL"
    return SpecialistError(
        where,
        f"the server redirected the request (HTTP {status}) to {target}; composer follows no "
        f"redirect, so the key goes to base_url's host only{_suffix(request_id)}.",
        "If that address is right, set base_url to it.",
        request_id=request_id,
    )


def transport_error(where: str, *, is_timeout: bool, detail: str = "") -> SpecialistError:
    """A timeout or connection failure: retryable."""
    what = "timed out waiting for a reply" if is_timeout else "connection failed or was cut"
    detail = detail.strip().rstrip(".")
    return SpecialistError(where, f"{what}{': ' + detail if detail else ''}.", is_retryable=True)


_TIMEOUTS = frozenset({"TimeoutError", "TimeoutException", "APITimeoutError"})
"""Timeouts by class name, in any exception's ancestry: the builtin (asyncio's and aiohttp's
derive from it), httpx's, and the OpenAI and Anthropic SDKs' wrappers."""
_CONNECTION_FAULTS = frozenset(
    {
        "ConnectionError",  # builtin: reset, refused, aborted, broken pipe
        "IncompleteReadError",  # asyncio: a stream closed mid-read
        "IncompleteRead",  # http.client
        "TransportError",  # httpx: connect and network errors, a body cut short
        "ClientConnectionError",  # aiohttp: refused, server disconnected, OS errors
        "ClientPayloadError",  # aiohttp: a body cut short ("payload is not completed")
        "APIConnectionError",  # OpenAI and Anthropic SDKs wrap the httpx errors in this
    }
)
"""Connection faults by class name, whatever HTTP library an SDK uses (google-genai uses
aiohttp when it is installed and httpx otherwise; the OpenAI and Anthropic SDKs use httpx)."""


def transport_fault(where: str, exc: BaseException, secret: str | None) -> SpecialistError | None:
    """A timeout, dropped connection or truncated body as a retryable error, else None.

    Every hosted adapter asks this before its SDK's own error classes, so each provider retries
    the same transient faults. The exception and what it wraps (`__cause__`, `__context__`) are
    matched by class name, so this module imports no SDK or HTTP library.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        names = {cls.__name__ for cls in type(current).__mro__}
        if names & _TIMEOUTS:
            return transport_error(where, is_timeout=True)
        if names & _CONNECTION_FAULTS:
            detail = scrub(f"{type(current).__name__}: {current}", secret)
            return transport_error(where, is_timeout=False, detail=detail)
        current = current.__cause__ or current.__context__
    return None


def malformed_reply(where: str, detail: str, request_id: str | None = None) -> SpecialistError:
    """A reply the adapter cannot read (bad JSON, a missing field): retryable, as a glitch."""
    return SpecialistError(
        where,
        f"sent a malformed reply: {detail}{_suffix(request_id)}.",
        is_retryable=True,
        request_id=request_id,
    )


def sdk_fault(
    where: str, exc: Exception, secret: str | None, *, is_malformed: bool
) -> SpecialistError:
    """An SDK exception that is neither a transport fault nor an HTTP status, key masked out.

    `is_malformed` (the SDK could not read the reply) makes it a malformed reply, retried as a
    glitch; anything else is final.
    """
    detail = scrub(f"{type(exc).__name__}: {exc}", secret)
    return malformed_reply(where, detail) if is_malformed else SpecialistError(where, detail)


def b64(data: bytes) -> str:
    """Standard base64 text of `data`."""
    return base64.b64encode(data).decode("ascii")


def png_data_url(data: bytes) -> str:
    """A `data:image/png;base64,...` URL of PNG bytes."""
    return f"data:image/png;base64,{b64(data)}"


def decode_b64(where: str, text: str | None, request_id: str | None = None) -> bytes:
    """Decode base64 image data from a reply, as a malformed-reply error when it is not."""
    if not text:
        raise malformed_reply(where, "no image data", request_id)
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise malformed_reply(where, "image data is not base64", request_id) from None


def as_png(where: str, data: bytes) -> bytes:
    """`data` as PNG bytes: passed through when it is a whole PNG already, converted otherwise.

    Every image is decoded first: a reply cut short or garbled is a malformed reply (retried
    like a transient fault), never stored.
    """
    problem = image_problem(data)
    if problem is not None:
        raise malformed_reply(where, f"the image data is {problem}")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
    except (OSError, UnidentifiedImageError):
        raise malformed_reply(where, "image data is not a readable image") from None
    return buffer.getvalue()


class HostedSpecialist(Specialist, ABC):
    """Base of the hosted adapters: price, SDK errors translated, per-call options, identity.

    A subclass sets `translate_error` to its provider's translation and makes its SDK calls
    inside `with self.sdk_errors():`.
    """

    def __init__(
        self,
        model: str,
        options: HostedOptions,
        *,
        images: ImageStore,
        capabilities: set[Capability] | frozenset[Capability],
        api_key: object = None,
    ) -> None:
        """Keep the model's price, and the client's `api_key` to mask out of error texts."""
        super().__init__(model, options, images=images, capabilities=capabilities)
        self.price = price_of(self.name, options.price)
        self._secret = api_key if isinstance(api_key, str) else None

    @staticmethod
    @abstractmethod
    def translate_error(where: str, exc: Exception, secret: str | None) -> SpecialistError:
        """This provider's SDK exception in the call layer's terms, with `secret` masked out.

        Abstract: each adapter sets it to its module's `translate_error`.
        """

    @contextmanager
    def sdk_errors(self) -> Iterator[None]:
        """Raise what the SDK raises in the block as `translate_error` says."""
        try:
            yield
        except SpecialistError:
            raise
        except Exception as exc:
            raise self.translate_error(self.name, exc, self._secret) from None

    def describe(self) -> dict[str, Any]:
        """Identity for the cache key: the model and what shapes its replies.

        Where the requests go (base URL), which key pays and the price do not change a reply,
        so a rerun through a different proxy or with another key still replays the cache.
        """
        options = self.options.model_dump(mode="json", exclude=set(_TRANSPORT_KEYS))
        return {"name": self.name, "options": options}

    def check_edit_inputs(self, images: Sequence[ImageRef]) -> None:
        """An edit needs at least one input image."""
        if not images:
            raise ConfigError(self.name, "edit was called without an input image.")

    def per_call(self, options: Mapping[str, Any] | None, key: str) -> Any:
        """A per-call override of option `key`, else the model's configured value."""
        if options and options.get(key) is not None:
            return options[key]
        return getattr(self.options, key, None)
