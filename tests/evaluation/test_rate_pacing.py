"""A fast endpoint behind a strict rate limit: calls are paced at its rate, none runs out of
attempts (through the real OpenAI SDK against a token-bucket fake)."""

import asyncio
import time
from collections.abc import Awaitable, Iterator, Sequence
from pathlib import Path

import pytest
from fakes import FakeOpenAI

from composer.core.images import ImageStore
from composer.evaluation.calls import CallLayer, CallSettings, TrackedSpecialist
from composer.evaluation.limits import (
    RATE_CUT_EVERY,
    RATE_GROWTH,
    STEP_DOWN,
    AdaptiveLimit,
)
from composer.evaluation.store_writer import RunWriter
from composer.specialists import create


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-0000000000")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with FakeOpenAI(lambda prompt, captions: "yes") as server:
        yield server


def behind(
    fake: FakeOpenAI, tmp_path: Path, settings: CallSettings, *names: str
) -> tuple[CallLayer, list[TrackedSpecialist]]:
    """A call layer, and the models `names` (default gpt-4.1) wrapped in it behind `fake`."""
    images = ImageStore(tmp_path / "images")
    layer = CallLayer(RunWriter(tmp_path / "run"), images)
    return layer, [
        layer.wrap(create(name, {"base_url": fake.url + "/v1"}, images=images), settings)
        for name in names or ("openai/gpt-4.1",)
    ]


