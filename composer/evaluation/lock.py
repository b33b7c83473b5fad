"""The run folder's guards: one writer (an OS lock), and undoing what a rejected run added.

One writer per run folder: an OS lock that a second `composer run` on the folder cannot take.

The lock is `flock` on the run folder itself (its directory handle), so taking or failing to
take it writes nothing; the kernel releases it when the holder exits, however it exits (Ctrl-C,
a crash, SIGKILL), so a stale lock cannot outlive its process. Beside it the holder keeps a
small note, `WRITER_NOTE`, saying who holds it (pid, host, since when), for the message a second
writer gets; the holder removes it on release, and a note left by a killed process is only
informational (the lock, not the note, decides).

Readers (`report`, `compare`, `export`) take no lock.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from composer.core.errors import ConfigError
from composer.core.images import ImageStore

WRITER_NOTE = ".composer-writer.json"
"""The holder's note in the run folder: pid, host and start time of the writing process."""


class RunFolderBusyError(ConfigError):
    """Another process is writing this run folder (exit 2; nothing is written)."""


class RunFolderUnwritableError(ConfigError):
    """The run folder cannot be written (a read-only disk, no permission): exit 2, no change."""


def _unwritable(run_dir: Path, exc: OSError) -> RunFolderUnwritableError:
    reason = exc.strerror or type(exc).__name__
    return RunFolderUnwritableError(
        f"run folder {run_dir}",
        f"cannot be written ({reason}).",
        "Make the folder writable (or mount the disk read-write), or pass another --out "
        "folder; report, compare and export read a read-only folder as it is.",
    )


class RunLock:
    """The exclusive writer lock of one run folder; `release()` (or process exit) frees it.

    Example:
        >>> lock = RunLock.acquire(Path("runs/demo"))  # doctest: +SKIP
        >>> lock.release()  # doctest: +SKIP
    """

    def __init__(self, run_dir: Path, fd: int | None) -> None:
        """Hold `fd`, a locked handle of `run_dir`; use `acquire` rather than this."""
        self.run_dir = run_dir
        self._fd = fd

    @classmethod
    def acquire(cls, run_dir: Path) -> RunLock:
        """Lock `run_dir` (created if missing) for this process, or raise at once.

        Raises:
            RunFolderBusyError: another process holds the lock; the message names it.
            RunFolderUnwritableError: the folder cannot be created or written.
        """
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a read-only disk, no permission on a parent folder
            raise _unwritable(run_dir, exc) from None
        if sys.platform == "win32":  # no flock: one writer is then the user's to ensure
            return cls(run_dir, None)
        import fcntl

        fd = os.open(run_dir, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunFolderBusyError(
                f"run folder {run_dir}",
                f"is being written by another composer process ({_holder(run_dir)}).",
                "One run folder has one writer: wait for that run to end (or stop it), "
                "or run into another --out folder.",
            ) from None
        except OSError:
            # A file system without flock (some network mounts): run unlocked rather than
            # not at all.
            os.close(fd)
            return cls(run_dir, None)
        note = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        }
        try:
            (run_dir / WRITER_NOTE).write_text(json.dumps(note))
        except OSError as exc:  # read-only (EROFS, EACCES) or the note's path is not a file
            os.close(fd)
            raise _unwritable(run_dir, exc) from None
        except BaseException:
            os.close(fd)
            raise
        return cls(run_dir, fd)

    def release(self) -> None:
        """Remove the note and free the lock; calling it again does nothing."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            (self.run_dir / WRITER_NOTE).unlink(missing_ok=True)
        except OSError:
            pass  # the folder may be gone (a rejected new run removes it) or read-only
        finally:
            os.close(fd)  # closing the last handle frees the flock


def is_written(run_dir: Path) -> bool:
    """Whether a `composer run` holds the folder's writer lock now (False where unknown)."""
    if sys.platform == "win32":
        return False
    import fcntl

    try:
        fd = os.open(run_dir, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def _holder(run_dir: Path) -> str:
    """Who holds the lock, from its note, as "pid 123 on host, since ..."."""
    try:
        note: Any = json.loads((run_dir / WRITER_NOTE).read_text())
        return f"pid {int(note['pid'])} on {note['host']}, since {note['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "its pid is not recorded yet"


@dataclass
class CreatedFiles:
    """What a run folder held before this run, so that a rejected run removes what it added.

    That is new files and folders, and images it stored in an image folder it found.
    """

    run_dir: Path
    before: set[str] | None
    kept: bool = False

    @classmethod
    def before_run(cls, run_dir: Path) -> CreatedFiles:
        """Note what `run_dir` holds now (None: it does not exist)."""
        return cls(run_dir, set(os.listdir(run_dir)) if run_dir.is_dir() else None)

    def keep(self) -> None:
        """The run started: what it made stays."""
        self.kept = True

    def undo(self, images: ImageStore | None) -> None:
        """Remove what this run created, nothing it found."""
        if self.kept:
            return
        if self.before is None:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            return
        for name in set(os.listdir(self.run_dir)) - self.before:
            path = self.run_dir / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        if images is not None and "images" in self.before:
            for path in images.written:
                path.unlink(missing_ok=True)
