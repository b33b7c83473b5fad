r"""Names from run files and datasets, made safe to show in a terminal and in a Markdown document.

System, category, judge and model names come from files other people write. Shown as they are,
an escape sequence in one sets the terminal's window title or clears the screen, a C1 control
or a bidi override reorders what the reader sees, and a `|`, a line break or `<script>` breaks
a Markdown table or passes HTML into the page. `printable` neutralises the first (every
control character, C1 included, and every bidi control becomes its visible escape, `\x1b`,
`\u202e`); `markdown_text` does that and escapes what GitHub-flavoured Markdown would read;
`SafeConsole` is the rich console every command prints through, so nothing reaches a terminal
without passing `printable`.

Example:
    >>> printable("evil\x1b]0;title\x07"), markdown_text("a|b <i>")
    ('evil\\x1b]0;title\\x07', 'a\\|b &lt;i&gt;')
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.markup import escape
from rich.segment import Segment
from rich.text import Text

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
"""Unicode's bidirectional formatting characters: marks, embeddings, overrides, isolates."""
_UNSAFE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029{_BIDI}]")
_UNSAFE_BUT_NEWLINE = re.compile(f"[\\x00-\\x09\\x0b-\\x1f\\x7f-\\x9f\\u2028\\u2029{_BIDI}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, newlines: bool = False) -> str:
    r"""`text` with every control character and bidi control replaced by its visible escape.

    C0 and C1 controls (ESC, BEL, CR, CSI as 0x9b, ...), DEL, the Unicode line and paragraph
    separators and the bidi marks, embeddings, overrides and isolates are written as `\xNN`
    or `\uNNNN` (`\n`, `\r`, `\t` for those three), so a name shows what it holds and never
    acts on the terminal. `newlines` keeps `\n` (text composer writes itself over several
    lines); a name is shown on one line.
    """
    pattern = _UNSAFE_BUT_NEWLINE if newlines else _UNSAFE
    return pattern.sub(_visible, text)


def html_escape(value: object) -> Any:
    r"""`value` escaped for HTML after `printable` (newlines kept): controls shown, not obeyed.

    An HTML page then shows a name's controls as the other formats do, and never obeys a bidi
    override in it (markupsafe's `escape` leaves both as they are).

    Example:
        >>> str(html_escape("a<b>\u202e"))
        'a&lt;b&gt;\\u202e'
    """
    from markupsafe import escape

    if hasattr(value, "__html__"):  # already markup: its own escaping stands
        return escape(value)
    return escape(printable(str(value), newlines=True))


def html_shown(value: object) -> object:
    """jinja2's `finalize`: a text made `printable` (newlines kept) before autoescaping."""
    if isinstance(value, str) and not hasattr(value, "__html__"):
        return printable(value, newlines=True)
    return value


def literal(text: object) -> str:
    r"""`text` as literal console markup on one line: `printable`, then rich's markup escape.

    Example:
        >>> literal("[bold]x\n")
        '\\[bold]x\\n'
    """
    return escape(printable(str(text)))


_MARKDOWN = re.compile(r"[\\`*_|~<>&]|(?<=\])\(")
_MARKDOWN_AS = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}


def markdown_text(text: object) -> str:
    r"""`text` as literal text in GitHub-flavoured Markdown, in a table cell or a line.

    Control characters are made visible (`printable`, so a line break cannot end the row or
    start a heading), `<`, `>` and `&` become entities (no raw HTML or autolink), and what
    Markdown reads as syntax is backslash-escaped: `|` that would end a cell, emphasis and code
    (`*`, `_`, `~`, `` ` ``), `\`, and the `(` of `](` that would make a link or an image
    (so an interval such as `[+1.0, +2.5]` reads as it is).
    """
    safe = printable(str(text))
    return _MARKDOWN.sub(lambda m: _MARKDOWN_AS.get(m.group(0), "\\" + m.group(0)), safe)


class SafeConsole(Console):
    r"""A rich console that shows text through `printable`: no name can drive the terminal.

    Every string it prints (markup, table cells, titles) is made printable before it is laid
    out, keeping the line breaks composer writes; anything else it renders (a `Text` built
    elsewhere, such as a progress bar's description) is checked once more on the way out, so
    only rich's own styling and cursor control reach the terminal.

    Example:
        >>> SafeConsole(width=40).print("name \x1b[2J")  # doctest: +SKIP
        name \x1b[2J
    """

    def render_str(self, text: str, **kwargs: Any) -> Text:
        """Lay out `text` (markup, a cell, a title) after making it printable."""
        return super().render_str(printable(text, newlines=True), **kwargs)

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        """Render as rich does, then neutralise any control character left in plain text."""
        for segment in super().render(renderable, options):
            if segment.control or not _UNSAFE_BUT_NEWLINE.search(segment.text):
                yield segment
            else:
                yield Segment(printable(segment.text, newlines=True), segment.style)
