"""`composer trace RUN SYSTEM INSTANCE`: every step of one task in the terminal.

Each model call the system's graph nodes (then its judges) made for the instance, in order:
node, role, model, what it asked, what it got, the images in and out (as paths in the run's
image store), latency, whether it was replayed from the cache, and any error; then the
task's outputs, nested values flattened and image references shown as paths. Text from models
and data is printed as plain text: control characters and terminal escape sequences are
replaced, so a reply cannot restyle or rewrite the terminal.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from composer.cli.base import _check_run, _fail, app, out
from composer.core.errors import ComposerError, ConfigError
from composer.report.safe_text import printable

if TYPE_CHECKING:
    from composer.evaluation.store import Result, RunStore
    from composer.report.trace import Step

_ESCAPE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|.)?")


def clean(text: str) -> str:
    r"""`text` safe for a terminal: escape sequences dropped, control characters shown as `?`.

    Example:
        >>> clean("ok\x1b[31m red\x07")
        'ok red?'
    """
    text = _ESCAPE.sub("", text)
    return "".join(
        "?" if c not in "\n\t" and unicodedata.category(c) in ("Cc", "Cf", "Cs") else c
        for c in text
    )


def _indented(label: str, text: str) -> str:
    lines = clean(text).splitlines() or [""]
    pad = " " * (len(label) + 6)
    return f"    {label}: {lines[0]}" + "".join(f"\n{pad}{line}" for line in lines[1:])


def _image_paths(store: RunStore, uris: tuple[str, ...]) -> str:
    from composer.core.images import ImageRef, ImageStore

    images = ImageStore(store.run_dir / "images")
    return ", ".join(str(images.path(ImageRef.parse(u))) for u in uris)


def _step_lines(store: RunStore, number: int, step: Step) -> list[str]:
    cached = {True: "cached", False: "sent", None: "cache not recorded"}[step.cached]
    latency = "-" if step.latency_s is None else f"{step.latency_s:.2f} s"
    head = f"{number:>3}. {step.node} · role {step.role or '-'} · {step.model} {step.method}"
    lines = [clean(f"{head} · {latency} · {cached}")]
    lines.append(_indented("asked", step.prompt))
    if step.images_in:
        lines.append(_indented("images in", _image_paths(store, step.images_in)))
    if step.reply:
        lines.append(_indented("got", step.reply))
    if step.images_out:
        lines.append(_indented("image out", _image_paths(store, step.images_out)))
    if step.error:
        lines.append(_indented("error", step.error))
    return lines


def _find(store: RunStore, system: str, instance: str, seed: int | None) -> Result:
    """The stored result of (system, instance, seed); seed None: the lowest seed."""
    found = [r for r in store.results(system) if r.instance == instance]
    if not found:
        systems = sorted({r.system for r in store.results()})
        if system not in systems:
            raise ConfigError(
                f"SYSTEM {system!r}",
                f"has no results in {store.run_dir}.",
                f"Pass one of: {', '.join(systems) or '(none stored)'}.",
            )
        raise ConfigError(
            f"INSTANCE {instance!r}",
            f"has no result of system {system!r} in {store.run_dir}.",
            "Pass an instance id the report lists (composer report RUN --format jsonl).",
        )
    seeds = sorted(r.seed for r in found)
    if seed is None:
        seed = seeds[0]
    chosen = [r for r in found if r.seed == seed]
    if not chosen:
        raise ConfigError(
            f"--seed {seed}",
            f"is not a seed this task ran with (ran: {', '.join(map(str, seeds))}).",
            "Pass one of those seeds.",
        )
    return chosen[0]


@app.command()
def trace(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    system: Annotated[str, typer.Argument(help="A system of the run.")],
    instance: Annotated[str, typer.Argument(help="An instance id.")],
    seed: Annotated[
        int | None, typer.Option(help="The run seed (default: the lowest one the task ran).")
    ] = None,
    judges: Annotated[bool, typer.Option(help="Show the judges' calls too.")] = True,
) -> None:
    """Show every step of one task: each model call in order, what it asked and what it got."""
    from composer.evaluation.store import RunStore
    from composer.report.trace import output_fields, steps_of

    try:
        _check_run(run_dir, None)
        store = RunStore(run_dir)
        try:
            result = _find(store, system, instance, seed)
            steps = steps_of(store, result, judges=judges)
            lines = _header(store, result, len(steps))
            for number, step in enumerate(steps, 1):
                lines += _step_lines(store, number, step)
            fields = output_fields(result.output)
            if fields:
                lines.append("outputs:")
            for f in fields:
                shown = _image_paths(store, (f.value,)) if f.kind == "image" else f.value
                lines.append(_indented(f.path, shown))
        finally:
            store.close()
    except ComposerError as error:
        _fail(error)
    out.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)


def _header(store: RunStore, result: Result, calls: int) -> list[str]:
    seeds = sorted({r.seed for r in store.results(result.system) if r.instance == result.instance})
    seed_note = f"seed {result.seed}" + (
        f" of {', '.join(map(str, seeds))} (pass --seed for another)" if len(seeds) > 1 else ""
    )
    verdict = {True: "right", False: "wrong", None: "-"}
    lines = [
        clean(  # names as the other commands show them: their controls as escapes
            f"{printable(result.system)} on {printable(result.instance)} "
            f"({result.axis} · {result.category}), "
            f"{seed_note}: {result.status}, official {verdict[result.correct_official]}, "
            f"strict {verdict[result.correct_strict]}; {result.latency_s:.2f} s; {calls} calls"
        )
    ]
    if result.error:
        lines.append(_indented("error", result.error))
    return lines
