"""Both ends of the Ray backend's wire: the replica that serves a specialist, and the grouping.

`SpecialistReplica` is one replica of a Ray Serve deployment: the ordinary specialist, built and
loaded in place. `RequestGatherer` groups the driver's requests into one Serve call per batch.

A replica builds the same specialist the driver would build in-process (through the registry,
from the same name and options), loads it, and answers calls with plain data: image bytes in,
PNG bytes out, errors as fields. It keeps a private `ImageStore` in a temporary folder, so the
run's store, cache and accounting stay in the driver (`composer.specialists.ray_backend`).

This module imports no Ray at module level; Serve wraps `SpecialistReplica` at deploy time.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar

from composer.core.errors import ComposerError, RefusalError, SpecialistError
from composer.core.images import ImageRef, ImageStore
from composer.specialists.base import Specialist

START_MARK = "<<composer-replica-start-error>>"
"""Brackets a replica's start failure in Serve's status text, so the driver can quote it alone."""

_KEEP_IMAGES = 512
"""Images a replica keeps on disk; older ones are deleted (their bytes went to the driver)."""

T = TypeVar("T")

Request = tuple[str, str, list[bytes], int | None, dict[str, Any]]
"""One call as sent to a replica: method, prompt, input PNGs, seed, per-call options."""


def _run_in_thread(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to the end on a fresh event loop in a helper thread.

    Serve may call the constructor from inside a running event loop, where `asyncio.run` fails.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # noqa: BLE001 - handed back to the calling thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="composer-replica-load")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def error_fields(exc: BaseException, where: str) -> dict[str, Any]:
    """A `SpecialistError` (or any exception) as plain fields, to rebuild on the driver."""
    if isinstance(exc, SpecialistError):
        return {
            "kind": "refusal" if isinstance(exc, RefusalError) else "specialist",
            "where": exc.where,
            "what": exc.what,
            "fix": exc.fix,
            "is_retryable": exc.is_retryable,
            "is_rate_limit": exc.is_rate_limit,
            "retry_after": exc.retry_after,
            "request_id": exc.request_id,
        }
    if isinstance(exc, ComposerError):
        return {"kind": "specialist", "where": exc.where, "what": exc.what, "fix": exc.fix}
    return {"kind": "specialist", "where": where, "what": f"failed ({type(exc).__name__}: {exc})."}


def rebuild_error(fields: Mapping[str, Any]) -> SpecialistError:
    """The driver-side error for the fields `error_fields` made in a replica."""
    cls = RefusalError if fields.get("kind") == "refusal" else SpecialistError
    return cls(
        str(fields.get("where", "")),
        str(fields.get("what", "")),
        str(fields.get("fix", "")),
        is_retryable=bool(fields.get("is_retryable", False)),
        is_rate_limit=bool(fields.get("is_rate_limit", False)),
        retry_after=fields.get("retry_after"),
        request_id=fields.get("request_id"),
    )


def batch_sizes(specialist: Specialist) -> dict[int, int]:
    """How many batches of each size the specialist's micro-batcher ran (empty if none)."""
    stats = getattr(specialist, "stats", None)
    sizes = getattr(stats, "sizes", None)
    if not isinstance(sizes, Mapping):
        return {}
    return {int(size): int(count) for size, count in sizes.items()}


