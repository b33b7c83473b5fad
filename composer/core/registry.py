"""One registry for graphs, scorers, providers and benchmarks: names to lazy entries and plug-ins.

A `Registry` maps names to entries of three kinds: an object registered in-process (a decorator
in a script or a notebook), a lazy `module:attr` path (composer's own entries, imported only
when a name asks for one), and a Python entry point in the registry's group (`composer.graphs`,
`composer.scorers`, `composer.providers`, `composer.benchmarks`), so an installed package adds
one without editing composer. Where a name is expected, a reference works too: an importable
`package.module:attr`, or a file, `path/to/file.py:attr`. `Registry.resolve` is the one place
any of them is loaded, and it returns the entry's code digest with it (`code_digest`):
`builtin` for composer's own code, `sha256:<hex>` of the file for a `file.py:attr`, and of the
object's source for anything else (`source_digest`).

This module imports nothing heavy: listing names imports no entry.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import importlib
import inspect
import re
import site
import sys
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from composer.core.errors import ConfigError, PrerequisiteError, UnknownNameError
from composer.core.failure import Failure
from composer.core.usercode import load_user_file

T = TypeVar("T")

BUILTIN_CODE = "builtin"
"""The code digest of composer's own entries: they are versioned with composer itself."""


@dataclass(frozen=True)
class Resolved(Generic[T]):
    """A registry entry, loaded: the object, where it came from and its code digest."""

    name: str
    """The name or file reference it was asked for, as given."""
    value: T
    code: str
    """`builtin`, or `sha256:<hex>` of a file's bytes or of the object's source."""
    origin: str
    """`composer`, `in-process` (registered), `entry point (<distribution>)`, `file` or `module`
    (a reference named directly)."""


_MODULE_REF = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


def is_file_ref(ref: str) -> bool:
    """Whether `ref` names a file entry, `path/to/file.py:attr`."""
    return ".py:" in ref


