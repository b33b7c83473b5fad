"""CSV cells that a spreadsheet shows as text and never runs as a formula (OWASP's advice).

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel,
LibreOffice and Google Sheets; system names, categories and ids come from run files and
datasets other people write, so such a text cell gets a leading single quote. Numbers
(`-5.0`, `+3.2`) are left as they are: they are data, and a spreadsheet reads them as numbers.

Example:
    >>> safe_cell("=1+2"), safe_cell("-5.0"), safe_cell("oracle")
    ("'=1+2", '-5.0', 'oracle')
"""

from __future__ import annotations

from collections.abc import Iterable

from composer.report.safe_text import printable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def safe_cell(value: object) -> object:
    """`value` as a CSV cell: text that would start a formula gets a leading `'`.

    Control characters (an escape sequence, a line break) are shown as their escapes
    (`composer.report.safe_text.printable`): a CSV on standard output reaches a terminal.
    """
    if not isinstance(value, str):
        return value
    value = printable(value)
    if not value.startswith(FORMULA_STARTS):
        return value
    return value if _is_number(value) else "'" + value


def safe_row(row: Iterable[object]) -> list[object]:
    """Every cell of `row` through `safe_cell`."""
    return [safe_cell(cell) for cell in row]
