"""Paired tests of one score channel between two systems, chosen by the channel's kind.

Two systems are compared on the instances both have a value for (in the reading asked for);
with several run seeds, on the (instance, seed) cells both scored, each instance weighing the
same (its value is the mean over its scored seeds):

- A binary channel (0/1) gets an exact test, as the headline does: McNemar's on the
  discordant instances with one seed, the sign test on the per-instance rates with several
  (`stats.mcnemar_exact` is both: a binomial tail summed in exact integers).
- A graded channel (fraction, 0-5 rubric, distance) gets the bootstrap: its p-value is the
  share of replicates at least as far from the observed difference as the observed difference
  is from 0 (the replicates shifted to the null; Hall and Wilson 1991), plus one in numerator
  and denominator, so it is never 0. Where every instance differs by the same amount (one
  instance, or A ahead by 1.0 everywhere) the replicates have no spread and that p-value would
  be its floor whatever n is; the row then takes the exact sign test instead and says so.

Every row has a 95% percentile interval of the mean difference from the same bootstrap:
instances resampled with replacement, and with several seeds each drawn instance's seeds too
(a cluster bootstrap, as `noise.cluster_interval`). The resampling is chunked, so memory stays
near `CHUNK` cells whatever the number of instances. Swapping A and B mirrors every interval
exactly and leaves the p-value unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from composer.report.noise import noise_label
from composer.report.stats import BOOTSTRAP_RESAMPLES, mcnemar_exact

CHUNK = 200_000
"""Cells drawn at once: about 5 MB of draws, weights and indices, whatever the run's size."""
BINARY = "binary"
EXACT_MCNEMAR = "exact McNemar"
EXACT_SIGN = "exact sign test on per-instance rates"
PAIRED_BOOTSTRAP = "paired bootstrap"
CLUSTER_BOOTSTRAP = "cluster bootstrap (instances, then seeds)"
SIGN_WHEN_EQUAL = "exact sign test (differences all equal)"


@dataclass(frozen=True)
class ChannelTest:
    """The paired test of one channel between A and B on their shared, scored instances.

    Attributes:
        n: Instances with at least one (instance, seed) cell both systems scored.
        mean_a: A's mean over those instances (each the mean over its scored seeds).
        mean_b: B's mean, likewise.
        a_higher: Instances where A's value (or rate) is higher; `b_higher` and `ties` alike.
        p_value: Two-sided, from `test`.
        ci95: Percentile bootstrap interval of mean_a - mean_b.
        test: Which test gave `p_value` (`EXACT_MCNEMAR`, `EXACT_SIGN`, `PAIRED_BOOTSTRAP`,
            `CLUSTER_BOOTSTRAP`).
        noise: What the interval resamples: `instances` or `instances + seeds`.
    """

    n: int
    mean_a: float | None
    mean_b: float | None
    a_higher: int
    b_higher: int
    ties: int
    p_value: float
    ci95: tuple[float, float]
    test: str
    noise: str

    @property
    def difference(self) -> float | None:
        """mean_a - mean_b, in the channel's own units."""
        if self.mean_a is None or self.mean_b is None:
            return None
        return self.mean_a - self.mean_b

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "n": self.n,
            "mean_a": self.mean_a,
            "mean_b": self.mean_b,
            "difference": self.difference,
            "ci95": list(self.ci95),
            "p_value": self.p_value,
            "test": self.test,
            "noise": self.noise,
            "a_higher": self.a_higher,
            "b_higher": self.b_higher,
            "ties": self.ties,
        }


