"""The call layer: cache, retries, refusals, concurrency limits and call-site accounting."""

import asyncio
from pathlib import Path

import pytest
from pydantic import ValidationError

from composer.core.callsite import CallSite, current_site
from composer.core.errors import RefusalError, SpecialistError
from composer.core.images import ImageStore
from composer.evaluation.calls import CallLayer, CallSettings
from composer.evaluation.limits import AdaptiveLimit
from composer.evaluation.store_writer import RunWriter
from composer.specialists.mock import MockSpecialist

FAST = CallSettings(retry_initial_s=0, retry_max_s=0, max_attempts=3)


@pytest.fixture
def layer(tmp_path: Path) -> CallLayer:
    return CallLayer(RunWriter(tmp_path), ImageStore(tmp_path / "images"))


def mock(layer: CallLayer, **options: object) -> MockSpecialist:
    return MockSpecialist.from_name("m", options, images=layer.images)


async def test_same_request_is_sent_once_and_replayed(layer: CallLayer) -> None:
    model = mock(layer, default="hello")
    tracked = layer.wrap(model, FAST)
    replies = await asyncio.gather(*(tracked.understand("hi") for _ in range(5)))
    assert {r.text for r in replies} == {"hello"}
    assert len(model.requests) == 1
    again = await tracked.understand("hi")
    assert again.text == "hello" and len(model.requests) == 1
    await layer.store.flush()
    assert [row["sent"] for row in layer.store.reader.call_rows()] == [1]
    await asyncio.sleep(0)  # the committed reply leaves memory; the store answers now
    assert (await tracked.understand("hi")).text == "hello" and len(model.requests) == 1


