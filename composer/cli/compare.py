"""The `compare` command: two systems of a run, instance by instance."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from composer.cli.base import _check_run, _fail, _seed_option, app, out
from composer.core.errors import ComposerError

if TYPE_CHECKING:
    from composer.core.instance import Parser
    from composer.report.budget import Unit


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
    from composer.report.pairwise import pair_systems, print_pairing

    try:
        _check_run(run_dir, parser)
        _seed_option("--seed", seed)
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
        store = RunStore(run_dir)
        try:
            pairing = pair_systems(
                store, a, b, parser=cast("Parser | None", parser), judge=judge, seed=seed
            )
        finally:
            store.close()
    except ComposerError as error:
        _fail(error)
    print_pairing(out, pairing, show=show, per=cast("Unit | None", per))
