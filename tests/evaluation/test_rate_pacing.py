"""A fast endpoint behind a strict rate limit: calls are paced at its rate, none runs out of
attempts (through the real OpenAI SDK against a token-bucket fake)."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import FakeOpenAI

from composer.core.images import ImageStore
from composer.evaluation.calls import CallLayer, CallSettings
from composer.evaluation.limits import RATE_CUT_EVERY, AdaptiveLimit
from composer.evaluation.store_writer import RunWriter
from composer.specialists import create


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-0000000000")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with FakeOpenAI(lambda prompt, captions: "yes") as server:
        yield server


async def test_refused_calls_are_not_all_sent_again_at_the_moment_retry_after_names(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    # 20 calls a second, one at a time, answered at once: every refused call is told the same
    # next moment. Sent again together, one got through and the rest were refused again, so
    # the sixth call in line ran out of its 4 attempts.
    fake.limit_rate(20.0, burst=1)
    images = ImageStore(tmp_path / "images")
    layer = CallLayer(RunWriter(tmp_path / "run"), images)
    model = layer.wrap(
        create("openai/gpt-4.1", {"base_url": fake.url + "/v1"}, images=images),
        CallSettings(max_concurrency=8, max_attempts=4),
    )
    calls = 16
    results = await asyncio.gather(
        *(model.understand(f"question {k}") for k in range(calls)), return_exceptions=True
    )
    await layer.store.flush()
    layer.store.close()
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert model.limit.max_rate is not None and model.limit.current == 1
    # Paced at the server's rate, few calls are refused beyond the first burst's (sent before
    # any answer); sent again together, the refused calls took four requests each.
    assert fake.count <= 2 * calls, fake.count


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
    assert limit.max_rate == pytest.approx(cap / 2 * 0.9)  # halved at once, not a tenth


async def test_refusals_at_random_delay_nothing_and_cut_at_most_once_per_8_answers() -> None:
    limit = await paced_at(10.0)
    cap = limit.max_rate
    await asyncio.sleep(0.02)
    # "Retry in 1 s" to calls 0.1 s apart (an overloaded server's), among answers.
    limit.succeeded(0.001)
    limit.rate_limited(limit.epoch, retry_after=1.0)
    assert cap is not None and limit.max_rate == pytest.approx(cap * (1 + 1 / 8))  # no cut
    started = time.monotonic()
    async with limit:  # and the other calls go on at the cap, not a second later
        pass
    assert time.monotonic() - started < 0.5
    for _ in range(RATE_CUT_EVERY):
        limit.succeeded(0.001)
    grown = limit.max_rate
    await asyncio.sleep(0.02)
    limit.rate_limited(limit.epoch, retry_after=1.0)
    assert grown is not None and limit.max_rate == pytest.approx(grown * 0.9)  # a tenth, once
    for _ in range(RATE_CUT_EVERY - 1):  # a refusal after each answer: no further cut
        limit.succeeded(0.001)
        limit.rate_limited(limit.epoch, retry_after=1.0)
    assert limit.max_rate > grown * 0.9  # grown since, never sunk


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
