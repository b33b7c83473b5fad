"""The run store under faults: a full disk ends the run with one clear error, resumably."""

import asyncio
from pathlib import Path

import pytest
from mockbench import config_text, write_fixture

from composer.core.config import load_config
from composer.core.errors import StoreWriteError
from composer.evaluation.runner import Runner
from composer.evaluation.store import Result, RunStore
from composer.evaluation.store_writer import RunWriter


def _config(tmp_path: Path) -> Path:
    data = write_fixture(tmp_path / "data")
    path = tmp_path / "three.toml"
    path.write_text(config_text(data))
    return path


async def test_a_full_disk_ends_the_run_with_one_error_and_a_rerun_resumes(
    tmp_path: Path,
) -> None:
    config = load_config(_config(tmp_path))
    run_dir = tmp_path / "run"
    done: list[Result] = []
    runner: Runner

    def fill_the_disk(system: str, result: Result) -> None:
        done.append(result)
        if len(done) == 10:
            # SQLite's own way to a full disk: the file may not grow past its current size.
            runner.store.db.execute("PRAGMA max_page_count = 1")

    runner = Runner(config, run_dir, on_progress=fill_the_disk)
    try:
        with pytest.raises(StoreWriteError) as caught:
            await asyncio.wait_for(runner.run(), 60)  # it hung here, forever
    finally:
        runner.close()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"run store {run_dir / 'run.db'}: could not be written")
    assert "database or disk is full" in message and "rerun" in message
    assert caught.value.exit_code != 0

    store = RunStore(run_dir)
    kept = {(r.system, r.instance) for r in store.results()}
    sent_before = {row["key"] for row in store.call_rows()}
    store.close()
    assert len(kept) >= 10 and len(kept) < 120

    resumed = Runner(config, run_dir)
    try:
        summary = await asyncio.wait_for(resumed.run(), 60)
    finally:
        resumed.close()
    assert summary.skipped == len(kept) and summary.tasks == 120 - len(kept)
    store = RunStore(run_dir)
    assert len(list(store.results())) == 120
    rows = store.call_rows()
    store.close()
    assert sent_before <= {row["key"] for row in rows}
    assert all(row["sent"] == 1 for row in rows), "a call committed before the failure was resent"


async def test_a_failed_commit_wakes_every_waiter(tmp_path: Path) -> None:
    store = RunWriter(tmp_path)
    store.db.execute("PRAGMA max_page_count = 1")
    results = [
        Result(
            system="s",
            instance=f"i{n}",
            axis="GEU",
            category="c",
            status="ok",
            output={"text": "x" * 5000},
        )
        for n in range(20)
    ]
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(store.aput_result(r) for r in results), return_exceptions=True), 10
    )
    assert all(isinstance(o, StoreWriteError) for o in outcomes)
    with pytest.raises(StoreWriteError):
        await store.aput_result(results[0])  # later writes fail too, with the same error
    store.db.execute("PRAGMA max_page_count = 1073741823")
    assert list(store.reader.results()) == []  # the failed transaction left nothing half-written
    store.close()
