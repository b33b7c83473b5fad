"""How the call layer paces an endpoint: an adaptive concurrency limit and the retry wait.

The limit finds the concurrency an endpoint sustains and stays near it: it doubles every round
trip until the first rate limit (slow start), then grows by one call per round trip and, on a
rate limit, steps down by a tenth, once per signal. An endpoint that answers faster than its
rate limit allows even one call in flight is paced by a rate instead. The wait before a retry
is what the server asked for (HTTP Retry-After), else jittered exponential backoff.
`composer.evaluation.calls` applies both to every model call.
"""

from __future__ import annotations

import asyncio
import collections
import math
import random
import time
from typing import Any

from tenacity.wait import wait_base

from composer.core.errors import RefusalError, SpecialistError

STEP_DOWN = 0.9
"""What a rate limit leaves of the limit. A server that limits its rate answers at that rate
whatever the concurrency; halving (TCP's AIMD) left the endpoint idle a quarter of the time
while the limit crawled back, and a tenth is enough to stop the 429s of a limit just past it."""

RATE_HORIZON_S = 1.0
"""How far back answers are counted to measure the rate an endpoint answers at (a round trip
if that is longer): a fast endpoint answers its few calls a second in much less than one."""

RATE_PACED_BELOW = 4.0
"""Calls in flight under which an endpoint is paced by a rate, not a concurrency: a limit of a
few calls steps a third or more at a time, and below one it cannot slow a call at all."""

RATE_SLOW_PER_S = 0.25
"""The most the slow growth adds to a rate cap in a second. Per answer, a fast endpoint's cap
grew fast in time (a 60-a-second one's by half a second), and a bucket with a burst allowance
refuses a cap past its rate only once the burst is spent, a second or more later: by then the
cap was far past, and a cut of a tenth left it past. Much less (a twentieth was tried), and an
endpoint refusing a tenth of its calls at random stayed paced by a rate it could not grow out
of (4x a plain loop's time where 3x was)."""

RATE_CUT_EVERY = 14
"""The fewest answers between two cuts of a rate cap below the rate last refused: what the slow
growth (`RATE_GROWTH[1]`) takes to make a tenth up (more where `RATE_SLOW_PER_S` slows it), so
however often a server refuses at random (an overloaded one's "retry in 1 s"), the cuts never
outrun the growth."""

RATE_FAR_PAST = 0.5
"""The share of the recent sends (`RATE_OUTCOMES`, six at least) refused from which the cap is
far past the server's rate: it goes down to the rate answered at once, not a tenth at a time.
Past a bucket's rate, a refusal that brings the next send forward to the bucket's next token
makes every other send refused, whatever the cap: half."""

RATE_OUTCOMES = 8
"""How many recent sends' outcomes (answered or refused) that share is taken over."""

RATE_GROWTH = (1 / 8, 1 / 128, 1 / 1024)
"""How much a rate cap grows per answered call: fast while well below the rate last refused
(or before any refusal), so that a low first measure is left in a few answers; slowly near
it, a tenth in about 14 answers; slowest just below it (`RATE_PLATEAU`). The second at most
`RATE_SLOW_PER_S` a second, the third an eighth of the second.
Only while the sends go at the cap: a cap the calls do not reach is not tried."""

