r"""A strategy's graph drawn as SVG from its Mermaid source, offline and with no renderer.

LangGraph's `draw_mermaid()` emits a small flowchart: node lines such as `draw(draw)` or
`__start__([<p>__start__</p>]):::first`, edges `a --> b;` (fixed) and `a -.-> b;`
(conditional, dashed), optionally labelled (`a -- text --> b`, `a -. text .-> b`), inside
`subgraph`/`end` blocks for nested graphs. `parse_mermaid` reads that; `to_svg` lays it out in
layers (longest path from the start, edges that close a loop drawn back up the right side) and
writes an SVG document whose every label is XML-escaped.

Example:
    >>> svg = to_svg(parse_mermaid("graph TD;\n  a(a)\n  b(b)\n  a --> b;\n"))
    >>> svg.startswith("<svg") and ">a<" in svg and ">b<" in svg
    True
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

_EDGE = re.compile(
    r"^(?P<a>[^\s\-.=]+(?:[\-.][^\s\-.=>]+)*)\s*"
    r"(?:(?P<solid>-->|==>)|(?P<dashed>-\.->)"
    r"|--\s*(?P<slabel>.+?)\s*-->|-\.\s*(?P<dlabel>.+?)\s*\.->)"
    r"\s*(?P<b>\S+?);?$"
)
_NODE = re.compile(
    r"^(?P<id>[^\s(\[{>]+)\s*(?P<open>\(\[|\[\[|\(\(|\[\(|\(|\[|\{)(?P<label>.*?)"
    r"(?:\]\)|\]\]|\)\)|\)\]|\)|\]|\})(?::::(?P<cls>[\w-]+))?\s*;?$"
)
_SKIP = ("graph ", "flowchart ", "classDef ", "class ", "style ", "linkStyle ", "click ")
_TAGS = re.compile(r"<[^>]+>")
FONT = 14
CHAR_W = 8.0
"""Average advance of a 14 px sans-serif character, for sizing boxes without a font."""
NODE_H = 36
GAP_X = 28
GAP_Y = 44
MARGIN = 16


@dataclass
class Flowchart:
    """Nodes (id -> label, in the order declared), their classes, and edges."""

    nodes: dict[str, str] = field(default_factory=dict)
    classes: dict[str, str] = field(default_factory=dict)
    edges: list[tuple[str, str, bool, str]] = field(default_factory=list)
    """(source, target, is_conditional, label)."""


def _label(text: str) -> str:
    return html.unescape(_TAGS.sub("", text)).replace("\xa0", " ").strip().strip('"')


def parse_mermaid(source: str) -> Flowchart:
    """Read the nodes and edges of a LangGraph Mermaid flowchart (front matter skipped)."""
    chart = Flowchart()
    lines = source.splitlines()
    if lines and lines[0].strip() == "---":  # YAML front matter up to the next ---
        end = next((k for k in range(1, len(lines)) if lines[k].strip() == "---"), 0)
        lines = lines[end + 1 :]
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith(_SKIP) or line.startswith("%%"):
            continue
        if line.startswith("subgraph") or line == "end":
            continue
        edge = _EDGE.match(line)
        if edge and not _NODE.match(line):
            a, b = edge["a"], edge["b"]
            for name in (a, b):
                chart.nodes.setdefault(name, name)
            dashed = edge["dashed"] is not None or edge["dlabel"] is not None
            label = _label(edge["slabel"] or edge["dlabel"] or "")
            chart.edges.append((a, b, dashed, label))
            continue
        node = _NODE.match(line)
        if node:
            chart.nodes[node["id"]] = _label(node["label"]) or node["id"]
            if node["cls"]:
                chart.classes[node["id"]] = node["cls"]
    return chart


def layers(chart: Flowchart) -> tuple[dict[str, int], set[tuple[str, str]]]:
    """Each node's layer (longest path from a source) and the edges that close a loop."""
    out: dict[str, list[str]] = {n: [] for n in chart.nodes}
    for a, b, _, _ in chart.edges:
        out[a].append(b)
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(start: str) -> None:
        stack = [(start, iter(out[start]))]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(out[child])))

    targets = {b for _, b, _, _ in chart.edges}
    for name in [n for n in chart.nodes if n not in targets] + list(chart.nodes):
        if name not in state:
            visit(name)
    layer = dict.fromkeys(chart.nodes, 0)
    forward = [(a, b) for a, b, _, _ in chart.edges if (a, b) not in back and a != b]
    for _ in range(len(chart.nodes)):
        changed = False
        for a, b in forward:
            if layer[b] < layer[a] + 1:
                layer[b], changed = layer[a] + 1, True
        if not changed:
            break
    if "__end__" in layer and forward:  # the end sits alone at the bottom
        layer["__end__"] = max(layer[n] for n in layer if n != "__end__") + 1
    return layer, back


