"""Every step of a task: the instance page's step table, `composer trace`, and `run --instances`."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import sqlite3
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from chromium import images_loaded, open_page
from mockbench import config_text, write_fixture
from typer.testing import CliRunner

from composer.cli import app
from composer.evaluation.store import RunStore
from composer.report.trace import BULK_FROM, Step, Traces, steps_of

cli = CliRunner()
# The unified model's unmatched replies carry a terminal escape sequence and a bell.
HOSTILE = "\x1b]0;pwned\x07\x1b[2J A"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("trace")
    text = config_text(write_fixture(root / "data"))
    text = text.replace('default = "A"', f"default = {json.dumps(HOSTILE)}")
    (root / "c.toml").write_text(text)
    run_dir = root / "run"
    result = cli.invoke(app, ["run", str(root / "c.toml"), "--out", str(run_dir), "--quiet"])
    assert result.exit_code == 1, result.output  # the fixture's scripted failure
    site = root / "site"
    result = cli.invoke(app, ["report", str(run_dir), "--format", "html", "--output", str(site)])
    assert result.exit_code == 0, result.output
    return run_dir, site


class _Tables(HTMLParser):
    """The rows of every `table.trace`, by its data-system, with each row's image links."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.links: list[str] = []
        self._system: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and "trace" in (a.get("class") or ""):
            self._system = a["data-system"]
            self.tables[self._system or ""] = []
        elif self._system and tag == "tr":
            self.tables[self._system].append([])
        elif self._system and tag == "td":
            self._cell = []
        elif self._system and tag == "a":
            self.links.append(a["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._system = None
        elif tag == "td" and self._system and self._cell is not None:
            self.tables[self._system][-1].append(" ".join(" ".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _steps(page: Path) -> _Tables:
    parser = _Tables()
    parser.feed(page.read_text())
    return parser


def test_the_instance_page_lists_every_step_in_order(run: tuple[Path, Path]) -> None:
    _, site = run
    page = site / "instances" / "UEG-1.html"
    found = _steps(page)
    rows = [r for r in found.tables["composed"] if r]
    # number, node, role, model+method, prompt, reply, images, latency, cached, error
    assert [(r[1], r[2]) for r in rows] == [
        ("rewrite", "reasoner"),
        ("draw", "generator"),
        ("judge", "mock/judge"),
        ("judge", "mock/judge"),
    ]
    assert rows[0][3] == "mock/reasoner understand"
    assert "draw 1+2 circles" in rows[0][4] and rows[0][5] == "draw 3 circles"
    assert rows[1][4] == "draw 3 circles" and rows[1][8] in ("yes", "no")
    assert "Are there 3 circles?" in rows[2][4] and rows[2][5] == "Yes."
    assert all(r[7].endswith(" s") for r in rows)
    # The drawn image is shown (and linked) on the draw step and on both judge steps.
    images = [link for link in found.links if link.endswith(".png")]
    assert len(images) >= 3 * 3
    for link in images:
        assert (page.parent / link).resolve().is_file(), link


def test_a_failed_step_shows_its_error(run: tuple[Path, Path]) -> None:
    _, site = run
    rows = [r for r in _steps(site / "instances" / "UEG-23.html").tables["composed"] if r]
    assert rows and rows[0][1] == "rewrite"
    assert "generation: draw 3+7 moons" in rows[0][4]
    assert rows[0][9]  # the scripted failure's message


def test_pages_read_steps_a_batch_at_a_time_and_keep_only_that_batch(
    run: tuple[Path, Path],
) -> None:
    """The pages' steps, read a batch at a time, are those `steps_of` reads for one result; a
    batch's calls and judge steps replace the previous batch's, so a large run's report keeps
    one batch in memory, not the run (issue 26: its peak memory grew with the run)."""
    run_dir, _ = run
    store = RunStore(run_dir)
    try:
        results = sorted(store.results(), key=lambda r: (r.instance, r.system))
        half = len(results) // 2
        assert half >= BULK_FROM  # each batch's judge steps in one query, through the key
        traces = Traces(store)
        for batch in (results[:half], results[half:]):
            traces.prefetch(batch)
            assert traces.judged  # the batch's judges' steps, and only the batch's:
            assert set(traces.judged) <= {(r.system, r.instance, r.seed) for r in batch}
            read = set(traces.calls)
            assert all(traces.steps(r) == steps_of(store, r) for r in batch)
            assert set(traces.calls) == read  # every call the batch shows, read with it
    finally:
        store.close()


def test_a_step_read_is_the_step_its_fields_build(run: tuple[Path, Path]) -> None:
    """Steps are made without `Step.__init__` (one assignment, not one per field): each has
    every field of `Step`, in order, and equals and prints as the `Step` built from its fields,
    still frozen."""
    run_dir, _ = run
    store = RunStore(run_dir)
    try:
        steps = [s for r in store.results() for s in steps_of(store, r)]
    finally:
        store.close()
    names = [f.name for f in dataclasses.fields(Step)]
    assert steps and any(s.images_in for s in steps) and any(s.error for s in steps)
    for step in steps:
        assert list(vars(step)) == names
        built = Step(**{name: getattr(step, name) for name in names})
        assert step == built and repr(step) == repr(built)
        with pytest.raises(dataclasses.FrozenInstanceError):
            step.node = "changed"  # type: ignore[misc]


def test_stored_json_reads_as_json_loads_reads_it(run: tuple[Path, Path], tmp_path: Path) -> None:
    """The pages read a call's request and reply faster than `json.loads` where the text is
    one JSON object and nothing else; JSON with whitespace around it reads the same."""
    run_dir, _ = run
    shutil.copytree(run_dir, tmp_path / "run")
    db = sqlite3.connect(tmp_path / "run" / "run.db")
    db.execute("UPDATE calls SET request = ' ' || request || char(10), reply = char(9) || reply")
    db.commit()
    db.close()
    store, padded = RunStore(run_dir), RunStore(tmp_path / "run")
    try:
        results = sorted(store.results(), key=lambda r: (r.instance, r.system))
        traces, again = Traces(store), Traces(padded)
        traces.prefetch(results)
        again.prefetch(results)
        assert traces.calls and traces.calls == again.calls
        assert [traces.steps(r) for r in results] == [again.steps(r) for r in results]
    finally:
        store.close()
        padded.close()


def test_nested_outputs_show_their_images(tmp_path: Path) -> None:
    run_dir = tmp_path / "demo"
    result = cli.invoke(app, ["demo", "--out", str(run_dir), "--n-per-category", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    page = (run_dir / "report" / "instances" / "UEG-0.html").read_text()
    assert "rounds[0].image" in page  # the refine graph's rounds, an image per round
    row = page[page.index("rounds[0].image") :].split("</tr>")[0]
    assert '<img class="thumb"' in row and "sha256:" not in row.split("alt=")[0]


def test_composer_trace_prints_the_steps_as_plain_text(run: tuple[Path, Path]) -> None:
    run_dir, _ = run
    result = cli.invoke(app, ["trace", str(run_dir), "uni-step", "GEU-2"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert re.search(r"1\. edit · role editor · mock/uni edit", text)
    assert re.search(r"2\. answer · role reasoner · mock/uni understand", text)
    assert "images in: " in text and "image out: " in text
    shown = re.findall(r"(\S+/images/\S+\.png)", text)
    assert len(shown) == 4 and all(Path(p).is_file() for p in shown)  # in, out, in, output
    # The unified model's reply carries terminal escape sequences: dropped, the text kept.
    text = cli.invoke(app, ["trace", str(run_dir), "uni-direct", "GEU-2"]).stdout
    assert "\x1b" not in text and "\x07" not in text and "pwned" not in text
    assert re.search(r"^ +got: +A$", text, re.M)


def test_composer_trace_refuses_unknown_names_in_one_line(run: tuple[Path, Path]) -> None:
    run_dir, _ = run
    for args, named in (
        (["nope", "GEU-2"], "SYSTEM 'nope'"),
        (["composed", "GEU-99"], "INSTANCE 'GEU-99'"),
        (["composed", "GEU-2", "--seed", "3"], "--seed 3"),
    ):
        result = cli.invoke(app, ["trace", str(run_dir), *args])
        assert result.exit_code == 2, result.output
        assert named in result.output and "Traceback" not in result.output


def test_run_instances_runs_a_selection_and_the_report_says_so(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(config_text(write_fixture(tmp_path / "data")))
    run_dir = tmp_path / "run"
    result = cli.invoke(
        app,
        ["run", str(config), "--out", str(run_dir), "--quiet", "--instances", "UEG-1,GEU-1*"],
    )
    assert result.exit_code == 0, result.output
    store = RunStore(run_dir)
    try:
        ran = {r.instance for r in store.results()}
    finally:
        store.close()
    assert ran == {"UEG-1", "GEU-1", "GEU-10", "GEU-11", "GEU-12", "GEU-13", "GEU-14", "GEU-15"}
    assert "filtered" in result.stdout and "'GEU-1*'" in result.stdout
    report = json.loads(cli.invoke(app, ["report", str(run_dir), "--format", "json"]).stdout)
    assert "only instances matching 'UEG-1', 'GEU-1*'" in report["selection"]
    assert "covers the 8 instances" in report["selection"]
    markdown = cli.invoke(app, ["report", str(run_dir), "--format", "markdown"]).stdout
    assert "filtered" in markdown


def test_run_instances_that_match_nothing_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(config_text(write_fixture(tmp_path / "data")))
    run_dir = tmp_path / "run"
    result = cli.invoke(
        app, ["run", str(config), "--out", str(run_dir), "--quiet", "--instances", "UEG-1,zzz*"]
    )
    assert result.exit_code == 2, result.output
    assert "'zzz*'" in result.output and "matches no instance" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not run_dir.exists()


def test_the_steps_render_in_chromium(browser: Any, run: tuple[Path, Path]) -> None:
    from selenium.webdriver.common.by import By

    _, site = run
    assert open_page(browser, site / "instances" / "UEG-1.html") == []
    assert all(images_loaded(browser))
    tables = browser.find_elements(By.CSS_SELECTOR, "table.trace")
    assert [t.get_attribute("data-system") for t in tables] == [
        "uni-direct",
        "uni-step",
        "composed",
    ]
    rows = tables[2].find_elements(By.CSS_SELECTOR, "tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[1].text for r in rows] == [
        "rewrite",
        "draw",
        "judge",
        "judge",
    ]
    thumbs = tables[2].find_elements(By.CSS_SELECTOR, "img.thumb")
    assert thumbs and all(t.is_displayed() for t in thumbs)
    assert all(0 < t.size["width"] <= 96 for t in thumbs)
    # Every header cell of the judge and step tables sits on one line ("expected", not "exp
    # ecte d").
    lines = browser.execute_script(
        """
        return Array.from(document.querySelectorAll("table.judge th, table.trace th")).map(th => {
            const range = document.createRange();
            range.selectNodeContents(th);
            return [th.textContent, range.getClientRects().length];
        });
        """
    )
    assert lines and all(n == 1 for _, n in lines), lines
