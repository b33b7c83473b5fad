"""The embedded default end to end: the suite, the symbolic specialists, the runner, the report.

The side-channel tests prove the symbolic specialists see only the request text and pixels:
permuting the options leaves accuracy unchanged, blank images bring GEU to chance, and negated
UEG checks bring UEG to about zero.
"""

import json
import random
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from composer.benchmarks.loaders import load_benchmark
from composer.benchmarks.realunify import load_folder
from composer.benchmarks.realunify.protocol import choice_request
from composer.cli import app
from composer.core.config import parse_config
from composer.core.images import ImageStore
from composer.core.instance import EDIT, STEP
from composer.synthetic.demo import (
    demo_config,
    demo_systems,
    unimmmu_demo_config,
    write_suite_ahead,
)
from composer.synthetic.suite import write_suite

EXAMPLES = Path(__file__).parents[1] / "examples"
cli = CliRunner()


def report_of(run_dir: Path) -> dict:
    result = cli.invoke(app, ["report", str(run_dir), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def run_on(suite: Path, run_dir: Path, systems: dict, seed: int = 0) -> dict:
    import asyncio

    from composer.evaluation.runner import Runner

    config = parse_config(
        {
            "seed": seed,
            "benchmark": {"name": "synthetic", "path": str(suite)},
            "judge": {"model": "symbolic/reasoner"},
            "systems": systems,
        },
        source="test",
        base_dir=suite,
    )
    runner = Runner(config, run_dir)
    asyncio.run(runner.run())
    runner.close()
    return report_of(run_dir)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("demo") / "run"
    result = cli.invoke(app, ["demo", "--out", str(run_dir), "--n-per-category", "6", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "oracle" in result.stdout and "Total" in result.stdout
    assert "judges: agreement" in result.stdout and "symbolic/glance-judge" in result.stdout
    return run_dir


def test_demo_judges_with_two_judges_and_shows_their_agreement(demo_run: Path) -> None:
    judges = report_of(demo_run)["judges"]
    assert judges["judges"] == ["symbolic/reasoner", "symbolic/glance-judge"]
    (pair,) = judges["agreement"]
    # The glance judge reads the pixels at a third of the size: mostly, not always, the same.
    assert 0.5 < pair["instances"]["agreement"] < 1.0 and pair["disagreements"]
    page = (demo_run / "report" / "index.html").read_text()
    assert 'id="judges"' in page and "kappa" in page and 'value="jd"' in page


def test_demo_compares_composed_and_unified(demo_run: Path) -> None:
    report = report_of(demo_run)
    systems = report["systems"]
    assert set(systems) == set(demo_systems())
    assert systems["oracle"]["kind"] == "composed" and systems["naive-direct"]["kind"] == "unified"
    assert systems["painter-alone"]["kind"] == "specialist"
    assert (
        systems["naive-stepwise"]["mode"] == "stepwise"
        and systems["naive-direct"]["mode"] == "direct"
    )
    # Reasoning before drawing is what UEG rewards: the oracle computes, the naive model does not.
    assert systems["oracle"]["UEG"]["accuracy"] > systems["naive-stepwise"]["UEG"]["accuracy"]
    assert systems["naive-stepwise"]["UEG"]["accuracy"] > systems["naive-direct"]["UEG"]["accuracy"]
    assert (
        systems["oracle"]["UEG"]["counts"]["n"] == 36
        and systems["oracle"]["GEU"]["counts"]["n"] == 24
    )
    gaps = [c for c in report["comparisons"] if c["comparison"].startswith("integration gap")]
    assert {(c["a"], c["b"]) for c in gaps} == {("naive-stepwise", "naive-direct")}


def test_the_example_run_file_is_the_demo() -> None:
    example = tomllib.loads((EXAMPLES / "demo.toml").read_text())
    parsed = parse_config(example, source="demo.toml", base_dir=EXAMPLES)
    assert parsed.systems == demo_config().systems


def test_run_on_the_suite_folder_gives_the_demo_numbers(demo_run: Path, tmp_path: Path) -> None:
    systems = {name: demo_systems()[name] for name in ("oracle", "naive-direct", "reasoner-alone")}
    again = run_on(demo_run / "suite", tmp_path / "again", systems)
    demo = report_of(demo_run)

    def scores(system: dict) -> dict:
        return {
            axis: {k: v for k, v in system[axis].items() if k != "latency_s"}
            for axis in ("UEG", "GEU")
            if axis in system
        }

    for name in systems:
        assert scores(again["systems"][name]) == scores(demo["systems"][name])
        assert again["systems"][name]["total"] == demo["systems"][name]["total"]


def test_suite_is_deterministic_and_round_trips(tmp_path: Path) -> None:
    a = write_suite(tmp_path / "a", n_per_category=3, seed=5)
    b = write_suite(tmp_path / "b", n_per_category=3, seed=5)
    c = write_suite(tmp_path / "c", n_per_category=3, seed=6)
    for name in ("UEG_direct.json", "UEG_step.json", "GEU_direct.json", "GEU_step.json"):
        assert (a / name).read_text() == (b / name).read_text()
    assert (a / "UEG_direct.json").read_text() != (c / "UEG_direct.json").read_text()
    instances = load_folder(a, ImageStore(tmp_path / "images"))
    assert len(instances) == 30
    assert {i.category for i in instances if i.axis.value == "UEG"} == {
        "world_knowledge",
        "commonsense_reasoning",
        "mathematical_reasoning",
        "logical_reasoning",
        "scientific_reasoning",
        "code_to_image",
    }
    for instance in instances:
        if instance.axis.value == "UEG":
            assert instance.request(STEP) and instance.text in instance.request(STEP)
            assert any(c.answer == "no" for c in instance.references.checks)
        else:
            assert len(instance.images) == 1 and len(instance.field("options")) == 4
            assert instance.request(EDIT) and instance.field("evaluation_prompt")


def _rewrite_records(suite: Path, change) -> None:  # type: ignore[no-untyped-def]
    for name in ("UEG_direct.json", "UEG_step.json", "GEU_direct.json", "GEU_step.json"):
        records = json.loads((suite / name).read_text())
        for record in records:
            change(name, record)
        (suite / name).write_text(json.dumps(records))


SIDE = {
    name: demo_systems()[name]
    for name in ("oracle", "naive-stepwise", "reasoner-alone", "naive-direct")
}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("side")
    suite = write_suite(root / "suite", n_per_category=8, seed=3)
    return suite, run_on(suite, root / "run", SIDE)


def test_permuting_options_leaves_accuracy_unchanged(
    baseline: tuple[Path, dict], tmp_path: Path
) -> None:
    suite, report = baseline
    permuted = tmp_path / "suite"
    import shutil

    shutil.copytree(suite, permuted)

    def permute(name: str, record: dict) -> None:
        if not name.startswith("GEU"):
            return
        order = list(range(len(record["option"])))
        random.Random(record["index"]).shuffle(order)
        right = "ABCD".index(record["answer"])
        record["option"] = [record["option"][i] for i in order]
        record["answer"] = "ABCD"[order.index(right)]
        record["evaluation_prompt"] = choice_request(record["question"], record["option"])

    _rewrite_records(permuted, permute)
    again = run_on(permuted, tmp_path / "run", SIDE)
    for name in ("oracle", "naive-stepwise", "reasoner-alone", "naive-direct"):
        assert (
            again["systems"][name]["GEU"]["by_category"]
            == report["systems"][name]["GEU"]["by_category"]
        )


def test_blank_images_bring_geu_to_chance(baseline: tuple[Path, dict], tmp_path: Path) -> None:
    suite, report = baseline
    import shutil

    blank = tmp_path / "suite"
    shutil.copytree(suite, blank)
    for path in blank.rglob("*.png"):
        with Image.open(path) as image:
            size = image.size
        Image.new("RGB", size, "white").save(path)
    again = run_on(blank, tmp_path / "run", SIDE)
    for name in ("oracle", "reasoner-alone"):
        assert report["systems"][name]["GEU"]["accuracy"] > 45
        assert again["systems"][name]["GEU"]["accuracy"] <= 45, name
    mean = sum(again["systems"][n]["GEU"]["accuracy"] for n in SIDE) / len(SIDE)
    assert mean <= 40


def test_negated_checks_bring_ueg_to_about_zero(
    baseline: tuple[Path, dict], tmp_path: Path
) -> None:
    suite, report = baseline
    import shutil

    negated = tmp_path / "suite"
    shutil.copytree(suite, negated)

    def negate(name: str, record: dict) -> None:
        for check in record.get("question_list", []):
            check["answer"] = "no" if check["answer"] == "yes" else "yes"

    _rewrite_records(negated, negate)
    again = run_on(negated, tmp_path / "run", {k: v for k, v in SIDE.items() if "ueg" in v})
    assert report["systems"]["oracle"]["UEG"]["accuracy"] > 60
    for name in ("oracle", "naive-stepwise", "naive-direct"):
        assert again["systems"][name]["UEG"]["accuracy"] <= 5, name


def test_a_changed_suite_under_a_run_directory_is_refused(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    first = cli.invoke(app, ["demo", "--out", str(run_dir), "--n-per-category", "1", "--quiet"])
    assert first.exit_code == 0, first.output
    again = cli.invoke(app, ["demo", "--out", str(run_dir), "--n-per-category", "1", "--quiet"])
    assert again.exit_code == 0 and "0 tasks" in again.output
    changed = cli.invoke(
        app, ["demo", "--out", str(run_dir), "--n-per-category", "1", "--seed", "9", "--quiet"]
    )
    assert changed.exit_code == 2
    assert "other than the one this run folder holds" in changed.output
    assert "new --out" in changed.output


def _in_a_fresh_process(code: str) -> None:
    """Run `code` in a new interpreter: the demo forks only where no other thread runs, and
    the test process has threads of its own (other tests' executors)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_suite_written_ahead_is_the_one_the_run_reads(tmp_path: Path) -> None:
    config = demo_config(n_per_category=1)
    run_dir = tmp_path / "run"
    _in_a_fresh_process(
        "from pathlib import Path\n"
        "from composer.synthetic.demo import demo_config, write_suite_ahead\n"
        "import multiprocessing\n"
        f"wait = write_suite_ahead(demo_config(n_per_category=1), Path({str(run_dir)!r}))\n"
        "assert multiprocessing.active_children(), 'nothing was forked'\n"
        "wait()\n"
    )
    written = {p: p.read_bytes() for p in (run_dir / "suite").rglob("*") if p.is_file()}
    assert run_dir / "suite" / "suite.json" in written
    assert sorted(p.name for p in run_dir.iterdir()) == ["suite"]  # its images went elsewhere
    write_suite(tmp_path / "inline", n_per_category=1, seed=0)
    for path, data in written.items():
        if path.name != "suite.json":
            assert (tmp_path / "inline" / path.relative_to(run_dir / "suite")).read_bytes() == data
    images = ImageStore(tmp_path / "images")
    assert len(load_benchmark(config, images, run_dir)) == 10
    assert {p: p.read_bytes() for p in (run_dir / "suite").rglob("*") if p.is_file()} == written


def test_nothing_is_written_ahead_into_a_folder_that_holds_something(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("a run of mine")
    write_suite_ahead(demo_config(n_per_category=1), tmp_path)()
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def _untimed(value: object) -> object:
    """A report without what differs between two runs of the same tasks: times and folders."""
    timed = ("latency", "seconds", "model_s", "wall_s")
    if isinstance(value, dict):
        return {
            k: _untimed(v)
            for k, v in value.items()
            if k not in ("run_dir", "created") and not any(t in k for t in timed)
        }
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def test_a_run_beside_stores_what_the_same_run_in_process_stores(tmp_path: Path) -> None:
    from composer.cli.run import _run

    config = unimmmu_demo_config()
    _in_a_fresh_process(  # forked there, where nothing else runs
        "from pathlib import Path\n"
        "from composer.cli.commands import _run_beside\n"
        "from composer.synthetic.demo import unimmmu_demo_config\n"
        f"child = _run_beside(unimmmu_demo_config(), Path({str(tmp_path / 'beside')!r}))\n"
        "assert child is not None\n"
        "child.join()\n"
        "assert child.exitcode == 0\n"
    )
    _run(config, tmp_path / "here", quiet=True)
    beside, here = report_of(tmp_path / "beside"), report_of(tmp_path / "here")
    assert beside["systems"] and _untimed(beside) == _untimed(here)


def _small_demo(tmp_path: Path) -> Path:
    """The demo at 1 per category without its Uni-MMMU part, in `tmp_path / "run"`."""
    run_dir = tmp_path / "run"
    args = ["demo", "--out", str(run_dir), "--n-per-category", "1", "--quiet", "--no-uni-mmmu"]
    assert cli.invoke(app, args).exit_code == 0
    return run_dir


def _assert_same_files(first: Path, second: Path) -> None:
    """The two folders hold the same files, byte for byte."""
    files = sorted(p.relative_to(first) for p in first.rglob("*"))
    assert files == sorted(p.relative_to(second) for p in second.rglob("*"))
    for name in files:
        if (first / name).is_file():
            assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_the_html_report_written_beside_the_table_is_the_one_written_alone(
    tmp_path: Path,
) -> None:
    from composer.cli.html_ahead import write_html

    run_dir = _small_demo(tmp_path)
    write_html(run_dir, tmp_path / "alone")
    _in_a_fresh_process(  # forked there, where nothing else runs
        "from pathlib import Path\n"
        "import composer.core.fork as fork\n"
        "from composer.cli.run import _table_and_html\n"
        "started, start = [], fork.start_forked\n"
        "fork.start_forked = lambda *args: started.append(start(*args)) or started[-1]\n"
        f"folder = Path({str(tmp_path / 'beside')!r})\n"
        f"assert _table_and_html(Path({str(run_dir)!r}), folder) == folder / 'index.html'\n"
        "assert started and started[0] is not None, 'nothing was forked'\n"
    )
    _assert_same_files(tmp_path / "alone", tmp_path / "beside")


def test_the_html_writer_forked_ahead_writes_the_report_written_alone(tmp_path: Path) -> None:
    from composer.cli.html_ahead import write_html

    run_dir = _small_demo(tmp_path)
    write_html(run_dir, tmp_path / "alone")
    _in_a_fresh_process(  # forked there, where nothing else runs
        "from pathlib import Path\n"
        "from composer.cli.html_ahead import HtmlAhead\n"
        "from composer.cli.run import _table_and_html\n"
        "ahead = HtmlAhead.start()\n"
        "assert ahead is not None, 'nothing was forked'\n"
        "idle = HtmlAhead.start()\n"  # its pipe closed without a report: it writes nothing
        "idle._jobs.close()\n"
        "idle.child.join(30)\n"
        "assert idle.child.exitcode == 0\n"
        "stopped = HtmlAhead.start()\n"
        "stopped.cancel()\n"
        "assert stopped.child.exitcode is not None\n"
        f"folder = Path({str(tmp_path / 'ahead')!r})\n"
        f"assert _table_and_html(Path({str(run_dir)!r}), folder, ahead) == folder / 'index.html'\n"
        "assert ahead.child.exitcode == 0, 'the writer did not write it'\n"
    )
    _assert_same_files(tmp_path / "alone", tmp_path / "ahead")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ahead", "alone", "run"]


def test_a_failing_html_writer_leaves_the_report_to_the_command(tmp_path: Path) -> None:
    run_dir = _small_demo(tmp_path)
    _in_a_fresh_process(
        "import os\n"
        "from pathlib import Path\n"
        "import composer.cli.html_ahead as html_ahead\n"
        "from composer.cli.run import _table_and_html\n"
        "parent, real = os.getpid(), html_ahead.write_html\n"
        "def failing(*args, **kwargs):\n"
        "    if os.getpid() != parent:\n"
        "        raise OSError('disk full')\n"
        "    return real(*args, **kwargs)\n"
        "html_ahead.write_html = failing\n"
        "ahead = html_ahead.HtmlAhead.start()\n"
        f"folder = Path({str(tmp_path / 'report')!r})\n"
        f"assert _table_and_html(Path({str(run_dir)!r}), folder, ahead) == folder / 'index.html'\n"
        "assert ahead.child.exitcode == 1\n"
    )
    assert (tmp_path / "report" / "index.html").is_file()  # written by the command itself


def test_a_refused_demo_starts_no_uni_mmmu_run_beside(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    args = ["demo", "--out", str(run_dir), "--n-per-category", "1", "--quiet"]
    first = cli.invoke(app, [*args, "--no-uni-mmmu"])
    assert first.exit_code == 0, first.output
    before = sorted(p.relative_to(run_dir) for p in run_dir.rglob("*"))
    changed = cli.invoke(app, [*args, "--seed", "9"])
    assert changed.exit_code == 2, changed.output
    assert sorted(p.relative_to(run_dir) for p in run_dir.rglob("*")) == before


def test_synth_writes_the_realunify_files(tmp_path: Path) -> None:
    result = cli.invoke(
        app,
        ["synth", "--out", str(tmp_path / "s"), "--n-per-category", "2", "--difficulty", "easy"],
    )
    assert result.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "s").glob("*.json")) == [
        "GEU_direct.json",
        "GEU_step.json",
        "UEG_direct.json",
        "UEG_step.json",
    ]
    assert (
        cli.invoke(app, ["synth", "--out", str(tmp_path / "t"), "--difficulty", "brutal"]).exit_code
        == 2
    )


@pytest.mark.parametrize(
    "args",
    [
        ["demo", "--seed", "-1"],
        ["demo", "--seeds", "0,-1"],
        ["synth", "--seed", "-3"],
    ],
)
def test_a_negative_seed_is_refused_before_anything_is_written(
    args: list[str], tmp_path: Path
) -> None:
    """A run seed is 0 or more: a negative one used to run, then break every report of it."""
    result = cli.invoke(app, [*args, "--out", str(tmp_path / "out"), "--n-per-category", "1"])
    assert result.exit_code == 2, result.output
    assert "must be 0 or more" in result.output or "0 or more" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_compare_refuses_a_negative_bootstrap_seed(demo_run: Path) -> None:
    result = cli.invoke(app, ["compare", str(demo_run), "oracle", "naive-stepwise", "--seed", "-3"])
    assert result.exit_code == 2, result.output
    assert "--seed: must be 0 or more (got -3)." in result.output


def test_a_run_stored_with_a_negative_seed_still_reports() -> None:
    """Runs stored before seeds had to be 0 or more: the bootstrap takes their seed too."""
    from composer.report.noise import cluster_replicates

    d = np.array([[[1.0], [1.0]], [[1.0], [0.0]]])
    assert cluster_replicates(d, seed=-5, resamples=100).shape == (100,)


@pytest.mark.parametrize(
    ("args", "target"),
    [
        (["report", "--format", "json", "--output"], "run.db"),
        (["report", "--format", "markdown", "--output"], "run.db-wal"),
        (["report", "--format", "html", "--output"], "images"),
        (["report", "--format", "html", "--output"], "."),
        (["report", "--figures"], "images/figures"),
        (["export", "--output"], "."),
    ],
)
def test_a_report_is_never_written_over_the_runs_own_store(
    demo_run: Path, args: list[str], target: str
) -> None:
    before = {p: p.stat().st_mtime_ns for p in demo_run.rglob("*") if p.is_file()}
    command, *options = args
    result = cli.invoke(app, [command, str(demo_run), *options, str(demo_run / target)])
    assert result.exit_code == 2, result.output
    assert "would write over the run's own store" in result.output
    assert {p: p.stat().st_mtime_ns for p in demo_run.rglob("*") if p.is_file()} == before


def test_a_path_the_disk_refuses_is_one_line_and_exit_2_not_a_traceback(
    demo_run: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What the command could not write (a read-only folder, a full disk, a name too long) is
    an OSError met wherever it is written; the console script says so in one line."""
    from composer.cli import main

    too_long = tmp_path / ("a" * 300 + ".json")
    argv = ["composer", "report", str(demo_run), "--format", "json", "--output", str(too_long)]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 2
    printed = capsys.readouterr()
    assert "Traceback" not in printed.err + printed.out
    (line,) = printed.err.strip().splitlines()
    assert line.startswith(f"error {too_long}: File name too long (OSError).")
    assert "choose another path (--out, --output)" in line
