"""Time limits for the calls in flight, on one shared timer instead of one timer per call.

`asyncio.timeout` schedules a timer for every attempt of every model call and cancels it when
the reply comes: about 6.5 us an attempt, and a run leaves thousands of cancelled entries in the
event loop's timer heap. `Deadlines` keeps the calls in flight in a set and one timer, set for
the earliest deadline among them; when it fires, it cancels the calls past their deadlines and
sets itself for the next. A call that overruns is cancelled at its deadline and raises
`TimeoutError` where it waited, as under `asyncio.timeout`, whose cancellation rules it keeps
(a cancellation from elsewhere at the same time stays a cancellation).
"""

from __future__ import annotations

import asyncio
import math
from types import TracebackType
from typing import Any

__all__ = ["Deadline", "Deadlines"]


class Deadlines:
    """The deadlines of the calls in flight, on one event loop, with one timer.

    Example:
        >>> deadlines = Deadlines()
        >>> async def call():  # doctest: +SKIP
        ...     with deadlines.after(300.0):  # TimeoutError after 300 s
        ...         return await send()
    """

    def __init__(self) -> None:
        self._running: set[Deadline] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self._loop: asyncio.AbstractEventLoop | None = None

    def after(self, seconds: float) -> Deadline:
        """A context manager that cancels the current task if its block runs past `seconds`."""
        return Deadline(self, seconds)

    def _add(self, deadline: Deadline, loop: asyncio.AbstractEventLoop) -> None:
        if loop is not self._loop:  # a new event loop (another asyncio.run): start afresh
            self._loop, self._running, self._timer, self._timer_at = loop, set(), None, math.inf
        self._running.add(deadline)
        if deadline.when < self._timer_at:  # the rare case: sooner than the timer is set for
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = deadline.when
            self._timer = loop.call_at(deadline.when, self._expire, loop)

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        """The timer: cancel every call whose deadline has come, then set it for the next one."""
        # The loop may run a timer up to its clock's resolution early: what the timer was set
        # for has come.
        now = max(loop.time(), self._timer_at)
        self._timer, self._timer_at = None, math.inf
        earliest = math.inf
        for deadline in list(self._running):
            if deadline.when <= now:
                self._running.discard(deadline)
                deadline.expire()
            else:
                earliest = min(earliest, deadline.when)
        if earliest < math.inf:
            self._timer_at = earliest
            self._timer = loop.call_at(earliest, self._expire, loop)


class Deadline:
    """One call's deadline (`Deadlines.after`): a `with` block around the awaited call."""

    __slots__ = ("_cancelling", "_expired", "_owner", "_seconds", "_task", "when")

    def __init__(self, owner: Deadlines, seconds: float) -> None:
        """A deadline `seconds` after the block starts; use `Deadlines.after` rather than this."""
        self._owner = owner
        self._seconds = seconds
        self._expired = False
        self.when = math.inf
        """The event loop's time at which the block is cancelled."""

    def __enter__(self) -> Deadline:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("Deadline: must be used inside a task.")
        self._task: asyncio.Task[Any] = task
        self._cancelling = task.cancelling()
        self.when = loop.time() + self._seconds
        self._owner._add(self, loop)
        return self

    def expire(self) -> None:
        """Cancel the block's task: its deadline has come."""
        self._expired = True
        self._task.cancel()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self._expired:
            self._owner._running.discard(self)
            return
        # As asyncio.timeout: take back this cancellation; it is a timeout only if no other
        # cancellation is pending.
        if self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
            raise TimeoutError from exc
