"""Paired comparisons that carry the noise of seeds and judges, not only of instances.

With several run seeds (and several UEG judges), each system has, per instance, a grid of
outcomes: one per (seed, judge), right (1) or not (0). Two systems are compared on the
instances both ran:

- The difference is that of per-instance pass rates under the headline judge: each instance's
  rate is the share of its seeds it was right on, so every instance weighs the same.
- The paired test is an exact two-sided sign test on the per-instance rate differences: an
  instance counts for A when A's rate is higher, for B when B's is, ties drop out. With one seed
  the rates are 0 or 1 and the test is exactly McNemar's. (scipy is not installed and a sign
  test is a binomial tail, `stats.mcnemar_exact`, so nothing is added for it. A Wilcoxon test
  would use the sizes of the differences too; with few seeds they take two or three values and
  are mostly tied, where the sign test stays exact.)
- The interval is a cluster bootstrap: resample instances with replacement, then within each
  drawn instance resample its seeds (and its judges) with replacement, the same seed and judge
  draws for both systems (a seed is shared across systems for an instance, as is a judge), and
  take the mean difference. With one seed and one judge it is `stats.bootstrap_interval`,
  unchanged. With several judges the interval is of the judge-averaged difference, so its
  centre may sit away from the headline judge's difference shown beside it.

Each comparison names the noise its interval includes: `instances`, `instances + seeds`,
`instances + judges` or `instances + seeds + judges`. Swapping A and B mirrors every interval
exactly: resamples are drawn for the pair in one orientation and negated for the other.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from composer.benchmarks.catalog import GEU_CATEGORIES, UEG_CATEGORIES
from composer.core.definition import SystemDefinition
from composer.core.instance import Parser
from composer.evaluation.store import Result
from composer.report.model import Attribution
from composer.report.stats import (
    BOOTSTRAP_RESAMPLES,
    Paired,
    bootstrap_interval,
    is_right,
    mcnemar_exact,
    single_role_swaps,
)

_ORDER = {c: i for i, c in enumerate(UEG_CATEGORIES + GEU_CATEGORIES)}
_CHUNK = 4_000_000
"""Cells the cluster bootstrap draws per round: it fixes the order of the draws."""
_CELLS = 1 << 16
"""Cells the cluster bootstrap draws or gathers at once: its memory, whatever the run's size."""


@dataclass
class Outcomes:
    """One system's outcomes: per instance, a (seeds x judges) grid of 0/1, plus its labels.

    Column 0 of the judge axis is the headline judge; a GEU instance (scored by the choice
    reader, whoever judges UEG) repeats its one outcome in every judge column.
    """

    grids: dict[str, np.ndarray] = field(default_factory=dict)
    category: dict[str, str] = field(default_factory=dict)
    axis: dict[str, str] = field(default_factory=dict)
    # Worked out once, then reused: every pair and every swap compares the same systems
    # again (10,000 x 6: the selections, stacks and rates were most of the comparisons).
    # Read once the grids are complete (`outcomes` builds them).
    _selected: dict[str, Outcomes] = field(default_factory=dict, repr=False, compare=False)
    _stacked: tuple[np.ndarray, dict[str, int]] | None = field(
        default=None, repr=False, compare=False
    )
    _rates: dict[str, float] | None = field(default=None, repr=False, compare=False)

    def select(self, axis: str | None) -> Outcomes:
        """The instances of one axis (None: all)."""
        if axis is None:
            return self
        if axis not in self._selected:
            keep = [i for i, a in self.axis.items() if a == axis]
            self._selected[axis] = Outcomes(
                {i: self.grids[i] for i in keep},
                {i: self.category[i] for i in keep},
                {i: self.axis[i] for i in keep},
            )
        return self._selected[axis]

    def stack(self, instances: Sequence[str]) -> np.ndarray:
        """`np.stack` of the grids of `instances` (each one of this system's), in that order."""
        if self._stacked is None:
            self._stacked = (
                np.stack(list(self.grids.values())),
                {i: k for k, i in enumerate(self.grids)},
            )
        whole, row = self._stacked
        return whole[[row[i] for i in instances]]

    def rates(self) -> dict[str, float]:
        """Each instance's pass rate over seeds under the headline judge."""
        if self._rates is None:
            self._rates = {i: float(g[:, 0].mean()) for i, g in self.grids.items()}
        return self._rates


JudgeScores = Mapping[tuple[str, str, int], Mapping[str, bool]]
"""(system, instance, seed) -> judge id -> right, from the store's scores."""


