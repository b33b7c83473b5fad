"""What every command shares: the typer app, the two consoles, and the argument checks."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer

from composer.core.errors import ComposerError
from composer.report.safe_text import SafeConsole, literal

app = typer.Typer(
    name="composer",
    help="Compose specialist models as graphs and compare them with unified models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Both consoles show names from run files through `printable`: no escape sequence in a system
# or category name reaches the terminal.
out = SafeConsole()
if not out.is_terminal:
    out = SafeConsole(width=200)  # a report piped to a file keeps every column
err = SafeConsole(stderr=True, soft_wrap=True)


def _fail(error: ComposerError) -> None:
    # One line, whatever names the message quotes (a line break in a name is shown as \n).
    err.print(f"[bold red]error[/] {literal(str(error))}", highlight=False, soft_wrap=True)
    raise typer.Exit(error.exit_code)


def os_failure(exc: OSError) -> NoReturn:
    """What a command could not write or read on the disk, as one error line; exit 2.

    Every command checks its paths before it starts; what is left (a folder made read-only,
    a full disk, a name the file system refuses) surfaces as an `OSError` wherever it is met.
    What was committed before stays: the run store commits each result as it comes.
    """
    where = exc.filename if exc.filename is not None else "a file"
    reason = exc.strerror or str(exc) or type(exc).__name__
    err.print(
        f"[bold red]error[/] {literal(str(where))}: {literal(reason)} "
        f"({type(exc).__name__}). Make the folder writable, free disk space or choose another "
        "path (--out, --output), then run the command again.",
        highlight=False,
        soft_wrap=True,
    )
    raise SystemExit(2)


def _at_least_one(option: str, value: int | None) -> None:
    """Counts from the command line: nonsense values stop before anything is written."""
    from composer.core.errors import ConfigError

    if value is not None and value < 1:
        raise ConfigError(option, f"must be 1 or more (got {value}).", "Pass a positive number.")


def _per_category(option: str, value: int) -> None:
    """A synthetic suite's size from the command line: 1 to `SYNTHETIC_MOST_PER_CATEGORY`."""
    from composer.core.config import SYNTHETIC_MOST_PER_CATEGORY
    from composer.core.errors import ConfigError

    _at_least_one(option, value)
    if value > SYNTHETIC_MOST_PER_CATEGORY:
        raise ConfigError(
            option,
            f"must be at most {SYNTHETIC_MOST_PER_CATEGORY:,} (got {value:,}): the suite is "
            "generated whole before anything runs.",
            "Pass a smaller count; --limit caps a run of a suite you already have.",
        )


def _seed_option(option: str, value: int | None) -> None:
    """A seed from the command line: a whole number 0 or more, as a run file's seeds are."""
    from composer.core.errors import ConfigError

    if value is not None and value < 0:
        raise ConfigError(option, f"must be 0 or more (got {value}).", "Pass e.g. 0.")


def _seed_list(text: str) -> tuple[int, ...]:
    """`--seeds 0,1,2` as a tuple of distinct whole numbers."""
    from composer.core.errors import ConfigError

    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        values = ()
    if not values or len(set(values)) != len(values) or min(values) < 0:
        raise ConfigError(
            "--seeds",
            f"takes distinct whole numbers 0 or more, separated by commas (got {text!r}).",
            "Pass e.g. --seeds 0,1,2.",
        )
    return values


def _writable(option: str, path: Path, *, is_folder: bool) -> None:
    """`path` can become the folder (or file) `option` asks for: nothing in the way."""
    from composer.core.errors import ConfigError

    if path.exists() and path.is_dir() != is_folder:
        kind = "a file" if is_folder else "a folder"
        raise ConfigError(
            f"{option} {str(path)!r}",
            f"is {kind}, not {'a folder' if is_folder else 'a file'}.",
            "Pass another path.",
        )
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(
                    f"{option} {str(path)!r}",
                    f"lies under {str(parent)!r}, which is a file.",
                    "Pass a path under a folder.",
                )
            break


_STORE_PARTS = ("run.db", "run.db-wal", "run.db-shm", "run.db-journal", "images")
"""What a run folder's results live in: a report written over any of them loses the run."""


def _outside_store(option: str, path: Path, run_dir: Path) -> None:
    """`path` (a report's output) is neither the run folder itself nor any part of its store."""
    from composer.core.errors import ConfigError

    target, run = path.resolve(), run_dir.resolve()
    parts = [run / name for name in _STORE_PARTS]
    if target == run or any(target == p or target.is_relative_to(p) for p in parts):
        raise ConfigError(
            f"{option} {str(path)!r}",
            "would write over the run's own store (its run.db or images), and lose its results.",
            "Write the report elsewhere, e.g. into a new folder beside the run.",
        )


def _check_run(run_dir: Path, parser: str | None) -> None:
    from composer.core.errors import ConfigError

    if not (run_dir / "run.db").exists():
        raise ConfigError(
            str(run_dir), "holds no run.db.", "Pass a folder written by composer run."
        )
    if parser not in (None, "official", "strict"):
        raise ConfigError("--parser", f"must be official or strict (got {parser!r}).")
