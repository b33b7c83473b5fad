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


async def test_a_rate_cap_spaces_sends_and_the_next_goes_when_retry_after_says() -> None:
    limit = AdaptiveLimit(ceiling=8, initial=2)
    for _ in range(3):  # three answers, 0.1 s apart, each in a millisecond: 10 calls a second
        async with limit:
            pass
        limit.succeeded(0.001)
        await asyncio.sleep(0.1)
    limit.rate_limited(limit.epoch, retry_after=0.05)
    assert limit.max_rate is not None and 8 < limit.max_rate < 11
    assert limit.current == 1  # one in flight is already 100 times the rate
    started = time.monotonic()
    async with limit:  # nothing before the moment the refusal named
        pass
    assert time.monotonic() - started > 0.04
    started = time.monotonic()
    async with limit:  # then paced at the cap: 0.1 s apart
        pass
    assert time.monotonic() - started > 0.08
    limit.rate_limited(limit.epoch, retry_after=0.02)  # past the server's rate after all
    started = time.monotonic()
    async with limit:  # at the moment the refusal named, not a whole interval after the last
        pass
    assert time.monotonic() - started < 0.075


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


async def test_a_refusal_far_past_the_server_takes_the_cap_near_its_rate_at_once() -> None:
    limit = await paced_at(10.0)
    cap = limit.max_rate
    assert cap is not None and 8 < cap < 11
    await asyncio.sleep(0.02)  # a round trip after the last cut
    # Refused 0.1 s after the last send, the next token 0.15 s away: 4 calls a second.
    limit.rate_limited(limit.epoch, retry_after=0.15)
    assert limit.max_rate == pytest.approx(cap * 0.9 / 2)  # at most half, not a tenth off
    await asyncio.sleep(0.02)
    limit.rate_limited(limit.epoch, retry_after=0.01)  # a token 0.01 s away: just past it
    assert limit.max_rate == pytest.approx(cap * 0.9 / 2 * 0.9)  # a tenth off, as ever


async def test_refusals_that_are_no_buckets_do_not_stop_the_endpoint_or_sink_the_cap() -> None:
    limit = await paced_at(10.0)
    cap = limit.max_rate
    await asyncio.sleep(0.02)
    # "Retry in 1 s" to calls 0.1 s apart: an overloaded server's, not a bucket's next token.
    limit.rate_limited(limit.epoch, retry_after=1.0)
    assert limit.max_rate == cap  # fewer than RATE_CUT_EVERY answers since the last cut
    started = time.monotonic()
    async with limit:  # and the other calls go on at the cap, not a second later
        pass
    assert time.monotonic() - started < 0.5
    for _ in range(RATE_CUT_EVERY):
        limit.succeeded(0.001)
    grown = limit.max_rate
    await asyncio.sleep(0.02)
    limit.rate_limited(limit.epoch, retry_after=1.0)
    assert grown is not None and limit.max_rate == pytest.approx(grown * 0.9)  # one a 16


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
