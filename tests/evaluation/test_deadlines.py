"""Per-call time limits on one shared timer: what asyncio.timeout did for each call."""

import asyncio
from pathlib import Path

import pytest

from composer.core.errors import SpecialistError
from composer.core.images import ImageStore
from composer.evaluation.calls import CallLayer, CallSettings
from composer.evaluation.deadlines import Deadlines
from composer.evaluation.store_writer import RunWriter
from composer.specialists.mock import MockSpecialist


async def test_a_call_past_its_deadline_raises_timeout_error() -> None:
    deadlines = Deadlines()
    with pytest.raises(TimeoutError):
        with deadlines.after(0.01):
            await asyncio.sleep(10)


async def test_a_call_in_time_returns_and_is_never_cancelled_later() -> None:
    deadlines = Deadlines()
    with deadlines.after(0.02):
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)  # past the old deadline: nothing cancels this task now
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_shorter_deadline_set_after_a_longer_one_still_fires() -> None:
    deadlines = Deadlines()

    async def call(seconds: float, hold: float) -> str:
        try:
            with deadlines.after(seconds):
                await asyncio.sleep(hold)
        except TimeoutError:
            return "timed out"
        return "done"

    long = asyncio.create_task(call(30, 0.1))
    await asyncio.sleep(0)
    short = asyncio.create_task(call(0.01, 10))
    assert await asyncio.gather(long, short) == ["done", "timed out"]


async def test_only_the_overdue_calls_of_many_are_cancelled() -> None:
    deadlines = Deadlines()

    async def call(seconds: float, hold: float) -> bool:
        try:
            with deadlines.after(seconds):
                await asyncio.sleep(hold)
        except TimeoutError:
            return False
        return True

    answered = await asyncio.gather(*(call(0.02, 0.2 if i % 3 == 0 else 0) for i in range(12)))
    assert answered == [i % 3 != 0 for i in range(12)]


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    deadlines = Deadlines()
    entered = asyncio.Event()

    async def call() -> None:
        with deadlines.after(30):
            entered.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(call())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_one_deadlines_serves_one_event_loop_after_another() -> None:
    deadlines = Deadlines()

    async def in_time() -> None:
        with deadlines.after(0.5):  # the first loop's timer is set for this one, then dies
            await asyncio.sleep(0)

    async def overrun() -> None:
        with deadlines.after(0.6):  # later than the first loop's timer: needs its own
            await asyncio.sleep(3)

    asyncio.run(in_time())
    with pytest.raises(TimeoutError):
        asyncio.run(overrun())


async def test_a_call_with_no_reply_in_timeout_s_fails_retryable_then_retries(
    tmp_path: Path,
) -> None:
    layer = CallLayer(RunWriter(tmp_path), ImageStore(tmp_path / "images"))
    model = MockSpecialist.from_name("m", {"default": "ok"}, images=layer.images)
    settings = CallSettings(timeout_s=0.02, max_attempts=2, retry_initial_s=0, retry_max_s=0)
    tracked = layer.wrap(model, settings)
    understand = model.understand
    hangs = [True]

    async def first_hangs(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if hangs.pop() if hangs else False:
            await asyncio.sleep(10)
        return await understand(*args, **kwargs)  # type: ignore[arg-type]

    model.understand = first_hangs  # type: ignore[method-assign]
    assert (await tracked.understand("hi")).text == "ok"
    assert layer.stats.retried == 1
    settings = CallSettings(timeout_s=0.02, max_attempts=1)
    hangs.append(True)
    with pytest.raises(SpecialistError, match="no reply within 0.02 s"):
        await layer.wrap(model, settings).understand("again")
