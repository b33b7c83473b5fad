"""Importing a user's Python file (a strategy, a judge): a broken one is one line, not a trace.

A file with a syntax error, an import that fails, or any exception while it runs stops the run
before anything is written, with a `ConfigError` (exit 2) that names the file and the line. A
module beside the file imports as it would were the file run as a script (`from helpers import
tidy`); the registry counts such helpers in the file's code digest.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType

from composer.core.errors import ConfigError
from composer.core.failure import message_of


def load_user_file(path: Path, module_name: str, where: str) -> ModuleType:
    """Import `path` as the module `module_name` (kept in `sys.modules`); `where` starts errors.

    Raises:
        ConfigError: the file is not importable Python, or running it raised.

    Example:
        >>> load_user_file(Path("broken.py"), "user_broken", "graph 'broken.py:build'")  # doctest: +SKIP
        ConfigError: graph 'broken.py:build': broken.py line 2 is not valid Python ...
    """  # noqa: E501 - a doctest line
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(where, f"{path.name} is not an importable Python file.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and typing look their module up here
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        # Its helper modules beside it import as they would were the file run as a script;
        # after the installed packages, so that a helper never shadows what composer imports.
        sys.path.append(folder)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(module_name, None)
        raise ConfigError(
            where,
            f"{path.name} line {exc.lineno} is not valid Python ({exc.msg}).",
            f"Fix {path}, then run again.",
        ) from None
    except KeyboardInterrupt:
        sys.modules.pop(module_name, None)
        raise
    except BaseException as exc:  # noqa: BLE001 - sys.exit() too: the file's own, to fix
        sys.modules.pop(module_name, None)
        line = _line_in(path, exc)
        what = (
            f"calls sys.exit({exc.code!r})"
            if isinstance(exc, SystemExit)
            else f"fails when imported ({type(exc).__name__}: {message_of(exc)})"
        )
        raise ConfigError(
            where, f"{path.name}{f' line {line}' if line else ''} {what}.", _fix(exc, path)
        ) from None
    return module


def _line_in(path: Path, exc: BaseException) -> int | None:
    """The line of `path` the exception passed through last, if it did."""
    resolved = str(path.resolve())
    lines = [
        frame.lineno
        for frame in traceback.extract_tb(exc.__traceback__)
        if str(Path(frame.filename).resolve()) == resolved
    ]
    return lines[-1] if lines else None


def _fix(exc: BaseException, path: Path) -> str:
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return f"Install {exc.name!r} into composer's environment, or fix the import in {path}."
    return f"Fix {path}, then run again."