RATE_PLATEAU = 0.97
"""From this share of the rate last refused up to that rate, the cap grows by the slowest step
(`RATE_GROWTH[2]`), as TCP CUBIC's window does near its last loss, while nothing was refused
since the cut: the server's rate is just below the rate refused, so the cap stays under it
about 30 answers before it probes past. Growing at one pace, it was past a bucket's rate every
14 answers, one request in seven refused (1.16 to 1.32 requests an answer on a burst-1
bucket). A refusal since the cut (at random, or a bucket with a burst found past its rate
late) ends the plateau until the next cut: growing slowest then, cuts once per
`RATE_CUT_EVERY` answers would sink the cap."""


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

    A concurrency cannot pace an endpoint that answers faster than it lets calls through (a
    token bucket of 4 calls a second answering in a millisecond sustains 0.004 calls in
    flight): even one call at a time is 250 times its rate, and every refused call, told the
    same next moment by Retry-After, is sent again at that moment with the others, one
    answered and the rest refused again until their attempts run out; and a limit of one or
    two calls goes up and down by half or more. So when the rate a cut takes (the answers' over
    the last `RATE_HORIZON_S`, at most the rate the limit let out less a tenth: a burst's
    answers come together) would keep fewer than `RATE_PACED_BELOW` calls in flight, sends are
    paced at that rate instead (`max_rate`, calls a second; as many in flight as that rate
    keeps busy). A refusal whose Retry-After is sooner than the next send was due brings that
    send forward to it (a bucket names its next token; the refused send counts for nothing),
    never later: a long Retry-After (an overloaded server's) delays only the refused call.
    The first cap is also at most what a bucket's next token allows (one over the time from
    the last answer to the Retry-After), where that is a plausible rate. The cap grows by
    `RATE_GROWTH` per answer while the sends go at it, slowest just below the rate last
    refused (`RATE_PLATEAU`). A refusal cuts it to `STEP_DOWN` of the cap before its last
    step (the step that went past), at once after a fast step, else at most
    once per `RATE_CUT_EVERY` answers (an overloaded server's "retry in 1 s" at random never
    sinks the cap); when most recent sends were refused (`RATE_FAR_PAST`: the server's rate
    fell), it goes down to the rate answered. Past twice `RATE_PACED_BELOW` calls in flight the
    concurrency limit takes over again.

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
        self.max_rate: float | None = None
        """Calls a second, where the endpoint sustains fewer than `RATE_PACED_BELOW` in flight."""
        self._rate_slots = 1
        """Calls in flight while paced by a rate: what `max_rate` keeps busy, and a quarter."""
        self._outcomes: collections.deque[bool] = collections.deque(maxlen=RATE_OUTCOMES)
        """While paced by a rate: whether each recent send was refused."""
        self._refused_rate: float | None = None
        """The rate cap before its last step when a refusal last cut it: about the endpoint's
        rate."""
        self._last_growth = 0.0
        """How much the rate cap grew at the last answer (none since a cut)."""
        self._answers_since_cut = 0
        self._refused_since_cut = False
        self._cap_bound = True
        """Whether the last send went when the rate cap let it (so the cap was tried)."""
        self._last_cut = float("-inf")
        self._next_send = 0.0
        self._last_send = float("-inf")
        """While paced by a rate: when the last call that counts against it was sent."""
        self._resume_at = 0.0
        """While paced by a rate, no call is sent before this: a refusal's Retry-After."""
        self._moved: asyncio.Future[None] | None = None
        """Set when a refusal makes the next send due sooner than the waiting calls think."""
        self._answered: collections.deque[float] = collections.deque()
        """When recent calls succeeded (the last round trip or `RATE_HORIZON_S`, the longer):
        how many the endpoint answers in a round trip, and at what rate."""
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def lower_ceiling(self, ceiling: int) -> None:
        """Hold the limit at most at `ceiling` from now on (a model sharing it set a lower one)."""
        self.ceiling = ceiling
        self.limit = min(self.limit, float(ceiling))
        self._rate_slots = min(self._rate_slots, ceiling)

    @property
    def current(self) -> int:
        """The limit now, as a whole number of calls."""
        return self._rate_slots if self.max_rate is not None else max(1, int(self.limit))

    async def __aenter__(self) -> None:
        await self._take()
        if not self.is_paced:
            return
        # Paced once the endpoint has limited its rate, in slow start too: calls that finish
        # together would be sent again together, and a bucket refuses a burst even below its
        # rate (unpaced, the slow start after a 429 met before any answer sent its doubled
        # limit at once: 99 of the 115 refusals of tests/perf/rate_limit.py's run came in its
        # first second). Before any answer there is no round trip to pace by.
        try:
            if self.max_rate is not None:
                await self._rate_turn()
                return
            now = time.monotonic()
            at = max(now, self._next_send)
            self._next_send = at + self.round_trip_s / self.limit
            if at > now:
                await asyncio.sleep(at - now)
        except BaseException:
            await self.__aexit__()
            raise

    async def _rate_turn(self) -> None:
        """Wait until a send is due at `max_rate`, and not before a refusal's Retry-After.

        Decided when the call wakes, not booked ahead as the concurrency's pacing books it: a
        cut or a refusal meanwhile moves the next send (few calls wait here: `_rate_slots`),
        and a refusal that makes it due sooner wakes the waiting calls.
        """
        waited = False
        while self.max_rate is not None:
            now = time.monotonic()
            at = max(self._last_send + 1.0 / self.max_rate, self._resume_at)
            if at <= now:
                # Held by the cap, or sent about when it allowed: the cap sets the rate. A call
                # that comes much later (too few calls in flight or to send) says nothing of it.
                self._cap_bound = waited or now - at < 0.25 / self.max_rate
                self._last_send = now
                return
            waited = True
            moved, loop = self._moved, asyncio.get_running_loop()
            if moved is None or moved.done() or moved.get_loop() is not loop:
                moved = self._moved = loop.create_future()
            try:
                await asyncio.wait_for(asyncio.shield(moved), at - now)
            except TimeoutError:
                pass

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
        self._answers_since_cut += 1
        while self._answered[0] < now - max(self.round_trip_s, RATE_HORIZON_S):
            self._answered.popleft()
        if self.max_rate is not None:
            self._outcomes.append(False)
            refused = self._refused_rate
            if refused is not None and self.max_rate > 1.1 * refused:
                # Past the rate last refused and not refused since: the limit was raised or
                # lifted, or that refusal was a passing one. Grow fast again, as a probe: past
                # a bucket's rate, half the sends are soon refused and the cap goes back.
                refused = self._refused_rate = None
            if refused is None or self.max_rate < 0.85 * refused:
                growth = RATE_GROWTH[0]
            elif RATE_PLATEAU * refused <= self.max_rate < refused and not self._refused_since_cut:
                growth = self._slow_growth() * RATE_GROWTH[2] / RATE_GROWTH[1]
            else:
                growth = self._slow_growth()
            if not self._cap_bound:
                # Sent slower than the cap allows, it went unrefused without being tried: grown
                # meanwhile (one call in flight, answered slower than the cap), it was twice
                # the server's rate when more calls went out, and refused until cut back.
                growth = 0.0
            self._last_growth = growth
            self._pace_at(self.max_rate * (1.0 + growth))
        else:
            step = 1.0 if self.is_slow_start else 1.0 / self.limit
            self.limit = min(float(self.ceiling), self.limit + step)
        self._wake()

    def rate_limited(self, admitted: int | None = None, retry_after: float | None = None) -> None:
        """Step down after a 429 on a call admitted at epoch `admitted` (None: now).

        A 429 on a call admitted before the last cut is the same overload that cut it (the
        calls in flight come back 429 together), and cutting once per call in such a burst would
        collapse the limit to 1. `retry_after` is the wait the server asked for: while paced
        by a rate, the next send goes then if it was due later.
        """
        self.is_paced = True
        now = time.monotonic()
        if self.max_rate is not None and (admitted is None or admitted >= self.epoch):
            # A call sent at this cap (not at one before the last cut) was refused.
            self._outcomes.append(True)
            self._refused_since_cut = True
            if retry_after is not None:
                self._bring_forward(now + retry_after)
        if admitted is not None and admitted < self.epoch:
            if not self.round_trip_s:
                # Before any answer, each refusal of the burst that cut the limit is one call
                # fewer of those still out: what is left when the last is back is what the
                # server let through (this call leaves the count once this returns). Not a
                # cut: the epoch stays. Left at the first refusal's cut, the refused calls'
                # retries went out again into the same empty bucket, wave after wave.
                self.limit = max(1.0, min(self.limit, self.in_flight - 1.0))
            return
        if now - self._last_cut < self.round_trip_s:
            return
        far_past = self.max_rate is not None and self._far_past()
        if self.max_rate is not None and not far_past:
            past_by_a_fast_step = self._last_growth > RATE_GROWTH[1]
            if self._answers_since_cut < self._cut_every() and not past_by_a_fast_step:
                # Cut lately: perhaps at random. (Cut at once whenever the cap was back at the
                # rate last refused, a 10%-refused endpoint's cap never passed the rate of its
                # first cut: 4x a plain loop's time instead of 3x.)
                return
        self._last_cut = now
        self._answers_since_cut = 0
        self._refused_since_cut = False
        self.epoch += 1
        if not self.round_trip_s:
            # No answer yet: a refusal comes back at once, so the calls still out are the ones
            # the server let through. Slow start goes on from there once they are answered.
            self.limit = max(1.0, min(self.limit * STEP_DOWN, self.in_flight - 1.0))
            return
        self.is_slow_start = False
        # What the endpoint answered in the last round trip is the concurrency it sustains
        # (Little's law): far past it (a burst allowance spent), go straight there.
        answered = self._answered
        while answered and answered[0] < now - max(self.round_trip_s, RATE_HORIZON_S):
            answered.popleft()
        sustained = sum(1 for at in reversed(answered) if at >= now - self.round_trip_s)
        measured = None  # the rate the answers came at, when there are two to measure by
        if len(answered) > 1 and answered[-1] > answered[0]:
            measured = (len(answered) - 1) / (answered[-1] - answered[0])
        if self.max_rate is not None:
            top = self._refused_rate = self._below_last_step()
            self._last_growth = 0.0
            if far_past:
                # Half the sends refused: the server answers what it lets through, so its rate
                # is the rate answered (half the cap where too few answers came to measure it).
                # A tenth below it, the cap grows back slowly, as after any cut.
                server = self.max_rate / 2 if measured is None else min(self.max_rate, measured)
                self._pace_at(STEP_DOWN * server)
                if self.max_rate is not None:
                    self._refused_rate = server
                self._outcomes.clear()
            else:
                # Not down to the rate measured: that is the rate this cap let out, and each
                # cut would take it lower still.
                self._pace_at(top * STEP_DOWN)
            return
        sending = STEP_DOWN * self.limit / self.round_trip_s  # the rate it let out, less a tenth
        self.limit = max(1.0, min(self.limit * STEP_DOWN, float(sustained or self.limit)))
        # The rate the answers came at, unless a burst's answers, come together, make it more
        # than the rate the limit let out (a bucket's burst allowance, spent at the start).
        rate = sending if measured is None else min(sending, measured)
        token_s = 0.0
        if retry_after is not None and 0 < retry_after < 1.0 and answered:
            token_s = now + retry_after - answered[-1]
        if token_s > 0 and 1.0 / token_s >= len(answered) / RATE_HORIZON_S / 4:
            # A bucket's next token (the Retry-After) comes at most one interval after the last
            # call it let through, so its rate is at most one over that time. Left at the rate
            # sent (one answer to measure by), the cap began five times past a burst-1 bucket's
            # and took four more refusals to come down; at the rate answered, twice past a
            # bucket whose burst was answered at once, and 30 refusals brought it down a tenth
            # at a time. An overloaded server's "retry in 1 s" (whole seconds: not a token's
            # time), or one that calls answered 40 in the last second belie, says nothing of
            # the rate: taken for it, a 10%-refused endpoint was paced at 1 call a second.
            rate = min(rate, STEP_DOWN / token_s)
        if rate * self.round_trip_s < RATE_PACED_BELOW:
            self._pace_at(rate)
            self._refused_rate = None  # a low first measure grows fast until refused
            self._outcomes.clear()

    def _below_last_step(self) -> float:
        """The cap before it last grew: the step that a refusal says went past the rate.

        A tenth below the cap itself left a cap grown by the fast step (an eighth) still past
        the rate, refused every other send until half the recent ones were.
        """
        assert self.max_rate is not None
        return self.max_rate / (1.0 + self._last_growth)

    def _slow_growth(self) -> float:
        """The slow growth per answer: `RATE_GROWTH[1]`, at most `RATE_SLOW_PER_S` a second."""
        assert self.max_rate is not None
        return min(RATE_GROWTH[1], RATE_SLOW_PER_S / self.max_rate)

    def _cut_every(self) -> int:
        """Answers between two cuts below the rate refused: what the slow growth takes back.

        `RATE_CUT_EVERY` up to `RATE_SLOW_PER_S * 128` calls a second, more past that.
        """
        return max(
            RATE_CUT_EVERY, math.ceil(math.log(1 / STEP_DOWN) / math.log1p(self._slow_growth()))
        )

    def _far_past(self) -> bool:
        """Whether half the recent sends or more were refused: far past the server's rate."""
        outcomes = self._outcomes
        return len(outcomes) >= 6 and sum(outcomes) >= RATE_FAR_PAST * len(outcomes)

    def _pace_at(self, rate: float) -> None:
        """Pace sends at `rate` a second, or by the concurrency again if that is fine enough."""
        in_flight = rate * self.round_trip_s
        if in_flight >= 2 * RATE_PACED_BELOW:
            self.limit = min(float(self.ceiling), in_flight)
            self.max_rate = self._refused_rate = None
            self._outcomes.clear()
            return
        self.max_rate = rate
        self._rate_slots = min(self.ceiling, max(1, math.ceil(1.25 * in_flight)))

    def _bring_forward(self, at: float) -> None:
        """Send the next call at `at` if it was due later: a bucket's next token comes then.

        Never later: a Retry-After past the next send's time (an overloaded server's "retry in
        1 s") says nothing of the rate, and holding every call for it stopped the endpoint. The
        refused send counts for nothing; waiting a whole interval on top of it cost a fifth of
        the rate of a cap just past the server's.
        """
        assert self.max_rate is not None
        due = max(self._last_send + 1.0 / self.max_rate, self._resume_at)
        if at >= due:
            return
        self._resume_at = at
        self._last_send = float("-inf")
        moved = self._moved
        if moved is not None and not moved.done():
            try:
                running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if moved.get_loop() is running:
                moved.set_result(None)  # the calls waiting for their turn look again
            else:  # an earlier event loop's (Run.run() again): nobody waits on it now
                self._moved = None


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
