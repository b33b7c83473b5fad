"""Repeated seeds: one result per (system, instance, seed), resume between seeds, the report's
spread, and the cluster bootstrap against a case computed by hand."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from composer.cli import app
from composer.core.config import parse_config
from composer.core.errors import ConfigError
from composer.evaluation.runner import Runner
from composer.evaluation.store import Result, RunStore
from composer.report import noise, stats

cli = CliRunner()
SYSTEMS = {
    "oracle": {
        "ueg": "decompose-then-generate",
        "geu": "generate-then-reason",
        "roles": {
            "reasoner": "symbolic/reasoner",
            "generator": "symbolic/painter",
            "editor": "symbolic/painter",
        },
    },
    "naive": {"ueg": "direct", "geu": "direct", "roles": {"model": "symbolic/naive-unified"}},
}


def config(tmp_path: Path, **top: object):  # type: ignore[no-untyped-def]
    data = {
        **top,
        "concurrency": 1,
        "benchmark": {"name": "synthetic", "n_per_category": 1},
        "judge": {"model": "symbolic/reasoner"},
        "systems": SYSTEMS,
    }
    return parse_config(data, source="test", base_dir=tmp_path)


def run(cfg, run_dir: Path) -> None:  # type: ignore[no-untyped-def]
    runner = Runner(cfg, run_dir)
    try:
        asyncio.run(runner.run())
    finally:
        runner.close()


def rows(run_dir: Path) -> dict[tuple[str, str, int], tuple[str, bool | None, str]]:
    store = RunStore(run_dir)
    try:
        return {
            (r.system, r.instance, r.seed): (r.status, r.correct_official, json.dumps(r.output))
            for r in store.results()
        }
    finally:
        store.close()


def test_a_result_per_seed_and_the_report_shows_the_spread(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run(config(tmp_path, seeds=[0, 1, 2]), run_dir)
    found = rows(run_dir)
    assert len(found) == 2 * 10 * 3
    assert {k[2] for k in found} == {0, 1, 2}
    # A drawing gets each seed's own instance seed: the painted images differ between seeds.
    images = {found[("oracle", "UEG-0", s)][2] for s in (0, 1, 2)}
    assert len(images) == 3
    result = cli.invoke(app, ["report", str(run_dir), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["seeds"] == [0, 1, 2]
    ueg = report["systems"]["oracle"]["UEG"]
    assert set(ueg["by_seed"]) == {"0", "1", "2"}
    values = list(ueg["by_seed"].values())
    assert ueg["accuracy"] == pytest.approx(np.mean(values))
    assert ueg["seed_sd"] == pytest.approx(float(np.std(values, ddof=1)))
    assert set(report["pass_rates"]["oracle"]) == {i for _, i, _ in found}
    assert all(p["noise"] == "instances + seeds" for p in report["paired"])
    jsonl = cli.invoke(app, ["report", str(run_dir), "--format", "jsonl"]).stdout
    assert {json.loads(line)["seed"] for line in jsonl.splitlines()} == {0, 1, 2}
    table = cli.invoke(app, ["report", str(run_dir)]).stdout
    assert "by run seed" in table


def test_one_seed_reads_as_before(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run(config(tmp_path, seed=0), run_dir)
    report = json.loads(cli.invoke(app, ["report", str(run_dir), "--format", "json"]).stdout)
    entry = report["systems"]["oracle"]["UEG"]
    assert entry["seed_sd"] is None and list(entry["by_seed"]) == ["0"]
    assert "pass_rates" not in report and "total_by_seed" not in report["systems"]["oracle"]
    assert all(p["noise"] == "instances" for p in report["paired"])


def test_resume_of_a_run_stopped_between_seeds(tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    run(config(tmp_path, seeds=[0, 1]), clean)
    stopped = tmp_path / "stopped"
    runner = Runner(config(tmp_path, seeds=[0, 1]), stopped)
    per_seed = len(runner.tasks) // 2
    assert [t.seed for t in runner.tasks] == [0] * per_seed + [1] * per_seed

    async def stop_after_first_seed() -> None:
        main = asyncio.ensure_future(runner.run())
        done = 0

        def progress(system: str, result: Result) -> None:
            nonlocal done
            done += 1
            if done == per_seed:
                main.cancel()

        runner.on_progress = progress
        with pytest.raises(asyncio.CancelledError):
            await main

    try:
        asyncio.run(stop_after_first_seed())
    finally:
        runner.close()
    assert {k[2] for k in rows(stopped)} == {0}
    again = Runner(config(tmp_path, seeds=[0, 1]), stopped)
    try:
        assert again.skipped == per_seed and {t.seed for t in again.tasks} == {1}
        summary = asyncio.run(again.run())
    finally:
        again.close()
    assert summary.failed == 0
    assert rows(stopped) == rows(clean)
    store = RunStore(stopped)
    try:
        assert all(row["sent"] == 1 for row in store.call_rows())
    finally:
        store.close()


def test_seed_and_seeds_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="both seed and seeds"):
        config(tmp_path, seed=0, seeds=[0, 1])
    with pytest.raises(ConfigError, match="repeats a seed"):
        config(tmp_path, seeds=[1, 1])


def test_cluster_bootstrap_matches_the_case_computed_by_hand() -> None:
    # Two instances, two seeds, one judge: instance 1 differs by 1 on both seeds, instance 2 by
    # 1 on one seed and 0 on the other. A replicate is the mean of two independent draws X,
    # each X = 1 (instance 1 drawn, 1/2; or instance 2 with both seeds drawn as the 1, 1/8),
    # 0.5 (instance 2, mixed seeds: 1/4) or 0 (instance 2, both 0: 1/8). So E[X] = 3/4,
    # Var[X] = 11/16 - 9/16 = 1/8, and a replicate has mean 3/4 and variance 1/16.
    # P(replicate = 0) = 1/64 and P(replicate = 1/4) = 2 x 1/8 x 1/4 = 1/16, so the 2.5% point
    # is 1/4; P(replicate = 1) = (5/8)^2 = 0.39, so the 97.5% point is 1.
    d = np.array([[[1.0], [1.0]], [[1.0], [0.0]]])
    many = noise.cluster_replicates(d, seed=0, resamples=200_000)
    assert many.mean() == pytest.approx(0.75, abs=0.003)
    assert many.var() == pytest.approx(1 / 16, abs=0.002)
    assert set(np.unique(many)) == {0.0, 0.25, 0.5, 0.75, 1.0}
    assert (many == 0).mean() == pytest.approx(1 / 64, abs=0.002)
    assert (many == 1).mean() == pytest.approx(25 / 64, abs=0.005)
    assert noise.cluster_interval(d, seed=0) == (25.0, 100.0)
    assert noise.cluster_interval(-d, seed=0) == (-100.0, -25.0)  # B against A: mirrored


def _result(system: str, instance: str, seed: int, right: bool) -> Result:
    return Result(
        system=system,
        instance=instance,
        seed=seed,
        axis="UEG",
        category="world_knowledge",
        status="ok",
        correct_official=right,
        correct_strict=right,
    )


def test_pass_rates_sign_test_and_mirrored_intervals() -> None:
    rng = np.random.default_rng(5)
    results = [
        _result(system, f"u{i}", seed, bool(rng.random() < (0.7 if system == "A" else 0.5)))
        for system in ("A", "B")
        for i in range(30)
        for seed in (0, 1, 2)
    ]
    grouped = noise.outcomes(results)
    ab = noise.paired_outcomes("A", "B", grouped["A"], grouped["B"], seed=3)
    ba = noise.paired_outcomes("B", "A", grouped["B"], grouped["A"], seed=3)
    assert (ab.ci_low, ab.ci_high) == (-ba.ci_high, -ba.ci_low)
    assert ab.noise == "instances + seeds" and ab.seeds == 3
    rates_a, rates_b = grouped["A"].rates(), grouped["B"].rates()
    higher = sum(rates_a[i] > rates_b[i] for i in rates_a)
    lower = sum(rates_a[i] < rates_b[i] for i in rates_a)
    assert (ab.only_a, ab.only_b) == (higher, lower)
    assert ab.p_value == stats.mcnemar_exact(higher, lower)
    assert ab.difference == pytest.approx(
        100 * (np.mean(list(rates_a.values())) - np.mean(list(rates_b.values())))
    )


def test_with_one_seed_the_comparison_is_the_mcnemar_one() -> None:
    rng = np.random.default_rng(2)
    results = [
        _result(s, f"u{i}", 0, bool(rng.random() < 0.6)) for s in ("A", "B") for i in range(40)
    ]
    grouped = noise.outcomes(results)
    new = noise.paired_outcomes("A", "B", grouped["A"], grouped["B"], seed=1)
    by = stats.by_system(results)
    old = stats.paired("A", "B", by["A"], by["B"], seed=1)
    assert new.as_dict() == old.as_dict()
