"""The static HTML report: an index of tables, charts and graphs, and a page per instance.

`write_html(store, out_dir)` writes a folder that opens from disk with no server and no
network: `index.html` (accuracy under both parsers, comparisons, paired tests, attribution,
cost, bar charts, each graph's Mermaid source, and the filterable instance list with
thumbnails; past `LIST_ROWS` instances the list goes on in `index-2.html`, `index-3.html`, ...),
`instances/<id>.html` (every system side by side: input, rewritten prompt, edited and output
images, judge questions and replies, verdicts, errors), `thumbs/`, `charts/` and `assets/`.
Full-size images are linked from the run's content-addressed `images/` folder by relative path,
so the report stays small; keep it next to (or inside) its run folder.

Every text from models and data goes through markupsafe's `escape`, by jinja2's autoescaping
in the templates or by hand where a page or a list row is built as a string (a template per
page cost a quarter of a large report), so a reply that contains markup is shown as text. The
only script is the report's own `assets/report.js`, which filters the rows a page holds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from markupsafe import Markup

from composer.benchmarks.catalog import CATEGORY_ABBREV, GEU_CATEGORIES, UEG_CATEGORIES
from composer.core.definition import SystemDefinition
from composer.core.images import ImageStore
from composer.core.instance import Instance, Parser
from composer.core.outputs import EDITED_IMAGE, IMAGE, RESPONSE
from composer.core.thumbnails import THUMB
from composer.evaluation.store import Result, RunStore
from composer.report import channel_tables, unimmmu
from composer.report.charts import accuracy_chart
from composer.report.drawings import Thumbnails, executor, graph_key, outcome_of
from composer.report.judging import resolve_judge
from composer.report.model import Report
from composer.report.page_shares import PageShares, read_whole
from composer.report.pages import (
    LIST_ROWS,
    PageContext,
    environment,
    image_sha,
    list_page,
    outcome_class,
    relative_image,
    slug,
)
from composer.report.safe_text import html_escape as escape
from composer.report.summary import headline_parser, summarize
from composer.report.tables import (
    attribution_rows,
    budget_rows,
    cost_rows,
    judge_rows,
    mean_sd_rows,
    paired_rows,
    seed_rows,
    table_rows,
)

_ORDER = {c: i for i, c in enumerate(UEG_CATEGORIES + GEU_CATEGORIES)}


def _main_image(result: Result | None) -> str | None:
    """The sha256 of the image a result's row shows: its output image, else its edited one."""
    if result is None:
        return None
    return image_sha(result.output.get(IMAGE)) or image_sha(result.output.get(EDITED_IMAGE))


def _snippet(instance: Instance, limit: int = 90) -> str:
    text = instance.field("question") or instance.text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _thumb_img(src: str | None) -> str:
    if not src:
        return ""
    return f'<img src="{escape(src)}" width="{THUMB}" height="{THUMB}" loading="lazy" alt="">'


def _index_rows(
    ctx: PageContext,
    instances: list[Instance],
    results: Mapping[str, Mapping[str, Result]],
) -> list[str]:
    """Each instance's row of the instance list, as HTML (every text escaped)."""
    rows = []
    for instance in instances:
        ran = results.get(instance.id, {})
        outcomes = [outcome_class(ran.get(s), ctx.parser) for s in ctx.systems]
        present = [o for o in outcomes if o]
        tokens = [f"{o}{i}" for i, o in enumerate(outcomes) if o]
        tokens += [f"x{i}" for i, o in enumerate(outcomes) if o == "f"]
        if present and all(o == "r" for o in present):
            tokens.append("all-r")
        if present and "r" not in present:
            tokens.append("none-r")
        if "f" in present:
            tokens.append("has-f")
        if any((s, instance.id) in ctx.judges_disagree for s in ctx.systems):
            tokens.append("jd")
        cells = []
        for system, outcome in zip(ctx.systems, outcomes, strict=True):
            result = ran.get(system)
            sha = _main_image(result)
            answer = result.output.get(RESPONSE) if result else None
            mark = {"r": "✓", "x": "✗", "f": ran[system].status if outcome else ""}.get(outcome, "")
            small = (
                f" <small>{escape(answer[:12])}</small>"
                if isinstance(answer, str) and answer
                else ""
            )
            thumb = _thumb_img(ctx.thumbs.get(sha) if sha else None)
            cells.append(f'<td class="{outcome}">{thumb}{escape(mark)}{small}</td>')
        thumb = _thumb_img(ctx.thumbs.get(instance.images[0].sha256) if instance.images else None)
        disagree = "1" if "r" in present and len(set(present)) > 1 else "0"
        rows.append(
            f'<tr data-c="{escape(instance.category)}" data-o="{escape(" ".join(tokens))}" '
            f'data-d="{disagree}"><td><a href="instances/{escape(slug(instance.id))}.html">'
            f"{escape(instance.id)}</a></td>"
            f"<td>{escape(CATEGORY_ABBREV.get(instance.category, instance.category))}</td>"
            f'<td class="in">{thumb}{escape(_snippet(instance))}</td>{"".join(cells)}</tr>\n'
        )
    return rows


