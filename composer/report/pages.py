"""The HTML report's page per instance, and what every page of the report shares.

`write_pages` writes `instances/<id>.html`: every system side by side for one instance (input,
rewritten prompt, edited and output images, judge questions and replies, verdicts, errors,
every other output with its images shown), then each system's steps in order: every model call
its nodes and judges made, with what it asked and got (`composer.report.trace`).
`PageContext`, `slug`, `environment` (jinja2, autoescaping on), `image_ref` and
`outcome_class` serve the index in `composer.report.html` too.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import escape

from composer.core.definition import SystemDefinition
from composer.core.images import ImageRef, ImageStore
from composer.core.instance import STEP, Axis, Instance, Parser
from composer.core.outputs import EDITED_IMAGE, IMAGE, RESPONSE, REWRITE
from composer.evaluation.store import Judgment, Result, RunStore
from composer.report import stats
from composer.report.model import Report
from composer.report.trace import PageJudgments, Step, Traces, output_fields

_SHA = re.compile(r"^sha256:[0-9a-f]{64}$")
_MAIN_IMAGES = ((EDITED_IMAGE, "edited image"), (IMAGE, "output image"))
_SHOWN = {REWRITE, RESPONSE, EDITED_IMAGE, IMAGE}
_STATUS_CLASS = {"failed": "f", "refused": "f", "unscored": "f"}


LIST_ROWS = 1000
"""Rows per page of the index's instance list: a run of 10,000 instances keeps its index near
1 MB (a row with its thumbnails is about 1 KB) and its pages load at once."""


def list_page(position: int, rows: int = LIST_ROWS) -> str:
    """The page of the instance list (next to `index.html`) that holds the instance at `position`.

    Example:
        >>> list_page(0), list_page(1000)
        ('index.html', 'index-2.html')
    """
    number = position // rows + 1
    return "index.html" if number == 1 else f"index-{number}.html"


@dataclass
class PageContext:
    """What every page needs: paths, the image store, the systems in order, and thumbnails."""

    out: Path
    images: ImageStore
    systems: list[str]
    definitions: Mapping[str, SystemDefinition]
    report: Report
    parser: Parser
    thumbs: dict[str, str] = field(default_factory=dict)
    """sha256 -> thumbnail file name, for images that need one."""
    stored: set[str] = field(default_factory=set)
    """sha256 of every image in the run's store, listed once (not one stat per image)."""
    judges_disagree: set[tuple[str, str]] = field(default_factory=set)
    """(system, instance) whose output the run's judges scored differently."""
    list_rows: int = LIST_ROWS
    """Rows per page of the index's instance list."""