async def test_a_request_in_flight_is_shared_with_its_reply_or_its_failure(
    layer: CallLayer,
) -> None:
    """Identical requests made while the first is still out wait for it: one is sent."""
    slow = mock(layer, default="late", latency_s=0.05)
    tracked = layer.wrap(slow, FAST)
    replies = await asyncio.gather(*(tracked.understand("same") for _ in range(4)))
    assert [r.text for r in replies] == ["late"] * 4
    assert len(slow.requests) == 1 and layer.stats.sent == 1 and layer.stats.cached == 3

    failing = mock(layer, fail="doomed", latency_s=0.05)
    tracked = layer.wrap(failing, FAST)
    outcomes = await asyncio.gather(
        *(tracked.understand("doomed") for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(o, SpecialistError) and "scripted" in str(o) for o in outcomes)
    assert len(failing.requests) == 1
    with pytest.raises(SpecialistError):  # a failure is not kept: the next one is sent again
        await tracked.understand("doomed")
    assert len(failing.requests) == 2


async def test_images_are_part_of_the_key_and_survive_as_refs(layer: CallLayer) -> None:
    model = mock(layer)
    tracked = layer.wrap(model, FAST)
    first = await tracked.generate("a red circle", seed=1)
    second = await tracked.generate("a red circle", seed=2)
    assert first != second
    assert await tracked.generate("a red circle", seed=1) == first
    assert len(model.requests) == 2
    assert layer.images.open(first).info["caption"] == "a red circle"


async def test_retryable_errors_are_retried_then_succeed(layer: CallLayer) -> None:
    model = mock(layer, flaky="x", flaky_times=2, default="ok")
    tracked = layer.wrap(model, FAST)
    assert (await tracked.understand("x")).text == "ok"
    assert len(model.requests) == 3
    assert layer.stats.retried == 2


async def test_retries_are_bounded(layer: CallLayer) -> None:
    model = mock(layer, flaky="x", flaky_times=10)
    with pytest.raises(SpecialistError, match="transient"):
        await layer.wrap(model, FAST).understand("x")
    assert len(model.requests) == 3


async def test_non_retryable_errors_fail_at_once(layer: CallLayer) -> None:
    model = mock(layer, fail="x")
    with pytest.raises(SpecialistError, match="scripted"):
        await layer.wrap(model, FAST).understand("x")
    assert len(model.requests) == 1
    await layer.store.flush()
    assert layer.store.reader.call_rows() == []


async def test_refusals_are_cached_and_raised(layer: CallLayer) -> None:
    model = mock(layer, refuse="x")
    tracked = layer.wrap(model, FAST)
    for _ in range(2):
        with pytest.raises(RefusalError):
            await tracked.understand("x")
    assert len(model.requests) == 1


async def test_concurrency_limit_per_endpoint(layer: CallLayer) -> None:
    model = mock(layer, latency_s=0.02, default="ok")
    tracked = layer.wrap(model, CallSettings(max_concurrency=3, initial_concurrency=2))
    peak = 0

    async def watch() -> None:
        nonlocal peak
        for _ in range(40):
            peak = max(peak, tracked.limit.in_flight)
            await asyncio.sleep(0.005)

    await asyncio.gather(watch(), *(tracked.understand(f"q{i}") for i in range(12)))
    assert 2 <= peak <= 3


def test_adaptive_limit_grows_a_call_per_success_until_the_first_rate_limit() -> None:
    limit = AdaptiveLimit(ceiling=64, initial=4)
    for _ in range(4):  # one round trip of 4 calls
        limit.succeeded(0.5)
    assert limit.current == 8 and limit.is_slow_start
    for _ in range(100):
        limit.succeeded(0.5)
    assert limit.current == 64  # never past the ceiling


def test_a_rate_limit_steps_down_a_tenth_not_a_half_and_grows_back_a_call_per_round_trip() -> None:
    limit = AdaptiveLimit(ceiling=64, initial=64)
    for _ in range(64):  # the endpoint answered 64 in the last round trip (10 s)
        limit.succeeded(10.0)
    limit.rate_limited(limit.epoch)
    assert limit.current == 57 and not limit.is_slow_start  # 64 x 0.9, not 32
    for _ in range(58):  # one round trip at that limit
        limit.succeeded(10.0)
    assert limit.current == 58


def test_one_overload_is_one_cut_and_a_limit_far_past_goes_to_what_the_server_answered() -> None:
    limit = AdaptiveLimit(ceiling=64, initial=40)
    for _ in range(20):  # slow start took it to 60; the server answered 20 a round trip
        limit.succeeded(10.0)
    before = limit.epoch
    limit.rate_limited(before)
    assert limit.current == 20  # straight to what the server sustains, not 60 x 0.9
    limit.rate_limited(before)  # the other calls of the same burst come back 429: no cut
    limit.rate_limited(limit.epoch)  # one sent after the cut, within the round trip: no cut
    assert limit.current == 20


def test_before_any_answer_a_rate_limit_keeps_the_calls_the_server_let_through() -> None:
    limit = AdaptiveLimit(ceiling=64, initial=32)
    limit.in_flight = 32  # 10 let through, 22 refused at once: the first refusal comes back
    limit.rate_limited(0)
    assert limit.current == 28  # 32 x 0.9; the other refusals of the burst do not cut
    limit.in_flight = 11  # the burst's refusals are back; one sent after the cut is refused
    limit.rate_limited(limit.epoch)
    assert limit.current == 10 and limit.is_slow_start  # slow start goes on from there


def test_before_any_answer_the_bursts_refusals_leave_the_limit_at_what_got_through() -> None:
    limit = AdaptiveLimit(ceiling=64, initial=32)
    for refused in range(22):  # 10 let through, 22 refused at once, each back in turn
        limit.in_flight = 32 - refused  # each refused call has left when the next comes back
        limit.rate_limited(0)
    assert limit.current == 10  # not 28: the refused calls' retries would meet the same bucket
    assert limit.epoch == 1 and limit.is_slow_start  # one overload, one cut; slow start goes on
    limit.in_flight = 10
    limit.rate_limited(0)  # a late refusal of the burst: the calls still out besides it
    assert limit.current == 9


async def test_sends_are_paced_from_the_first_429_on_in_slow_start_too() -> None:
    limit = AdaptiveLimit(ceiling=64, initial=4)
    for _ in range(2):  # no 429 yet: sent at once, back to back
        async with limit:
            pass
    limit.in_flight = 4  # before any answer, the endpoint refuses one
    limit.rate_limited(0)
    limit.in_flight = 0
    limit.succeeded(0.2)  # the first answer: a round trip of 0.2 s
    assert limit.is_slow_start and limit.current == 4
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(3):  # three sends, at most 4 per round trip: 0.05 s apart
        async with limit:
            pass
    assert loop.time() - started >= 0.09
    unpaced = AdaptiveLimit(ceiling=64, initial=4)
    unpaced.succeeded(0.2)
    started = loop.time()
    for _ in range(3):
        async with unpaced:
            pass
    assert loop.time() - started < 0.05


async def test_a_model_without_max_concurrency_can_fill_the_whole_run(tmp_path: Path) -> None:
    layer = CallLayer(RunWriter(tmp_path), ImageStore(tmp_path / "images"), concurrency=64)
    one = layer.wrap(mock(layer), CallSettings())
    other = layer.wrap(MockSpecialist.from_name("n", {}, images=layer.images), CallSettings())
    assert one.limit.ceiling == other.limit.ceiling == 64  # not 8 each: 16 in flight in all
    assert layer.below_the_run() == []


async def test_a_max_concurrency_below_the_run_is_said(tmp_path: Path) -> None:
    layer = CallLayer(RunWriter(tmp_path), ImageStore(tmp_path / "images"), concurrency=64)
    tracked = layer.wrap(mock(layer), CallSettings(max_concurrency=8))
    assert tracked.limit.ceiling == 8
    (line,) = layer.below_the_run()
    assert line.startswith("mock/m: at most 8 calls in flight") and "of 64" in line


async def test_models_naming_one_limit_group_share_its_limit_and_its_lowest_ceiling(
    tmp_path: Path,
) -> None:
    layer = CallLayer(RunWriter(tmp_path), ImageStore(tmp_path / "images"), concurrency=64)
    one = layer.wrap(mock(layer), CallSettings(limit_group="server"))
    other = layer.wrap(
        MockSpecialist.from_name("n", {}, images=layer.images),
        CallSettings(limit_group="server", max_concurrency=12),
    )
    alone = layer.wrap(MockSpecialist.from_name("p", {}, images=layer.images), CallSettings())
    assert one.limit is other.limit and alone.limit is not one.limit
    assert one.limit.ceiling == 12 and one.limit.current <= 12
    (line,) = layer.below_the_run()
    assert line.startswith("mock/n: at most 12 calls in flight")
    assert 'for the 2 models of limit_group "server"' in line
    with pytest.raises(ValidationError):
        CallSettings(limit_group="")


async def test_adaptive_limit_admits_waiters_in_order_and_skips_cancelled_ones() -> None:
    limit = AdaptiveLimit(ceiling=1, initial=1)
    order: list[str] = []
    release = asyncio.Event()

    async def hold(name: str) -> None:
        async with limit:
            order.append(name)
            await release.wait()

    first = asyncio.create_task(hold("first"))
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(hold(name)) for name in ("second", "third", "fourth")]
    await asyncio.sleep(0)
    waiting[0].cancel()  # cancelled while queued: it must not keep a slot
    release.set()
    await asyncio.gather(first, *waiting[1:])
    assert order == ["first", "third", "fourth"]
    assert limit.in_flight == 0


