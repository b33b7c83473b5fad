"""The call layer: every model call goes through here, never through an adapter directly.

It adds, once for every provider: a content-keyed cache in the run store (a rerun replays a
call for free), retries with tenacity on retryable errors (honouring Retry-After), an adaptive
concurrency limit per endpoint (both paced as `composer.evaluation.limits` says), and accounting
(latency, usage, cost) attributed to the (system, instance, node) that made the call.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

from composer.core.callsite import Tally, site_of_call
from composer.core.errors import (
    EmptyReplyError,
    RefusalError,
    SpecialistError,
    shown_argument,
)
from composer.core.failure import Failure
from composer.core.images import ImageRef, ImageStore
from composer.evaluation.deadlines import Deadlines
from composer.evaluation.json_text import text_encoder
from composer.evaluation.limits import AdaptiveLimit, RetryWait, retryable
from composer.evaluation.store_writer import RunWriter
from composer.specialists.base import (
    CallOptions,
    Capability,
    Editor,
    Generator,
    ImageReply,
    Specialist,
    TextReply,
    Understander,
    Usage,
)


class CallSettings(BaseModel):
    """Call-layer settings of one model, from its `[models."name"]` table.

    Strict (every field is a number): `max_concurrency = "8"` is an error, not an 8.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    max_concurrency: int | None = Field(default=None, ge=1)
    """Ceiling of calls in flight to this model's endpoint (default: the run's `concurrency`,
    so that no model holds the run below it unless its table says so)."""
    initial_concurrency: int | None = Field(default=None, ge=1)
    """Where the adaptive limit starts (default: half the ceiling, at least 1); it doubles
    every round trip until the endpoint's first 429."""
    limit_group: str | None = Field(default=None, min_length=1)
    """Models that name the same group share one adaptive limit: two models behind one
    server, or one account's rate limit, find its rate together instead of half each (and
    the one left alone keeps all of it). Default: the model's own endpoint."""
    max_attempts: int = Field(default=5, ge=1)
    timeout_s: float = Field(default=300.0, gt=0)
    retry_initial_s: float = Field(default=1.0, ge=0)
    retry_max_s: float = Field(default=60.0, ge=0)
    max_retry_after_s: float = Field(default=120.0, ge=0)
    """The longest server-requested wait (HTTP Retry-After) honoured before a retry; a server
    that asks for more fails the call at once, with the reason, instead of stalling the run."""

    @classmethod
    def split(cls, options: Mapping[str, Any]) -> tuple[CallSettings, dict[str, Any]]:
        """Separate call-layer keys from the adapter's own options."""
        own = {k: v for k, v in options.items() if k in cls.model_fields}
        rest = {k: v for k, v in options.items() if k not in cls.model_fields}
        return cls(**own), rest


_canonical = text_encoder(sort_keys=True, separators=(",", ":"), default=str)
"""The encoding of cache keys and identities, its encoder built once: `json.dumps` with these
arguments builds a new encoder on every call (three or more per model call), for the same
bytes."""


def _key(identity: str, method: str, request: Mapping[str, Any]) -> str:
    """The cache key: the model's canonical identity, the method and the canonical request."""
    return hashlib.sha256(f"{identity}\n{method}\n{_canonical(request)}".encode()).hexdigest()


@dataclasses.dataclass
class CallStats:
    """Counts for the progress display and the end-of-run summary.

    A dataclass: the call layer adds to it on every call, and a pydantic model's assignment
    is a Python-level `__setattr__`.
    """

    sent: int = 0
    cached: int = 0
    retried: int = 0
    failed: int = 0
    unanswered: int = 0
    """Requests that got no answer (an error, a 429, a timeout): sent, and perhaps charged,
    though no call they made was answered; `sent` counts the answered ones."""


