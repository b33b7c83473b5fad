"""A micro-batcher: concurrent requests to one local model run as one batched forward pass.

Callers `await batcher.submit(request, key=...)` from the event loop. A dispatcher task takes
the oldest waiting request, waits up to `window_s` for others with the same `key` (up to
`max_batch`), and runs them as one call of `run_batch` in the batcher's own worker thread, so
the event loop keeps accepting requests while the model computes. Requests that arrive while a
batch runs wait for the next one, so under load batches fill up without any waiting.

    caller 1 ─┐                      ┌─> result 1
    caller 2 ─┼─> [window / max] ──> run_batch([r1, r2, r3]) in the worker thread
    caller 3 ─┘                      └─> result 3

Results go back to their callers in order; an exception from `run_batch` reaches every caller of
that batch and no other. Requests with different keys (say, different step counts or image
sizes) never share a batch. Generic: this module imports no model library.

The same batcher groups the Ray proxy's requests into one Serve call each
(`composer.serving.ray.proxy`): there `run_batch` is a coroutine function, run on the event
loop, and `capacity` bounds the batches in flight (one at a time for a function run in the
worker thread).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar, cast

Request = TypeVar("Request")
Result = TypeVar("Result")


@dataclass
class BatchStats:
    """What a batcher has run: the number of batches and how large each was."""

    batches: int = 0
    requests: int = 0
    failed_batches: int = 0
    sizes: Counter[int] = field(default_factory=Counter)
    """How many batches of each size ran."""

    @property
    def largest(self) -> int:
        """The largest batch run so far (0 before the first)."""
        return max(self.sizes, default=0)

    def note(self) -> str:
        """`N batches, mean M, largest L` for the progress display."""
        if not self.batches:
            return "no batch yet"
        mean = self.requests / self.batches
        return f"{self.batches} batches, mean {mean:.1f}, largest {self.largest}"


@dataclass
class _Waiting(Generic[Request, Result]):
    request: Request
    key: Hashable
    future: asyncio.Future[Result]
    arrived: float


class MicroBatcher(Generic[Request, Result]):
    """Gathers concurrent requests into batches for `run_batch`; see the module docstring.

    `run_batch` is either a plain function, run in the batcher's worker thread one batch at a
    time, or a coroutine function, run on the event loop with at most `capacity()` batches in
    flight (no limit without `capacity`). Requests beyond that wait here and join fuller
    batches; a batch goes out the moment one in flight is answered.

    Example:
        >>> batcher = MicroBatcher(lambda xs: [x * 2 for x in xs], max_batch=16)
        >>> async def main():
        ...     return await asyncio.gather(*(batcher.submit(i) for i in range(4)))
        >>> asyncio.run(main())
        [0, 2, 4, 6]
        >>> batcher.stats.sizes
        Counter({4: 1})
    """

    def __init__(
        self,
        run_batch: Callable[[Sequence[Request]], Sequence[Result]]
        | Callable[[list[Request]], Awaitable[Sequence[Result]]],
        *,
        max_batch: int = 8,
        window_s: float = 0.005,
        name: str = "batcher",
        capacity: Callable[[], int] | None = None,
    ) -> None:
        """Batch calls of `run_batch`, which maps a list of requests to as many results."""
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        if window_s < 0:
            raise ValueError(f"window_s must not be negative, not {window_s}")
        self.run_batch = run_batch
        self.max_batch = max_batch
        self.window_s = window_s
        self.name = name
        self.stats = BatchStats()
        self.is_async = inspect.iscoroutinefunction(run_batch)
        self.capacity = capacity if capacity is not None or self.is_async else lambda: 1
        self.in_flight = 0
        """Batches started and not yet answered."""
        self._executor: ThreadPoolExecutor | None = None
        self._waiting: list[_Waiting[Request, Result]] = []
        self._arrived: asyncio.Event | None = None
        self._freed: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()

    @property
    def waiting(self) -> int:
        """Requests held here until their batch starts."""
        return len(self._waiting)

    async def submit(self, request: Request, *, key: Hashable = None) -> Result:
        """Queue `request` and return its result once its batch has run."""
        loop = asyncio.get_running_loop()
        self._start(loop)
        assert self._arrived is not None
        future: asyncio.Future[Result] = loop.create_future()
        entry = _Waiting(request, key, future, time.monotonic())
        self._waiting.append(entry)
        self._arrived.set()
        try:
            return await future
        except asyncio.CancelledError:
            if entry in self._waiting:  # cancelled before its batch began: drop it
                self._waiting.remove(entry)
            raise

    def close(self) -> None:
        """Stop the dispatcher and let the worker thread end after its current batch."""
        if self._dispatcher is not None and not self._dispatcher.done():
            self._dispatcher.cancel()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        # A batcher outlives event loops (tests, repeated asyncio.run): rebind to the current one.
        if self._loop is loop and self._dispatcher is not None and not self._dispatcher.done():
            return
        self._loop = loop
        self._arrived = asyncio.Event()
        self._freed = asyncio.Event()
        self.in_flight = 0
        self._waiting = [w for w in self._waiting if not w.future.done()]
        self._dispatcher = loop.create_task(self._dispatch(), name=f"{self.name}-dispatch")

    def _take(self) -> list[_Waiting[Request, Result]]:
        key = self._waiting[0].key
        batch = [w for w in self._waiting if w.key == key][: self.max_batch]
        taken = {id(w) for w in batch}
        self._waiting = [w for w in self._waiting if id(w) not in taken]
        return batch

    def _ready(self) -> bool:
        first = self._waiting[0]
        same = sum(1 for w in self._waiting if w.key == first.key)
        return same >= self.max_batch or time.monotonic() - first.arrived >= self.window_s

    def _is_full(self) -> bool:
        """Whether `capacity()` batches are in flight already."""
        return self.capacity is not None and self.in_flight >= max(self.capacity(), 1)

    async def _dispatch(self) -> None:
        assert self._arrived is not None and self._freed is not None and self._loop is not None
        while True:
            while not self._waiting:
                self._arrived.clear()
                await self._arrived.wait()
            while not self._ready():
                self._arrived.clear()
                left = self.window_s - (time.monotonic() - self._waiting[0].arrived)
                try:
                    await asyncio.wait_for(self._arrived.wait(), timeout=max(left, 0.0))
                except TimeoutError:
                    pass
                if not self._waiting:
                    break
            while self._is_full():
                self._freed.clear()
                await self._freed.wait()
            if not self._waiting:
                continue
            batch = self._take()
            self.in_flight += 1
            task = self._loop.create_task(self._run_one(batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run_one(self, batch: list[_Waiting[Request, Result]]) -> None:
        """Run one batch and hand each caller its result (or the batch's error)."""
        assert self._loop is not None and self._freed is not None
        requests = [w.request for w in batch]
        try:
            if self.is_async:
                run = cast(Callable[[list[Request]], Awaitable[Sequence[Result]]], self.run_batch)
                results = self._count(requests, await run(requests))
            else:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)
                results = await self._loop.run_in_executor(self._executor, self._run, requests)
        except asyncio.CancelledError:
            for w in batch:
                w.future.cancel()
            raise
        except Exception as exc:  # handed to every caller of this batch
            self.stats.failed_batches += 1
            for w in batch:
                if not w.future.done():
                    w.future.set_exception(exc)
            return
        finally:
            self.in_flight -= 1
            self._freed.set()
        for w, result in zip(batch, results, strict=True):
            if not w.future.done():
                w.future.set_result(result)

    def _run(self, requests: list[Request]) -> Sequence[Result]:
        run = cast(Callable[[Sequence[Request]], Sequence[Result]], self.run_batch)
        return self._count(requests, run(requests))

    def _count(self, requests: list[Request], results: Sequence[Result]) -> Sequence[Result]:
        if len(results) != len(requests):
            raise RuntimeError(
                f"{self.name}: run_batch returned {len(results)} results for "
                f"{len(requests)} requests"
            )
        self.stats.batches += 1
        self.stats.requests += len(requests)
        self.stats.sizes[len(requests)] += 1
        return results
