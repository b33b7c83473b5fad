"""Forking a helper process: the one rule of when it is safe, and the start.

composer forks to put a second core to work (the demo's suite written ahead, a run beside
another, half of a run's tasks). The child inherits everything the parent holds, so a fork is
made only where that is safe; where it is not, the caller does the work itself.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections.abc import Callable
from typing import Any


def fork_is_safe() -> bool:
    """Whether a child may be forked here and now.

    Not safe: where `fork` is not how processes start, beside other threads (a forked child
    could inherit a lock one of them holds), inside a running event loop (the child would
    inherit its selector and its callbacks), or in a forked child itself (a daemon, which
    may have no children: it does the work itself).
    """
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return False
    if multiprocessing.current_process().daemon:
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return True
    return False


def start_forked(
    target: Callable[..., None], args: tuple[Any, ...], name: str
) -> multiprocessing.process.BaseProcess | None:
    """`target(*args)` started in a forked daemon child; None where forking is not safe.

    The caller then does the work itself (see `fork_is_safe`).
    """
    if not fork_is_safe():
        return None
    child = multiprocessing.get_context("fork").Process(
        target=target, args=args, name=name, daemon=True
    )
    child.start()
    return child