def _list_pages(instances: list[Instance], rows: list[str], size: int) -> list[dict[str, Any]]:
    """The instance list cut into pages of `size` rows: index.html holds the first."""
    pages = []
    for number, start in enumerate(range(0, max(len(rows), 1), size), 1):
        chunk = instances[start : start + size]
        categories = list(dict.fromkeys(i.category for i in chunk))
        title = f"{chunk[0].id} … {chunk[-1].id}: {', '.join(categories)}" if chunk else ""
        pages.append(
            {
                "number": number,
                "href": list_page(start, size),
                "first": start + 1,
                "last": start + len(chunk),
                "categories": categories,
                "title": title,
                # Each text in the rows went through markupsafe's escape (`_index_rows`).
                "rows": Markup("".join(rows[start : start + size])),
            }
        )
    return pages


def _system_rows(
    report: Report,
    definitions: Mapping[str, SystemDefinition],
    graphs: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    ids = {g["key"]: g["id"] for g in graphs}
    rows = []
    for name in report["systems"]:
        for axis, d in definitions[name].axes.items():
            key = graph_key(d.graph, axis, d.options)
            rows.append(
                {
                    "name": name,
                    "kind": report["systems"][name]["kind"],
                    "mode": report["systems"][name]["mode"],
                    "axis": axis,
                    "graph": d.graph,
                    "graph_id": ids[key],
                    "roles": ", ".join(f"{r}={m}" for r, m in d.roles.items()),
                }
            )
    return rows


PARALLEL_FROM = 300
"""From this many images on, thumbnails, charts and drawings run in worker threads."""


def _graphs(
    definitions: Mapping[str, SystemDefinition], systems: list[str], drawings: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Each distinct (graph, axis, options) of the systems, with its Mermaid source."""
    seen: dict[str, dict[str, Any]] = {}
    for name in systems:
        for axis, d in definitions[name].axes.items():
            key = graph_key(d.graph, axis, d.options)
            if key not in seen:
                seen[key] = {
                    "id": f"g{len(seen)}",
                    "name": d.graph,
                    "axis": axis,
                    "options": json.dumps(dict(d.options)) if d.options else "",
                    "mermaid": drawings.get(key, ""),
                    "key": key,
                }
    return list(seen.values())


def _stored_drawings(
    definitions: Mapping[str, SystemDefinition], drawings: Mapping[str, Mapping[str, str]]
) -> dict[str, str]:
    """Mermaid source per distinct graph (see `graph_key`), from the drawings in the store."""
    found: dict[str, str] = {}
    for name, definition in definitions.items():
        for axis, d in definition.axes.items():
            source = drawings.get(name, {}).get(axis)
            if source:
                found.setdefault(graph_key(d.graph, axis, d.options), source)
    return found


def _draw_graphs(out: Path, graphs: list[dict[str, Any]]) -> None:
    """Write `graphs/<id>.svg` for each graph with a stored drawing (no renderer, no network)."""
    from composer.report.svg import mermaid_svg

    (out / "graphs").mkdir(exist_ok=True)
    for g in graphs:
        g["svg"] = ""
        if g["mermaid"]:
            title = f"{g['name']} ({g['axis']})"
            drawing = mermaid_svg(g["mermaid"], title)
            (out / "graphs" / f"{g['id']}.svg").write_text(drawing, "utf-8")
            g["svg"] = f"graphs/{g['id']}.svg"


def _paired_tables(report: Report) -> tuple[Any, Any]:
    """The pairs that answer the question (oriented), then every other pair."""
    from composer.report.pairs import split_pairs

    leading, rest = split_pairs(report)
    header, _ = paired_rows(leading, None)
    question = ["question", *header]
    first = paired_rows(leading, None)[1]
    labels = [p["question"] for p in leading]
    return (
        (question, [[label, *row] for label, row in zip(labels, first, strict=True)]),
        (header, paired_rows(rest, None)[1]),
    )


def _comparison_table(report: Report) -> tuple[list[str], list[list[str]]]:
    rows = [
        [
            c["comparison"],
            c["a"],
            c["b"],
            c["axis"],
            f"{c['delta']:+.1f}",
            " ".join(f"{CATEGORY_ABBREV.get(k, k)} {v:+.0f}" for k, v in c["by_category"].items()),
        ]
        for c in report["comparisons"]
    ]
    return ["comparison", "A", "B", "axis", "A - B", "by category"], rows


def write_html(
    store: RunStore,
    out_dir: Path | str,
    *,
    parser: Parser | None = None,
    judge: str | None = None,
    report: Report | None = None,
    list_rows: int = LIST_ROWS,
) -> Path:
    """Write the HTML report of `store` into `out_dir`; return the path of its `index.html`.

    Writing again into the same folder reuses its thumbnails; a new folder takes those the run
    made when it stored its images (`ImageStore.thumbnails`). UEG scores are `judge`'s
    (default: the run file's current judge). The report reads the store only: graph drawings
    were stored when each system first ran, so no strategy file is imported or run. `report`
    is `summarize(store, parser, judge=judge)` where the caller already has it (the demo
    prints it first); it is computed here otherwise. The index lists the first `list_rows`
    instances, `index-2.html` and on the next ones, so a large run's index stays small.

    Example:
        >>> index = write_html(RunStore("runs/demo"), "runs/demo/report")  # doctest: +SKIP
    """
    out = Path(out_dir)
    try:
        headline = headline_parser(store, parser)
        judge_id, _ = resolve_judge(store, judge)
        with read_whole():
            everything = list(store.results(judge=judge_id, parser=headline))
            all_instances = store.instances()  # read once: the summary's Uni-MMMU part reads them
    finally:
        # Where the store's pages were checked beside the reads: before a process is forked,
        # and named first where a read failed, as when the store opened.
        store.wait_for_page_check()
    definitions = store.system_definitions()
    answered = {r.system for r in everything}
    systems = [name for name in definitions if name in answered]  # the summary's, in order
    ctx = PageContext(
        out,
        ImageStore(store.run_dir / "images", create=False),
        systems,
        definitions,
        judge_id,
        headline,
        list_rows=max(1, list_rows),
    )
    ctx.stored = ctx.images.digests()
    instances = sorted(
        all_instances.values(),
        key=lambda i: (i.axis.value != "UEG", _ORDER.get(i.category, 99), i.category, i.id),
    )
    results = _first_seed(everything)
    instances = [i for i in instances if i.id in results]

    def chart_path(axis: str) -> Path:
        return out / "charts" / f"{axis.lower()}.png"

    # Forked before any thread of the report's starts: a share of the pages per extra core,
    # made while the summary is computed and held until it is (`PageShares.open`).
    pages = PageShares(ctx, store, instances, results, held=report is None)
    with pages:
        if report is None:
            report = summarize(store, headline, everything, judge=judge_id, instances=all_instances)
        # Only once the store has read whole and summarized: a damaged one leaves no half-made
        # report behind.
        for folder in ("instances", "thumbs", "charts", "assets"):
            (out / folder).mkdir(parents=True, exist_ok=True)
        pages.open()
        ctx.judges_disagree = {
            (d["system"], d["instance"])
            for pair in (report.get("judges") or {}).get("agreement", [])
            for d in pair["disagreements"]
        }
        # What only this process needs, once the children write pages.
        jobs = _thumb_jobs(ctx, instances, results)
        drawn = _stored_drawings(definitions, store.system_drawings())
        with executor(len(jobs) >= PARALLEL_FROM) as pool:
            # Those in the folder kept, the run's placed, only the rest made: meanwhile, pages.
            thumbs = Thumbnails(
                jobs, ctx.images.thumbnails(), out / "thumbs", pool, processes_from=PARALLEL_FROM
            )
            charts = [
                pool.submit(accuracy_chart, report, axis, chart_path(axis))
                for axis in ("UEG", "GEU")
            ]
            if not pages.children:  # alone: the pages, while the threads make thumbnails
                pages.write()
            ctx.thumbs = thumbs.shown()
            chart_paths = [
                f"charts/{c.name}"
                for axis, f in zip(("UEG", "GEU"), charts, strict=True)
                if (c := outcome_of(f, accuracy_chart, report, axis, chart_path(axis))) is not None
            ]
            graphs = _graphs(definitions, systems, drawn)
            _draw_graphs(out, graphs)
            index = _write_index(out, store, ctx, report, instances, results, chart_paths, graphs)
            if pages.children:  # the index written while they wrote pages; now the runs left
                pages.write()
    # An earlier report into this folder may have had instances this run no longer holds
    # (the benchmark changed, `--instances` picked fewer): their pages go, as its extra list
    # pages do, so the folder holds this report alone.
    shown = {f"{slug(i.id)}.html" for i in instances}
    for stale in (out / "instances").glob("*.html"):
        if stale.name not in shown:
            stale.unlink()
    return index


def _first_seed(everything: list[Result]) -> dict[str, dict[str, Result]]:
    """Instance -> system -> result of the first run seed.

    With several run seeds, the pages show the first seed's outputs (and its judgments).
    """
    first_seed = min((r.seed for r in everything), default=0)
    results: dict[str, dict[str, Result]] = {}
    for result in everything:
        if result.seed == first_seed:
            results.setdefault(result.instance, {})[result.system] = result
    return results


def _thumb_jobs(
    ctx: PageContext, instances: list[Instance], results: dict[str, dict[str, Result]]
) -> list[tuple[str, str, str]]:
    """(sha256, stored image, thumbnail's file name) of each input and main output image shown.

    In text, sorted by digest (each is unique): a `Path` built per image, and compared per sort
    step, were a twentieth of a large report.
    """
    wanted = {i.images[0].sha256 for i in instances if i.images}
    for ran in results.values():
        wanted.update(sha for sha in map(_main_image, ran.values()) if sha)
    images = str(ctx.images.root)
    return [
        (sha, f"{images}/{relative_image(sha)}", f"{sha[:20]}.jpg")
        for sha in sorted(wanted)
        if sha in ctx.stored  # never read through a link that leads out of the run folder
    ]


def _write_index(
    out: Path,
    store: RunStore,
    ctx: PageContext,
    report: Report,
    instances: list[Instance],
    results: dict[str, dict[str, Result]],
    chart_paths: list[str],
    graphs: list[Any],
) -> Path:
    """Write the index, the further list pages and the assets; return the index's path.

    The index holds the summary tables, the charts, the graphs and the first list page; an
    earlier, longer report's extra list pages in this folder are removed.
    """
    systems, headline = ctx.systems, ctx.parser
    templates = resources.files("composer.report") / "templates"
    for name in ("style.css", "report.js"):
        (out / "assets" / name).write_text(templates.joinpath(name).read_text("utf-8"), "utf-8")
    other: Parser = "strict" if headline == "official" else "official"
    categories = sorted({i.category for i in instances}, key=lambda c: (_ORDER.get(c, 99), c))
    category_options = [(c, CATEGORY_ABBREV.get(c, c)) for c in categories]
    pages = _list_pages(instances, _index_rows(ctx, instances, results), ctx.list_rows)
    # What the index and every further list page show alike.
    shared = {
        "run_name": store.run_dir.resolve().name,
        "systems": systems,
        "judges": judge_rows(report),
        "category_options": category_options,
    }
    main, under_other = table_rows(report), table_rows(report, other)
    index = out / "index.html"
    index.write_text(
        environment()
        .get_template("index.html")
        .render(
            **shared,
            report=report,
            accuracy_tables=[
                (f"Accuracy % ({headline} parser, headline)", main),
                (f"Accuracy % ({other} parser)", under_other),
            ],
            same_under_other=under_other[1] == main[1],
            other_parser=other,
            charts=chart_paths,
            comparisons=_comparison_table(report),
            paired=_paired_tables(report),
            attribution=attribution_rows(report),
            costs=cost_rows(report),
            seed_spread=seed_rows(report),
            mean_sd=mean_sd_rows(report),
            budget=budget_rows(report),
            unimmmu=(unimmmu.TITLE, unimmmu.leaderboard_rows(report), unimmmu.notes(report)),
            channels=channel_tables.sections(report),
            channels_note=channel_tables.TEST_NOTE,
            record=report.get("reproducibility"),
            graphs=graphs,
            system_rows=_system_rows(report, ctx.definitions, graphs),
            **_list_context(pages, pages[0], len(instances)),
        ),
        "utf-8",
    )
    for page in pages[1:]:
        (out / page["href"]).write_text(
            environment()
            .get_template("list.html")
            .render(**shared, **_list_context(pages, page, len(instances))),
            "utf-8",
        )
    for stale in out.glob("index-*.html"):  # pages of an earlier, longer report in this folder
        if stale.name not in {p["href"] for p in pages}:
            stale.unlink()
    return index


def _list_context(
    pages: list[dict[str, Any]], page: dict[str, Any], n_instances: int
) -> dict[str, Any]:
    """What `instance_list.html` shows of one page of the instance list, and the pager."""
    return {
        "root": "",
        "n_instances": n_instances,
        "rows": page["rows"],
        "n_rows": page["last"] - page["first"] + 1 if n_instances else 0,
        "first": page["first"],
        "last": page["last"],
        "page_categories": page["categories"],
        "pages": [{**p, "current": p["number"] == page["number"], "rows": None} for p in pages],
    }
