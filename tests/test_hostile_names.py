"""Names other people write: nothing in a system or category name acts on a terminal or a page.

A run file's system names and a dataset's category names reach `run`, `report` and `compare`.
An escape sequence (set the window title, clear the screen), a C1 control or a bidi override
in one is shown as its visible escape and never reaches the terminal; in Markdown a `|`, a
line break or raw HTML stays inside its cell; and an output stream that is not UTF-8 shows
what it cannot encode as escapes, with the exit code of the run, not a traceback.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from rich.progress import Progress, TextColumn
from rich.table import Table
from rich.text import Text
from typer.testing import CliRunner

import composer
from composer.cli import app
from composer.report.safe_text import SafeConsole, markdown_text, printable

cli = CliRunner()

TITLE, CLEAR, C1, BIDI = "\x1b]0;PWNED\x07", "\x1b[2J", "\x9b31m", "\u202e"
EVIL = f"evil{TITLE}{CLEAR}{C1}{BIDI}|<img src=x onerror=alert(1)>"
"""A system name: window title, clear screen, a C1 CSI, a bidi override, a pipe and HTML."""
SPLIT = "two|lines\n# heading"
"""A system name that would end a Markdown row and start a heading."""
CATEGORY = f"cat{TITLE}{CLEAR}\nnext"
NON_LATIN = "漢字カテゴリ"
LEAKS = ("\x1b", "\x07", "\x9b", BIDI)
"""What must never reach the output: ESC (any sequence), BEL, the C1 CSI, the bidi override."""


def _toml_key(name: str) -> str:
    return json.dumps(name)  # a JSON string is a TOML basic string (\u escapes included)


def _run_file(tmp: Path) -> Path:
    Image.new("RGB", (8, 8), (1, 2, 3)).save(tmp / "img.png")
    lines = []
    for k in range(3):
        check = [{"question": "Is it there?", "answer": "yes"}]
        lines.append(
            {"id": f"u{k}", "axis": "UEG", "category": CATEGORY, "prompt": "p", "checks": check}
        )
        lines.append(
            {
                "id": f"g{k}",
                "axis": "GEU",
                "category": NON_LATIN,
                "image": "img.png",
                "question": "q",
                "options": ["a", "b"],
                "answer": "A",
            }
        )
    (tmp / "suite.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    run_file = tmp / "run.toml"
    run_file.write_text(
        "\n".join(
            [
                '[benchmark]\nname = "jsonl"\npath = "suite.jsonl"',
                '[judge]\nmodel = "mock/judge"',
                f'[systems.{_toml_key(EVIL)}]\nueg = "direct"\ngeu = "direct"',
                'roles = { model = "mock/right" }',
                f'[systems.{_toml_key(SPLIT)}]\nueg = "direct"\ngeu = "direct"',
                'roles = { model = "mock/wrong" }',
                '[models."mock/judge"]\ndefault = "Yes"',
                '[models."mock/right"]\ndefault = "A"',
                '[models."mock/wrong"]\ndefault = "B"',
            ]
        )
    )
    return run_file


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("hostile")
    result = cli.invoke(app, ["run", str(_run_file(tmp)), "--out", str(tmp / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    return tmp / "out"


def _no_leak(text: str) -> None:
    for leak in LEAKS:
        assert leak not in text, f"{leak!r} reached the output"


# Class 8: terminal control sequences are neutralised in every command's output.


def test_run_shows_hostile_names_as_escapes(tmp_path: Path) -> None:
    result = cli.invoke(app, ["run", str(_run_file(tmp_path)), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    _no_leak(result.output)
    assert "evil\\x1b]0;PWNED\\x07\\x1b[2J\\x9b31m\\u202e|" in result.output  # still shown


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json", "jsonl"])
def test_report_never_writes_a_control_sequence(run_dir: Path, fmt: str) -> None:
    result = cli.invoke(app, ["report", str(run_dir), "--format", fmt])
    assert result.exit_code == 0, result.output
    _no_leak(result.output)


def test_the_html_report_shows_controls_as_escapes_and_obeys_no_bidi_override(
    run_dir: Path, tmp_path: Path
) -> None:
    """markupsafe escapes markup only: the index held the names' ESC, BEL and U+202E raw."""
    out = tmp_path / "html"
    result = cli.invoke(app, ["report", str(run_dir), "--format", "html", "--output", str(out)])
    assert result.exit_code == 0, result.output
    for page in [out / "index.html", *sorted((out / "instances").glob("*.html"))[:3]]:
        _no_leak(page.read_text(encoding="utf-8"))
    assert "evil\\x1b]0;PWNED" in (out / "index.html").read_text(encoding="utf-8")


def test_trace_shows_the_names_controls_as_escapes(run_dir: Path) -> None:
    result = cli.invoke(app, ["trace", str(run_dir), EVIL, "u0"])
    assert result.exit_code == 0, result.output
    _no_leak(result.output)
    header = result.output.splitlines()[0]
    assert header.startswith("evil\\x1b]0;PWNED\\x07"), header  # it used to drop them


