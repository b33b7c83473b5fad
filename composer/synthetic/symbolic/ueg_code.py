"""A restricted Python evaluator: runs small, safe snippets and returns what they print.

Built on `ast`, it accepts a small subset of Python (assignments, arithmetic, comparisons,
`if`, `for`/`while` loops, lists, indexing, f-strings and the calls `print`, `len`, `range`,
`str`, `int`, `min`, `max`, `abs`) and rejects everything else before running: imports,
attribute access, dunder names, function definitions and any other call. Every evaluated node
costs one step; a snippet that exceeds its step budget stops with `SnippetError`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

DEFAULT_MAX_STEPS = 6000
"""The step budget of the reasoner's evaluator."""

_MAX_INT = 10**12
_MAX_LEN = 10_000


class SnippetError(Exception):
    """The snippet is not allowed, is malformed, or ran past its step budget."""


_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Module,
    ast.Expr,
    ast.Assign,
    ast.AugAssign,
    ast.For,
    ast.While,
    ast.If,
    ast.Break,
    ast.Continue,
    ast.Pass,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.Constant,
    ast.List,
    ast.Tuple,
    ast.Subscript,
    ast.Slice,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.JoinedStr,
    ast.FormattedValue,
    ast.operator,
    ast.unaryop,
    ast.boolop,
    ast.cmpop,
)

