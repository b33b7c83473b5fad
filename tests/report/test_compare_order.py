"""`compare RUN A B` and `compare RUN B A` mirror each other; systems sharing nothing stop."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from composer.cli import app
from composer.evaluation.store import Result, RunStore
from composer.report import stats

cli = CliRunner()


def _result(system: str, instance: str, right: bool) -> Result:
    return Result(
        system=system,
        instance=instance,
        axis="UEG",
        category="world_knowledge",
        status="ok",
        correct_official=right,
        correct_strict=right,
    )


# 40 instances: A right on 24, B right on 20, 10 discordant one way and 6 the other.
OUTCOMES = {f"u{k:02d}": (k % 5 != 0 and k < 30, k % 2 == 0) for k in range(40)}


def _maps() -> tuple[dict[str, Result], dict[str, Result]]:
    # The two systems' results come in different orders, as a concurrent run stores them.
    ra = {i: _result("A", i, a) for i, (a, _) in OUTCOMES.items()}
    rb = {i: _result("B", i, b) for i, (_, b) in reversed(OUTCOMES.items())}
    return ra, rb


@pytest.mark.parametrize("seed", [0, 7, 12345])
def test_swapping_the_systems_mirrors_the_interval_exactly(seed: int) -> None:
    ra, rb = _maps()
    ab = stats.paired("A", "B", ra, rb, seed=seed)
    ba = stats.paired("B", "A", rb, ra, seed=seed)
    assert ab.only_a == ba.only_b and ab.only_a != ab.only_b
    assert (ab.ci_low, ab.ci_high) == (-ba.ci_high, -ba.ci_low)
    assert ab.difference == -ba.difference and ab.p_value == ba.p_value


def test_mirrored_with_as_many_gains_as_losses_and_a_zero_bound() -> None:
    # Equal discordant counts: the resample distribution is symmetric, but the draws only
    # mirror if both orders draw them for the same orientation.
    a = [True, False, True, False, True, True]
    b = [False, True, False, True, True, False]
    for seed in range(5):
        low, high = stats.bootstrap_interval(a, b, seed=seed)
        assert stats.bootstrap_interval(b, a, seed=seed) == (-high, -low)
    # All discordance one way: one bound is 0 and stays +0.0 (printed "+0.0", not "-0.0").
    low, high = stats.bootstrap_interval([False, False, True], [True, True, True], seed=1)
    assert high == 0.0 and f"{high:+.1f}" == "+0.0"
    mirrored = stats.bootstrap_interval([True, True, True], [False, False, True], seed=1)
    assert mirrored == (-high, -low) and f"{mirrored[0]:+.1f}" == "+0.0"


def _store(run_dir: Path, results: list[Result]) -> None:
    store = RunStore(run_dir)
    store.record_run({"judge": {"model": "m/j", "parser": "official"}}, {}, 11)
    for result in results:
        store.put_result(result)
    store.close()


def _interval(output: str) -> tuple[str, str]:
    row = next(line for line in output.splitlines() if "│ all" in line or "| all" in line)
    found = re.search(r"\[([+-]\d+\.\d), ([+-]\d+\.\d)\]", row)
    assert found is not None, row
    return found.group(1), found.group(2)


def test_compare_command_prints_mirrored_intervals(tmp_path: Path) -> None:
    ra, rb = _maps()
    _store(tmp_path / "run", [*ra.values(), *rb.values()])
    ab = cli.invoke(app, ["compare", str(tmp_path / "run"), "A", "B"])
    ba = cli.invoke(app, ["compare", str(tmp_path / "run"), "B", "A"])
    assert ab.exit_code == 0 and ba.exit_code == 0, ab.output + ba.output
    (low_ab, high_ab), (low_ba, high_ba) = _interval(ab.output), _interval(ba.output)
    assert float(low_ab) == -float(high_ba) and float(high_ab) == -float(low_ba)


def test_compare_of_systems_sharing_no_instance_stops(tmp_path: Path) -> None:
    _store(
        tmp_path / "run",
        [_result("A", "u0", True), _result("A", "u1", False), _result("B", "u2", True)],
    )
    result = cli.invoke(app, ["compare", str(tmp_path / "run"), "A", "B"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output
    assert "compare 'A' and 'B': the two systems share no instance (2 and 1 results" in lines[0]