class Registry(Generic[T]):
    """Names to entries of one kind, loaded lazily, extended by entry points and files.

    Precedence, highest first: what is registered by `register` (in-process or a lazy path),
    composer's built-in paths, then entry points (a plug-in never shadows a built-in name).

    Example:
        >>> scorers: Registry[object] = Registry(
        ...     "scorer", group="my_tool.scorers", where="scorer {!r}",
        ...     define="def score(output, references) -> dict", hint="path/to/scorer.py:score",
        ... )
        >>> scorers.register("exact", "my_tool.scorers:exact")  # imported on first use
        >>> sorted(scorers.names())
        ['exact']
    """

    def __init__(
        self,
        kind: str,
        *,
        group: str,
        where: str,
        define: str,
        hint: str | None = None,
        builtins: Mapping[str, str] | None = None,
        extras: Mapping[str, str] | None = None,
    ) -> None:
        """A registry of one kind of entry.

        Args:
            kind: What an entry is, for messages ("graph"; its plural adds an s).
            group: The entry point group plug-ins declare theirs in.
            where: Formats a name into the place an error names, e.g. `"graph {!r}"`.
            define: What a file entry must define, e.g. `"build(axis, options) -> Strategy"`.
            hint: How to name a file entry (`"path/to/strategy.py:build"`); None: no files.
            builtins: composer's own entries, names to lazy `module:attr` paths.
            extras: The composer extra that installs each SDK an entry may import (`torch`:
                `local`), for the message when one is missing.
        """
        self.kind = kind
        self.group = group
        self._where = where
        self._define = define
        self._hint = hint
        self._builtins = dict(builtins or {})
        self._extras = dict(extras or {})
        self._registered: dict[str, object] = {}
        self._frozen = False

    def where(self, ref: str) -> str:
        """The place an error about `ref` names."""
        return self._where.format(ref)

    def register(self, name: str, target: object) -> None:
        """Register `target` under `name`: an object, or a lazy `module:attr` path (a str).

        Raises:
            ConfigError: after `freeze()`.
        """
        if self._frozen:
            raise ConfigError(
                self.where(name),
                f"cannot be registered: the {self.kind} registry is frozen.",
                "Register it before the run binds its parts.",
            )
        if not isinstance(target, str) and self._builtins.get(name) == _qualified(target):
            return  # a built-in module registering itself on import: its lazy path stays
        self._registered[name] = target

    def unregister(self, name: str) -> None:
        """Forget what `register` put under `name` (a notebook's strategy, a test's)."""
        if self._frozen:
            raise ConfigError(
                self.where(name),
                f"cannot be unregistered: the {self.kind} registry is frozen.",
                "Unregister it before the run binds its parts.",
            )
        self._registered.pop(name, None)

    def registered(self) -> dict[str, object]:
        """What `register` holds: names to objects or lazy paths (built-ins and plug-ins not)."""
        return dict(self._registered)

    def freeze(self) -> None:
        """Refuse any further `register` (entry points and files still resolve)."""
        self._frozen = True

    def targets(self) -> dict[str, str]:
        """Every name and where its entry lives (`module:attr`), without importing any."""
        found = {ep.name: f"{ep.module}:{ep.attr}" for ep in _entry_points(self.group)}
        found.update(self._builtins)
        for name, target in self._registered.items():
            found[name] = target if isinstance(target, str) else _qualified(target)
        return found

    def names(self) -> list[str]:
        """Every registered name, sorted, without importing any entry."""
        return sorted(self.targets())

    def get(self, ref: str, *, base_dir: Path | None = None) -> T:
        """The entry registered as `ref`, or loaded from `path/to/file.py:attr`."""
        if is_file_ref(ref):
            return self._load_file(ref, base_dir)[0]
        return self._load(ref)[0]

    def resolve(self, ref: str, *, base_dir: Path | None = None) -> Resolved[T]:
        """`get`, with where the entry came from and its code digest.

        A relative file path starts at `base_dir` (the run file's folder).
        """
        if is_file_ref(ref):
            value, source = self._load_file(ref, base_dir)
            return Resolved(ref, value, "sha256:" + hashlib.sha256(source).hexdigest(), "file")
        value, origin = self._load(ref)
        return Resolved(ref, value, code_digest(value), origin)

    def _load(self, name: str) -> tuple[T, str]:
        target = self._registered.get(name)
        if target is not None and not isinstance(target, str):
            return cast(T, target), "in-process"
        origin = "in-process" if target is not None else "composer"
        if target is None:
            target = self._builtins.get(name)
        if target is None:
            point = next((ep for ep in _entry_points(self.group) if ep.name == name), None)
            if point is None:
                if _MODULE_REF.fullmatch(name):  # an importable `package.module:attr`
                    return self._import(name, name), "module"
                raise UnknownNameError(self.where(name), "is not registered.", self._known())
            dist = point.dist.name if point.dist is not None else "?"
            target, origin = f"{point.module}:{point.attr}", f"entry point ({dist})"
        return self._import(name, target), origin

    def _known(self) -> str:
        known = f"Known {self.kind}s: {', '.join(self.names()) or 'none'}"
        return f"{known}; or give '{self._hint}'." if self._hint else f"{known}."

    def _import(self, name: str, target: str) -> T:
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)  # lazily: only when a name asks
        except ModuleNotFoundError as exc:
            raise _missing(self.where(name), module_name, exc, self._extras) from exc
        except Exception as exc:  # a plug-in's module that raises as it is imported
            raised = Failure.of_exception(exc, graph="")
            at = f" at {raised.location}" if raised.location else ""
            raise ConfigError(
                self.where(name),
                f"names {target!r}, whose module raised {raised.error}{at} as it was imported.",
                "Fix or reinstall the package that provides it, or uninstall it.",
            ) from exc
        try:
            found = functools.reduce(getattr, attr.split("."), module)
        except AttributeError:
            raise UnknownNameError(
                self.where(name),
                f"names {target!r}, but {module_name} has no {attr!r}.",
                "Fix the registration (or the entry point in the package's metadata).",
            ) from None
        return cast(T, found)

    def _load_file(self, ref: str, base_dir: Path | None) -> tuple[T, bytes]:
        """The attribute `ref` names in its file, and the file's bytes (what its digest hashes).

        The file runs as a module of its own; a registration it makes is undone, since a file
        is bound by its path, never by the name it registers.
        """
        path_text, _, attr = ref.rpartition(":")
        path = Path(path_text).expanduser()
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        path = path.resolve()
        where = self.where(ref)
        if not path.is_file():
            hint = f"Give '{self._hint}'." if self._hint else ""
            raise UnknownNameError(where, f"file {str(path)!r} does not exist.", hint)
        source = path.read_bytes()
        with self._restored():
            module = load_user_file(path, f"composer_user_{self.kind}_{path.stem}", where)
        found = getattr(module, attr, None)
        if not callable(found):
            raise UnknownNameError(
                where, f"{path.name} has no function {attr!r}.", f"Define {self._define}."
            )
        return cast(T, found), source + _helper_sources(path)

    @contextlib.contextmanager
    def _restored(self) -> Iterator[None]:
        before = dict(self._registered)
        try:
            yield
        finally:
            self._registered.clear()
            self._registered.update(before)