def slug(instance_id: str) -> str:
    """A file name for an instance id: safe characters, kept apart from ids that differ."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", instance_id)[:80]
    if safe != instance_id:  # keep ids that differ only in unsafe characters apart
        safe += "-" + hashlib.sha256(instance_id.encode()).hexdigest()[:8]
    return safe


@functools.cache
def environment() -> Any:
    """The jinja2 environment of the report's templates, autoescaping every text."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(
        loader=PackageLoader("composer.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def image_ref(value: Any) -> ImageRef | None:
    """The image a stored output field refers to (`sha256:...`), or None."""
    return ImageRef.parse(value) if isinstance(value, str) and _SHA.match(value) else None


def outcome_class(result: Result | None, parser: Parser) -> str:
    """`r` right, `x` ran but not right, `f` failed, refused or unscored, `` did not run."""
    if result is None:
        return ""
    if result.status in _STATUS_CLASS:
        return "f"
    return "r" if stats.is_right(result, parser) else "x"


@functools.lru_cache(maxsize=1 << 16)
def _relative(sha256: str) -> str:
    return ImageStore.relative_path(ImageRef(sha256=sha256)).as_posix()


def _image_src(ctx: PageContext, ref: ImageRef | None, base: str) -> str | None:
    return None if ref is None else _sha_src(ctx, ref.sha256, base)


def _sha_src(ctx: PageContext, sha256: str, base: str) -> str | None:
    """The image's path from a page, or None where the run's store lacks it."""
    if sha256 not in ctx.stored:
        return None
    return f"{base}/{_relative(sha256)}"


def _verdict(given: str | None, expected: str) -> str:
    if given is None:
        return "f"
    return "r" if given == expected else "x"


def _thumb_link(src: str | None, label: str) -> str:
    if src:
        src, label = escape(src), escape(label)
        return (
            f'<a href="{src}" title="{label}"><img class="thumb" src="{src}" alt="{label}" '
            'loading="lazy"></a>'
        )
    return f'<span class="missing" title="{escape(label)}">image not found</span>'


def _verdict_word(value: bool | None) -> str:
    return "-" if value is None else ("right" if value else "wrong")


def _card(
    ctx: PageContext,
    system: str,
    result: Result,
    judgments: list[Judgment],
    base: str,
    out: list[str],
) -> str:
    """Append one system's card of an instance page to `out`; return its outcome class."""
    definition = ctx.definitions.get(system)
    axis_def = definition.axes.get(result.axis) if definition else None
    entry = ctx.report["systems"].get(system)
    output = result.output
    kind = entry["kind"] if entry else definition.kind if definition else ""
    cls = outcome_class(result, ctx.parser)
    out.append(
        f'<article class="card {cls}">\n<h2>{escape(system)}</h2>\n'
        f'<p class="meta">{escape(kind)} · {escape(entry["mode"] if entry else "")} · '
        f"{escape(axis_def.graph if axis_def else '')}</p>\n"
        f'<p><span class="badge {cls}">{escape(result.status)}</span> official '
        f"{_verdict_word(result.correct_official)} · strict "
        f"{_verdict_word(result.correct_strict)} · {result.latency_s:.2f} s"
    )
    if result.cost_usd is not None:
        out.append(f" · ${result.cost_usd:.4f}")
    out.append("</p>\n")
    if result.error:
        out.append(f'<h3>error</h3><pre class="error">{escape(result.error)}</pre>')
    failure = result.failure
    if failure:
        out.append(f'<p class="failure">failed in graph <code>{escape(failure.graph)}</code>')
        if failure.node:
            out.append(f", node <code>{escape(failure.node)}</code>")
        if failure.location:
            out.append(f", at <code>{escape(failure.location)}</code>")
        out.append("</p>\n")
        if failure.traceback:
            out.append(
                '<details class="traceback" open><summary>traceback</summary>'
                f"<pre>{escape(failure.traceback)}</pre></details>"
            )
    rewrite = output.get(REWRITE)
    if isinstance(rewrite, str) and rewrite:
        out.append(f'<h3>rewritten prompt</h3><p class="text">{escape(rewrite)}</p>')
    for key, label in _MAIN_IMAGES:
        ref = image_ref(output.get(key))
        if ref is None:
            continue
        src = _image_src(ctx, ref, base)
        shown = (
            f'<img class="full" src="{escape(src)}" alt="{label}">'
            if src
            else '<p class="missing">image not found</p>'
        )
        out.append(f"<figure>{shown}<figcaption>{label}</figcaption></figure>")
    response = output.get(RESPONSE)
    if isinstance(response, str):
        out.append(f'<h3>response</h3><p class="text">{escape(response)}</p>')
    if judgments:
        out.append(
            '<h3>judge</h3>\n<table class="grid judge"><thead><tr><th>question</th>'
            "<th>expected</th><th>reply</th><th>official</th><th>strict</th></tr></thead>"
            "<tbody>\n"
        )
        for j in judgments:
            out.append(
                f"<tr><td>{escape(j.question)}</td><td>{escape(j.expected)}</td>"
                f'<td class="text">{escape(j.reply)}</td>'
                f'<td class="{_verdict(j.official, j.expected)}">{escape(j.official or "-")}</td>'
                f'<td class="{_verdict(j.strict, j.expected)}">{escape(j.strict or "unscored")}'
                "</td></tr>\n"
            )
        out.append("</tbody></table>")
    fields = output_fields({k: v for k, v in output.items() if k not in _SHOWN})
    if fields:
        out.append('<h3>other outputs</h3>\n<table class="grid outputs"><tbody>\n')
        for f in fields:
            if f.kind == "image":
                value = _thumb_link(_image_src(ctx, ImageRef.parse(f.value), base), f.path)
            else:
                value = escape(f.value)
            out.append(
                f'<tr><th scope="row">{escape(f.path)}</th><td class="{f.kind}">{value}</td></tr>\n'
            )
        out.append("</tbody></table>")
    out.append("</article>\n")
    return cls


def _steps(
    ctx: PageContext, number: int, system: str, steps: list[Step], base: str, out: list[str]
) -> None:
    """Append one system's step table: each call, what it asked and got, its images."""
    out.append(f'<h3 id="steps-{number}">{escape(system)} <small>{len(steps)} calls</small></h3>\n')
    if not steps:
        out.append(
            '<p class="meta">No model calls recorded (imported outputs, or a failure before '
            "the first call).</p>\n"
        )
        return
    out.append(
        f'<table class="grid trace" data-system="{escape(system)}"><thead><tr><th>#</th>'
        "<th>node</th><th>role</th><th>model</th><th>prompt</th><th>reply</th><th>images</th>"
        "<th>latency</th><th>cached</th><th>error</th></tr></thead><tbody>\n"
    )

    def link(uri: str, direction: str) -> str:
        # `uri` matched trace.IMAGE_URI: "sha256:" and the digest.
        src = _sha_src(ctx, uri.removeprefix("sha256:"), base)
        return _thumb_link(src, f"{direction}: {uri}")

    for k, step in enumerate(steps, 1):
        options = json.dumps(dict(step.options), ensure_ascii=False) if step.options else ""
        images = "".join(link(uri, "in") for uri in step.images_in)
        if step.images_out:
            images += " → " + "".join(link(uri, "out") for uri in step.images_out)
        latency = "-" if step.latency_s is None else f"{step.latency_s:.2f} s"
        cached = {True: "yes", False: "no", None: "-"}[step.cached]
        out.append(
            f'<tr class="{"f" if step.error else ""}"><td>{k}</td><td>{escape(step.node)}</td>'
            f"<td>{escape(step.role)}</td><td>{escape(step.model)}<br><small>{escape(step.method)}</small>"
            f'</td><td class="text">{escape(step.prompt)}'
            + (f"<br><small>{escape(options)}</small>" if options else "")
            + f'</td><td class="text">{escape(step.reply)}</td><td class="images">{images}</td>'
            f"<td>{latency}</td><td>{cached}</td>"
            f'<td class="text">{escape(step.error or "")}</td></tr>\n'
        )
    out.append("</tbody></table>\n")


def _input(ctx: PageContext, instance: Instance, base: str, out: list[str]) -> None:
    """Append the input section: what the systems were given, then what only scorers see."""
    is_ueg = instance.axis is Axis.UEG
    out.append('<section class="input">\n<h2>Input</h2>\n')
    image = _image_src(ctx, instance.images[0] if instance.images else None, base)
    if image:
        out.append(
            f'<figure><img class="full" src="{escape(image)}" alt="input image">'
            "<figcaption>input image</figcaption></figure>"
        )
    prompt = instance.text if is_ueg else None
    step_prompt = instance.request(STEP)
    question = instance.field("question") or (None if is_ueg else instance.text)
    options = instance.field("options", ())
    answer = instance.references.answer
    edit_prompt = instance.field("edit_prompt")
    evaluation_prompt = instance.field("evaluation_prompt")
    checks = instance.references.checks
    if prompt:
        out.append(f'<h3>prompt</h3><p class="text">{escape(prompt)}</p>')
    if step_prompt:
        out.append(
            "<details><summary>benchmark step prompt</summary>"
            f'<p class="text">{escape(step_prompt)}</p></details>'
        )
    if question:
        out.append(f'<h3>question</h3><p class="text">{escape(question)}</p>')
    if options:
        items = "".join(f"<li>{escape(o)}</li>" for o in options)
        out.append(f'<ol class="options" type="A">{items}</ol>')
    if answer:
        out.append(f"<p>expected answer: <b>{escape(answer)}</b></p>")
    if edit_prompt:
        out.append(f'<h3>edit prompt</h3><p class="text">{escape(edit_prompt)}</p>')
    if evaluation_prompt:
        out.append(
            "<details><summary>evaluation prompt</summary>"
            f'<p class="text">{escape(evaluation_prompt)}</p></details>'
        )
    if checks:
        items = "".join(f"<li>{escape(c.question)} <b>{escape(c.answer)}</b></li>" for c in checks)
        out.append(f"<h3>checks</h3><ul>{items}</ul>")
    out.append("</section>\n")


def instance_page(
    ctx: PageContext,
    instance: Instance,
    ran: Mapping[str, Result],
    judgments: Mapping[tuple[str, str], list[Judgment]],
    traces: Traces,
    base: str,
    neighbours: tuple[str | None, str | None],
    listed: str = "index.html",
) -> str:
    """The HTML of one instance's page: its input, each system's card, each system's steps.

    Built as one string, every text from models and data escaped (`markupsafe.escape`, as
    jinja2's autoescape does): a template render per page was a quarter of a large report.
    `listed` is the page of the instance list that holds this instance.
    """
    title = escape(instance.id)
    out = [
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n<link rel="stylesheet" href="../assets/style.css">\n'
        f"<title>{title} · composer report</title>\n</head>\n<body>\n"
        f'<nav class="pager"><a href="../{listed}#instances">index</a>'
    ]
    previous, following = neighbours
    if previous:
        out.append(f' · <a href="{escape(previous)}" rel="prev">previous</a>')
    if following:
        out.append(f' · <a href="{escape(following)}" rel="next">next</a>')
    subtask = f" · {escape(instance.subtask)}" if instance.subtask else ""
    out.append(
        f"</nav>\n<h1>{title} <small>{escape(instance.axis.value)} · {escape(instance.category)}"
        f'{subtask}</small></h1>\n\n<main class="instance-page">\n'
    )
    _input(ctx, instance, base, out)
    out.append('\n<section class="systems">\n')
    shown = [s for s in ctx.systems if s in ran]
    for system in shown:
        _card(ctx, system, ran[system], judgments.get((system, instance.id), []), base, out)
    out.append(
        '</section>\n</main>\n\n<section class="steps">\n<h2>Steps</h2>\n<p class="meta">Every '
        "model call each system's graph nodes and judges made for this instance, in order: "
        "what it asked and what it got. A cached step replayed a stored reply; its latency is "
        "when it was sent.</p>\n"
    )
    for number, system in enumerate(shown):
        _steps(ctx, number, system, traces.steps(ran[system]), base, out)
    out.append("</section>\n</body>\n</html>")
    return "".join(out)


PAGE_BATCH = 50
"""Instance pages whose calls and judgments are read together (one query per table a batch;
a large run's calls are never all in memory). Small enough that the demo's 100 instances are
read in more than one: at 200, a batch of 60 per category held three times the calls of the
whole 10-per-category run, most of the growth of the demo's peak memory (issue 26)."""


def write_pages(
    ctx: PageContext,
    store: RunStore,
    instances: list[Instance],
    results: Mapping[str, Mapping[str, Result]],
) -> None:
    """Write `instances/<id>.html` for every instance: all systems side by side."""
    base = Path(os.path.relpath(ctx.images.root.resolve(), (ctx.out / "instances").resolve()))
    image_base = base.as_posix()
    batches = PageJudgments(store, ctx.report.get("judge_id"))
    traces = Traces(store)
    names = [f"{slug(i.id)}.html" for i in instances]
    folder = ctx.out / "instances"
    judgments: dict[tuple[str, str], list[Judgment]] = {}
    for k, instance in enumerate(instances):
        if k % PAGE_BATCH == 0:  # the batch's calls and judgments, one query per table
            batch = instances[k : k + PAGE_BATCH]
            traces.prefetch(r for i in batch for r in results[i.id].values())
            judgments = batches.of(ctx.systems, [i.id for i in batch])
        neighbours = (names[k - 1] if k > 0 else None, names[k + 1] if k + 1 < len(names) else None)
        page = instance_page(
            ctx,
            instance,
            results[instance.id],
            judgments,
            traces,
            image_base,
            neighbours,
            list_page(k, ctx.list_rows),
        )
        with open(folder / names[k], "w", encoding="utf-8") as file:
            file.write(page)