def test_compare_never_writes_a_control_sequence(run_dir: Path) -> None:
    result = cli.invoke(app, ["compare", str(run_dir), EVIL, SPLIT])
    assert result.exit_code == 0, result.output
    _no_leak(result.output)
    assert "evil\\x1b]0;PWNED" in result.output and "two|lines\\n# heading" in result.output
    assert "cat\\x1b]0;PWNED\\x07\\x1b[2J\\nnext" not in result.output  # GEU instances differ
    assert NON_LATIN in result.output


def test_an_error_naming_a_hostile_system_is_neutralised(run_dir: Path) -> None:
    result = cli.invoke(app, ["compare", str(run_dir), EVIL, f"ghost{TITLE}"])
    assert result.exit_code == 2, result.output
    _no_leak(result.output)


def test_a_terminal_gets_styles_but_never_a_names_control_sequence() -> None:
    """On a real terminal rich styles its output; a name's own sequences still never pass."""
    buffer = io.StringIO()
    console = SafeConsole(file=buffer, force_terminal=True, width=100)
    table = Table(title=f"judge {EVIL}")
    table.add_column(CATEGORY)
    table.add_row(EVIL)
    console.print(table)
    console.print(Text(EVIL, style="bold"))  # a Text built elsewhere, as a progress bar's
    with Progress(TextColumn("{task.description}", markup=False), console=console) as bars:
        bars.add_task(EVIL, total=1)
    text = buffer.getvalue()
    for leak in (TITLE, CLEAR, "\x07", "\x9b", BIDI, "\x1b]"):
        assert leak not in text
    assert "\x1b[" in text  # rich's own styling and cursor control are untouched


def test_printable_covers_every_control_and_bidi_character() -> None:
    hostile = [chr(c) for c in (*range(0x00, 0x20), *range(0x7F, 0xA0))]
    hostile += list("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    hostile += ["\u2028", "\u2029"]
    for char in hostile:
        shown = printable(f"a{char}b")
        assert char not in shown and shown.startswith("a\\") and shown.endswith("b"), repr(char)
    assert printable("a\nb", newlines=True) == "a\nb"
    assert printable("plain name-1.2 漢字") == "plain name-1.2 漢字"


# Class 9: Markdown keeps every name inside its cell, and passes no HTML.


def _cells(line: str) -> list[str]:
    """A GFM table row's cells: split at every `|` that is not escaped."""
    return re.split(r"(?<!\\)\|", line.strip().strip("|"))


def test_markdown_rows_keep_their_cells_and_pass_no_html(run_dir: Path) -> None:
    result = cli.invoke(app, ["report", str(run_dir), "--format", "markdown"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    table = text.split("\n\n")[0].splitlines()
    header = _cells(table[0])
    assert len(table) == 2 + 2, "one row per system, nothing split off"
    for row in table[1:]:
        assert row.startswith("|") and len(_cells(row)) == len(header), row
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    assert not any(line.startswith("#") and "heading" in line for line in text.splitlines())
    names = [_cells(row)[0].strip() for row in table[2:]]
    assert names[1] == "two\\|lines\\\\n# heading"


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("a|b", "a\\|b"),
        ("line\nbreak", "line\\\\nbreak"),
        ("<script>x</script>", "&lt;script&gt;x&lt;/script&gt;"),
        ("[link](http://evil)", "[link]\\(http://evil)"),
        ("*bold* _em_ `code` ~x~", "\\*bold\\* \\_em\\_ \\`code\\` \\~x\\~"),
        ("a & b", "a &amp; b"),
        ("[+1.0, +2.5]", "[+1.0, +2.5]"),
    ],
)
def test_markdown_text_is_literal(name: str, shown: str) -> None:
    assert markdown_text(name) == shown


# Class 10: output that is not UTF-8 degrades, and the exit code stays the run's.


def _cp1252(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    source = str(Path(composer.__file__).parents[1])  # the code under test, wherever it is
    env = {**os.environ, "PYTHONIOENCODING": "cp1252", "PYTHONPATH": source}
    return subprocess.run(
        [sys.executable, "-m", "composer", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        encoding="cp1252",
        errors="replace",
        timeout=120,
    )


def test_a_run_and_its_reports_on_a_cp1252_stream(tmp_path: Path) -> None:
    run_file = _run_file(tmp_path)
    done = _cp1252("run", str(run_file), "--out", "out", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "\\u6f22\\u5b57" in done.stdout
    for fmt in ("table", "markdown", "csv", "json"):
        shown = _cp1252("report", "out", "--format", fmt, cwd=tmp_path)
        assert shown.returncode == 0, (fmt, shown.stderr[-2000:])
        assert "Traceback" not in shown.stderr
        assert "6f22" in shown.stdout, fmt  # the category, escaped (JSON: its own \\u escape)