_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
_CMPOPS: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: lambda a, b: bool(a == b),
    ast.NotEq: lambda a, b: bool(a != b),
    ast.Lt: lambda a, b: bool(a < b),
    ast.LtE: lambda a, b: bool(a <= b),
    ast.Gt: lambda a, b: bool(a > b),
    ast.GtE: lambda a, b: bool(a >= b),
    ast.In: lambda a, b: bool(a in b),
    ast.NotIn: lambda a, b: bool(a not in b),
}
_CALLS = frozenset({"print", "len", "range", "str", "int", "min", "max", "abs"})


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def check_snippet(code: str) -> ast.Module:
    """Parse `code` and reject anything outside the allowed subset.

    Raises:
        SnippetError: on a syntax error or a disallowed construct (named in the message).
    """
    try:
        tree = ast.parse(code, mode="exec")
    except SyntaxError as exc:
        raise SnippetError(f"syntax error on line {exc.lineno}: {exc.msg}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise SnippetError(f"{type(node).__name__} is not allowed (line {_line(node)})")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise SnippetError(f"the name {node.id!r} is not allowed (line {_line(node)})")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in _CALLS:
                raise SnippetError(f"only {', '.join(sorted(_CALLS))} may be called")
            if node.keywords:
                raise SnippetError("keyword arguments are not allowed")
        if isinstance(node, ast.Assign | ast.For) and not _plain_targets(node):
            raise SnippetError(f"only plain names may be assigned (line {_line(node)})")
        if isinstance(node, ast.AugAssign) and not isinstance(node.target, ast.Name):
            raise SnippetError(f"only plain names may be assigned (line {_line(node)})")
    return tree


def _line(node: ast.AST) -> int:
    return int(getattr(node, "lineno", 0))


def _plain_targets(node: ast.Assign | ast.For) -> bool:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return all(isinstance(t, ast.Name) for t in targets)


def run_snippet(code: str, *, max_steps: int = DEFAULT_MAX_STEPS) -> list[str]:
    r"""Run `code` in the restricted evaluator and return its printed lines.

    Example:
        >>> run_snippet("n = 2 + 3\\nprint(n, 'red circles')")
        ['5 red circles']

    Raises:
        SnippetError: if the snippet is disallowed, fails, or exceeds `max_steps`.
    """
    tree = check_snippet(code)
    machine = _Machine(max_steps)
    try:
        machine.block(tree.body)
    except (_Break, _Continue):
        raise SnippetError("break or continue outside a loop") from None
    except SnippetError:
        raise
    except (ArithmeticError, TypeError, ValueError, IndexError, KeyError) as exc:
        raise SnippetError(f"the snippet failed: {type(exc).__name__}: {exc}") from None
    return machine.output


class _Machine:
    def __init__(self, max_steps: int) -> None:
        self.max_steps = max_steps
        self.steps = 0
        self.names: dict[str, Any] = {}
        self.output: list[str] = []

    def tick(self) -> None:
        self.steps += 1
        if self.steps > self.max_steps:
            raise SnippetError(f"step budget of {self.max_steps} exceeded")

    def block(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self.stmt(stmt)

    def stmt(self, node: ast.stmt) -> None:
        self.tick()
        if isinstance(node, ast.Expr):
            self.expr(node.value)
        elif isinstance(node, ast.Assign):
            value = self.expr(node.value)
            for target in node.targets:
                self.names[_name(target)] = value
        elif isinstance(node, ast.AugAssign):
            name = _name(node.target)
            self.names[name] = self._binop(node.op, self._load(name), self.expr(node.value))
        elif isinstance(node, ast.If):
            self.block(node.body if self.expr(node.test) else node.orelse)
        elif isinstance(node, ast.For):
            self._for(node)
        elif isinstance(node, ast.While):
            while self.expr(node.test):
                self.tick()
                try:
                    self.block(node.body)
                except _Break:
                    break
                except _Continue:
                    continue
        elif isinstance(node, ast.Break):
            raise _Break
        elif isinstance(node, ast.Continue):
            raise _Continue
        elif not isinstance(node, ast.Pass):
            raise SnippetError(f"{type(node).__name__} is not allowed")

    def _for(self, node: ast.For) -> None:
        iterable = self.expr(node.iter)
        if not isinstance(iterable, range | list | tuple | str):
            raise SnippetError("for loops may only run over a range, a list or a string")
        name = _name(node.target)
        for item in iterable:
            self.tick()
            self.names[name] = item
            try:
                self.block(node.body)
            except _Break:
                break
            except _Continue:
                continue

    def _load(self, name: str) -> Any:
        if name not in self.names:
            raise SnippetError(f"the name {name!r} is not defined")
        return self.names[name]

    def expr(self, node: ast.expr) -> Any:
        self.tick()
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, int | str | bool | float) and node.value is not None:
                raise SnippetError("only numbers and strings are allowed as constants")
            return node.value
        if isinstance(node, ast.Name):
            return self._load(node.id)
        if isinstance(node, ast.List | ast.Tuple):
            items = [self.expr(e) for e in node.elts]
            return items if isinstance(node, ast.List) else tuple(items)
        if isinstance(node, ast.BinOp):
            return self._binop(node.op, self.expr(node.left), self.expr(node.right))
        if isinstance(node, ast.UnaryOp):
            value = self.expr(node.operand)
            if isinstance(node.op, ast.Not):
                return not value
            if isinstance(node.op, ast.USub):
                return -value
            if isinstance(node.op, ast.UAdd):
                return +value
            raise SnippetError("bitwise operators are not allowed")
        if isinstance(node, ast.BoolOp):
            result: Any = None
            for value_node in node.values:
                result = self.expr(value_node)
                if isinstance(node.op, ast.And) != bool(result):
                    return result
            return result
        if isinstance(node, ast.Compare):
            left = self.expr(node.left)
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = self.expr(right_node)
                if type(op) not in _CMPOPS:
                    raise SnippetError(f"{type(op).__name__} comparisons are not allowed")
                if not _CMPOPS[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return self.expr(node.body if self.expr(node.test) else node.orelse)
        if isinstance(node, ast.Subscript):
            return self._subscript(node)
        if isinstance(node, ast.JoinedStr):
            return "".join(self._format_part(v) for v in node.values)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise SnippetError(f"{type(node).__name__} is not allowed")

    def _format_part(self, node: ast.expr) -> str:
        if isinstance(node, ast.FormattedValue):
            if node.format_spec is not None:
                raise SnippetError("format specifications are not allowed")
            return str(self.expr(node.value))
        return str(self.expr(node))

    def _subscript(self, node: ast.Subscript) -> Any:
        value = self.expr(node.value)
        if isinstance(node.slice, ast.Slice):
            parts = (node.slice.lower, node.slice.upper, node.slice.step)
            bounds = [None if p is None else self.expr(p) for p in parts]
            return value[slice(*bounds)]
        index = self.expr(node.slice)
        if not isinstance(index, int):
            raise SnippetError("indexes must be whole numbers")
        return value[index]

    def _binop(self, op: ast.operator, left: Any, right: Any) -> Any:
        if type(op) not in _BINOPS:
            raise SnippetError(f"the operator {type(op).__name__} is not allowed")
        if isinstance(op, ast.Pow) and (not isinstance(right, int) or abs(right) > 64):
            raise SnippetError("exponents above 64 are not allowed")
        if (
            isinstance(op, ast.Mult)
            and isinstance(left, str | list)
            or isinstance(right, str | list)
        ):
            size = len(left if isinstance(left, str | list) else right)
            factor = right if isinstance(left, str | list) else left
            if isinstance(factor, int) and size * factor > _MAX_LEN:
                raise SnippetError("the result is too long")
        result = _BINOPS[type(op)](left, right)
        if isinstance(result, float) and result.is_integer():
            result = int(result)
        if isinstance(result, int) and abs(result) > _MAX_INT:
            raise SnippetError("numbers above 10**12 are not allowed")
        if isinstance(result, str | list) and len(result) > _MAX_LEN:
            raise SnippetError("the result is too long")
        return result

    def _call(self, node: ast.Call) -> Any:
        assert isinstance(node.func, ast.Name)
        args = [self.expr(a) for a in node.args]
        name = node.func.id
        if name == "print":
            self.output.append(" ".join(str(a) for a in args))
            return None
        if name == "range":
            if not all(isinstance(a, int) for a in args):
                raise SnippetError("range takes whole numbers")
            span = range(*args)
            if len(span) > _MAX_LEN:
                raise SnippetError("ranges longer than 10,000 are not allowed")
            return span
        functions: dict[str, Callable[..., Any]] = {
            "len": len,
            "str": str,
            "int": int,
            "min": min,
            "max": max,
            "abs": abs,
        }
        return functions[name](*args)


def _name(node: ast.expr) -> str:
    if not isinstance(node, ast.Name):
        raise SnippetError("only plain names may be assigned")
    return node.id
