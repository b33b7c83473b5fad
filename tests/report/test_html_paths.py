"""The HTML report's links are URLs: a run folder named with "#", "?", "%" or a space works."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

from realunify_fixture import RUN_SYSTEMS, config, write_realunify
from typer.testing import CliRunner

from composer.cli import app

cli = CliRunner()


def test_every_local_link_resolves_whatever_the_run_folder_is_called(tmp_path: Path) -> None:
    """The instance pages link the run's full-size images by a relative path; unquoted, a "#"
    in it began a fragment, a "?" a query and "%41" read as "A": every image was missing."""
    data = write_realunify(tmp_path / "RealUnify")
    (tmp_path / "run.toml").write_text(config(data, RUN_SYSTEMS))
    run_dir = tmp_path / "weird #1 %41?x" / "run"
    done = cli.invoke(app, ["run", str(tmp_path / "run.toml"), "--out", str(run_dir), "--quiet"])
    assert done.exit_code in (0, 1), done.output
    out = tmp_path / "report"
    wrote = cli.invoke(app, ["report", str(run_dir), "--format", "html", "--output", str(out)])
    assert wrote.exit_code == 0, wrote.output
    checked = 0
    for page in out.rglob("*.html"):
        for link in re.findall(r'(?:src|href)="([^"]+)"', page.read_text()):
            parts = urllib.parse.urlsplit(link)
            if parts.scheme or not parts.path:
                continue
            target = (page.parent / urllib.parse.unquote(parts.path)).resolve()
            assert target.exists(), (page.name, link)
            checked += 1
    assert checked


def test_a_report_written_again_for_fewer_instances_leaves_no_stale_page(tmp_path: Path) -> None:
    """The folder holds this report alone: a page of an instance the run no longer shows (an
    earlier report, a wider selection) is removed, as an earlier report's extra list pages
    are."""
    data = write_realunify(tmp_path / "RealUnify")
    (tmp_path / "run.toml").write_text(config(data, RUN_SYSTEMS))
    out = tmp_path / "report"
    pages = []
    for picked in ("UEG-*", "UEG-0"):
        run_dir = tmp_path / f"run-{len(pages)}"
        ran = cli.invoke(
            app,
            ["run", str(tmp_path / "run.toml"), "--out", str(run_dir), "--quiet"]
            + ["--instances", picked],
        )
        assert ran.exit_code in (0, 1), ran.output
        wrote = cli.invoke(app, ["report", str(run_dir), "--format", "html", "--output", str(out)])
        assert wrote.exit_code == 0, wrote.output
        pages.append(sorted(p.name for p in (out / "instances").glob("*.html")))
    assert len(pages[0]) > 1 and pages[1] == ["UEG-0.html"]
