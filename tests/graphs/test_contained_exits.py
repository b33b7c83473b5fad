"""`containing_exits`: a node's sys.exit() fails its task, and nothing else changes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import warnings

import pytest

from composer.graphs.guard import NodeExit, containing_exits


def test_a_task_that_exits_fails_as_an_ordinary_exception() -> None:
    async def main() -> None:
        async def quits() -> None:
            sys.exit(3)

        with containing_exits():
            task = asyncio.get_running_loop().create_task(quits())
            with pytest.raises(NodeExit, match=r"called sys.exit\(3\)"):
                await task

    asyncio.run(main())  # the loop goes on: SystemExit would have left it


def test_a_task_cancelled_before_it_starts_leaves_no_unawaited_coroutine() -> None:
    """Ctrl-C cancels tasks that have not started; their coroutines are closed, so the run's
    exit prints no "coroutine ... was never awaited" warning (it did, once tasks were
    wrapped)."""

    async def main() -> None:
        async def work() -> None:
            await asyncio.sleep(1)

        with containing_exits():
            task = asyncio.get_running_loop().create_task(work())
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        asyncio.run(main())
        gc.collect()
    assert not [w for w in seen if "never awaited" in str(w.message)]
