"""`compare RUN A B` and `compare RUN B A` mirror each other; systems sharing nothing stop."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from composer.cli import app
from composer.evaluation.store import Result
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


def _suite(root: Path) -> Path:
    # 40 GEU instances, answers A, B, C in turn (14, 13, 13): a system that always answers A
    # and one that always answers B disagree on 27, 14 one way and 13 the other.
    (root / "images").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(root / "images" / "g.png")
    rows = [
        {
            "id": f"g{k:02d}",
            "axis": "GEU",
            "category": "geometry" if k < 20 else "charts",
            "image": "images/g.png",
            "question": f"Question {k}?",
            "options": ["1", "2", "3", "4"],
            "answer": "ABC"[k % 3],
        }
        for k in range(40)
    ]
    path = root / "suite.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _run(tmp_path: Path, suite: Path, systems: str, categories: str = "") -> Path:
    config = tmp_path / "run.toml"
    config.write_text(
        f'[benchmark]\nname = "jsonl"\npath = "{suite}"\n{categories}\n'
        '[systems.A]\ngeu = "direct"\nroles = { model = "mock/a" }\n'
        '[systems.B]\ngeu = "direct"\nroles = { model = "mock/b" }\n'
        '[models."mock/a"]\ndefault = "A"\n[models."mock/b"]\ndefault = "B"\n'
    )
    run_dir = tmp_path / "run"
    result = cli.invoke(
        app, ["run", str(config), "--out", str(run_dir), "--quiet", "--systems", systems]
    )
    assert result.exit_code == 0, result.output
    return run_dir


def _interval(output: str) -> tuple[float, float]:
    row = next(line for line in output.splitlines() if re.match(r"\W*all\b", line))
    found = re.search(r"\[([+-]\d+\.\d), ([+-]\d+\.\d)\]", row)
    assert found is not None, row
    return float(found.group(1)), float(found.group(2))


def test_compare_command_prints_mirrored_intervals(tmp_path: Path) -> None:
    run_dir = _run(tmp_path, _suite(tmp_path / "suite"), "A,B")
    ab = cli.invoke(app, ["compare", str(run_dir), "A", "B"])
    ba = cli.invoke(app, ["compare", str(run_dir), "B", "A"])
    assert ab.exit_code == 0 and ba.exit_code == 0, ab.output + ba.output
    (low_ab, high_ab), (low_ba, high_ba) = _interval(ab.output), _interval(ba.output)
    assert (low_ab, high_ab) == (-high_ba, -low_ba) and low_ab < 2.5 < high_ab


def test_compare_of_systems_sharing_no_instance_stops(tmp_path: Path) -> None:
    suite = _suite(tmp_path / "suite")
    _run(tmp_path, suite, "A", 'categories = ["geometry"]')
    run_dir = _run(tmp_path, suite, "B", 'categories = ["charts"]')
    result = cli.invoke(app, ["compare", str(run_dir), "A", "B"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output
    assert "compare 'A' and 'B': the two systems share no instance (20 and 20 results" in lines[0]