def _helper_sources(path: Path) -> bytes:
    """The files of the modules a user file imports from its own folder, for its digest.

    A strategy's helper module beside it (`from helpers import tidy`) is part of what made its
    outputs: an edit to it is a new version of the strategy, as an edit to the file is. The
    imports are read from the source (and the helpers' own, in turn), so the digest does not
    depend on what else ran first. Empty when it imports none, so a file's digest stays the
    sha256 of its bytes alone.
    """
    folder = path.parent
    helpers: dict[str, bytes] = {}
    pending = [path]
    while pending:
        for name in _imported_names(pending.pop()):
            for file in _module_files(name, folder):
                key = file.relative_to(folder).as_posix()
                if file != path and key not in helpers:
                    helpers[key] = file.read_bytes()
                    pending.append(file)
    return b"".join(
        b"\n# composer: helper module " + key.encode() + b"\n" + helpers[key]
        for key in sorted(helpers)
    )


def _imported_names(path: Path) -> set[str]:
    """The absolute module names a Python file imports, anywhere in it."""
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)  # and `from package import submodule`:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _module_files(name: str, folder: Path) -> list[Path]:
    """The files in `folder` that importing `name` runs (none where it is not found there).

    Each package's `__init__.py` on the way, then the module's own file.
    """
    files: list[Path] = []
    here = folder
    for part in name.split("."):
        if (here / part / "__init__.py").is_file():
            here = here / part
            files.append(here / "__init__.py")
        elif (here / f"{part}.py").is_file():
            files.append(here / f"{part}.py")
            break
        else:
            break
    return [f.resolve() for f in files]


@functools.cache
def _all_entry_points() -> Any:
    return entry_points()  # one scan of the installed distributions per process


def _entry_points(group: str) -> list[EntryPoint]:
    return list(_all_entry_points().select(group=group))


def _qualified(target: object) -> str:
    module = getattr(target, "__module__", "?")
    return f"{module}:{getattr(target, '__qualname__', type(target).__qualname__)}"


def _missing(
    where: str, module_name: str, exc: ModuleNotFoundError, extras: Mapping[str, str]
) -> ConfigError:
    """The error for an entry whose module, or a module it imports, is not installed."""
    if exc.name == module_name:
        return UnknownNameError(
            where,
            f"names the module {module_name!r}, which is not installed.",
            "Install the package that provides it, or use a name `composer list` shows.",
        )
    missing = (exc.name or "").split(".")[0]
    extra = extras.get(missing)
    fix = (
        f"Install it with: pip install 'unify-composer[{extra}]'"
        if extra
        else f"Install the package that provides {missing!r}."
    )
    return PrerequisiteError(
        where, f"needs the Python module {exc.name!r}, which is not installed.", fix
    )


def code_digest(value: object) -> str:
    """What an entry's code is: `builtin` for composer's own, else `sha256:` of its source.

    Example:
        >>> code_digest(code_digest)
        'builtin'
    """
    module = getattr(value, "__module__", None) or ""
    if module == "composer" or module.startswith("composer."):
        return BUILTIN_CODE
    return "sha256:" + source_digest(value)


