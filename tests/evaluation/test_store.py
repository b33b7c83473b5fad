"""The run store's group commit: ordering, waiting, and what happens when a write fails."""

import asyncio
from pathlib import Path

import pytest

from composer.core.errors import StoreWriteError
from composer.evaluation.store import Result, RunStore
from composer.evaluation.store_writer import RunWriter


def call(store: RunWriter, key: str) -> asyncio.Future[None]:
    return store.queue_call(
        key,
        model="mock/m",
        method="understand",
        request={"prompt": key},
        reply={"text": key},
        usage={},
        latency_s=0.0,
        cost_usd=None,
        site=("sys", "UEG-1", "node"),
    )


def result(instance: str) -> Result:
    return Result(system="sys", instance=instance, axis="UEG", category="c", status="ok")


async def test_a_result_is_committed_with_or_after_the_calls_queued_before_it(
    tmp_path: Path,
) -> None:
    store = RunWriter(tmp_path)
    for i in range(50):
        call(store, f"k{i}")  # queued, not awaited
    await store.aput_result(result("UEG-1"))
    # Read through another connection, as a report or a resumed run would.
    reader = RunStore(tmp_path)
    assert len(reader.call_rows()) == 50
    assert [r.instance for r in reader.results()] == ["UEG-1"]
    reader.close()
    store.close()


async def test_writers_of_one_turn_share_one_transaction(tmp_path: Path) -> None:
    store = RunWriter(tmp_path)
    transactions = 0

    def count(statement: str) -> None:
        nonlocal transactions
        transactions += statement == "BEGIN"

    store.db.set_trace_callback(count)
    await asyncio.gather(*(store.aput_result(result(f"UEG-{i}")) for i in range(40)))
    assert transactions == 1
    assert len(list(store.reader.results())) == 40
    store.close()


async def test_a_failed_write_reaches_its_writers_and_every_later_one(tmp_path: Path) -> None:
    store = RunWriter(tmp_path)
    await store.aput_result(result("UEG-1"))
    store.db.execute("DROP TABLE calls")  # the next transaction cannot be written
    call(store, "lost")
    with pytest.raises(StoreWriteError, match="could not be written [(]no such table: calls"):
        await store.aput_result(result("UEG-2"))
    with pytest.raises(StoreWriteError, match="calls"):
        await store.aput_result(result("UEG-3"))
    assert [r.instance for r in store.reader.results()] == [
        "UEG-1"
    ]  # rolled back, not half-written
    store.close()


async def test_flush_waits_for_rows_queued_without_waiting(tmp_path: Path) -> None:
    store = RunWriter(tmp_path)
    for i in range(10):
        call(store, f"k{i}")
    await store.flush()
    assert len(store.reader.call_rows()) == 10
    store.close()