def judge_scores(
    rows: Iterable[tuple[str, str, str, str, bool | None, bool | None, int]], parser: Parser
) -> dict[tuple[str, str, int], dict[str, bool]]:
    """Per stored output, whether each judge scored it right under `parser` (`score_rows`)."""
    found: dict[tuple[str, str, int], dict[str, bool]] = defaultdict(dict)
    for system, instance, judge, status, official, strict, seed in rows:
        reading = official if parser == "official" else strict
        found[(system, instance, seed)][judge] = status == "ok" and bool(reading)
    return dict(found)


def outcomes(
    results: Iterable[Result],
    *,
    parser: Parser = "official",
    seeds: Sequence[int] | None = None,
    judges: Sequence[str] = (),
    scores: JudgeScores | None = None,
) -> dict[str, Outcomes]:
    """Per system, its outcome grids over `seeds` (default: the seeds present) and `judges`.

    `judges` lists the UEG judge ids, headline first; with fewer than two (or no `scores`) the
    grid has one judge column, the headline result. A seed with no result for an instance
    counts as not right, as a failed result does.
    """
    by: dict[str, dict[str, dict[int, Result]]] = defaultdict(lambda: defaultdict(dict))
    for r in results:
        by[r.system][r.instance][r.seed] = r
    use_judges = list(judges) if scores is not None and len(judges) > 1 else []
    out: dict[str, Outcomes] = {}
    for system, instances in by.items():
        present = sorted({s for per in instances.values() for s in per})
        wanted = list(seeds) if seeds is not None else present
        entry = Outcomes()
        for instance, per_seed in instances.items():
            some = next(iter(per_seed.values()))
            grid = np.zeros((len(wanted), max(1, len(use_judges))))
            for k, seed in enumerate(wanted):
                result = per_seed.get(seed)
                if result is None:
                    continue
                grid[k, 0] = is_right(result, parser)
                if use_judges and result.axis == "UEG" and scores is not None:
                    mine = scores.get((system, instance, seed), {})
                    for j, judge in enumerate(use_judges[1:], start=1):
                        grid[k, j] = float(mine.get(judge, False))
                elif use_judges:
                    grid[k, 1:] = grid[k, 0]
            entry.grids[instance] = grid
            entry.category[instance] = some.category
            entry.axis[instance] = some.axis
        out[system] = entry
    return out


def noise_label(n_seeds: int, n_judges: int) -> str:
    """Which sources of noise an interval includes."""
    parts = ["instances"]
    if n_seeds > 1:
        parts.append("seeds")
    if n_judges > 1:
        parts.append("judges")
    return " + ".join(parts)


def _draws(rng: np.random.Generator, high: int, shape: tuple[int, ...]) -> np.ndarray:
    """`rng.integers(0, high, shape)` as the smallest unsigned type (all 0 where `high` is 1).

    With one choice numpy draws nothing, so the zeros are returned broadcastable, undrawn.
    """
    if high <= 1:
        return np.zeros((shape[0],) + (1,) * (len(shape) - 1), dtype=np.uint8)
    out = np.empty(shape, dtype=np.min_scalar_type(high - 1))
    out[...] = rng.integers(0, high, shape)
    return out