def source_digest(value: object) -> str:
    """A sha256 of the source of `value` and of the user code it uses.

    Starting at `value`, it follows every global name the code refers to (nested functions and
    lambdas included) to functions and classes of its own module or of another user module
    (one outside composer, the standard library and the installed packages: a helper file
    beside the notebook), to such modules themselves, and to plain constants, and hashes their
    source (a constant, its repr). So an edit to a node function that `build` adds to its graph
    changes the digest, while an edit elsewhere in the same script (the run's settings, the
    cell that starts it) does not. Code without source (typed at a prompt) is hashed as its
    compiled code.
    """
    if callable(value):
        value = inspect.unwrap(value)  # a node wrapped by a decorator is hashed as written
    home = getattr(value, "__module__", None)
    parts: list[str] = []
    seen: set[int] = set()
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        parts.append(_source(item))
        for name, found in _globals_used(item):
            if _is_literal(found):
                parts.append(f"{name} = {_literal_text(found)}")
            else:
                stack.extend(_own_code(found, home))
    return hashlib.sha256("\n\0".join(parts).encode()).hexdigest()


def _is_literal(value: object) -> bool:
    if isinstance(value, str | bytes | int | float | type(None)):
        return True
    if isinstance(value, tuple | list | frozenset):
        return all(_is_literal(v) for v in value)
    if isinstance(value, dict):
        return all(_is_literal(k) and _is_literal(v) for k, v in value.items())
    return False


def _literal_text(value: object) -> str:
    """A repr that is the same in every process (a set's order depends on string hashing)."""
    if isinstance(value, frozenset):
        return "frozenset({" + ", ".join(sorted(_literal_text(v) for v in value)) + "})"
    if isinstance(value, tuple | list):
        return type(value).__name__ + "(" + ", ".join(_literal_text(v) for v in value) + ")"
    if isinstance(value, dict):
        pairs = (f"{_literal_text(k)}: {_literal_text(v)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    return repr(value)


def _own_code(value: object, home: str | None) -> list[object]:
    """The user code in `value` or a container of it: functions, classes, modules of users."""
    if isinstance(value, tuple | list | frozenset):
        return [found for v in value for found in _own_code(v, home)]
    if isinstance(value, dict):
        return [found for v in value.values() for found in _own_code(v, home)]
    if isinstance(value, types.ModuleType):
        return [value] if _is_user_module(value.__name__) else []
    if callable(value):
        value = inspect.unwrap(value)
    if inspect.isfunction(value) or inspect.isclass(value):
        module = value.__module__
        return [value] if module == home or _is_user_module(module) else []
    return []


def _is_user_module(name: str) -> bool:
    """Whether module `name` is a user's file: not composer, the standard library or a package.

    Those are versioned otherwise (composer's version, the packages' versions in the run record).
    """
    if name == "composer" or name.startswith("composer."):
        return False
    path = getattr(sys.modules.get(name), "__file__", None)
    if path is None:
        return False
    resolved = str(Path(path).resolve())
    return not any(resolved.startswith(prefix) for prefix in _installed_prefixes())


@functools.cache
def _installed_prefixes() -> tuple[str, ...]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages()}
    return tuple(str(Path(root).resolve()) + "/" for root in roots)


def _source(item: object) -> str:
    try:
        return inspect.getsource(cast(Any, item))
    except (OSError, TypeError):
        code = getattr(item, "__code__", None)
        return _code_text(code) if isinstance(code, types.CodeType) else repr(item)


def _code_text(code: types.CodeType) -> str:
    """Compiled code as text, the same in every process (marshal's varies with refcounts)."""
    consts = [
        _code_text(c) if isinstance(c, types.CodeType) else _literal_text(c) for c in code.co_consts
    ]
    return f"{code.co_code.hex()} {code.co_names} {code.co_varnames} [{', '.join(consts)}]"


def _globals_used(item: object) -> Iterator[tuple[str, object]]:
    """The (name, value) of each global that a function, or a class's methods, refer to."""
    functions = [item] if inspect.isfunction(item) else []
    if inspect.isclass(item):
        functions = [inspect.unwrap(f) for f in vars(item).values() if inspect.isfunction(f)]
    for function in functions:
        namespace: Mapping[str, object] = function.__globals__
        for name in sorted(_names(function.__code__)):
            if name in namespace:
                yield name, namespace[name]


def _names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names