async def test_adaptive_limit_passes_on_a_slot_whose_waiter_was_cancelled_after_waking() -> None:
    limit = AdaptiveLimit(ceiling=1, initial=1)
    await limit.__aenter__()
    woken = asyncio.create_task(limit.__aenter__())
    after = asyncio.create_task(limit.__aenter__())
    await asyncio.sleep(0)
    await limit.__aexit__()  # hands the slot to `woken` ...
    woken.cancel()  # ... which is cancelled before it runs
    await asyncio.wait_for(after, 1)  # so the slot goes on to the next
    assert woken.cancelled() and limit.in_flight == 1


async def test_rate_limit_honours_retry_after(layer: CallLayer) -> None:
    calls = 0

    class Limited(MockSpecialist):
        async def understand(self, prompt, images=(), *, options=None):  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            if calls == 1:
                raise SpecialistError("m", "429", is_rate_limit=True, retry_after=0.2)
            return await super().understand(prompt, images, options=options)

    model = Limited.from_name("m", {"default": "ok"}, images=layer.images)
    loop = asyncio.get_running_loop()
    started = loop.time()
    tracked = layer.wrap(
        model, CallSettings(retry_initial_s=0, retry_max_s=0.01, initial_concurrency=4)
    )
    assert (await tracked.understand("x")).text == "ok"
    assert loop.time() - started >= 0.2
    # Refused before any answer with nothing else out: down to 1, then slow start's +1.
    assert tracked.limit.current == 2


async def test_calls_are_attributed_to_their_site(layer: CallLayer) -> None:
    tracked = layer.wrap(mock(layer), FAST)
    site = CallSite("sys", "UEG-1", "draw")
    token = current_site.set(site)
    try:
        await tracked.generate("p", seed=0)
    finally:
        current_site.reset(token)
    await layer.store.flush()
    row = layer.store.reader.call_rows()[0]
    assert (row["system"], row["instance"], row["node"], row["method"]) == (
        "sys",
        "UEG-1",
        "draw",
        "generate",
    )
    assert site.tally.sent == 1


async def test_a_cancelled_sender_does_not_cancel_the_tasks_sharing_its_request(
    layer: CallLayer,
) -> None:
    model = layer.wrap(mock(layer, default="ok", latency_s=0.2), CallSettings())
    sender = asyncio.create_task(model.understand("same"))
    await asyncio.sleep(0.01)
    sharing = asyncio.create_task(model.understand("same"))
    await asyncio.sleep(0.01)
    sender.cancel()
    assert (await sharing).text == "ok"  # it used to be cancelled with the sender
    assert sender.cancelled()