class CallLayer:
    """Wraps specialists so that each call is cached, retried, limited and accounted."""

    def __init__(self, store: RunWriter, images: ImageStore, *, concurrency: int = 16) -> None:
        """Record calls in `store`; cached image replies must still be in `images`.

        `concurrency` is the run's (tasks in flight): the ceiling of each endpoint whose
        model sets no `max_concurrency`.
        """
        self.store = store
        self.images = images
        self.concurrency = concurrency
        self.limits: dict[str, AdaptiveLimit] = {}
        self.set_by: dict[str, str] = {}
        """The model whose `max_concurrency` set each endpoint's ceiling, where one did."""
        self._groups: dict[str, str] = {}
        """The `limit_group` each model named, by model name (models that named none: not
        here)."""
        self.stats = CallStats()
        self._in_flight: dict[str, asyncio.Future[dict[str, Any]] | None] = {}
        """Requests being sent, by key; the future that shares the reply once a second task
        waits for the same request (None until then)."""
        self._known = store.reader.call_keys()
        self._replies: dict[str, dict[str, Any]] = {}
        """Replies whose rows are queued but not yet committed, by key."""
        self._committing: dict[asyncio.Future[None], list[str]] = {}
        """The keys in `_replies` that each queued commit stores, dropped from memory when it
        is done: one callback per commit, not one per call."""
        self._identity: dict[int, str] = {}
        self.deadlines = Deadlines()
        """Each attempt's `timeout_s`, on one timer for all calls in flight."""
        self._set_aside: set[str] = set()
        """Keys whose replies an agent could not parse: sent again, never replayed."""

    def reread_keys(self) -> None:
        """Read the stored calls' keys again: rows another process stored since are replayed.

        For a run split across processes (`composer.evaluation.split`), whose parent runs the
        tasks a stopped worker left.
        """
        self._known = self.store.reader.call_keys()

    def wrap(self, specialist: Specialist, settings: CallSettings) -> TrackedSpecialist:
        """A stand-in for `specialist` whose calls go through this layer.

        Its calls share the adaptive limit of its endpoint, or of its `limit_group`.
        """
        endpoint = settings.limit_group or specialist.endpoint
        if settings.limit_group is not None:
            self._groups[specialist.name] = settings.limit_group
        limit = self.limits.get(endpoint)
        if limit is None:
            ceiling = settings.max_concurrency or self.concurrency
            limit = self.limits[endpoint] = AdaptiveLimit(ceiling, settings.initial_concurrency)
            if settings.max_concurrency is not None:
                self.set_by[endpoint] = specialist.name
        elif settings.max_concurrency is not None and settings.max_concurrency < limit.ceiling:
            # A group's ceiling is the lowest its models set: what the server behind it takes.
            limit.lower_ceiling(settings.max_concurrency)
            self.set_by[endpoint] = specialist.name
        return TrackedSpecialist(self, specialist, settings, limit)

    def below_the_run(self) -> list[str]:
        """One line per endpoint whose settings hold it below the run's concurrency.

        The run shows them before it starts: a ceiling under `concurrency` caps the calls in
        flight to that model whatever `--concurrency` says.
        """
        return [
            f"{self.set_by[endpoint]}: at most {limit.ceiling} calls in flight (its "
            f"max_concurrency{self._shared(endpoint)}), below the run's concurrency of "
            f"{self.concurrency}. Raise or remove max_concurrency in "
            f'[models."{self.set_by[endpoint]}"] to use them all.'
            for endpoint, limit in self.limits.items()
            if endpoint in self.set_by and limit.ceiling < self.concurrency
        ]

    def _shared(self, endpoint: str) -> str:
        sharing = sum(1 for group in self._groups.values() if group == endpoint)
        return f', for the {sharing} models of limit_group "{endpoint}"' if sharing > 1 else ""

    async def call(
        self,
        specialist: Specialist,
        settings: CallSettings,
        limit: AdaptiveLimit,
        method: str,
        request: dict[str, Any],
        send: Callable[[], Awaitable[dict[str, Any]]],
        role: str = "",
        check: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
    ) -> dict[str, Any]:
        """Return the reply of `send()`, from the cache when this exact request was made.

        Each call is a step of its task's trace (`Tally.steps`), under the graph `role` whose
        model made it. `check` vets a reply before it is accepted or cached (untimed); a
        retryable error it raises is retried like a transient fault.
        """
        identity = self._identity.get(id(specialist))
        if identity is None:
            identity = self._identity[id(specialist)] = _canonical(specialist.describe())
        key = _key(identity, method, request)
        site = site_of_call()  # the node: its `@node` name, else LangGraph's
        cached = self._replies.get(key)
        if cached is None and key in self._known:
            cached = self.store.reader.get_call(key)
        if cached is not None and self._usable(key, cached):
            # A replay is charged what the call cost when it was sent, so each system's
            # cost is what it would be run alone, whatever order the systems ran in.
            self.stats.cached += 1
            site.tally.charge(site.node, cached, sent=False, key=key, role=role)
            return self._replay(cached, key, site.tally)
        if key in self._in_flight:  # the same request is in flight: share its reply
            self.stats.cached += 1
            pending = self._in_flight[key]
            if pending is None:  # the first to wait makes the future the sender will settle
                pending = self._in_flight[key] = asyncio.get_running_loop().create_future()
            try:
                shared = await asyncio.shield(pending)
            except _SenderCancelled:  # its sender was cancelled, not this task: send it here
                self.stats.cached -= 1
                return await self.call(
                    specialist, settings, limit, method, request, send, role, check
                )
            except Exception as exc:
                site.tally.fail(site.node, role, _failed(specialist, method, request), str(exc))
                raise
            site.tally.charge(site.node, shared, sent=False, key=key, role=role)
            return self._replay(shared, key, site.tally)
        self._in_flight[key] = None  # a future only once another task waits for this reply
        try:
            try:  # most calls succeed at once: the retry loop is entered only after a fault
                reply = await self._attempt(specialist, settings, limit, send, check)
                reply["attempts"] = 1
            except SpecialistError as exc:
                if not retryable(exc) or settings.max_attempts == 1:
                    raise
                reply = await self._retry(
                    settings, exc, lambda: self._attempt(specialist, settings, limit, send, check)
                )
        except BaseException as exc:
            waiting = self._in_flight.pop(key)
            if waiting is not None:
                # A cancellation is the sender's own: the tasks sharing its request go on.
                cancelled = isinstance(exc, asyncio.CancelledError)
                waiting.set_exception(_SenderCancelled() if cancelled else exc)
                waiting.exception()  # mark retrieved: waiters re-raise it themselves
            if isinstance(exc, Exception):
                site.tally.fail(site.node, role, _failed(specialist, method, request), str(exc))
            raise
        waiting = self._in_flight.pop(key)
        if waiting is not None:
            waiting.set_result(reply)
        usage = reply.get("usage", {})
        site.tally.charge(site.node, reply, sent=True, key=key, role=role)
        self._known.add(key)
        self._replies[key] = reply
        # Queued, not awaited: the caller goes on while the row is written, and the result
        # that depends on this call commits with it or after it. Until then an identical
        # request is answered from memory; after, from the store.
        committed = self.store.queue_call(
            key,
            model=specialist.name,
            method=method,
            request=_summary(request),
            reply=reply,
            usage=usage,
            latency_s=reply["latency_s"],
            cost_usd=usage.get("cost_usd"),
            attempts=reply["attempts"],
            site=(site.system, site.instance, site.node),
        )
        keys = self._committing.get(committed)
        if keys is None:
            keys = self._committing[committed] = []
            committed.add_done_callback(self._forget_committed)
        keys.append(key)
        self._set_aside.discard(key)
        return self._replay(reply, key, site.tally, cached=False)

    def _forget_committed(self, committed: asyncio.Future[None]) -> None:
        """Drop the replies `committed` stored: from now on the store answers for them."""
        for key in self._committing.pop(committed):
            self._replies.pop(key, None)

    def _usable(self, key: str, cached: dict[str, Any]) -> bool:
        if key in self._set_aside or cached.get("set_aside"):
            return False
        image = cached.get("image")
        return image is None or ImageRef.parse(image) in self.images

    def _replay(
        self, reply: dict[str, Any], key: str, tally: Tally, *, cached: bool = True
    ) -> dict[str, Any]:
        if reply.get("refused"):
            said = str(reply["refused"])  # "model: refused: why", as the refusal said it
            if cached:
                raise RefusalError("cached call", said)
            where, _, what = said.partition(": ")
            raise RefusalError(where, what) if what else RefusalError("model", said)
        if "text" in reply:
            tally.understood.append((key, reply["text"]))
        return reply

    def set_aside(self, tally: Tally, raw: str, reason: str) -> int:
        """Never replay the replies `tally`'s task got with text `raw`; return how many.

        An agent that cannot parse a reply fails its task; replaying the same reply would fail
        the task again on every `--retry-failed`, so the call is sent again instead.
        """
        keys = {key for key, text in tally.understood if text == raw}
        for key in keys:
            self._set_aside.add(key)
            self._replies.pop(key, None)
            self.store.queue_set_aside(key, reason)
        return len(keys)

    async def _retry(
        self,
        settings: CallSettings,
        first: SpecialistError,
        attempt: Callable[[], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any]:
        """`attempt()` again after its retryable `first` failure, up to `max_attempts` in all."""
        wait = RetryWait(settings.retry_initial_s, settings.retry_max_s)
        await asyncio.sleep(wait.after(first, attempt=1))
        retrying = AsyncRetrying(
            stop=stop_after_attempt(settings.max_attempts - 1),
            wait=wait,
            retry=retry_if_exception(retryable),
            reraise=True,
        )
        async for retry in retrying:
            with retry:
                self.stats.retried += 1
                reply = await attempt()
                reply["attempts"] = retry.retry_state.attempt_number + 1
                return reply
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    async def _attempt(
        self,
        specialist: Specialist,
        settings: CallSettings,
        limit: AdaptiveLimit,
        send: Callable[[], Awaitable[dict[str, Any]]],
        check: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
    ) -> dict[str, Any]:
        async with limit:
            admitted = limit.epoch  # a 429 cuts the limit once per overload, not per call
            started = time.perf_counter()
            try:
                with self.deadlines.after(settings.timeout_s):
                    reply = await send()
            except TimeoutError as exc:
                self.stats.unanswered += 1
                raise SpecialistError(
                    specialist.name,
                    f"no reply within {settings.timeout_s:g} s.",
                    "Raise timeout_s in its [models] table if it is just slow.",
                    is_retryable=True,
                ) from exc
            except RefusalError as exc:
                self.stats.sent += 1
                return {"refused": str(exc), "latency_s": time.perf_counter() - started}
            except SpecialistError as exc:
                self.stats.unanswered += 1
                if exc.is_rate_limit:
                    limit.rate_limited(admitted, exc.retry_after)
                if retryable(exc) and (exc.retry_after or 0.0) > settings.max_retry_after_s:
                    self.stats.failed += 1
                    raise _wait_too_long(specialist.name, exc, settings) from exc
                if not retryable(exc):
                    self.stats.failed += 1
                raise
            except Exception as exc:  # the adapter's own error, not one it turned into a reply's
                self.stats.unanswered += 1
                self.stats.failed += 1
                raise _adapter_error(specialist, exc) from exc
            self.stats.sent += 1
            reply["latency_s"] = time.perf_counter() - started
            limit.succeeded(reply["latency_s"])
        if check is not None:  # not model time, and outside the endpoint's limit
            await check(reply)
        return reply


class _SenderCancelled(Exception):  # noqa: N818 - what happened, not an error of the waiter
    """The task sending a request others wait for was cancelled: one of them sends it."""


def _adapter_error(specialist: Specialist, exc: Exception) -> SpecialistError:
    """An exception a model's adapter let out: its model's failure, located, never retried.

    Adapters turn what a provider or library says into `SpecialistError`s (retryable or not);
    anything else is the adapter's own error (or one it does not know), and blaming the node
    that made the call would send the user to the wrong file.
    """
    raised = Failure.of_exception(exc, graph="")
    at = f" at {raised.location}" if raised.location else ""
    adapter = f"{type(specialist).__module__}.{type(specialist).__qualname__}"
    return SpecialistError(
        specialist.name,
        f"its adapter ({adapter}) raised {raised.error}{at}, an error it does not turn into a "
        "model error.",
        "If the adapter is yours, raise SpecialistError there (retryable or not); else report "
        "it with this line. The task failed; --retry-failed sends the call again.",
    )


def _wrong_reply(
    specialist: Specialist, method: str, reply: object, wanted: str
) -> SpecialistError:
    """A reply of the wrong type from a model's adapter: its failure, never retried."""
    adapter = f"{type(specialist).__module__}.{type(specialist).__qualname__}"
    fix = f"Return {wanted} from the adapter's {method}() (composer.specialists.base)"
    if wanted == "an ImageRef":
        fix += ": put the image into the run's ImageStore (images.put(pil_image)) and return "
        fix += "the ImageRef it gives"
    return SpecialistError(
        specialist.name,
        f"its adapter ({adapter}) returned {shown_argument(reply)} from {method}(), not {wanted}.",
        f"{fix}.",
    )


def _wait_too_long(name: str, exc: SpecialistError, settings: CallSettings) -> SpecialistError:
    """A retryable fault whose Retry-After is past the cap: final, with the reason."""
    return SpecialistError(
        name,
        f"the server asked to wait {exc.retry_after:g} s before a retry, more than "
        f"max_retry_after_s={settings.max_retry_after_s:g} ({exc.what.rstrip('.')}).",
        "Rerun later (finished results are kept), or raise max_retry_after_s in its "
        "[models] table.",
        request_id=exc.request_id,
    )


def _empty(name: str, kind: str, *, retry: bool = True) -> EmptyReplyError:
    """An empty reply: retried like a transient fault, never cached as an answer."""
    return EmptyReplyError(
        name,
        f"returned an empty reply (no {kind}).",
        "The call layer asks again up to max_attempts times; if it stays empty the task "
        "fails, and --retry-failed asks again.",
        is_retryable=retry,
    )


def _failed(specialist: Specialist, method: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """What a failed call's trace step keeps: no reply was stored, so the request goes inline."""
    return {"model": specialist.name, "method": method, "request": _summary(request)}


def _summary(request: Mapping[str, Any]) -> dict[str, Any]:
    summary = dict(request)
    prompt = summary.get("prompt")
    if isinstance(prompt, str) and len(prompt) > 2000:
        summary["prompt"] = prompt[:2000] + "..."
    return summary


def _image_usage(usage: Usage | None) -> dict[str, Any]:
    """The usage an image adapter returned with its image, else one image of unknown cost."""
    if usage is None:
        return {"images": 1}
    return usage.model_dump(exclude_none=True)


def _usage_of(ref: ImageRef) -> Usage | None:
    return ref.usage if isinstance(ref, ImageReply) else None


def _check_call(
    role: str,
    method: str,
    prompt: object,
    images: object = (),
    seed: object = 0,
) -> None:
    """Refuse a call whose arguments are not what the protocol takes, before it is sent.

    A strategy's mistake (a list for the prompt, one image for the list of images) would
    otherwise fail deep in a model's code, located there; raised here, the failure names the
    call, and the strategy's own line is where it is located (`composer.core.failure`).
    """
    what = None
    if not isinstance(prompt, str):
        what = f"takes the prompt as text (a str), not {shown_argument(prompt)}"
    elif not isinstance(images, Sequence) or isinstance(images, str | ImageRef):
        what = f"takes its images as a list of ImageRef, not {shown_argument(images)}"
    elif bad := [i for i in images if not isinstance(i, ImageRef)]:
        what = f"takes its images as ImageRef (what a model returned), not {shown_argument(bad[0])}"
    elif not isinstance(seed, int) or isinstance(seed, bool):
        what = f"takes a whole-number seed (state['seed']), not {shown_argument(seed)}"
    if what is not None:
        raise TypeError(f"{role or 'a model'}.{method}() {what}")


def _options(options: CallOptions | None) -> dict[str, Any]:
    return dict(options or {})


class TrackedSpecialist:
    """A specialist seen through the call layer; it supports what the wrapped one supports."""

    def __init__(
        self, layer: CallLayer, specialist: Specialist, settings: CallSettings, limit: AdaptiveLimit
    ) -> None:
        """Wrap `specialist`; use `CallLayer.wrap` rather than this."""
        self.layer = layer
        self.specialist = specialist
        self.settings = settings
        self.limit = limit
        self.capabilities = specialist.capabilities
        # Looked up once: an enum member's hash is a Python-level call, on every call.
        self._cannot_do = frozenset(Capability) - set(self.capabilities)
        self.name = specialist.name
        self.role = ""
        """The graph role this view is bound to, recorded with each call's trace step."""
        self.retries_empty = True
        """Whether an empty text reply is asked again here (False: the caller re-asks)."""
        self._reporting: TrackedSpecialist | None = None

    def _view(self, role: str, retries_empty: bool) -> TrackedSpecialist:
        view = TrackedSpecialist(self.layer, self.specialist, self.settings, self.limit)
        view.role = role
        view.retries_empty = retries_empty
        return view

    def as_role(self, role: str) -> TrackedSpecialist:
        """The same model, its calls recorded under `role` (one view per bound role)."""
        return self._view(role, self.retries_empty)

    def reporting_empty(self) -> TrackedSpecialist:
        """The same model and role, an empty text reply raised at once (`AsksAgainOnEmpty`).

        Made once per view (the judge asks for it before every question).
        """
        if self._reporting is None:
            self._reporting = self._view(self.role, retries_empty=False)
        return self._reporting

    def supports(self, capability: Capability) -> bool:
        """Whether the wrapped specialist has `capability`."""
        return capability in self.capabilities

    def _check_can(self, capability: Capability) -> None:
        if capability in self._cannot_do:
            raise self._cannot(capability)

    def _cannot(self, capability: Capability) -> TypeError:
        """A call the bound model cannot make: the strategy's mistake, located at its call.

        Binding checks each role against the protocol its `Roles` declare; a node may still
        call another method of the role (`reasoner.generate(...)`), which the model's adapter
        may not have, or has but does not claim (a symbolic reasoner would draw).
        """
        can = ", ".join(sorted(self.capabilities)) or "nothing"
        return TypeError(
            f"{self.role or 'a model'}.{capability}(): {self.name} cannot {capability} (it can: "
            f"{can}). Bind a model that can to this role, or ask a role that can."
        )

    async def _whole(self, reply: dict[str, Any]) -> None:
        """A drawn image must decode whole before it is accepted or cached; else a retry.

        One the image store encoded itself (a local model's, from pixels) is whole by
        construction: it is not decoded again, and no worker thread is woken for it (waking one
        per drawing cost more than the rest of the call layer).
        """
        ref, images = ImageRef.parse(reply["image"]), self.layer.images
        problem = (
            None if images.is_encoded_here(ref) else await asyncio.to_thread(images.problem, ref)
        )
        if problem is not None:
            raise SpecialistError(
                self.name,
                f"returned an image that is {problem}.",
                "The call layer asks again up to max_attempts times; the broken image is "
                "neither stored nor cached.",
                is_retryable=True,
            )

    async def understand(
        self, prompt: str, images: Sequence[ImageRef] = (), *, options: CallOptions | None = None
    ) -> TextReply:
        """Cached, retried, limited `understand`."""
        if self._cannot_do:
            self._check_can(Capability.UNDERSTAND)
        _check_call(self.role, "understand", prompt, images)

        async def send() -> dict[str, Any]:
            reply = await cast(Understander, self.specialist).understand(
                prompt, images, options=options
            )
            if not isinstance(reply, TextReply) or not isinstance(reply.text, str | None):
                raise _wrong_reply(self.specialist, "understand", reply, "a TextReply")
            if not reply.text:
                # A caller that asks again itself (the judge) gets the empty reply at once.
                raise _empty(self.name, "text", retry=self.retries_empty)
            return {
                "text": reply.text,
                "usage": reply.usage.model_dump(),
                "request_id": reply.request_id,
            }

        request = {
            "prompt": prompt,
            "images": [i.uri for i in images],
            "options": _options(options),
        }
        reply = await self.layer.call(
            self.specialist, self.settings, self.limit, "understand", request, send, self.role
        )
        # One validation, the usage dict inside it (`Usage(**usage)` first was a second one;
        # `model_construct` is slower still, in Python where validation is in Rust).
        return TextReply(text=reply["text"], usage=reply.get("usage", {}))

    async def generate(
        self, prompt: str, *, seed: int, options: CallOptions | None = None
    ) -> ImageRef:
        """Cached, retried, limited `generate`."""
        if self._cannot_do:
            self._check_can(Capability.GENERATE)
        _check_call(self.role, "generate", prompt, seed=seed)

        async def send() -> dict[str, Any]:
            ref = await cast(Generator, self.specialist).generate(
                prompt, seed=seed, options=options
            )
            if not isinstance(ref, ImageRef):
                if ref is not None:
                    raise _wrong_reply(self.specialist, "generate", ref, "an ImageRef")
                raise _empty(self.name, "image")
            return {"image": ref.uri, "usage": _image_usage(_usage_of(ref))}

        request = {"prompt": prompt, "seed": seed, "options": _options(options)}
        reply = await self.layer.call(
            self.specialist,
            self.settings,
            self.limit,
            "generate",
            request,
            send,
            self.role,
            check=self._whole,
        )
        return ImageRef.parse(reply["image"])

    async def edit(
        self,
        prompt: str,
        images: Sequence[ImageRef],
        *,
        seed: int,
        options: CallOptions | None = None,
    ) -> ImageRef:
        """Cached, retried, limited `edit`."""
        if self._cannot_do:
            self._check_can(Capability.EDIT)
        _check_call(self.role, "edit", prompt, images, seed)

        async def send() -> dict[str, Any]:
            ref = await cast(Editor, self.specialist).edit(
                prompt, images, seed=seed, options=options
            )
            if not isinstance(ref, ImageRef):
                if ref is not None:
                    raise _wrong_reply(self.specialist, "edit", ref, "an ImageRef")
                raise _empty(self.name, "image")
            return {"image": ref.uri, "usage": _image_usage(_usage_of(ref))}

        request = {
            "prompt": prompt,
            "images": [i.uri for i in images],
            "seed": seed,
            "options": _options(options),
        }
        reply = await self.layer.call(
            self.specialist,
            self.settings,
            self.limit,
            "edit",
            request,
            send,
            self.role,
            check=self._whole,
        )
        return ImageRef.parse(reply["image"])
