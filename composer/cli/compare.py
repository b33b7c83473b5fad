"""The `compare` command: two systems of a run, instance by instance."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from composer.cli.base import _check_run, _fail, app, out
from composer.core.errors import ComposerError
from composer.report.safe_text import literal

if TYPE_CHECKING:
    from composer.core.instance import Parser


@app.command()
def compare(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    a: Annotated[str, typer.Argument(help="System A.")],
    b: Annotated[str, typer.Argument(help="System B.")],
    parser: Annotated[
        str | None, typer.Option(help="official or strict (default: the run's).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Bootstrap seed (default: the run's seed).")
    ] = None,
    show: Annotated[int, typer.Option(help="List at most N differing instances.")] = 50,
    judge: Annotated[
        str | None,
        typer.Option(help="Compare UEG scores of this stored judge (default: the current one)."),
    ] = None,
    per: Annotated[
        str | None,
        typer.Option(
            help="Also show accuracy per unit of budget: 'image' (points per image generated "
            "per instance) or 'usd' (points per dollar spent per instance)."
        ),
    ] = None,
) -> None:
    """Compare two systems instance by instance: the paired table, McNemar, and what differs.

    With several run seeds an instance counts by its pass rate over seeds (sign test; cluster
    bootstrap over instances and seeds, and judges when the run has several).
    """
    from composer.core.errors import ConfigError
    from composer.evaluation.store import RunStore
    from composer.report import budget, judging, noise, stats
    from composer.report.judging import resolve_judge
    from composer.report.summary import headline_parser

    try:
        _check_run(run_dir, parser)
        if show < 0:
            raise ConfigError(
                "--show",
                f"must be 0 or more (got {show}).",
                "Pass how many differing instances to list.",
            )
        if per not in (None, "image", "usd"):
            raise ConfigError(
                "--per", f"must be image or usd (got {per!r}).", "Pass --per image or --per usd."
            )
        store = RunStore(run_dir, read_only=True)
        try:
            latest = store.latest_run()
            chosen = headline_parser(store, cast("Parser | None", parser))
            judge_id, judge_label = resolve_judge(store, judge)
            results = list(store.results(judge=judge_id, parser=chosen))
            judge_ids = [i for i, _ in judging.run_judges(store)]
            judge_ids.sort(key=lambda i: i != judge_id)
            scores = None
            if len(judge_ids) > 1:
                scores = noise.judge_scores(store.score_rows(), chosen)
            grouped = noise.outcomes(results, parser=chosen, judges=judge_ids, scores=scores)
            spent = budget.per_system(stats.costs(store.call_rows(), results), results, chosen)
            definitions = store.system_definitions()
        finally:
            store.close()
        for name in (a, b):
            if name not in grouped:
                known = ", ".join(sorted(grouped)) or "none"
                raise ConfigError(
                    f"system {name!r}", "has no results in this run.", f"Systems: {known}."
                )
        run_seed = int(latest["seed"]) if latest and seed is None else (seed or 0)
        rows = noise.compare(a, b, grouped, parser=chosen, seed=run_seed)
        if not rows[0].n:
            raise ConfigError(
                f"compare {a!r} and {b!r}",
                f"the two systems share no instance ({len(grouped[a].grids)} and "
                f"{len(grouped[b].grids)} "
                "results, none for the same instance), so there is nothing to pair.",
                "Compare systems run on the same instances (the same benchmark, categories "
                "and limit).",
            )
        swaps = [s for s in stats.single_role_swaps(definitions) if {s[0], s[1]} == {a, b}]
    except ComposerError as error:
        _fail(error)
    from composer.report.terminal import compare_layouts, print_fitted

    title = (
        f"{a} (A) vs {b} (B), parser {chosen}, judge {judge_label or '-'}, "
        f"bootstrap seed {run_seed}"
    )
    print_fitted(out, compare_layouts(title, rows, run_seed))
    if rows[0].noise != "instances":
        out.print(
            f"  The 95% CI includes the noise of {rows[0].noise} (cluster bootstrap); A % and "
            "B % are mean pass rates over seeds; p: exact sign test on per-instance pass rates.",
            highlight=False,
        )
    difference = budget.spend(spent.get(a), spent.get(b))
    if difference:
        out.print(f"  The two spend differently: {budget.spend_note(difference)}.", highlight=False)
    if per is not None:
        unit = cast("budget.Unit", per)
        label = "image generated" if unit == "image" else "dollar"
        for p in rows:
            values = [
                budget.per_unit(p.accuracy_a, spent.get(a), unit),
                budget.per_unit(p.accuracy_b, spent.get(b), unit),
            ]
            shown = ["-" if v is None else f"{v:.4g}" for v in values]
            out.print(
                f"  {p.scope}: accuracy points per {label} per instance: "
                f"A {shown[0]}, B {shown[1]}",
                highlight=False,
            )
    for a_sys, b_sys, axis, role in swaps:
        bound = (
            definitions[a_sys].role(axis, role),
            definitions[b_sys].role(axis, role),
        )
        out.print(
            f"  {axis}: the systems differ only in role {literal(role)!r} "
            f"({literal(a_sys)}: {literal(bound[0])}, {literal(b_sys)}: {literal(bound[1])}), "
            "so the difference is that role's.",
            highlight=False,
        )
    differing = rows[0].differing
    several = rows[0].seeds > 1
    right = "passes more seeds" if several else "right"
    out.print(
        f"{len(differing)} instances differ (A {right}, B not: {rows[0].only_a}; "
        f"B {right}, A not: {rows[0].only_b})" + (":" if differing else "."),
        highlight=False,
    )
    rates_a, rates_b = grouped[a].rates(), grouped[b].rates()
    for instance, category, right_a, _ in differing[:show]:
        winner = "A" if right_a else "B"
        what = (
            f"pass rate A {rates_a[instance]:.2f}, B {rates_b[instance]:.2f}"
            if several
            else f"only {winner} right"
        )
        out.print(f"  {literal(instance):<24} {literal(category):<26} {what}", highlight=False)
    if len(differing) > show:
        out.print(f"  ... and {len(differing) - show} more (--show N)", highlight=False)