class SpecialistReplica:
    """What one Serve replica runs: the specialist `name` with `options`, loaded at start.

    `provider_cls` is the adapter class the driver resolved for the name's provider; it is
    registered here too, so a provider registered only in the driver (a plugin class, a script's
    own class) builds the same way in every replica.
    """

    def __init__(
        self, name: str, options: Mapping[str, Any], provider_cls: type[Specialist]
    ) -> None:
        """Build and load the specialist; a failure raises with `START_MARK` around its text."""
        from composer.specialists.registry import create, register_provider, split_name

        self.name = name
        self.folder = Path(tempfile.mkdtemp(prefix="composer-replica-"))
        self.images = ImageStore(self.folder)
        self._kept: deque[ImageRef] = deque()
        try:
            register_provider(split_name(name)[0], provider_cls)
            self.specialist = create(name, options, images=self.images)
            _run_in_thread(self.specialist.load())
        except Exception as exc:  # noqa: BLE001 - reported once, as text, to the driver
            shutil.rmtree(self.folder, ignore_errors=True)
            text = str(exc) if isinstance(exc, ComposerError) else f"{type(exc).__name__}: {exc}"
            raise RuntimeError(f"{START_MARK}{text}{START_MARK}") from None
        self.replica_id = _replica_id()

    def _keep(self, ref: ImageRef) -> ImageRef:
        self._kept.append(ref)
        while len(self._kept) > _KEEP_IMAGES:
            old = self._kept.popleft()
            if old not in self._kept:
                self.images.path(old).unlink(missing_ok=True)
        return ref

    async def call(
        self,
        method: str,
        prompt: str,
        images: list[bytes],
        seed: int | None,
        options: dict[str, Any],
    ) -> dict[str, Any]:
        """Run one protocol call; return `png`, `text` or `error`, plus replica statistics."""
        reply: dict[str, Any]
        try:
            refs = [self._keep(self.images.put_png(data)) for data in images]
            if method == "understand":
                text = await self.specialist.understand(prompt, refs, options=options)  # type: ignore[attr-defined]
                reply = {"text": text.model_dump(mode="json")}
            elif method == "generate":
                ref = await self.specialist.generate(prompt, seed=seed, options=options)  # type: ignore[attr-defined]
                reply = {"png": self.images.read_bytes(self._keep(ref))}
            elif method == "edit":
                ref = await self.specialist.edit(prompt, refs, seed=seed, options=options)  # type: ignore[attr-defined]
                reply = {"png": self.images.read_bytes(self._keep(ref))}
            else:
                raise SpecialistError(self.name, f"has no method {method!r}.")
        except Exception as exc:  # noqa: BLE001 - sent to the driver as fields
            reply = {"error": error_fields(exc, self.name)}
        reply["replica"] = self.replica_id
        reply["batch_sizes"] = batch_sizes(self.specialist)
        return reply

    async def call_many(self, requests: list[Request]) -> list[dict[str, Any]]:
        """Run a group of calls concurrently, so the specialist's batcher can batch them."""
        return list(await asyncio.gather(*(self.call(*request) for request in requests)))

    async def info(self) -> dict[str, Any]:
        """Where this replica runs: its id, node, process and the GPUs Ray gave it."""
        import ray

        return {
            "replica": self.replica_id,
            "node": ray.get_runtime_context().get_node_id(),
            "pid": os.getpid(),
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "batch_sizes": batch_sizes(self.specialist),
        }

    def __del__(self) -> None:
        """Remove the replica's image folder when Serve stops it."""
        folder = getattr(self, "folder", None)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def _replica_id() -> str:
    if "ray" not in sys.modules:  # outside Serve (a direct test): the process id
        return f"pid-{os.getpid()}"
    try:
        from ray import serve

        return str(serve.get_replica_context().replica_id.unique_id)
    except Exception:  # noqa: BLE001 - not in a replica
        return f"pid-{os.getpid()}"


class RequestGatherer:
    """Groups requests that arrive within `window_s` (up to `max_size`) into one `send` call.

    Serve routes each call separately, so sending a batch's requests as one call keeps the
    replicas' batches full and pays the round trip once per batch instead of once per request.
    """

    def __init__(
        self,
        send: Callable[[list[Request]], Awaitable[list[dict[str, Any]]]],
        *,
        max_size: int,
        window_s: float,
    ) -> None:
        """Send groups with `send`, which returns one reply per request, in order."""
        self.send = send
        self.max_size = max(1, max_size)
        self.window_s = window_s
        self._waiting: list[tuple[Request, asyncio.Future[dict[str, Any]]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, request: Request) -> dict[str, Any]:
        """Queue `request`; return its reply once its group has been answered."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._waiting.append((request, future))
        if len(self._waiting) >= self.max_size:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.window_s, self._flush)
        return await future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._waiting:
            group, self._waiting = self._waiting[: self.max_size], self._waiting[self.max_size :]
            task = asyncio.get_running_loop().create_task(self._run(group))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, group: list[tuple[Request, asyncio.Future[dict[str, Any]]]]) -> None:
        try:
            replies = await self.send([request for request, _ in group])
        except asyncio.CancelledError:
            for _, future in group:
                future.cancel()
            raise
        except Exception as exc:  # noqa: BLE001 - handed to every caller of the group
            for _, future in group:
                if not future.done():  # each caller gets its own error object
                    future.set_exception(rebuild_error(error_fields(exc, "Ray backend")))
            return
        for (_, future), reply in zip(group, replies, strict=True):
            if not future.done():
                future.set_result(reply)
