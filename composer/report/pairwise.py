"""Two systems of a run, paired instance by instance: what `composer compare` shows.

`pair_systems` reads the store once (the same results, outcomes, costs and definitions the
report's comparisons use, through the same functions) and returns a `Pairing`;
`composer.report.terminal.print_pairing` renders it. The command itself only checks its
arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console

from composer.core.definition import SystemDefinition
from composer.core.errors import ConfigError
from composer.core.instance import Parser
from composer.evaluation.store import RunStore
from composer.report import budget, judging, noise, stats
from composer.report.budget import Unit
from composer.report.safe_text import literal
from composer.report.summary import headline_parser


@dataclass(frozen=True)
class Pairing:
    """`a` against `b`: the paired rows (all shared instances, then each shared axis)."""

    a: str
    b: str
    parser: Parser
    judge_label: str | None
    seed: int
    rows: list[stats.Paired]
    outcomes: dict[str, noise.Outcomes]
    spent: dict[str, dict[str, Any]]
    definitions: dict[str, SystemDefinition]

    @property
    def swaps(self) -> list[tuple[str, str, str, str]]:
        """The (a, b, axis, role) where the two systems differ in one role binding only."""
        pair = {self.a, self.b}
        return [s for s in stats.single_role_swaps(self.definitions) if {s[0], s[1]} == pair]


def pair_systems(
    store: RunStore,
    a: str,
    b: str,
    *,
    parser: Parser | None = None,
    judge: str | None = None,
    seed: int | None = None,
) -> Pairing:
    """Pair `a` and `b` as the report pairs its comparisons.

    Raises:
        ConfigError: a system has no results, or the two share no instance.
    """
    chosen = headline_parser(store, parser)
    judge_id, judge_label = judging.resolve_judge(store, judge)
    results = list(store.results(judge=judge_id, parser=chosen))
    judge_ids = [i for i, _ in judging.run_judges(store)]
    judge_ids.sort(key=lambda i: i != judge_id)
    scores = noise.judge_scores(store.score_rows(), chosen) if len(judge_ids) > 1 else None
    grouped = noise.outcomes(results, parser=chosen, judges=judge_ids, scores=scores)
    for name in (a, b):
        if name not in grouped:
            known = ", ".join(sorted(grouped)) or "none"
            raise ConfigError(
                f"system {name!r}", "has no results in this run.", f"Systems: {known}."
            )
    latest = store.latest_run()
    run_seed = int(latest["seed"]) if latest and seed is None else (seed or 0)
    rows = noise.compare(a, b, grouped, parser=chosen, seed=run_seed)
    if not rows[0].n:
        raise ConfigError(
            f"compare {a!r} and {b!r}",
            f"the two systems share no instance ({len(grouped[a].grids)} and "
            f"{len(grouped[b].grids)} results, none for the same instance), so there is "
            "nothing to pair.",
            "Compare systems run on the same instances (the same benchmark, categories and limit).",
        )
    return Pairing(
        a=a,
        b=b,
        parser=chosen,
        judge_label=judge_label,
        seed=run_seed,
        rows=rows,
        outcomes=dict(grouped),
        spent=dict(
            budget.per_system(stats.costs(store.retries_by_system(), results), results, chosen)
        ),
        definitions=store.system_definitions(),
    )


def print_pairing(console: Console, pairing: Pairing, *, show: int, per: Unit | None) -> None:
    """Render a pairing as `composer compare` prints it: the table, notes, what differs."""
    from composer.report.terminal import compare_layouts, print_fitted

    a, b, rows = pairing.a, pairing.b, pairing.rows
    title = (
        f"{a} (A) vs {b} (B), parser {pairing.parser}, judge {pairing.judge_label or '-'}, "
        f"bootstrap seed {pairing.seed}"
    )
    print_fitted(console, compare_layouts(title, rows, pairing.seed))
    if rows[0].noise != "instances":
        console.print(
            f"  The 95% CI includes the noise of {rows[0].noise} (cluster bootstrap); A % and "
            "B % are mean pass rates over seeds; p: exact sign test on per-instance pass rates.",
            highlight=False,
        )
    difference = budget.spend(pairing.spent.get(a), pairing.spent.get(b))
    if difference:
        console.print(
            f"  The two spend differently: {budget.spend_note(difference)}.", highlight=False
        )
    if per is not None:
        _print_per_unit(console, pairing, per)
    for a_sys, b_sys, axis, role in pairing.swaps:
        bound = (
            pairing.definitions[a_sys].role(axis, role),
            pairing.definitions[b_sys].role(axis, role),
        )
        console.print(
            f"  {axis}: the systems differ only in role {literal(role)!r} "
            f"({literal(a_sys)}: {literal(bound[0])}, {literal(b_sys)}: {literal(bound[1])}), "
            "so the difference is that role's.",
            highlight=False,
        )
    _print_differing(console, pairing, show)


def _print_per_unit(console: Console, pairing: Pairing, unit: Unit) -> None:
    label = "image generated" if unit == "image" else "dollar"
    for p in pairing.rows:
        values = [
            budget.per_unit(p.accuracy_a, pairing.spent.get(pairing.a), unit),
            budget.per_unit(p.accuracy_b, pairing.spent.get(pairing.b), unit),
        ]
        shown = ["-" if v is None else f"{v:.4g}" for v in values]
        console.print(
            f"  {p.scope}: accuracy points per {label} per instance: A {shown[0]}, B {shown[1]}",
            highlight=False,
        )


def _print_differing(console: Console, pairing: Pairing, show: int) -> None:
    first = pairing.rows[0]
    differing = first.differing
    several = first.seeds > 1
    right = "passes more seeds" if several else "right"
    console.print(
        f"{len(differing)} instances differ (A {right}, B not: {first.only_a}; "
        f"B {right}, A not: {first.only_b})" + (":" if differing else "."),
        highlight=False,
    )
    rates_a = pairing.outcomes[pairing.a].rates()
    rates_b = pairing.outcomes[pairing.b].rates()
    for instance, category, right_a, _ in differing[:show]:
        winner = "A" if right_a else "B"
        what = (
            f"pass rate A {rates_a[instance]:.2f}, B {rates_b[instance]:.2f}"
            if several
            else f"only {winner} right"
        )
        console.print(f"  {literal(instance):<24} {literal(category):<26} {what}", highlight=False)
    if len(differing) > show:
        console.print(f"  ... and {len(differing) - show} more (--show N)", highlight=False)
