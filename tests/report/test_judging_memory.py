"""The report's bootstraps in constant memory, with the same numbers (issue 25, class 16).

The judges' agreement built arrays of resamples x (judged question pairs), and the cluster
bootstrap (several judges or seeds) arrays of resamples x instances x seeds x judges: 312 MB
of report at 60 instances per category. Both now draw the same values a piece at a time, so a
seed gives the numbers the arrays gave (tests/perf/report_memory.py measures the whole report).
"""

from __future__ import annotations

import random
import tracemalloc
from typing import Any

import numpy as np
import pytest

from composer.report import noise
from composer.report.judging import _interval


def _by_arrays(pairs: list[tuple[Any, Any]], seed: int, resamples: int) -> dict[str, Any]:
    """The bootstrap as it was written before: every resample of the items as an array."""
    labels = {label: k for k, label in enumerate(sorted({str(x) for p in pairs for x in p}))}
    a = np.array([labels[str(x)] for x, _ in pairs])
    b = np.array([labels[str(y)] for _, y in pairs])
    picks = np.random.default_rng(seed).integers(0, len(pairs), size=(resamples, len(pairs)))
    sa, sb = a[picks], b[picks]
    observed = (sa == sb).mean(axis=1)
    expected = sum((sa == k).mean(axis=1) * (sb == k).mean(axis=1) for k in labels.values())
    defined = expected < 1.0
    kappas = (observed[defined] - expected[defined]) / (1.0 - expected[defined])
    out: dict[str, Any] = {
        "agreement_ci95": [float(v) for v in np.quantile(observed, [0.025, 0.975])]
    }
    out["kappa_ci95"] = (
        [float(v) for v in np.quantile(kappas, [0.025, 0.975])] if kappas.size else None
    )
    return out


def _pairs(n: int, labels: list[Any], seed: int) -> list[tuple[Any, Any]]:
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        x = rng.choice(labels)
        pairs.append((x, x if rng.random() < 0.7 else rng.choice(labels)))
    return pairs


@pytest.mark.parametrize("n", [1, 5, 333, 4_000])
@pytest.mark.parametrize("labels", [["yes", "no"], ["yes", "no", "unread"], [True, False], ["yes"]])
def test_the_intervals_are_the_numbers_the_arrays_gave(n: int, labels: list[Any]) -> None:
    pairs = _pairs(n, labels, seed=n)
    for seed in (0, 11):
        assert _interval(pairs, seed=seed, resamples=300) == _by_arrays(pairs, seed, 300)


def _peak_bytes(n: int) -> int:
    pairs = _pairs(n, ["yes", "no", "unread"], seed=1)
    tracemalloc.start()
    try:
        _interval(pairs, seed=0, resamples=200)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_number_of_judged_pairs() -> None:
    small, large = _peak_bytes(2_000), _peak_bytes(20_000)
    # Before: three int64 arrays of 200 x n (about 96 MB at 20,000 pairs, ten times 2,000's).
    assert large < 1.5 * small, (small, large)
    assert large < 24_000_000, large


def _clusters_by_arrays(differences: np.ndarray, seed: int, resamples: int) -> np.ndarray:
    """The cluster bootstrap as it was written before: each round's indices as whole arrays."""
    n, s, j = differences.shape
    rng = np.random.default_rng(seed)
    chunk = max(1, 4_000_000 // (n * s * j))
    parts, done = [], 0
    while done < resamples:
        r = min(chunk, resamples - done)
        pick_i = rng.integers(0, n, (r, n))
        pick_s = rng.integers(0, s, (r, n, s))
        pick_j = rng.integers(0, j, (r, n, j))
        cells = differences[pick_i[:, :, None, None], pick_s[:, :, :, None], pick_j[:, :, None, :]]
        parts.append(cells.mean(axis=(1, 2, 3)))
        done += r
    return np.concatenate(parts)


@pytest.mark.parametrize("shape", [(1, 1, 1), (40, 1, 2), (300, 3, 2), (700, 2, 1), (5000, 1, 1)])
def test_the_cluster_bootstrap_draws_what_the_arrays_drew(shape: tuple[int, int, int]) -> None:
    differences = np.random.default_rng(1).choice([-1.0, 0.0, 0.5, 1.0], size=shape)
    for seed in (0, 9):
        expected = _clusters_by_arrays(differences, seed, 500)
        assert np.array_equal(
            noise.cluster_replicates(differences, seed=seed, resamples=500), expected
        )


def _cluster_peak(n: int) -> int:
    differences = np.random.default_rng(2).choice([-1.0, 0.0, 1.0], size=(n, 1, 2))
    tracemalloc.start()
    try:
        noise.cluster_replicates(differences, seed=0, resamples=300)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_cluster_bootstrap_memory_does_not_grow_with_the_instances() -> None:
    small, large = _cluster_peak(1_000), _cluster_peak(8_000)
    # Before: pick arrays and cells of 300 x n x 2 (about 29 MB at 8,000 instances).
    assert large < 1.5 * small and large < 8_000_000, (small, large)
