"""How the call layer paces an endpoint: an adaptive concurrency limit and the retry wait.

The limit grows while calls succeed and halves on a rate limit (AIMD); the wait before a retry
is what the server asked for (HTTP Retry-After), else jittered exponential backoff.
`composer.evaluation.calls` applies both to every model call.
"""

from __future__ import annotations

import asyncio
import collections
import random
import time
from typing import Any

from tenacity.wait import wait_base

from composer.core.errors import RefusalError, SpecialistError


class AdaptiveLimit:
    """A concurrency limit that grows while calls succeed and halves on a rate limit (AIMD)."""

    def __init__(self, ceiling: int, initial: int | None = None) -> None:
        """Start at `initial` (default half the ceiling), never above `ceiling`."""
        self.ceiling = ceiling
        self.limit = float(min(ceiling, initial or max(1, ceiling // 2)))
        self.in_flight = 0
        self.cooldown_s = 1.0
        self._last_cut: float | None = None
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    @property
    def current(self) -> int:
        """The limit now, as a whole number of calls."""
        return max(1, int(self.limit))

    async def __aenter__(self) -> None:
        # The event loop runs one task at a time, so check-and-take needs no lock; a caller
        # waits only when the limit is reached, first come first served.
        if self.in_flight < self.current and not self._waiters:
            self.in_flight += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.in_flight -= 1  # woken, then cancelled: hand the slot on
                self._wake()
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise

    async def __aexit__(self, *exc: object) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.current:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(None)

    def succeeded(self) -> None:
        """Grow by one call per `limit` successes."""
        self.limit = min(float(self.ceiling), self.limit + 1.0 / self.limit)

    def rate_limited(self) -> None:
        """Halve after a 429, at most once per `cooldown_s`.

        The calls in flight when a limit is hit all come back 429 together; that burst is one
        signal, and halving once per call in it would collapse the limit to 1.
        """
        now = time.monotonic()
        if self._last_cut is not None and now - self._last_cut < self.cooldown_s:
            return
        self._last_cut = now
        self.limit = max(1.0, self.limit / 2)


class RetryWait(wait_base):
    """Wait what the server asked (Retry-After), else jittered exponential backoff."""

    def __init__(self, initial: float, maximum: float) -> None:
        """Back off from `initial` seconds, doubling per attempt, up to `maximum`."""
        self.initial = initial
        self.maximum = maximum

    def __call__(self, retry_state: Any) -> float:
        """Seconds to wait before tenacity's next attempt."""
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        # Attempt numbers continue from the first, untracked attempt.
        return self.after(error, attempt=retry_state.attempt_number + 1)

    def after(self, error: BaseException | None, *, attempt: int) -> float:
        """Seconds to wait after `error` ended attempt number `attempt`."""
        if isinstance(error, SpecialistError) and error.retry_after is not None:
            return float(error.retry_after)
        backoff = min(self.maximum, self.initial * 2 ** (attempt - 1))
        return float(backoff + random.uniform(0, self.initial))


def retryable(error: BaseException) -> bool:
    """Whether the call layer may send again after `error` (never after a refusal)."""
    return (
        isinstance(error, SpecialistError)
        and error.is_retryable
        and not isinstance(error, RefusalError)
    )