def _skip(rng: np.random.Generator, high: int, shape: tuple[int, ...]) -> Any:
    """Draw `rng.integers(0, high, shape)` a few rows at a time and keep none of it.

    Returns the generator's state from before the draw, to draw the same values again.
    """
    state = rng.bit_generator.state
    if high > 1:
        step = max(1, _CELLS // max(1, math.prod(shape[1:])))
        for low in range(0, shape[0], step):
            rng.integers(0, high, (min(shape[0], low + step) - low, *shape[1:]))
    return state


def _replay(state: Any) -> np.random.Generator:
    """A generator at `state` (a PCG64 state, as `default_rng` makes)."""
    bits = np.random.PCG64()
    bits.state = state
    return np.random.Generator(bits)


def cluster_replicates(
    differences: np.ndarray, *, seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES
) -> np.ndarray:
    """The cluster bootstrap's replicates of the mean difference, as fractions.

    `differences` has shape (instances, seeds, judges). Each replicate draws instances with
    replacement, then for each drawn instance its seeds and its judges with replacement, and
    averages the drawn cells.

    Example:
        >>> d = np.array([[[1.0], [1.0]], [[1.0], [0.0]]])  # 2 instances x 2 seeds x 1 judge
        >>> float(cluster_replicates(d, resamples=20_000).mean().round(2))
        0.75
    """
    n, s, j = differences.shape
    rng = np.random.default_rng(seed % 2**64)  # a seed stored before seeds were >= 0
    # A round draws all of pick_i (r x n), then pick_s, then pick_j, as one call each (`chunk`
    # fixes the rounds, and so the numbers for a seed). Rather than hold them, pick_i and
    # pick_s are drawn once to find where pick_j starts, then drawn again, `step` rows at a
    # time, beside pick_j: the draws are the same, and memory does not grow with the run.
    chunk = max(1, _CHUNK // max(1, n * s * j))
    step = max(1, _CELLS // max(1, n * s * j))
    means = np.empty(resamples)
    done = 0
    while done < resamples:
        r = min(chunk, resamples - done)
        from_i = _replay(_skip(rng, n, (r, n)))
        from_s = _replay(_skip(rng, s, (r, n, s)))
        for low in range(0, r, step):
            k = min(r, low + step) - low
            pick_i = _draws(from_i, n, (k, n))
            pick_s = _draws(from_s, s, (k, n, s))
            pick_j = _draws(rng, j, (k, n, j))
            cells = differences[
                pick_i[:, :, None, None], pick_s[:, :, :, None], pick_j[:, :, None, :]
            ]
            means[done + low : done + low + k] = cells.mean(axis=(1, 2, 3))
        done += r
    return means


def cluster_interval(
    differences: np.ndarray,
    *,
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile cluster-bootstrap interval of the mean difference, in points.

    Mirrored exactly when the differences are negated (B against A): the replicates are drawn
    for whichever orientation sorts first and negated for the other.
    """
    if differences.size == 0:
        return (0.0, 0.0)
    flat = tuple(differences.ravel().tolist())
    if flat < tuple((-differences).ravel().tolist()):
        low, high = cluster_interval(-differences, seed=seed, resamples=resamples, level=level)
        return (0.0 - high, 0.0 - low)
    means = cluster_replicates(differences, seed=seed, resamples=resamples)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return (round(100.0 * float(low), 10), round(100.0 * float(high), 10))


def paired_outcomes(
    a: str,
    b: str,
    out_a: Outcomes,
    out_b: Outcomes,
    *,
    parser: Parser = "official",
    scope: str = "all",
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> Paired:
    """Compare `a` and `b` on their shared instances; see the module docstring.

    With one seed and one judge this is `stats.paired` exactly (counts, McNemar, interval).
    The counts read per instance: `only_a` where A's pass rate is higher, `only_b` where B's
    is, `both` where they tie above 0, `neither` where both are 0.
    """
    shared = sorted(i for i in out_a.grids if i in out_b.grids)
    out = Paired(a=a, b=b, scope=scope, parser=parser, n=len(shared))
    if not shared:
        out.noise = "instances"
        return out
    grid_a, grid_b = out_a.stack(shared), out_b.stack(shared)
    n_seeds, n_judges = grid_a.shape[1], grid_a.shape[2]
    rate_a, rate_b = grid_a[:, :, 0].mean(axis=1), grid_b[:, :, 0].mean(axis=1)
    # Compared as Python floats (the same values), not numpy scalars one by one.
    for instance, ra, rb in zip(shared, rate_a.tolist(), rate_b.tolist(), strict=True):
        if ra > rb:
            out.only_a += 1
        elif rb > ra:
            out.only_b += 1
        elif ra > 0:
            out.both += 1
        else:
            out.neither += 1
        if ra != rb:
            out.differing.append((instance, out_a.category[instance], ra > rb, rb > ra))
    # In the order the instances were first listed, as `stats.paired` reports them.
    order = {i: k for k, i in enumerate(out_a.grids)}
    out.differing.sort(key=lambda d: order[d[0]])
    # As sums over n, like `stats.paired`: one seed gives the very same floats.
    out.accuracy_a = 100.0 * float(rate_a.sum()) / len(shared)
    out.accuracy_b = 100.0 * float(rate_b.sum()) / len(shared)
    out.p_value = mcnemar_exact(out.only_a, out.only_b)
    # The headline interval is the headline judge's, around the difference shown beside it;
    # with several judges a second interval, around the mean over judges, draws judges too.
    out.noise = noise_label(n_seeds, 1)
    out.seeds, out.judges = n_seeds, n_judges
    if n_judges > 1:
        out.difference_all_judges = 100.0 * float((grid_a - grid_b).mean(axis=(1, 2)).mean())
        out.noise_all_judges = noise_label(n_seeds, n_judges)
        if np.any(grid_a != grid_b):
            out.ci_all_judges = cluster_interval(grid_a - grid_b, seed=seed, resamples=resamples)
        grid_a, grid_b = grid_a[:, :, :1], grid_b[:, :, :1]
    if n_seeds == 1:
        if out.only_a or out.only_b:
            out.ci_low, out.ci_high = bootstrap_interval(
                [bool(x) for x in grid_a[:, 0, 0]],
                [bool(x) for x in grid_b[:, 0, 0]],
                seed=seed,
                resamples=resamples,
            )
    elif np.any(grid_a != grid_b):
        out.ci_low, out.ci_high = cluster_interval(grid_a - grid_b, seed=seed, resamples=resamples)
    return out


def compare(
    a: str,
    b: str,
    grouped: Mapping[str, Outcomes],
    *,
    parser: Parser = "official",
    seed: int = 0,
) -> list[Paired]:
    """`a` against `b` on all shared instances, then on each axis they share."""
    oa, ob = grouped.get(a, Outcomes()), grouped.get(b, Outcomes())
    rows = [paired_outcomes(a, b, oa, ob, parser=parser, scope="all", seed=seed)]
    for axis in ("UEG", "GEU"):
        axis_a, axis_b = oa.select(axis), ob.select(axis)
        if any(i in axis_b.grids for i in axis_a.grids):
            rows.append(paired_outcomes(a, b, axis_a, axis_b, parser=parser, scope=axis, seed=seed))
    return rows


def all_pairs(
    systems: Sequence[str],
    grouped: Mapping[str, Outcomes],
    *,
    parser: Parser = "official",
    seed: int = 0,
) -> list[Paired]:
    """Every pair of `systems` (in the given order) that shares at least one instance."""
    rows: list[Paired] = []
    for i, a in enumerate(systems):
        for b in systems[i + 1 :]:
            rows.extend(p for p in compare(a, b, grouped, parser=parser, seed=seed) if p.n)
    return rows


def bootstrapped(
    definitions: Mapping[str, SystemDefinition],
    grouped: Mapping[str, Outcomes],
    *,
    parser: Parser = "official",
    seed: int = 0,
) -> tuple[list[dict[str, Any]], list[Attribution]]:
    """The report's bootstrapped parts: `all_pairs` of `definitions` (in order), `attribution`."""
    pairs = all_pairs(list(definitions), grouped, parser=parser, seed=seed)
    return [p.as_dict() for p in pairs], attribution(definitions, grouped, parser=parser, seed=seed)


def attribution(
    definitions: Mapping[str, SystemDefinition],
    grouped: Mapping[str, Outcomes],
    *,
    parser: Parser = "official",
    seed: int = 0,
) -> list[Attribution]:
    """Attribute accuracy differences to the one role two systems bind differently.

    For each single-role swap (see `stats.single_role_swaps`), the difference a - b on the
    shared instances of that axis, overall and per category (of pass rates over seeds), with
    its paired test. Both systems run the same graph with the same other bindings, so the
    whole difference belongs to that role.
    """
    rows: list[Attribution] = []
    for a, b, axis, role in single_role_swaps(definitions):
        oa = grouped.get(a, Outcomes()).select(axis)
        ob = grouped.get(b, Outcomes()).select(axis)
        test = paired_outcomes(a, b, oa, ob, parser=parser, scope=axis, seed=seed)
        if not test.n:
            continue
        rates_a, rates_b = oa.rates(), ob.rates()
        tally: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
        for i in rates_a:
            if i in rates_b:
                tally[oa.category[i]][0] += rates_a[i] - rates_b[i]
                tally[oa.category[i]][1] += 1
        by_category = {
            c: 100.0 * tally[c][0] / tally[c][1]
            for c in sorted(tally, key=lambda c: _ORDER.get(c, len(_ORDER)))
        }
        rows.append(
            Attribution(
                axis=axis,
                role=role,
                a=a,
                b=b,
                a_model=definitions[a].role(axis, role),
                b_model=definitions[b].role(axis, role),
                graph=definitions[a].axes[axis].graph,
                delta=test.difference,
                by_category=by_category,
                p_value=test.p_value,
                ci95=[test.ci_low, test.ci_high],
                noise=test.noise,
                n=test.n,
            )
        )
    return rows
