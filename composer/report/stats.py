"""Paired statistics between systems: McNemar, bootstrap intervals, role swaps, costs.

Two systems are compared on the instances both ran. An instance counts as right for a system
when that system's result is correct under the chosen parser; a failed, refused or unscored
result counts as not right, as it does in the accuracy tables. Comparisons over several seeds
and judges, and stage attribution, are in `composer.report.noise`, built on these.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from composer.benchmarks.catalog import GEU_CATEGORIES, UEG_CATEGORIES
from composer.core.definition import SystemDefinition
from composer.core.instance import Parser
from composer.evaluation.store import Result

_ORDER = {c: i for i, c in enumerate(UEG_CATEGORIES + GEU_CATEGORIES)}
BOOTSTRAP_RESAMPLES = 2000
"""Resamples of the paired bootstrap; 2,000 keeps the 95% bounds stable to about 0.3 points."""


def is_right(result: Result | None, parser: Parser) -> bool:
    """Whether `result` is correct under `parser` (a missing or failed result is not)."""
    if result is None:
        return False
    return bool(result.correct_official if parser == "official" else result.correct_strict)


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Exact two-sided McNemar p-value from the discordant counts.

    Under the null each discordant instance is equally likely to favour either system, so the
    smaller count is Binomial(only_a + only_b, 1/2); the p-value doubles its lower tail.

    The tail is summed in exact integers and divided once (Python's int division rounds
    correctly at any size), so no count of pairs overflows a float: 2**n does beyond n = 1023.
    A p-value below the smallest float comes out 0.0.

    Example:
        >>> mcnemar_exact(1, 8)
        0.0390625
    """
    n = only_a + only_b
    if n == 0:
        return 1.0
    k = min(only_a, only_b)
    term = tail = 1  # C(n, 0)
    for i in range(k):
        term = term * (n - i) // (i + 1)  # C(n, i + 1), exact
        tail += term
    return float(min(1.0, 2 * tail / 2**n))


