"""The run store's group commit: ordering, waiting, and what happens when a write fails."""

import asyncio
import threading
from pathlib import Path

import pytest

from composer.core.errors import StoreWriteError
from composer.evaluation.store import Judgment, Result, RunStore, Scored
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


def judged(reply: str, questions: int = 2) -> tuple[Scored, list[Judgment]]:
    scored = Scored(judge="j", status="ok", correct_official=reply == "yes")
    asked = [
        Judgment(
            position=p, question=f"q{p}", expected="yes", reply=reply, official=reply, strict=reply
        )
        for p in range(questions)
    ]
    return scored, asked


async def test_one_output_written_twice_in_one_commit_keeps_only_the_second(tmp_path: Path) -> None:
    store = RunWriter(tmp_path, lock=True)
    await asyncio.gather(
        store.aput_result(result("UEG-1"), [judged("no", questions=3)]),
        store.aput_result(result("UEG-2"), [judged("yes")]),
        store.aput_result(None, [judged("yes")], system="sys", instance="UEG-1"),
    )
    judgments = store.db.execute(
        "SELECT instance, position, reply FROM judgments ORDER BY instance, position"
    ).fetchall()
    assert judgments == [
        ("UEG-1", 0, "yes"),
        ("UEG-1", 1, "yes"),
        ("UEG-2", 0, "yes"),
        ("UEG-2", 1, "yes"),
    ]
    store.close()


async def test_a_new_output_drops_the_old_ones_scores_and_judgments(
    tmp_path: Path,
) -> None:
    store = RunWriter(tmp_path, lock=True)
    await store.aput_result(result("UEG-1"), [judged("no", questions=3)])
    await store.aput_result(result("UEG-2"), [judged("no")])
    await store.aput_result(result("UEG-1"))  # a new output of UEG-1, not judged yet
    await store.aput_result(None, [judged("yes", questions=1)], system="sys", instance="UEG-2")
    scores = store.db.execute("SELECT instance FROM scores").fetchall()
    judgments = store.db.execute("SELECT instance, position, reply FROM judgments").fetchall()
    assert scores == [("UEG-2",)]
    assert judgments == [("UEG-2", 0, "yes")]
    store.close()


async def test_results_of_one_commit_are_stored_in_the_order_they_were_written(
    tmp_path: Path,
) -> None:
    store = RunWriter(tmp_path, lock=True)
    names = [f"UEG-{i}" for i in (3, 1, 2)]
    await asyncio.gather(*(store.aput_result(result(n), [judged("yes")]) for n in names))
    order = {
        table: [
            i for (i,) in store.db.execute(f"SELECT DISTINCT instance FROM {table} ORDER BY rowid")
        ]
        for table in ("results", "scores", "judgments")
    }
    assert order == {"results": names, "scores": names, "judgments": names}
    store.close()


async def test_a_reopened_store_reads_the_same_rows_without_checking_every_page_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RunWriter(tmp_path)
    for i in range(3):
        call(store, f"k{i}")
    await store.aput_result(result("UEG-1"))
    store.close()
    checked = RunStore(tmp_path)
    pages_read: list[str] = []
    monkeypatch.setattr(
        "composer.evaluation.store.quick_check",
        lambda db, path, pages=True: pages_read.append(str(path)) if pages else None,
    )
    assert pages_read == []
    RunStore(tmp_path).close()  # a store opened by path checks every page
    assert pages_read == [str(tmp_path / "run.db")]
    # What a forked child opens: its own connection, on rows its parent checked whole.
    reopened = RunStore.reopened(tmp_path)
    assert pages_read == [str(tmp_path / "run.db")]
    assert reopened.db is not checked.db
    assert [r.model_dump() for r in reopened.results()] == [
        r.model_dump() for r in checked.results()
    ]
    assert reopened.call_rows() == checked.call_rows()
    reopened.close()
    checked.close()


async def test_pages_checked_beside_the_reads_raise_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from composer.core.errors import DamagedRunError
    from composer.report.html import write_html

    run = tmp_path / "run"
    store = RunWriter(run)
    await store.aput_result(result("UEG-1"))
    store.close()
    checking = threading.Event()
    found = DamagedRunError(str(run / "run.db"), "SQLite finds damaged pages: page 7", "Restore.")

    def damaged_pages(db: object, path: Path, pages: bool = True) -> None:
        checking.wait(10)  # still checking while the rows are read
        raise found

    monkeypatch.setattr("composer.evaluation.store_checks.quick_check", damaged_pages)
    beside = RunStore(run, check_pages_beside=True)  # opens at once: its pages not yet checked
    assert [r.instance for r in beside.results()] == ["UEG-1"]
    checking.set()
    with pytest.raises(DamagedRunError, match="page 7"):
        beside.wait_for_page_check()
    beside.wait_for_page_check()  # raised once
    beside.close()

    # The HTML report raises it before it writes anything, whatever its reads raised first.
    checking.clear()
    beside = RunStore(run, check_pages_beside=True)
    monkeypatch.setattr(RunStore, "instances", lambda self: 1 / 0)
    threading.Timer(0.2, checking.set).start()
    with pytest.raises(DamagedRunError, match="page 7"):
        write_html(beside, tmp_path / "report")
    beside.close()
    assert not (tmp_path / "report").exists()
