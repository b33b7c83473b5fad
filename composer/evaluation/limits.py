"""How the call layer paces an endpoint: an adaptive concurrency limit and the retry wait.

The limit finds the concurrency an endpoint sustains and stays near it: it doubles every round
trip until the first rate limit (slow start), then grows by one call per round trip and, on a
rate limit, steps down by a tenth, once per signal. The wait before a retry is what the server
asked for (HTTP Retry-After), else jittered exponential backoff.
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

STEP_DOWN = 0.9
"""What a rate limit leaves of the limit. A server that limits its rate answers at that rate
whatever the concurrency; halving (TCP's AIMD) left the endpoint idle a quarter of the time
while the limit crawled back, and a tenth is enough to stop the 429s of a limit just past it."""


class AdaptiveLimit:
    """A concurrency limit that settles where an endpoint stops answering 429.

    It starts at `initial` and, until the first rate limit, grows by one call per success
    (doubling per round trip, as TCP's slow start), so it reaches a server's limit quickly. A
    rate limit then takes it down to `STEP_DOWN` of itself and it grows by one call per round
    trip (one per `limit` successes). One overload is one signal: the calls in flight when a
    limit is hit all come back 429 together, so a 429 cuts the limit only if its call was
    admitted after the last cut (`admitted` is the `epoch` the caller read when it got in) and
    a round trip (the recent time of a successful call) has passed since that cut: a server's
    429 comes back at once, and the calls sent right after a cut meet the same empty bucket.
    Before any answer, each 429 of that burst leaves the limit at the calls still out: by its
    last, those the server let through. From the first rate limit on (in slow start too),
    calls are also paced: sent at most `limit` per round trip, evenly, not in the bursts in
    which earlier calls came back.

    Example:
        >>> limit = AdaptiveLimit(ceiling=64)
        >>> async def call():  # doctest: +SKIP
        ...     async with limit:
        ...         admitted = limit.epoch
        ...         ...  # send; on a 429: limit.rate_limited(admitted)
    """

    def __init__(self, ceiling: int, initial: int | None = None) -> None:
        """Start at `initial` (default half the ceiling), never above `ceiling`."""
        self.ceiling = ceiling
        self.limit = float(min(ceiling, initial or max(1, ceiling // 2)))
        self.in_flight = 0
        self.epoch = 0
        """How many times the limit was cut; a call reads it when admitted."""
        self.is_slow_start = True
        self.is_paced = False
        """Sends are spaced evenly over a round trip: from the endpoint's first 429 on."""
        self.round_trip_s = 0.0
        """Recent time of a successful call (a moving average): the least time between cuts."""
        self._last_cut = float("-inf")
        self._next_send = 0.0
        self._answered: collections.deque[float] = collections.deque()
        """When recent calls succeeded: how many the endpoint answers in a round trip."""
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    @property
    def current(self) -> int:
        """The limit now, as a whole number of calls."""
        return max(1, int(self.limit))

    async def __aenter__(self) -> None:
        await self._take()
        if not self.is_paced:
            return
        # Paced once the endpoint has limited its rate, in slow start too: calls that finish
        # together would be sent again together, and a bucket refuses a burst even below its
        # rate (unpaced, the slow start after a 429 met before any answer sent its doubled
        # limit at once: 99 of the 115 refusals of tests/perf/rate_limit.py's run came in its
        # first second). Before any answer there is no round trip to pace by.
        now = time.monotonic()
        at = max(now, self._next_send)
        self._next_send = at + self.round_trip_s / self.limit
        if at > now:
            try:
                await asyncio.sleep(at - now)
            except BaseException:
                await self.__aexit__()
                raise

    async def _take(self) -> None:
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

    def succeeded(self, latency_s: float = 0.0) -> None:
        """Grow: by one call per success in slow start, else by one per `limit` successes.

        `latency_s`, how long the call took, keeps `round_trip_s` current.
        """
        if self.round_trip_s:
            self.round_trip_s += 0.1 * (latency_s - self.round_trip_s)
        else:
            self.round_trip_s = latency_s
        now = time.monotonic()
        self._answered.append(now)
        while self._answered[0] < now - self.round_trip_s:
            self._answered.popleft()
        step = 1.0 if self.is_slow_start else 1.0 / self.limit
        self.limit = min(float(self.ceiling), self.limit + step)
        self._wake()

    def rate_limited(self, admitted: int | None = None) -> None:
        """Step down after a 429 on a call admitted at epoch `admitted` (None: now).

        A 429 on a call admitted before the last cut is the same overload that cut it (the
        calls in flight come back 429 together), and cutting once per call in such a burst would
        collapse the limit to 1.
        """
        self.is_paced = True
        if admitted is not None and admitted < self.epoch:
            if not self.round_trip_s:
                # Before any answer, each refusal of the burst that cut the limit is one call
                # fewer of those still out: what is left when the last is back is what the
                # server let through (this call leaves the count once this returns). Not a
                # cut: the epoch stays. Left at the first refusal's cut, the refused calls'
                # retries went out again into the same empty bucket, wave after wave.
                self.limit = max(1.0, min(self.limit, self.in_flight - 1.0))
            return
        now = time.monotonic()
        if now - self._last_cut < self.round_trip_s:
            return
        self._last_cut = now
        self.epoch += 1
        if not self.round_trip_s:
            # No answer yet: a refusal comes back at once, so the calls still out are the ones
            # the server let through. Slow start goes on from there once they are answered.
            self.limit = max(1.0, min(self.limit * STEP_DOWN, self.in_flight - 1.0))
            return
        self.is_slow_start = False
        # What the endpoint answered in the last round trip is the concurrency it sustains
        # (Little's law): far past it (a burst allowance spent), go straight there.
        while self._answered and self._answered[0] < now - self.round_trip_s:
            self._answered.popleft()
        sustained = len(self._answered) or self.limit
        self.limit = max(1.0, min(self.limit * STEP_DOWN, float(sustained)))


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
