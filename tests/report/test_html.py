"""The HTML report: written from a mock run, opened in headless Chromium."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from chromium import has_alert, images_loaded, open_page
from mockbench import config_text, write_fixture
from typer.testing import CliRunner

from composer.cli import app
from composer.core.images import ImageRef, ImageStore
from composer.evaluation.store import RunStore
from composer.report.html import write_html
from composer.report.pages import relative_image

cli = CliRunner()
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=\"document.title='pwned'\">"


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("html")
    config = root / "c.toml"
    text = config_text(write_fixture(root / "data"))
    # The unified model answers every unmatched request with markup; so does the reasoner.
    text = text.replace('default = "A"', f"default = {json.dumps(SCRIPT + ' A')}")
    text = text.replace('default = "E"', f"default = {json.dumps(IMG + ' E')}")
    config.write_text(text)
    run_dir = root / "run"
    result = cli.invoke(app, ["run", str(config), "--out", str(run_dir), "--quiet"])
    assert result.exit_code == 1, result.output  # the fixture's scripted failure: incomplete
    out = root / "site"
    result = cli.invoke(app, ["report", str(run_dir), "--format", "html", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out / "index.html")
    return out


def test_an_instance_page_of_ascii_texts_is_ascii(report_dir: Path) -> None:
    """The page's own markup is ASCII (entities for its separators and arrows).

    One other character in it made every page a two-byte string, whose joins and UTF-8
    encoding were a tenth of a large report's page instructions; the fixture's texts are ASCII.
    """
    pages = list((report_dir / "instances").glob("*.html"))
    assert pages and all(page.read_bytes().isascii() for page in pages)


def test_the_folder_holds_index_pages_thumbnails_and_charts(report_dir: Path) -> None:
    assert (report_dir / "index.html").stat().st_size > 1000
    assert len(list((report_dir / "instances").glob("*.html"))) == 40
    assert (report_dir / "charts" / "ueg.png").exists() and (
        report_dir / "charts" / "geu.png"
    ).exists()
    assert list((report_dir / "thumbs").glob("*.jpg"))
    index = (report_dir / "index.html").read_text()
    assert "http://" not in index and "https://" not in index  # nothing fetched from a network
    assert "graph TD" in index or "flowchart" in index  # the Mermaid source of each graph
    for page in report_dir.rglob("*.html"):
        text = page.read_text()
        assert SCRIPT not in text and 'onerror="document' not in text, page
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;"
        in (report_dir / "instances" / "GEU-0.html").read_text()
    )


def test_index_renders_the_table_and_filters(
    browser: Any, report_dir: Path, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    errors = open_page(browser, report_dir / "index.html")
    assert errors == []
    assert not has_alert(browser)
    rows = browser.find_elements(By.CSS_SELECTOR, "#systems-1 tbody tr")
    assert [r.find_element(By.TAG_NAME, "td").text for r in rows] == [
        "uni-direct",
        "uni-step",
        "composed",
    ]
    assert "Total" in browser.find_element(By.ID, "systems-1").text
    assert all(images_loaded(browser))
    count = browser.find_element(By.ID, "f-count")
    assert count.text == "40"
    Select(browser.find_element(By.ID, "f-category")).select_by_value("mental_tracking")
    assert count.text == "4"
    Select(browser.find_element(By.ID, "f-category")).select_by_value("")
    Select(browser.find_element(By.ID, "f-outcome")).select_by_value("f2")  # composed failed
    assert count.text == "2"  # the scripted failure and the refusal
    Select(browser.find_element(By.ID, "f-outcome")).select_by_value("")
    browser.find_element(By.ID, "f-disagree").click()
    shown = int(count.text)
    assert 0 < shown < 40
    visible = [
        r
        for r in browser.find_elements(By.CSS_SELECTOR, "#instances-table tbody tr")
        if r.is_displayed()
    ]
    assert len(visible) == shown
    shot = tmp_path / "index.png"
    assert browser.save_screenshot(str(shot)) and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert open_page(browser, report_dir / "index.html") == []


def test_an_instance_page_shows_every_system_and_its_images(
    browser: Any, report_dir: Path, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    assert open_page(browser, report_dir / "instances" / "GEU-1.html") == []
    assert all(images_loaded(browser))  # the step tables' thumbnails too
    full = browser.find_elements(By.CSS_SELECTOR, "img.full")
    assert len(full) == 3  # the input and two edited images
    cards = browser.find_elements(By.CSS_SELECTOR, "article.card h2")
    assert [c.text for c in cards] == ["uni-direct", "uni-step", "composed"]
    assert "expected answer: B" in browser.find_element(By.TAG_NAME, "body").text
    assert open_page(browser, report_dir / "instances" / "UEG-1.html") == []
    assert all(images_loaded(browser))
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "rewritten prompt" in body and "Are there" in body  # a rewrite and judge questions
    assert browser.find_elements(By.CSS_SELECTOR, "table.judge tbody tr")
    assert browser.save_screenshot(str(tmp_path / "instance.png"))


def test_model_markup_is_shown_as_text_and_runs_nothing(browser: Any, report_dir: Path) -> None:
    from selenium.webdriver.common.by import By

    assert open_page(browser, report_dir / "instances" / "GEU-0.html") == []
    assert not has_alert(browser)
    assert browser.execute_script("return document.scripts.length") == 0
    assert browser.title != "pwned"
    body = browser.find_element(By.TAG_NAME, "body").text
    assert SCRIPT in body
    page = report_dir / "instances" / "GEU-3.html"  # the reasoner's markup ("E" default)
    assert open_page(browser, page) == []
    assert browser.title != "pwned" and IMG in browser.find_element(By.TAG_NAME, "body").text
    assert not has_alert(browser)
    open_page(browser, report_dir / "index.html")
    assert not has_alert(browser)
    assert [
        s.get_attribute("src").rsplit("/", 1)[-1]
        for s in browser.find_elements(By.TAG_NAME, "script")
    ] == ["report.js"]


def _listed(page: Path) -> list[str]:
    """The instance ids a page of the instance list holds, in order."""
    return re.findall(
        r'<tr data-c="[^"]*" data-o="[^"]*" data-d="\d"><td><a href="instances/'
        r'[^"]+">([^<]+)</a>',
        page.read_text(),
    )


def test_a_long_instance_list_goes_on_in_pages(
    browser: Any, report_dir: Path, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    store = RunStore(report_dir.parent / "run")
    try:
        site = write_html(store, tmp_path / "paged", list_rows=16).parent
    finally:
        store.close()
    names = ["index.html", "index-2.html", "index-3.html"]
    assert sorted(p.name for p in site.glob("index*.html")) == sorted(names)
    pages = [_listed(site / name) for name in names]
    assert [len(p) for p in pages] == [16, 16, 8]
    # Every instance once, in the order of the list on one page.
    assert [i for p in pages for i in p] == _listed(report_dir / "index.html")
    # The tables stay on the index; an instance page leads back to the page that lists it.
    assert 'id="systems-1"' in (site / "index.html").read_text()
    assert 'id="systems-1"' not in (site / "index-2.html").read_text()
    back = (site / "instances" / f"{pages[1][3]}.html").read_text()
    assert '<a href="../index-2.html#instances">index</a>' in back

    assert open_page(browser, site / "index-3.html") == []
    assert not has_alert(browser)
    assert all(images_loaded(browser))
    assert browser.find_element(By.ID, "f-count").text == "8"  # the filters count this page
    pager = browser.find_elements(By.CSS_SELECTOR, "nav.pages a")
    assert {a.text for a in pager} == {"1", "2"}
    for link in pager:
        assert Path(link.get_attribute("href").split("#")[0].removeprefix("file://")).is_file()
    assert [
        s.get_attribute("src").rsplit("/", 1)[-1]
        for s in browser.find_elements(By.TAG_NAME, "script")
    ] == ["report.js"]

    # Written again into the same folder with one page: the pages after it are gone.
    store = RunStore(report_dir.parent / "run")
    try:
        write_html(store, site, list_rows=1000)
    finally:
        store.close()
    assert [p.name for p in site.glob("index*.html")] == ["index.html"]
    assert len(_listed(site / "index.html")) == 40


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")  # no cursor left
@pytest.mark.parametrize(
    ("damage", "named"),
    [
        ("UPDATE calls SET request = '{not json' WHERE rowid = 2", "the calls row"),
        ("UPDATE calls SET model = NULL WHERE rowid = 3", "the calls row"),
        ("UPDATE calls SET reply = reply || ' {}' WHERE rowid = 2", "the calls row"),
        ("UPDATE calls SET request = '[1]' WHERE rowid = 2", "the calls row"),
        ("UPDATE judgments SET position = 'x' WHERE rowid = 1", "the judgments row of"),
        ("UPDATE judgments SET reply = NULL WHERE rowid = 1", "the judgments row of"),
        ("UPDATE judgments SET question = x'41' WHERE rowid = 1", "the judgments row of"),
        ("UPDATE judgments SET official = x'41' WHERE rowid = 1", "the judgments row of"),
    ],
)
def test_a_row_the_pages_cannot_read_is_named_in_one_line(
    report_dir: Path, tmp_path: Path, damage: str, named: str
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(report_dir.parent / "run", run_dir)
    db = sqlite3.connect(run_dir / "run.db")
    db.execute(damage)
    db.commit()
    db.close()
    result = cli.invoke(
        app, ["report", str(run_dir), "--format", "html", "--output", str(tmp_path / "h")]
    )
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "is damaged" in lines[0] and named in lines[0], result.output
    assert "Traceback" not in result.output


def test_pages_link_each_image_where_the_image_store_keeps_it() -> None:
    """The pages build an image's path as text; the store's layout rule is the one it follows."""
    sha = hashlib.sha256(b"an image").hexdigest()
    assert relative_image(sha) == ImageStore.relative_path(ImageRef(sha256=sha)).as_posix()
