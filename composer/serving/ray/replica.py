"""What one Ray Serve replica runs: the ordinary specialist, built and loaded in place.

A replica builds the same specialist the driver would build in-process (through the registry,
from the same name and options), loads it, and answers calls with plain data: image bytes in,
PNG bytes out, errors as fields. It keeps a private `ReplicaImages` store, so the
run's store, cache and accounting stay in the driver (`composer.serving.ray.proxy`).

This module imports no Ray at module level; Serve wraps `SpecialistReplica` at deploy time.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sys
import tempfile
import threading
from collections import Counter, deque
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar

from composer.core.errors import ComposerError, RefusalError, SpecialistError
from composer.core.images import ImageRef, ImageStore
from composer.specialists.base import Specialist
from composer.specialists.registry import create, register_provider, split_name

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


class ReplicaImages(ImageStore):
    """A replica's image store: PNGs stay in memory, and reach the disk only if a path is asked.

    A replica's outputs go back to the driver as bytes (`take`), and its inputs arrive as bytes,
    so most never need a file: an adapter that opens an image by `path()` gets one written then.
    That spares two file operations per image (the write, and reading it back to send). It
    makes no thumbnails: the run's store makes each when it checks the bytes that came back.
    """

    makes_thumbnails = False

    def __init__(self, root: Path | str) -> None:
        """Keep files (when needed) under `root`."""
        super().__init__(root)
        self._held: dict[str, bytes] = {}

    def put_png(self, data: bytes) -> ImageRef:
        """Hold the PNG bytes in memory; return their reference."""
        ref = ImageRef(sha256=hashlib.sha256(data).hexdigest())
        if not super().path(ref).exists():
            self._held.setdefault(ref.sha256, data)
        return ref

    def path(self, ref: ImageRef) -> Path:
        """The file of `ref`, written now if its bytes were only in memory."""
        data = self._held.pop(ref.sha256, None)
        if data is not None:
            ImageStore.put_png(self, data)  # its own `path` call finds nothing held
        return super().path(ref)

    def __contains__(self, ref: ImageRef) -> bool:
        """Whether the store holds `ref`, in memory or on disk."""
        return ref.sha256 in self._held or super().path(ref).exists()

    def read_bytes(self, ref: ImageRef) -> bytes:
        """The PNG bytes of `ref`, from memory if held there."""
        data = self._held.get(ref.sha256)
        return data if data is not None else super().read_bytes(ref)

    def take(self, ref: ImageRef) -> bytes:
        """The PNG bytes of `ref`, no longer held in memory (they are on their way out)."""
        data = self._held.pop(ref.sha256, None)
        return data if data is not None else super().read_bytes(ref)

    def discard(self, ref: ImageRef) -> None:
        """Forget `ref`, in memory and on disk."""
        self._held.pop(ref.sha256, None)
        super().path(ref).unlink(missing_ok=True)


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
        self.name = name
        self.folder = Path(tempfile.mkdtemp(prefix="composer-replica-"))
        self.images = ReplicaImages(self.folder)
        self._kept: deque[ImageRef] = deque()
        self._uses: Counter[str] = Counter()
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
        """Remember `ref`; delete the oldest image once more than `_KEEP_IMAGES` are kept."""
        self._kept.append(ref)
        self._uses[ref.sha256] += 1
        while len(self._kept) > _KEEP_IMAGES:
            old = self._kept.popleft()
            self._uses[old.sha256] -= 1
            if not self._uses[old.sha256]:  # counted, not searched: this runs per image
                del self._uses[old.sha256]
                self.images.discard(old)
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
                reply = {"png": self.images.take(self._keep(ref))}
            elif method == "edit":
                ref = await self.specialist.edit(prompt, refs, seed=seed, options=options)  # type: ignore[attr-defined]
                reply = {"png": self.images.take(self._keep(ref))}
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
