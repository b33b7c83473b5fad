"""Forking a helper process: the one rule of when it is safe, and the start.

composer forks to put a second core to work (the demo's suite written ahead, a run beside
another, half of a run's tasks). The child inherits everything the parent holds, so a fork is
made only where that is safe; where it is not, the caller does the work itself.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection, Pipe
from typing import Any, TypeVar

T = TypeVar("T")


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


def beside(compute: Callable[[], T], name: str) -> Callable[[], T]:
    """`compute()` started in a forked child; the returned call waits for its value.

    Where forking is not safe, or the child ends without its value (it failed, or was killed),
    the call computes it in this process, which raises whatever went wrong. The value comes
    back pickled through a pipe: for what is small next to what computing it reads.

    Example:
        >>> value = beside(lambda: sum(range(10)), "composer-sum")
        >>> value()
        45
    """
    if not fork_is_safe():
        return compute
    receiving, sending = Pipe(duplex=False)
    child = start_forked(_deliver, (compute, sending), name)
    sending.close()

    def value() -> T:
        try:
            delivered: T = receiving.recv()
        except (EOFError, OSError):  # no value: computed here, where an error is raised
            delivered = compute()
        finally:
            receiving.close()
            if child is not None:
                child.join()
        return delivered

    return value


def _deliver(compute: Callable[[], Any], sending: Connection) -> None:
    """In the child: the value sent back; any failure is the exit code (the parent computes)."""
    try:
        sending.send(compute())
    except Exception:  # noqa: BLE001 - computed again in the parent, which raises there
        sys.exit(1)


class Turns:
    """The numbers 0 to `n` - 1, each handed out once, to this process and the children it forks.

    Made before the fork, it is shared through memory the children inherit (a
    `multiprocessing.Value` and its lock), so processes take work as they come to it instead
    of a fixed share each. `shared=False` hands them out in this process alone, with no lock.

    Example:
        >>> turns = Turns(2, shared=False)
        >>> [turns.take(), turns.take(), turns.take()]
        [0, 1, None]
    """

    def __init__(self, n: int, *, shared: bool = True) -> None:
        self.n = n
        self._taken: Any = multiprocessing.get_context("fork").Value("q", 0) if shared else None
        self._local = 0

    def take(self) -> int | None:
        """The next number, or None once all `n` are taken."""
        if self._taken is None:
            k = self._local
            self._local = min(self.n, k + 1)
            return k if k < self.n else None
        with self._taken.get_lock():
            k = int(self._taken.value)
            if k >= self.n:
                return None
            self._taken.value = k + 1
        return k