async def failures(layer: CallLayer, calls: Sequence[Awaitable[object]]) -> list[BaseException]:
    """Run `calls` together, store what they wrote; the errors they ended in."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    await layer.store.flush()
    layer.store.close()
    return [r for r in results if isinstance(r, BaseException)]


async def test_refused_calls_are_not_all_sent_again_at_the_moment_retry_after_names(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    # 20 calls a second, one at a time, answered at once: every refused call is told the same
    # next moment. Sent again together, one got through and the rest were refused again, so
    # the sixth call in line ran out of its 4 attempts.
    fake.limit_rate(20.0, burst=1)
    layer, (model,) = behind(fake, tmp_path, CallSettings(max_concurrency=8, max_attempts=4))
    calls = 16
    assert await failures(layer, [model.understand(f"question {k}") for k in range(calls)]) == []
    assert model.limit.max_rate is not None and model.limit.current == 1
    # Paced at the server's rate, few calls are refused beyond the first burst's (sent before
    # any answer); sent again together, the refused calls took four requests each.
    assert fake.count <= 2 * calls, fake.count


async def test_two_models_behind_one_bucket_share_its_rate_through_a_limit_group(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    # One server's bucket of 20 calls a second, answered at once, behind two models: with one
    # limit each, each found half the rate, and the model left alone kept its half.
    fake.limit_rate(20.0, burst=1)
    settings = CallSettings(max_concurrency=8, max_attempts=4, limit_group="fake")
    layer, models = behind(fake, tmp_path, settings, "openai/gpt-4.1", "openai/gpt-4.1-mini")
    assert models[0].limit is models[1].limit and len(layer.limits) == 1
    calls = [models[0].understand(f"first {k}") for k in range(8)]
    calls += [models[1].understand(f"second {k}") for k in range(24)]
    assert await failures(layer, calls) == []
    assert models[0].limit.max_rate is not None
    assert fake.count <= 2 * len(calls), fake.count


async def paced_at(rate_per_s: float) -> AdaptiveLimit:
    """A limit paced by a rate: answers 1 / `rate_per_s` apart, a millisecond each; refused."""
    limit = AdaptiveLimit(ceiling=8, initial=2)
    for _ in range(3):
        async with limit:
            pass
        limit.succeeded(0.001)
        await asyncio.sleep(1 / rate_per_s)
    limit.rate_limited(limit.epoch)
    assert limit.max_rate is not None
    return limit


async def test_a_rate_cap_spaces_sends_and_a_refusal_brings_the_next_forward() -> None:
    limit = await paced_at(10.0)
    assert limit.max_rate is not None and 8 < limit.max_rate < 11
    assert limit.current == 1  # one in flight is already 100 times the rate
    async with limit:
        pass
    started = time.monotonic()
    async with limit:  # paced at the cap: 0.1 s apart
        pass
    assert time.monotonic() - started > 0.08
    limit.rate_limited(limit.epoch, retry_after=0.02)  # refused: the next token in 0.02 s
    started = time.monotonic()
    async with limit:  # then, not a whole interval after the last send
        pass
    assert time.monotonic() - started < 0.075


async def test_a_cap_far_past_the_server_goes_to_the_rate_answered_at_once() -> None:
    limit = await paced_at(10.0)  # the cap: about 10 a second
    cap = limit.max_rate
    assert cap is not None
    await asyncio.sleep(1.05)  # no answer in the last second: no rate to measure
    for _ in range(6):  # six sends in a row refused: the server lets far fewer through
        await asyncio.sleep(0.005)
        limit.rate_limited(limit.epoch, retry_after=0.2)
    assert limit.max_rate == pytest.approx(cap / 2 * STEP_DOWN)  # halved at once, not a tenth


async def test_a_refusal_after_a_fast_step_cuts_below_the_cap_before_it() -> None:
    limit = await paced_at(10.0)
    cap = limit.max_rate
    await asyncio.sleep(0.02)
    limit.succeeded(0.001)  # no refusal at this cap yet: it grows fast
    assert cap is not None and limit.max_rate == pytest.approx(cap * (1 + RATE_GROWTH[0]))
    limit.rate_limited(limit.epoch, retry_after=0.05)
    # The step went past the rate: a tenth below the cap before it, not below the cap after
    # (which left it past the rate, refused every other send).
    assert limit.max_rate == pytest.approx(cap * STEP_DOWN)


async def test_a_cap_the_calls_do_not_reach_does_not_grow() -> None:
    limit = await paced_at(10.0)  # the cap: about 10 a second, growing fast until refused
    cap = limit.max_rate
    for _ in range(3):  # a call every 0.3 s: a third of what the cap lets out
        await asyncio.sleep(0.3)
        async with limit:
            pass
        limit.succeeded(0.001)
    # Unrefused because untried: grown meanwhile, it was far past the server's rate once more
    # calls went out (one call in flight, answered slower than the cap).
    assert limit.max_rate == cap
    async with limit:
        pass
    async with limit:  # back to back: this one waits for its turn
        pass
    limit.succeeded(0.001)
    assert cap is not None and limit.max_rate == pytest.approx(cap * (1 + RATE_GROWTH[0]))


async def test_refusals_at_random_below_the_rate_refused_never_sink_the_cap() -> None:
    limit = await paced_at(10.0)
    await asyncio.sleep(0.02)
    limit.succeeded(0.001)  # grown fast, then refused: the rate found, and cut
    limit.rate_limited(limit.epoch, retry_after=1.0)
    cut, epoch = limit.max_rate, limit.epoch
    assert epoch == 2
    started = time.monotonic()
    async with limit:  # the other calls go on at the cap, not a second later
        pass
    assert time.monotonic() - started < 0.5
    async with limit:  # sent when the cap lets it: the cap is what sets the rate
        pass
    # "Retry in 1 s" after every other answer (an overloaded server's, a third of the sends):
    # a cut at most once per RATE_CUT_EVERY answers, and the cap grows back between cuts.
    # Growing slowest near the rate refused meanwhile, each cut took it lower.
    lowest = cut
    for _ in range(100):
        limit.succeeded(0.001)
        limit.succeeded(0.001)
        await asyncio.sleep(0.001)
        limit.rate_limited(limit.epoch, retry_after=1.0)
        assert limit.max_rate is not None
        lowest = min(lowest, limit.max_rate)
    assert cut is not None and limit.max_rate is not None
    assert limit.epoch - epoch <= 200 // RATE_CUT_EVERY
    assert lowest > 0.85 * cut and limit.max_rate > 0.95 * cut, (lowest, limit.max_rate, cut)


async def test_just_below_the_rate_refused_the_cap_grows_slowest() -> None:
    limit = await paced_at(10.0)
    await asyncio.sleep(0.02)
    limit.succeeded(0.001)
    limit.rate_limited(limit.epoch, retry_after=0.05)  # refused past the cap: cut a tenth
    assert limit.max_rate is not None and limit._refused_rate is not None
    refused, answers = limit._refused_rate, 0
    while limit.max_rate < refused:
        limit.succeeded(0.001)
        answers += 1
    # About 10 answers back up to 97% of it, then about 30 more: one probe past a bucket's
    # rate in some 40 answers, not in 14 as at one pace.
    assert 35 <= answers <= 50, answers


async def test_a_refusal_wakes_the_call_waiting_for_its_turn() -> None:
    limit = await paced_at(5.0)
    async with limit:  # sent now: the next is due 0.2 s later
        pass
    started = time.monotonic()
    waiting = asyncio.create_task(limit.__aenter__())
    await asyncio.sleep(0.03)
    await asyncio.sleep(0.001)  # a round trip after the last cut
    limit.rate_limited(limit.epoch, retry_after=0.02)  # the last send was refused after all
    await asyncio.wait_for(waiting, 1)
    assert time.monotonic() - started < 0.12  # at the refusal's moment, not the 0.2 s booked
    await limit.__aexit__()


@pytest.mark.parametrize(("retry_after", "cap_at_most"), [(0.05, 20.0), (1.0, None)])
def test_the_first_cap_is_at_most_what_a_buckets_next_token_allows(
    retry_after: float, cap_at_most: float | None
) -> None:
    # A bucket's burst of 6 answered at once reads as hundreds of calls a second; its next
    # token in 0.05 s says 20 at most. "Retry in 1 s" to calls answered that fast is no
    # token's time (an overloaded server's): it is not taken for the rate.
    limit = AdaptiveLimit(ceiling=8, initial=8)
    for _ in range(6):
        limit.succeeded(0.001)
    limit.rate_limited(limit.epoch, retry_after=retry_after)
    if cap_at_most is not None:
        assert limit.max_rate is not None and limit.max_rate <= STEP_DOWN * cap_at_most
    else:  # paced by the rate the calls were sent at (here by the concurrency), not 1 a second
        assert limit.max_rate is None or limit.max_rate > 100


def test_a_slow_endpoint_is_paced_by_its_concurrency_not_a_rate() -> None:
    limit = AdaptiveLimit(ceiling=64, initial=40)
    for _ in range(20):
        limit.succeeded(10.0)
    limit.rate_limited(limit.epoch, retry_after=0.05)
    assert limit.max_rate is None and limit.current == 20


def test_a_limit_paced_by_a_rate_works_in_a_later_event_loop() -> None:
    """`Run.run()` again runs a new event loop over the same call layer."""

    async def first() -> AdaptiveLimit:
        limit = await paced_at(10.0)
        async with limit:
            pass
        async with limit:  # waits its turn: the wake-up future is this loop's
            pass
        return limit

    limit = asyncio.run(first())

    async def second() -> None:
        async with limit:
            pass
        await asyncio.sleep(0.02)
        limit.rate_limited(limit.epoch, retry_after=0.01)
        async with limit:
            pass

    asyncio.run(second())  # it used to fail: a future of the closed loop
    assert limit.in_flight == 0