def replicates(
    differences: np.ndarray,
    *,
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
    chunk: int = CHUNK,
) -> np.ndarray:
    """Bootstrap replicates of the mean per-instance difference, drawn in chunks.

    `differences` has shape (instances, seeds), NaN where a cell was not scored by both; every
    instance has at least one scored cell. A replicate draws instances with replacement and,
    with several seeds, each drawn instance's seeds with replacement; a drawn instance is the
    mean of its drawn scored cells (left out of that replicate if none was scored). At most
    `chunk` cells are drawn at once.

    Example:
        >>> d = np.array([[1.0, 1.0], [1.0, 0.0]])
        >>> float(replicates(d, resamples=20_000).mean().round(2))
        0.75
    """
    n, s = differences.shape
    scored = ~np.isnan(differences)
    values = np.where(scored, differences, 0.0)
    rng = np.random.default_rng(seed)
    per_chunk = max(1, chunk // max(1, n * s))
    out = np.empty(resamples)
    done = 0
    while done < resamples:
        r = min(per_chunk, resamples - done)
        pick_i = rng.integers(0, n, (r, n))
        if s == 1:
            out[done : done + r] = values[pick_i, 0].mean(axis=1)
        else:
            pick_s = rng.integers(0, s, (r, n, s))
            rows = pick_i[:, :, None]
            weights = scored[rows, pick_s].sum(axis=2)
            sums = values[rows, pick_s].sum(axis=2)
            means = np.divide(sums, weights, out=np.zeros_like(sums), where=weights > 0)
            kept = (weights > 0).sum(axis=1)
            out[done : done + r] = means.sum(axis=1) / np.maximum(kept, 1)
        done += r
    return out


def _interval(reps: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(reps, [tail, 1.0 - tail])
    return (round(float(low), 10), round(float(high), 10))


def bootstrap(
    differences: np.ndarray, *, seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES
) -> tuple[tuple[float, float], float]:
    """The 95% percentile interval of the mean difference and its bootstrap p-value.

    Mirrored exactly for negated differences: the replicates are drawn for whichever
    orientation sorts first and negated for the other.

    Example:
        >>> bootstrap(np.array([[0.5], [0.5], [0.5]]))
        ((0.5, 0.5), 0.0004997501249375312)
    """
    flat = tuple(np.nan_to_num(differences, nan=0.0).ravel().tolist())
    if flat < tuple(np.nan_to_num(-differences, nan=0.0).ravel().tolist()):
        (low, high), p = bootstrap(-differences, seed=seed, resamples=resamples)
        return (0.0 - high, 0.0 - low), p
    reps = replicates(differences, seed=seed, resamples=resamples)
    observed = _instance_means(differences).mean()
    # Shifted to the null: how often a replicate strays from the estimate as far as the
    # estimate lies from 0. The tolerance keeps a tie (observed 0) from hanging on rounding.
    far = int(np.sum(np.abs(reps - observed) >= abs(observed) - 1e-12))
    return _interval(reps), min(1.0, (far + 1) / (resamples + 1))


def _instance_means(cells: np.ndarray) -> np.ndarray:
    """Each row's mean over its non-NaN cells (rows have at least one)."""
    scored = ~np.isnan(cells)
    means: np.ndarray = np.where(scored, cells, 0.0).sum(axis=1) / scored.sum(axis=1)
    return means


def paired_channel(
    a: np.ndarray,
    b: np.ndarray,
    kind: str,
    *,
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> ChannelTest:
    """Test A against B on one channel: `a` and `b` are (instances, seeds), NaN unscored.

    The rows must be the same instances in the same order (sort them by instance id, so that
    B against A resamples the same rows). A cell counts where both are scored.

    Example:
        >>> a = np.array([[1.0], [1.0], [0.0], [np.nan]])
        >>> b = np.array([[0.0], [0.0], [0.0], [1.0]])
        >>> t = paired_channel(a, b, "binary")
        >>> (t.n, t.a_higher, t.b_higher, t.test, t.p_value)
        (3, 2, 0, 'exact McNemar', 0.5)
    """
    both = ~np.isnan(a) & ~np.isnan(b)
    keep = both.any(axis=1)
    a = np.where(both, a, np.nan)[keep]
    b = np.where(both, b, np.nan)[keep]
    n, seeds = int(keep.sum()), a.shape[1]
    noise = noise_label(seeds, 1)
    binary = kind == BINARY
    exact = EXACT_MCNEMAR if seeds == 1 else EXACT_SIGN
    graded = PAIRED_BOOTSTRAP if seeds == 1 else CLUSTER_BOOTSTRAP
    if n == 0:
        test = exact if binary else graded
        return ChannelTest(0, None, None, 0, 0, 0, 1.0, (0.0, 0.0), test, noise)
    mean_a, mean_b = _instance_means(a), _instance_means(b)
    a_higher = int(np.sum(mean_a > mean_b))
    b_higher = int(np.sum(mean_b > mean_a))
    differences = a - b
    if np.all(np.nan_to_num(differences) == 0.0):
        interval, p_boot = (0.0, 0.0), 1.0
    else:
        interval, p_boot = bootstrap(differences, seed=seed, resamples=resamples)
    per_instance = mean_a - mean_b
    if not binary and per_instance[0] != 0.0 and np.all(per_instance == per_instance[0]):
        binary, exact = True, SIGN_WHEN_EQUAL
    return ChannelTest(
        n=n,
        mean_a=float(mean_a.mean()),
        mean_b=float(mean_b.mean()),
        a_higher=a_higher,
        b_higher=b_higher,
        ties=n - a_higher - b_higher,
        p_value=mcnemar_exact(a_higher, b_higher) if binary else p_boot,
        ci95=interval,
        test=exact if binary else graded,
        noise=noise,
    )
