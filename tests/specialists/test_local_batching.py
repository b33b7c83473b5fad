"""The micro-batcher on its own: no model library involved (nor Ray, whose proxy uses it too)."""

import asyncio
import subprocess
import sys
import threading
import time

import pytest

from composer.specialists.batching import MicroBatcher


def doubler(seen: list[list[int]]):
    def run(xs):
        seen.append(list(xs))
        return [x * 2 for x in xs]

    return run


async def test_concurrent_requests_run_as_one_batch_in_order() -> None:
    seen: list[list[int]] = []
    batcher = MicroBatcher(doubler(seen), max_batch=16, window_s=0.01)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(10)))
    assert results == [i * 2 for i in range(10)]
    assert seen == [list(range(10))]
    assert batcher.stats.batches == 1 and batcher.stats.sizes == {10: 1}


async def test_max_batch_splits_and_keys_never_mix() -> None:
    seen: list[list[int]] = []
    batcher = MicroBatcher(doubler(seen), max_batch=3, window_s=0.01)
    results = await asyncio.gather(*(batcher.submit(i, key=i % 2) for i in range(8)))
    assert results == [i * 2 for i in range(8)]
    assert all(len(b) <= 3 and len({x % 2 for x in b}) == 1 for b in seen)
    assert sorted(x for b in seen for x in b) == list(range(8))


async def test_an_error_reaches_its_batch_and_nothing_else() -> None:
    def run(xs):
        if 13 in xs:
            raise ValueError("bad batch")
        return list(xs)

    batcher = MicroBatcher(run, max_batch=4, window_s=0.01)
    bad = await asyncio.gather(
        *(batcher.submit(x, key="a") for x in (1, 13, 3)), return_exceptions=True
    )
    good = await asyncio.gather(*(batcher.submit(x, key="b") for x in (4, 5)))
    assert all(isinstance(r, ValueError) for r in bad)
    assert good == [4, 5]
    assert batcher.stats.failed_batches == 1 and batcher.stats.batches == 1


async def test_work_runs_in_a_worker_thread_while_requests_pile_up() -> None:
    threads: set[str] = set()

    def slow(xs):
        threads.add(threading.current_thread().name)
        time.sleep(0.05)
        return list(xs)

    batcher = MicroBatcher(slow, max_batch=8, window_s=0.0, name="slowpoke")
    first = asyncio.ensure_future(batcher.submit(0))
    await asyncio.sleep(0.01)  # the first batch (of one) is running now
    rest = await asyncio.gather(*(batcher.submit(i) for i in range(1, 6)))
    assert await first == 0 and rest == [1, 2, 3, 4, 5]
    assert batcher.stats.sizes == {1: 1, 5: 1}  # arrivals during a batch fill the next one
    assert threads and all(t.startswith("slowpoke") for t in threads)


async def test_a_cancelled_caller_does_not_disturb_the_others() -> None:
    batcher = MicroBatcher(lambda xs: list(xs), max_batch=8, window_s=0.05)
    doomed = asyncio.ensure_future(batcher.submit(1))
    kept = asyncio.ensure_future(batcher.submit(2))
    await asyncio.sleep(0)
    doomed.cancel()
    assert await kept == 2
    with pytest.raises(asyncio.CancelledError):
        await doomed


def test_survives_a_new_event_loop() -> None:
    batcher = MicroBatcher(lambda xs: list(xs), max_batch=4, window_s=0.0)
    assert asyncio.run(batcher.submit(1)) == 1
    assert asyncio.run(batcher.submit(2)) == 2


def test_the_module_imports_no_model_library() -> None:
    code = "import sys, composer.specialists.batching; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_batch_stats_read_for_the_progress_display() -> None:
    from composer.specialists.batching import BatchStats

    stats = BatchStats()
    assert stats.note() == "no batch yet"
    stats.batches, stats.requests = 2, 12
    stats.sizes.update([8, 4])
    assert stats.note() == "2 batches, mean 6.0, largest 8"


async def test_a_coroutine_batch_function_runs_on_the_loop_in_groups() -> None:
    groups: list[int] = []

    async def send(requests: list[str]) -> list[str]:
        groups.append(len(requests))
        if "boom" in requests:
            raise ValueError("replica died")
        return [r.upper() for r in requests]

    batcher = MicroBatcher(send, max_batch=4, window_s=0.01)
    replies = await asyncio.gather(*(batcher.submit(str(i)) for i in range(10)))
    assert replies == [str(i) for i in range(10)]
    assert groups == [4, 4, 2]
    results = await asyncio.gather(
        batcher.submit("boom"), batcher.submit("fine"), return_exceptions=True
    )
    assert all(isinstance(r, ValueError) for r in results)


async def test_at_most_capacity_batches_are_in_flight() -> None:
    in_flight, most, groups = 0, 0, []
    release = asyncio.Event()

    async def send(requests: list[int]) -> list[int]:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        groups.append(len(requests))
        await release.wait()
        in_flight -= 1
        return list(requests)

    batcher = MicroBatcher(send, max_batch=4, window_s=0.01, capacity=lambda: 2)
    calls = [asyncio.ensure_future(batcher.submit(i)) for i in range(6)]
    await asyncio.sleep(0.05)
    assert groups == [4, 2] and batcher.in_flight == 2
    # While both slots are taken, later requests wait here and make a full batch together.
    calls += [asyncio.ensure_future(batcher.submit(i)) for i in range(6, 12)]
    await asyncio.sleep(0.05)
    assert groups == [4, 2] and batcher.waiting == 6
    release.set()
    assert await asyncio.gather(*calls) == list(range(12))
    assert groups == [4, 2, 4, 2] and most == 2 and batcher.in_flight == 0
