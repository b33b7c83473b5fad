"""Values no run can use: refused at start with one line, exit 2, and nothing written.

Class 11: a number that is not finite (`nan`, `inf`, a literal past a float's range) or that
overflows (weights whose sum is infinite, an integer past 64 bits) anywhere in a run file:
the run would have gone ahead and every report after it crashed, or a task would never end.
Class 13: a run file nested thousands deep, and a `--systems` or `--rerun` that names nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError
from realunify_fixture import RUN_SYSTEMS, config, write_realunify
from typer.testing import CliRunner

from composer.cli import app
from composer.core.config import parse_config
from composer.core.errors import ConfigError
from composer.specialists.base import Usage
from composer.specialists.pricing import Price

cli = CliRunner()
BIG = str(2**70)


def _run_file(tmp: Path, edit: Callable[[str], str] = lambda text: text) -> Path:
    data = write_realunify(tmp / "RealUnify")
    run_file = tmp / "run.toml"
    run_file.write_text(edit(config(data, RUN_SYSTEMS)))
    return run_file


def _under(table: str, line: str) -> Callable[[str], str]:
    return lambda text: text.replace(f"{table}\n", f"{table}\n{line}\n", 1)


def _top(line: str) -> Callable[[str], str]:
    return lambda text: f"{line}\n{text}"


# (how the run file changes, extra arguments, what the one line says)
CASES: dict[str, tuple[Callable[[str], str], tuple[str, ...], str]] = {
    "total_weights NaN": (
        _under("[benchmark]", "total_weights = { UEG = nan, GEU = 0.4 }"),
        (),
        "key benchmark.total_weights.UEG: is not a finite number (got nan).",
    ),
    "total_weights inf": (
        _under("[benchmark]", "total_weights = { UEG = 0.6, GEU = inf }"),
        (),
        "key benchmark.total_weights.GEU: is not a finite number (got inf).",
    ),
    "total_weights 1e400 (past a float)": (
        _under("[benchmark]", "total_weights = { UEG = 1e400 }"),
        (),
        "key benchmark.total_weights.UEG: is not a finite number (got inf).",
    ),
    "total_weights 1e308 twice (the sum overflows)": (
        _under("[benchmark]", "total_weights = { UEG = 1e308, GEU = 1e308 }"),
        (),
        "key benchmark.total_weights: sums to more than a number can hold",
    ),
    "model option nan (mock latency_s)": (
        _under('[models."mock/judge"]', "latency_s = nan"),
        (),
        'key models."mock/judge".latency_s: is not a finite number (got nan).',
    ),
    "call-layer option -inf (timeout_s)": (
        _under('[models."mock/vlm"]', "timeout_s = -inf"),
        (),
        'key models."mock/vlm".timeout_s: is not a finite number (got -inf).',
    ),
    "call-layer option nan (retry_initial_s)": (
        _under('[models."mock/vlm"]', "retry_initial_s = nan"),
        (),
        'key models."mock/vlm".retry_initial_s: is not a finite number (got nan).',
    ),
    "judge option nan, nested": (
        _under("[judge]", "options = { x = [1, { y = nan }] }"),
        (),
        "key judge.options.x[1].y: is not a finite number (got nan).",
    ),
    "graph option inf": (
        lambda text: text.replace('ueg = "direct"', 'ueg = { graph = "direct", t = inf }', 1),
        (),
        "key systems.model.ueg.t: is not a finite number (got inf).",
    ),
    "seed past 64 bits": (_top(f"seed = {BIG}"), (), f"key seed: is too large to store (got {BIG}"),
    "seeds past 64 bits": (
        _top(f"seeds = [0, {BIG}]"),
        (),
        f"key seeds[1]: is too large to store (got {BIG}",
    ),
    "a system name with a comma": (
        lambda text: text.replace("[systems.model]", '[systems."a,b"]', 1),
        (),
        "key systems: has a system named 'a,b', with a comma: rename it",
    ),
    "a system name with a space around it": (
        lambda text: text.replace("[systems.model]", '[systems."model "]', 1),
        (),
        "key systems: has a system named 'model ', with spaces around it",
    ),
    "an empty system name": (
        lambda text: text.replace("[systems.model]", '[systems.""]', 1),
        (),
        "key systems: has a system with an empty name ('')",
    ),
    "a negative seed": (_top("seed = -5"), (), "key seed:"),
    "a negative seed in seeds": (_top("seeds = [0, -1]"), (), "key seeds: takes whole numbers 0"),
    "max_concurrency past 64 bits": (
        _under('[models."mock/vlm"]', f"max_concurrency = {BIG}"),
        (),
        'key models."mock/vlm".max_concurrency: is too large to store',
    ),
    "arrays 5,000 deep": (
        _top("x = " + "[" * 5000 + "]" * 5000),
        (),
        "run.toml: is nested too deeply to read",
    ),
    "inline tables 5,000 deep": (
        _top("x = " + "{ a = " * 5000 + "1" + " }" * 5000),
        (),
        "run.toml: is nested too deeply to read",
    ),
    "options 40 deep (within what TOML reads)": (
        _under("[judge]", "options = { x = " + "[" * 40 + "]" * 40 + " }"),
        (),
        "is nested more than 32 tables or lists deep",
    ),
    '--systems ","': (lambda text: text, ("--systems", ","), "--systems: names no system."),
    '--systems ""': (lambda text: text, ("--systems", ""), "--systems: names no system."),
    '--rerun ","': (lambda text: text, ("--rerun", " , "), "--rerun: names no system."),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_value_no_run_can_use_stops_it_with_one_line(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    edit, extra, expected = CASES[case]
    run_file = _run_file(tmp_path, edit)
    result = cli.invoke(app, ["run", str(run_file), "--out", "out", "--quiet", *extra])
    assert result.exit_code == 2, result.output
    assert expected in result.output, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists(), "a rejected run writes nothing"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_the_api_refuses_non_finite_numbers_too(value: float) -> None:
    """A run file given as a dict (composer.api.config) goes through the same check."""
    data = {
        "benchmark": {"total_weights": {"UEG": value}},
        "systems": {"s": {"ueg": "direct", "roles": {"model": "mock/m"}}},
    }
    with pytest.raises(ConfigError, match="is not a finite number"):
        parse_config(data, source="config(...)", base_dir=Path("."))


def test_ordinary_weights_and_numbers_still_run(tmp_path: Path) -> None:
    edit = _under("[benchmark]", "total_weights = { UEG = 1e300, GEU = 1e-300 }")
    run_file = _run_file(tmp_path, edit)
    result = cli.invoke(app, ["run", str(run_file), "--out", str(tmp_path / "o"), "--quiet"])
    assert result.exit_code in (0, 1), result.output  # ran (1: some mock answers fail)
    report = cli.invoke(app, ["report", str(tmp_path / "o"), "--format", "json"])
    assert report.exit_code == 0, report.output


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e308])
def test_a_price_that_would_overflow_a_runs_cost_is_refused(value: float) -> None:
    with pytest.raises(ValidationError):
        Price(per_image=value)
    assert Price(per_image=0.04).cost(Usage(images=10**6)) == pytest.approx(40_000.0)