def bootstrap_interval(
    a: Sequence[bool],
    b: Sequence[bool],
    *,
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of accuracy(a) - accuracy(b), in points, over paired items.

    Instances are resampled with replacement, keeping each instance's pair of outcomes together.
    The same `seed` gives the same interval, and swapping `a` and `b` mirrors it exactly: the
    resamples are drawn for the pair in one orientation whatever the argument order (the
    sequence that sorts after the other, compared item by item, goes first) and negated for
    the other. Pass the items in an order that does not depend on which system is `a`.

    Example:
        >>> bootstrap_interval([True, True, False, True], [False, True, False, False], seed=1)
        (0.0, 100.0)
    """
    import numpy as np

    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length ({len(a)} and {len(b)})")
    if not a:
        return (0.0, 0.0)
    if tuple(a) < tuple(b):
        low, high = bootstrap_interval(b, a, seed=seed, resamples=resamples, level=level)
        return (0.0 - high, 0.0 - low)  # 0.0 - x: a bound of 0 stays +0.0, never -0.0
    n = len(a)
    gains = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
    losses = sum(1 for x, y in zip(a, b, strict=True) if y and not x)
    # Each paired item contributes +1, -1 or 0 to the difference, so a resample of n items is
    # a multinomial draw of those three counts: the same distribution as resampling indices,
    # at O(resamples) cost instead of O(resamples x n).
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, [gains / n, losses / n, (n - gains - losses) / n], size=resamples)
    means = (draws[:, 0] - draws[:, 1]) / n
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return (round(100.0 * float(low), 10), round(100.0 * float(high), 10))


@dataclass
class Paired:
    """Two systems on their shared instances: the 2 x 2 table, McNemar and a bootstrap interval.

    `differing` lists (instance, category, a right, b right) for the discordant instances.
    """

    a: str
    b: str
    scope: str
    parser: Parser
    n: int = 0
    both: int = 0
    only_a: int = 0
    only_b: int = 0
    neither: int = 0
    accuracy_a: float = 0.0
    accuracy_b: float = 0.0
    p_value: float = 1.0
    ci_low: float = 0.0
    ci_high: float = 0.0
    differing: list[tuple[str, str, bool, bool]] = field(default_factory=list)
    noise: str = "instances"
    """The sources of noise the interval includes (see `composer.report.noise`)."""
    seeds: int = 1
    judges: int = 1
    difference_all_judges: float | None = None
    """With several judges: the difference averaged over judges."""
    ci_all_judges: tuple[float, float] | None = None
    """With several judges: the interval of `difference_all_judges`, whose resampling draws
    judges too (`ci_low`/`ci_high` are the headline judge's, around `difference`)."""
    noise_all_judges: str | None = None

    @property
    def difference(self) -> float:
        """Accuracy of a minus accuracy of b, in points, on the shared instances."""
        return self.accuracy_a - self.accuracy_b

    def as_dict(self, *, with_instances: bool = False) -> dict[str, Any]:
        """A JSON-ready form; the differing instances only when asked."""
        data: dict[str, Any] = {
            "a": self.a,
            "b": self.b,
            "scope": self.scope,
            "parser": self.parser,
            "n": self.n,
            "both": self.both,
            "only_a": self.only_a,
            "only_b": self.only_b,
            "neither": self.neither,
            "accuracy_a": self.accuracy_a,
            "accuracy_b": self.accuracy_b,
            "difference": self.difference,
            "p_value": self.p_value,
            "ci95": [self.ci_low, self.ci_high],
            "noise": self.noise,
        }
        if self.seeds > 1:
            data["seeds"] = self.seeds
        if self.judges > 1:
            data["judges"] = self.judges
            data["difference_all_judges"] = self.difference_all_judges
            data["ci95_all_judges"] = list(self.ci_all_judges) if self.ci_all_judges else None
            data["noise_all_judges"] = self.noise_all_judges
        if with_instances:
            data["differing"] = [
                {"instance": i, "category": c, "a": ra, "b": rb} for i, c, ra, rb in self.differing
            ]
        return data


def paired(
    a: str,
    b: str,
    results_a: Mapping[str, Result],
    results_b: Mapping[str, Result],
    *,
    parser: Parser = "official",
    scope: str = "all",
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> Paired:
    """Compare systems `a` and `b` on the instance ids present in both result maps."""
    shared = [i for i in results_a if i in results_b]
    right_a = [is_right(results_a[i], parser) for i in shared]
    right_b = [is_right(results_b[i], parser) for i in shared]
    out = Paired(a=a, b=b, scope=scope, parser=parser, n=len(shared))
    for instance, ra, rb in zip(shared, right_a, right_b, strict=True):
        if ra and rb:
            out.both += 1
        elif ra:
            out.only_a += 1
        elif rb:
            out.only_b += 1
        else:
            out.neither += 1
        if ra != rb:
            out.differing.append((instance, results_a[instance].category, ra, rb))
    if shared:
        out.accuracy_a = 100.0 * (out.both + out.only_a) / out.n
        out.accuracy_b = 100.0 * (out.both + out.only_b) / out.n
    out.p_value = mcnemar_exact(out.only_a, out.only_b)
    if out.only_a or out.only_b:
        # In instance-id order, so `b` against `a` resamples the same instances: the interval
        # comes out mirrored exactly, not drawn afresh.
        ordered = sorted(range(len(shared)), key=lambda k: shared[k])
        out.ci_low, out.ci_high = bootstrap_interval(
            [right_a[k] for k in ordered],
            [right_b[k] for k in ordered],
            seed=seed,
            resamples=resamples,
        )
    return out


def by_system(results: Iterable[Result]) -> dict[str, dict[str, Result]]:
    """Group results as system -> instance id -> result."""
    grouped: dict[str, dict[str, Result]] = defaultdict(dict)
    for result in results:
        grouped[result.system][result.instance] = result
    return dict(grouped)


def single_role_swaps(
    definitions: Mapping[str, SystemDefinition],
) -> list[tuple[str, str, str, str]]:
    """(a, b, axis, role) for systems that run the same graph on `axis` and bind one role apart.

    Example: with a 2 x 2 grid of reasoner in {unified, specialist} by generator in {unified,
    specialist}, the four UEG edges are the pairs that differ only in the reasoner or only in
    the generator.
    """
    names = list(definitions)
    swaps: list[tuple[str, str, str, str]] = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            axes_a, axes_b = definitions[a].axes, definitions[b].axes
            for axis in ("UEG", "GEU"):
                if axis not in axes_a or axis not in axes_b:
                    continue
                da, db = axes_a[axis], axes_b[axis]
                if da.graph != db.graph or da.options != db.options:
                    continue
                roles_a, roles_b = da.roles, db.roles
                if set(roles_a) != set(roles_b):
                    continue
                changed = [r for r in roles_a if roles_a[r] != roles_b[r]]
                if len(changed) == 1:
                    swaps.append((a, b, axis, changed[0]))
    return swaps


_TASK_SUMS = (
    "model_s",
    "calls",
    "sent",
    "replayed",
    "images",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "spent_usd",
)
_NODE_SUMS = ("calls", "sent", "model_s", "cost_usd", "spent_usd")


def costs(retries: Mapping[str, int], results: Iterable[Result]) -> dict[str, dict[str, Any]]:
    """Calls, model time, tokens, images and cost per system and per graph node.

    Every system is charged for every call its tasks used, whether the call was sent or
    replayed from the cache (or shared with another system's identical call): `cost_usd` and
    `model_s` are what the system would cost run alone, so listing the systems in another
    order changes neither. `spent_usd` and `sent` are what this run actually sent and paid.
    Wall time (`latency_s`, per task) is as the run saw it, replays included. Judging is not
    charged to the system (its usage is stored with each judge's scores). `retries` counts the
    extra attempts (429s, 5xx, timeouts) of the calls the system sent first
    (`RunStore.retries_by_system`).
    """
    out: dict[str, dict[str, Any]] = {}
    # The sums inlined, not a helper called per key: 1,090,000 calls were half of a
    # 10,000 x 6 report's summary. The same additions in the same order.
    for result in results:
        entry = out.get(result.system)
        if entry is None:
            entry = out[result.system] = {
                "tasks": 0,
                "total_latency_s": 0.0,
                "model_s": 0.0,
                "calls": 0,
                "sent": 0,
                "replayed": 0,
                "images": 0,
                "input_tokens": 0,
                "output_tokens": 0,
                "cost_usd": None,
                "spent_usd": None,
                "retries": 0,
                "nodes": {},
            }
        usage = result.usage
        entry["tasks"] += 1
        entry["total_latency_s"] += result.latency_s
        for key in _TASK_SUMS:
            value = usage.get(key)
            if value is not None:
                entry[key] = (entry[key] or 0) + value
        nodes = usage.get("nodes")
        if not nodes:
            continue
        entry_nodes = entry["nodes"]
        for name, node_usage in nodes.items():
            name = name or "-"
            node = entry_nodes.get(name)
            if node is None:
                node = entry_nodes[name] = {
                    "calls": 0,
                    "sent": 0,
                    "model_s": 0.0,
                    "cost_usd": None,
                    "spent_usd": None,
                }
            for key in _NODE_SUMS:
                value = node_usage.get(key)
                if value is not None:
                    node[key] = (node[key] or 0) + value
    for system, extra in retries.items():
        if system in out:
            out[system]["retries"] += extra
    for entry in out.values():
        entry["latency_s"] = entry["total_latency_s"] / entry["tasks"]
        entry["model_s_per_task"] = entry["model_s"] / entry["tasks"]
        entry["calls_per_task"] = entry["calls"] / entry["tasks"]
        entry["images_per_task"] = entry["images"] / entry["tasks"]
        for node in entry["nodes"].values():
            node["latency_s"] = node["model_s"] / node["calls"] if node["calls"] else 0.0
            node["total_latency_s"] = node["model_s"]
        entry["nodes"] = dict(sorted(entry["nodes"].items()))
    return out
