"""The HTML report's page per instance, and what every page of the report shares.

`PageWriter` writes `instances/<id>.html`: every system side by side for one instance (input,
rewritten prompt, edited and output images, judge questions and replies, verdicts, errors,
every other output with its images shown), then each system's steps in order: every model call
its nodes and judges made, with what it asked and got (`composer.report.trace`).
`PageContext`, `slug`, `environment` (jinja2, autoescaping on), `image_sha` and
`outcome_class` serve the index in `composer.report.html` too.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from composer.core.definition import SystemDefinition
from composer.core.images import ImageStore
from composer.core.instance import STEP, Axis, Instance, Parser
from composer.core.outputs import EDITED_IMAGE, IMAGE, RESPONSE, REWRITE
from composer.evaluation.json_text import text_encoder
from composer.evaluation.store import Result, RunStore
from composer.report import stats
from composer.report.safe_text import html_escape as escape
from composer.report.safe_text import html_shown
from composer.report.trace import PageJudgment, PageJudgments, Step, Traces, output_fields

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


class Escapes(dict[str, str]):
    """markupsafe's `escape` of each text a batch of pages shows, kept for its next use.

    A page repeats most of its texts (systems, models, nodes, judge questions and replies):
    at 1,000 x 6, 97% of the escapes were of a text escaped before, and an escape (a `Markup`
    built per call) cost more than the rest of its row. `PageWriter` empties it every batch.
    """

    def __missing__(self, text: str) -> str:
        value = self[text] = str(escape(text))
        return value


@dataclass
class PageContext:
    """What every page needs: paths, the image store, the systems in order, and thumbnails."""

    out: Path
    images: ImageStore
    systems: list[str]
    definitions: Mapping[str, SystemDefinition]
    judge_id: str | None
    """The judge whose judgments the pages show (the report's `judge_id`)."""
    parser: Parser
    thumbs: dict[str, str] = field(default_factory=dict)
    """sha256 -> thumbnail file name, for images that need one."""
    stored: set[str] = field(default_factory=set)
    """sha256 of every image in the run's store, listed once (not one stat per image)."""
    judges_disagree: set[tuple[str, str]] = field(default_factory=set)
    """(system, instance) whose output the run's judges scored differently."""
    list_rows: int = LIST_ROWS
    """Rows per page of the index's instance list."""
    escapes: Escapes = field(default_factory=Escapes)
    """The texts of the current batch of pages, escaped (see `Escapes`)."""
    step_links: dict[tuple[str, str, str], str] = field(default_factory=dict)
    """The current batch's step image links, by (image reference, direction, images' path): a
    page shows its input image in most of its steps."""


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
        finalize=html_shown,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def image_sha(value: Any) -> str | None:
    """The sha256 of the image a stored output field refers to (`sha256:...`), or None."""
    return value[7:] if isinstance(value, str) and _SHA.match(value) else None


def outcome_class(result: Result | None, parser: Parser) -> str:
    """`r` right, `x` ran but not right, `f` failed, refused or unscored, `` did not run."""
    if result is None:
        return ""
    if result.status in _STATUS_CLASS:
        return "f"
    return "r" if stats.is_right(result, parser) else "x"


def relative_image(sha256: str) -> str:
    """`ImageStore.relative_path` of the image, as text (tests/report check the two agree).

    Built from the digest: an `ImageRef` and a `PurePosixPath` per image were 3% of a large
    report.
    """
    return f"{sha256[:2]}/{sha256}.png"


def _sha_src(ctx: PageContext, sha256: str | None, base: str) -> str | None:
    """The image's path from a page, or None where the run's store lacks it."""
    if sha256 is None or sha256 not in ctx.stored:
        return None
    return f"{base}/{relative_image(sha256)}"


def _verdict(given: str | None, expected: str) -> str:
    if given is None:
        return "f"
    return "r" if given == expected else "x"


def _thumb_link(src: str | None, label: str, esc: Callable[[str], str]) -> str:
    if src:
        src, label = esc(src), esc(label)
        return (
            f'<a href="{src}" title="{label}"><img class="thumb" src="{src}" alt="{label}" '
            'loading="lazy"></a>'
        )
    return f'<span class="missing" title="{esc(label)}">image not found</span>'


def _verdict_word(value: bool | None) -> str:
    return "-" if value is None else ("right" if value else "wrong")


def _card(
    ctx: PageContext,
    system: str,
    result: Result,
    judgments: list[PageJudgment],
    base: str,
    out: list[str],
) -> str:
    """Append one system's card of an instance page to `out`; return its outcome class."""
    esc = ctx.escapes.__getitem__
    definition = ctx.definitions.get(system)
    axis_def = definition.axes.get(result.axis) if definition else None
    output = result.output
    # What the summary's entry says of the system, from its definition: the pages need no
    # summary, so they can be made while it is computed.
    kind, mode = (definition.kind, definition.mode) if definition else ("", "")
    cls = outcome_class(result, ctx.parser)
    out.append(
        f'<article class="card {cls}">\n<h2>{esc(system)}</h2>\n'
        f'<p class="meta">{esc(kind)} &middot; {esc(mode)} &middot; '
        f"{esc(axis_def.graph if axis_def else '')}</p>\n"
        f'<p><span class="badge {cls}">{esc(result.status)}</span> official '
        f"{_verdict_word(result.correct_official)} &middot; strict "
        f"{_verdict_word(result.correct_strict)} &middot; {result.latency_s:.2f} s"
    )
    if result.cost_usd is not None:
        out.append(f" &middot; ${result.cost_usd:.4f}")
    out.append("</p>\n")
    if result.error:
        out.append(f'<h3>error</h3><pre class="error">{esc(result.error)}</pre>')
    failure = result.failure
    if failure:
        out.append(f'<p class="failure">failed in graph <code>{esc(failure.graph)}</code>')
        if failure.node:
            out.append(f", node <code>{esc(failure.node)}</code>")
        if failure.location:
            out.append(f", at <code>{esc(failure.location)}</code>")
        out.append("</p>\n")
        if failure.traceback:
            out.append(
                '<details class="traceback" open><summary>traceback</summary>'
                f"<pre>{esc(failure.traceback)}</pre></details>"
            )
    rewrite = output.get(REWRITE)
    if isinstance(rewrite, str) and rewrite:
        out.append(f'<h3>rewritten prompt</h3><p class="text">{esc(rewrite)}</p>')
    for key, label in _MAIN_IMAGES:
        sha = image_sha(output.get(key))
        if sha is None:
            continue
        src = _sha_src(ctx, sha, base)
        shown = (
            f'<img class="full" src="{esc(src)}" alt="{label}">'
            if src
            else '<p class="missing">image not found</p>'
        )
        out.append(f"<figure>{shown}<figcaption>{label}</figcaption></figure>")
    response = output.get(RESPONSE)
    if isinstance(response, str):
        out.append(f'<h3>response</h3><p class="text">{esc(response)}</p>')
    if judgments:
        out.append(
            '<h3>judge</h3>\n<table class="grid judge"><thead><tr><th>question</th>'
            "<th>expected</th><th>reply</th><th>official</th><th>strict</th></tr></thead>"
            "<tbody>\n"
        )
        for j in judgments:
            out.append(
                f"<tr><td>{esc(j.question)}</td><td>{esc(j.expected)}</td>"
                f'<td class="text">{esc(j.reply)}</td>'
                f'<td class="{_verdict(j.official, j.expected)}">{esc(j.official or "-")}</td>'
                f'<td class="{_verdict(j.strict, j.expected)}">{esc(j.strict or "unscored")}'
                "</td></tr>\n"
            )
        out.append("</tbody></table>")
    fields = output_fields({k: v for k, v in output.items() if k not in _SHOWN})
    if fields:
        out.append('<h3>other outputs</h3>\n<table class="grid outputs"><tbody>\n')
        for f in fields:
            if f.kind == "image":
                value = _thumb_link(_sha_src(ctx, f.value[7:], base), f.path, esc)
            else:
                value = esc(f.value)
            out.append(
                f'<tr><th scope="row">{esc(f.path)}</th><td class="{f.kind}">{value}</td></tr>\n'
            )
        out.append("</tbody></table>")
    out.append("</article>\n")
    return cls


def _steps(
    ctx: PageContext, number: int, system: str, steps: list[Step], base: str, out: list[str]
) -> None:
    """Append one system's step table: each call, what it asked and got, its images."""
    esc = ctx.escapes.__getitem__
    out.append(f'<h3 id="steps-{number}">{esc(system)} <small>{len(steps)} calls</small></h3>\n')
    if not steps:
        out.append(
            '<p class="meta">No model calls recorded (imported outputs, or a failure before '
            "the first call).</p>\n"
        )
        return
    out.append(
        f'<table class="grid trace" data-system="{esc(system)}"><thead><tr><th>#</th>'
        "<th>node</th><th>role</th><th>model</th><th>prompt</th><th>reply</th><th>images</th>"
        "<th>latency</th><th>cached</th><th>error</th></tr></thead><tbody>\n"
    )

    links = ctx.step_links

    def link(uri: str, direction: str) -> str:
        shown = links.get((uri, direction, base))
        if shown is None:
            # `uri` matched trace.IMAGE_URI: "sha256:" and the digest.
            src = _sha_src(ctx, uri.removeprefix("sha256:"), base)
            shown = links[uri, direction, base] = _thumb_link(src, f"{direction}: {uri}", esc)
        return shown

    for k, step in enumerate(steps, 1):
        options = _OPTIONS_JSON(dict(step.options)) if step.options else ""
        images = "".join(link(uri, "in") for uri in step.images_in)
        if step.images_out:
            images += " &rarr; " + "".join(link(uri, "out") for uri in step.images_out)
        latency = "-" if step.latency_s is None else f"{step.latency_s:.2f} s"
        cached = _CACHED[step.cached]
        out.append(
            f'<tr class="{"f" if step.error else ""}"><td>{k}</td><td>{esc(step.node)}</td>'
            f"<td>{esc(step.role)}</td><td>{esc(step.model)}<br><small>{esc(step.method)}</small>"
            f'</td><td class="text">{esc(step.prompt)}'
            + (f"<br><small>{esc(options)}</small>" if options else "")
            + f'</td><td class="text">{esc(step.reply)}</td><td class="images">{images}</td>'
            f"<td>{latency}</td><td>{cached}</td>"
            f'<td class="text">{esc(step.error or "")}</td></tr>\n'
        )
    out.append("</tbody></table>\n")


_CACHED = {True: "yes", False: "no", None: "-"}


_OPTIONS_JSON = text_encoder(ensure_ascii=False)
"""`json.dumps(..., ensure_ascii=False)`'s text from an encoder made once: `dumps` with an
argument makes one per call, most of what a step's options cost."""


def _input(ctx: PageContext, instance: Instance, base: str, out: list[str]) -> None:
    """Append the input section: what the systems were given, then what only scorers see."""
    is_ueg = instance.axis is Axis.UEG
    out.append('<section class="input">\n<h2>Input</h2>\n')
    image = _sha_src(ctx, instance.images[0].sha256 if instance.images else None, base)
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
    judgments: Mapping[tuple[str, str], list[PageJudgment]],
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
        f"<title>{title} &middot; composer report</title>\n</head>\n<body>\n"
        f'<nav class="pager"><a href="../{listed}#instances">index</a>'
    ]
    previous, following = neighbours
    if previous:
        out.append(f' &middot; <a href="{escape(previous)}" rel="prev">previous</a>')
    if following:
        out.append(f' &middot; <a href="{escape(following)}" rel="next">next</a>')
    subtask = f" &middot; {escape(instance.subtask)}" if instance.subtask else ""
    out.append(
        f"</nav>\n<h1>{title} <small>{escape(instance.axis.value)} &middot; "
        f'{escape(instance.category)}{subtask}</small></h1>\n\n<main class="instance-page">\n'
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


class PageWriter:
    """Writes the pages of an instance list, a share at a time (see `page_shares`).

    What every page of the list reads alike (the judgments' seed, the judges' labels) is read
    once. A page depends only on its instance, its results and its place in the whole list
    (its neighbours, its page of the index), so shares written apart are the pages written
    together.
    """

    def __init__(
        self,
        ctx: PageContext,
        store: RunStore,
        instances: list[Instance],
        results: Mapping[str, Mapping[str, Result]],
    ) -> None:
        """The pages of `instances` (in the list's order) with their `results`, from `store`."""
        self.ctx, self.instances, self.results = ctx, instances, results
        base = Path(os.path.relpath(ctx.images.root.resolve(), (ctx.out / "instances").resolve()))
        # A URL: a "#", "?", "%" or space in the run folder's path would end or change it.
        self.image_base = urllib.parse.quote(base.as_posix())
        self.batches = PageJudgments(store, ctx.judge_id)
        self.traces = Traces(store)
        self.put: Callable[[Path, bytes], None] = write_changed
        """What is done with each page made: written (see `write_changed`), or held."""

    def write(self, share: range) -> None:
        """Write the pages at these positions of the list."""
        ctx, instances, results, traces = self.ctx, self.instances, self.results, self.traces
        first = max(0, share.start - 1)  # the file names of the share and its two neighbours
        names = [f"{slug(i.id)}.html" for i in instances[first : share.stop + 1]]
        folder = ctx.out / "instances"
        judgments: dict[tuple[str, str], list[PageJudgment]] = {}
        for k in share:
            instance = instances[k]
            if (k - share.start) % PAGE_BATCH == 0:  # the batch's calls and judgments, a query each
                batch = instances[k : min(k + PAGE_BATCH, share.stop)]
                traces.prefetch(r for i in batch for r in results[i.id].values())
                ctx.escapes.clear()
                ctx.step_links.clear()
                judgments = self.batches.of(ctx.systems, [i.id for i in batch])
            at = k - first
            neighbours = (
                names[at - 1] if k > 0 else None,
                names[at + 1] if k + 1 < len(instances) else None,
            )
            page = instance_page(
                ctx,
                instance,
                results[instance.id],
                judgments,
                traces,
                self.image_base,
                neighbours,
                list_page(k, ctx.list_rows),
            )
            self.put(folder / names[at], page.encode("utf-8"))


def write_changed(path: Path, data: bytes) -> None:
    """Write `data` to `path`, unless the file holds exactly `data` already.

    The same report written again (a few new results, the same folder) leaves most pages as
    they were. Reading a page back costs a quarter of the CPU of writing it, and a file left
    alone is not truncated and rewritten: at 10,000 pages that was 12 s of waiting on the disk
    (`io.open` in cProfile), 2.3 s of CPU.
    """
    try:
        with open(path, "rb") as file:
            if file.read(len(data) + 1) == data:
                return
    except OSError:
        pass  # not there yet (or not readable): written below, which raises if it cannot be
    with open(path, "wb") as file:
        file.write(data)