def _width(label: str) -> float:
    return max(56.0, CHAR_W * len(label) + 28)


def to_svg(chart: Flowchart, title: str = "") -> str:
    """The flowchart as a standalone SVG document (top to bottom, one row per layer)."""
    layer, back = layers(chart)
    rows: dict[int, list[str]] = {}
    for name in chart.nodes:
        rows.setdefault(layer[name], []).append(name)
    row_w = {
        k: sum(_width(chart.nodes[n]) for n in ns) + GAP_X * (len(ns) - 1) for k, ns in rows.items()
    }
    inner = max(row_w.values(), default=0.0)
    loops = 40 if back else 0
    # An edge that skips a layer bows out to the left, clear of the nodes between.
    skips = any(layer[b] - layer[a] > 1 for a, b, _, _ in chart.edges if (a, b) not in back)
    left = 48 if skips else 0
    width = inner + 2 * MARGIN + loops + left
    box: dict[str, tuple[float, float, float]] = {}  # centre x, top y, width
    for k in sorted(rows):
        x = MARGIN + left + (inner - row_w[k]) / 2
        for name in rows[k]:
            w = _width(chart.nodes[name])
            box[name] = (x + w / 2, MARGIN + k * (NODE_H + GAP_Y), w)
            x += w + GAP_X
    height = MARGIN * 2 + (max(rows, default=0) + 1) * (NODE_H + GAP_Y) - GAP_Y
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="{FONT}">',
        f"<title>{escape(title or 'graph')}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
    ]
    for a, b, dashed, label in chart.edges:
        (xa, ya, wa), (xb, yb, wb) = box[a], box[b]
        style = ' stroke-dasharray="5,4"' if dashed else ""
        if (a, b) in back or layer[b] <= layer[a]:
            # Back up the right side: from a's right edge to b's right edge.
            x1, y1 = xa + wa / 2, ya + NODE_H / 2
            x2, y2 = xb + wb / 2, yb + NODE_H / 2
            bend = MARGIN + left + inner + loops - 8
            d = f"M{x1:.1f},{y1:.1f} C{bend:.1f},{y1:.1f} {bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
            mid = (bend - 4, (y1 + y2) / 2)
        elif layer[b] - layer[a] > 1:
            x1, y1, x2, y2 = xa - wa / 2, ya + NODE_H / 2, xb - wb / 2, yb + NODE_H / 2
            bow = MARGIN + 8
            d = f"M{x1:.1f},{y1:.1f} C{bow:.1f},{y1:.1f} {bow:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
            mid = (bow + 4, (y1 + y2) / 2)
        else:
            x1, y1, x2, y2 = xa, ya + NODE_H, xb, yb
            d = f"M{x1:.1f},{y1:.1f} L{x2:.1f},{y2:.1f}"
            mid = ((x1 + x2) / 2 + 4, (y1 + y2) / 2)
        parts.append(
            f'<path d="{d}" fill="none" stroke="#555" stroke-width="1.5"{style} '
            'marker-end="url(#arrow)"/>'
        )
        if label:
            parts.append(
                f'<text x="{mid[0]:.1f}" y="{mid[1]:.1f}" font-size="12" fill="#333">'
                f"{escape(label)}</text>"
            )
    for name, label in chart.nodes.items():
        x, y, w = box[name]
        cls = chart.classes.get(name, "")
        fill = {"first": "#ffffff", "last": "#bfb6fc"}.get(cls, "#f2f0ff")
        radius = NODE_H / 2 if cls in ("first", "last") else 8
        parts.append(
            f'<g class="node" data-id={quoteattr(name)}>'
            f'<rect x="{x - w / 2:.1f}" y="{y:.1f}" width="{w:.1f}" height="{NODE_H}" '
            f'rx="{radius:.0f}" fill="{fill}" stroke="#7a6fd0" stroke-width="1.2"/>'
            f'<text x="{x:.1f}" y="{y + NODE_H / 2 + 5:.1f}" text-anchor="middle">'
            f"{escape(label)}</text></g>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def mermaid_svg(source: str, title: str = "") -> str:
    """`to_svg(parse_mermaid(source))`: the drawing of a stored Mermaid source."""
    return to_svg(parse_mermaid(source), title)
