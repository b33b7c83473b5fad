"""The model-judged scorers: the release's judge requests, and its replies read two ways.

Geometry (overlay, proof), science (reasoning, result, image) and code (shape & colour,
position, summary), as `eval_ummmu.py`'s GeometryEvaluator, ScienceEvaluator and
CodeSVGEvaluator build them: the prompts (`judge_prompts`), the image order, the token limits.
A judge is injected: any async callable `JudgeRequest -> str` (composer's call layer, an
OpenAI-compatible vLLM endpoint serving Qwen2.5-VL-72B-Instruct and Qwen3-32B, greedy).

Reading a reply (quirks kept in `official`, fixed in `strict`):

- The JSON is the first balanced `{...}` (`first_json_object`). Officially it is taken even
  inside a Qwen3 thinking trace; strictly the text is cut after the last `</think>` first.
  Unparseable: officially every field is 0 (`{"_raw": ...}`); strictly unscored.
- Geometry: officially `int(value) == 1` for each of reasoning_rigorous, conclusion_correct
  and text_ok (so "1", 1.0 and true count); one value `int()` rejects zeroes the whole reply
  (the release retries, and greedy decoding answers the same). Strictly the integers 0 and 1.
- Science: officially read by truthiness (`"0"` counts as 1); strictly the integers 0 and 1.
- Code: officially the rubric values are `float()`-ed (one `float()` rejects makes that
  image a mismatch scoring 0 and 0, as the release's `except` leaves it); the best image by
  the sum of both scores counts; a case with no
  reference image scores 0 in the denominator; strictly integers 0..5, and no reference is
  unscored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from composer.benchmarks.unimmmu import judge_prompts as J
from composer.benchmarks.unimmmu.channels import Channel, Channels, Kind
from composer.benchmarks.unimmmu.records import (
    CodeReferences,
    GeometryReferences,
    ScienceReferences,
)

VL_MODEL = "Qwen/Qwen2.5-VL-72B-Instruct"
TEXT_MODEL = "Qwen/Qwen3-32B"


@dataclass(frozen=True)
class JudgeRequest:
    """One judge call, as the release makes it.

    Attributes:
        model: The release's judge (`VL_MODEL` or `TEXT_MODEL`).
        system: The system message (None: the release sends none).
        parts: The user message in order: texts (str) and images (Path).
        max_new_tokens: The release's limit for this call.
        thinking: Qwen3's `enable_thinking` (the geometry proof judge only).
        retries: The release's attempts on an exception (2 geometry, 3 science, 1 code).
    """

    model: str
    system: str | None
    parts: tuple[str | Path, ...]
    max_new_tokens: int
    thinking: bool = False
    retries: int = 1

    @property
    def prompt(self) -> str:
        """The user message's texts joined by blank lines (for a (prompt, images) judge)."""
        return "\n\n".join(p for p in self.parts if isinstance(p, str))

    @property
    def images(self) -> tuple[Path, ...]:
        """The user message's images, in order."""
        return tuple(p for p in self.parts if isinstance(p, Path))

    @property
    def flat_prompt(self) -> str:
        """One prompt for a judge that takes (prompt, images): the system message leads it."""
        return self.prompt if self.system is None else f"{self.system}\n\n{self.prompt}"

    def call_options(self) -> dict[str, Any]:
        """Per-call options that carry the request as the release sends it.

        For an adapter that can (the OpenAI-compatible one): the system message as its own
        message, the user message's texts and images in their order (`{"text": ...}`,
        `{"image": i}`, i indexing `images`) and the token limit. Another adapter reads
        `flat_prompt` and the images, as before.

        The geometry proof's 32767 new tokens are not sent as `max_tokens`: a server refuses
        a limit past the model's context, and without one it generates to the context's end,
        which covers the release's limit wherever it fits.
        """
        parts: list[dict[str, Any]] = []
        images = 0
        for part in self.parts:
            if isinstance(part, Path):
                parts.append({"image": images})
                images += 1
            else:
                parts.append({"text": part})
        options: dict[str, Any] = {"parts": parts}
        if self.system is not None:
            options["system"] = self.system
        if not self.thinking:
            options["max_tokens"] = self.max_new_tokens
        return options


Judge = Callable[[JudgeRequest], Awaitable[str]]
"""An async judge: the request in, the model's raw reply text out."""


def first_json_object(text: str) -> str | None:
    """The first balanced `{...}` of `text` (the release's `find_first_json_substring`).

    From the first `{`, braces are counted outside double-quoted strings; a backslash escapes
    the next character (tracked everywhere, as there). None when it never closes.
    """
    start = text.find("{")
    if start == -1:
        return None
    depth, in_string, escaped = 0, False, False
    for i in range(start, len(text)):
        char = text[i]
        if char == '"' and not escaped:
            in_string = not in_string
        if not in_string:
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    return text[start : i + 1]
        escaped = char == "\\" and not escaped
    return None


def read_reply(text: str, reading: Literal["official", "strict"]) -> dict[str, Any] | None:
    """The reply's JSON object: officially `{"_raw": text}` when unparseable, strictly None."""
    if reading == "strict" and "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    found = first_json_object(text)
    if found is not None:
        try:
            data = json.loads(found)
        except (json.JSONDecodeError, RecursionError):
            data = None
        if isinstance(data, dict):
            return data
    return {"_raw": text} if reading == "official" else None


def _strict_int(data: Mapping[str, Any] | None, key: str, top: int = 1) -> float | None:
    value = None if data is None else data.get(key)
    return float(value) if type(value) is int and 0 <= value <= top else None


def _int_flags(data: Mapping[str, Any], keys: Sequence[str]) -> dict[str, float]:
    """`1 if int(data.get(k, 0)) == 1 else 0` for every key; any failure zeroes them all."""
    try:
        return {k: 1.0 if int(data.get(k, 0)) == 1 else 0.0 for k in keys}
    except (TypeError, ValueError, OverflowError):
        return dict.fromkeys(keys, 0.0)


def _truthy(data: Mapping[str, Any], key: str) -> float:
    return 1.0 if data.get(key) else 0.0


def geometry_requests(
    refs: GeometryReferences, text: str | None, images: Sequence[Path]
) -> dict[str, JudgeRequest]:
    """The overlay request (when the case has an image: the first, sorted) and the proof one."""
    requests = {
        "text": JudgeRequest(
            TEXT_MODEL,
            J.GEOMETRY_TEXT_SYSTEM,
            (
                J.GEOMETRY_TEXT_USER.format(
                    task_type=refs.judge_type,
                    problem=refs.problem,
                    gt_text=refs.solution,
                    cand_text=text or "",
                ),
            ),
            max_new_tokens=32767,
            thinking=True,
            retries=2,
        )
    }
    if images:
        user = J.GEOMETRY_OVERLAY_USER.format(aux_en=refs.auxiliary_text or "(none)")
        requests["overlay"] = JudgeRequest(
            VL_MODEL,
            J.GEOMETRY_OVERLAY_SYSTEM,
            (user, refs.base, refs.overlay, images[0]),
            max_new_tokens=512,
            retries=2,
        )
    return requests


def geometry_channels(replies: Mapping[str, str]) -> Channels:
    """`overlay_ok`, `text_ok`, `reasoning_rigorous`, `conclusion_correct` from the replies."""
    channels: Channels = {}
    overlay = replies.get("overlay")
    if overlay is None:
        channels["overlay_ok"] = Channel(Kind.BINARY, 0.0, 0.0, "No predicted image found.")
    else:
        official = _int_flags(read_reply(overlay, "official") or {}, ["overlay_ok"])
        strict = _strict_int(read_reply(overlay, "strict"), "overlay_ok")
        channels["overlay_ok"] = Channel(Kind.BINARY, official["overlay_ok"], strict)
    keys = ["reasoning_rigorous", "conclusion_correct", "text_ok"]
    official_text = _int_flags(read_reply(replies["text"], "official") or {}, keys)
    strict_data = read_reply(replies["text"], "strict")
    for key in keys:
        channels[key] = Channel(Kind.BINARY, official_text[key], _strict_int(strict_data, key))
    return channels


def missing_geometry_case() -> Channels:
    """A geometry item with no case folder: out of the release's `scored_items`; strictly 0."""
    note = "error_missing_case_dir"
    return {k: Channel(Kind.BINARY, None, 0.0, note) for k in ("overlay_ok", "text_ok")}


def science_requests(
    refs: ScienceReferences, text: str | None, images: Sequence[Path]
) -> dict[str, JudgeRequest]:
    """The text request (when there is a text) and the image one (the first image, sorted)."""
    requests = {}
    if text is not None and refs.output_text:
        user = J.SCIENCE_TEXT_USER.format(
            scene="(none)",
            condition=refs.condition or "(none)",
            gt_text=refs.output_text,
            pred_text=text,
        )
        requests["text"] = JudgeRequest(
            VL_MODEL, J.SCIENCE_TEXT_SYSTEM, (user,), max_new_tokens=1024, retries=3
        )
    if images:
        user = J.SCIENCE_IMAGE_USER.format(condition=refs.condition, gt_text=refs.output_text)
        requests["image"] = JudgeRequest(
            VL_MODEL,
            J.SCIENCE_IMAGE_SYSTEM,
            (user, refs.initial, images[0]),
            max_new_tokens=512,
            retries=3,
        )
    return requests


def science_channels(replies: Mapping[str, str]) -> Channels:
    """`reasoning_correct`, `result_correct`, `image_correct` (no request: 0 in both)."""
    channels: Channels = {}
    for request, keys in (
        ("text", ["reasoning_correct", "result_correct"]),
        ("image", ["image_correct"]),
    ):
        reply = replies.get(request)
        for key in keys:
            if reply is None:
                channels[key] = Channel(Kind.BINARY, 0.0, 0.0, f"no {request} to judge")
                continue
            official = _truthy(read_reply(reply, "official") or {}, key)
            channels[key] = Channel(
                Kind.BINARY, official, _strict_int(read_reply(reply, "strict"), key)
            )
    return channels


_SUMMARY = re.compile(r"<RENDER_SUMMARY>\s*(.*?)\s*</RENDER_SUMMARY>", re.I | re.S)


def render_summary(text: str | None) -> str:
    """The first `<RENDER_SUMMARY>` block's content, stripped ("" when none)."""
    match = _SUMMARY.search(text or "")
    return match.group(1).strip() if match else ""


def code_requests(
    refs: CodeReferences, reference: Path, text: str | None, images: Sequence[Path]
) -> dict[str, JudgeRequest]:
    """One rubric request per image (`image_1`, ...) and the summary request (when any).

    `reference` is the reference PNG (`refs.png`, else the SVG rasterised: `rasterize_svg`).
    """
    requests = {
        f"image_{i}": JudgeRequest(VL_MODEL, None, (J.CODE_IMAGE_PROMPT, reference, image), 512)
        for i, image in enumerate(images, 1)
    }
    summary = render_summary(text)
    if summary:
        parts = (J.CODE_TEXT_PROMPT, reference, f"Candidate description:\n{summary}")
        requests["text"] = JudgeRequest(VL_MODEL, None, parts, 512)
    return requests


def _image_eval(data: Mapping[str, Any]) -> tuple[float, float, float]:
    """One image's (match, shape & colour, position) as the release's `_eval_image` keeps it.

    It `float()`s both rubric values inside its `try` (a missing one reads 0): one that
    `float()` rejects (null, "", "N/A", a list, an integer too large) ends in its `except`,
    which keeps only `verdict: mismatch`, so that image counts 0 for match and both scores.
    """
    try:
        scores = (
            float(data.get("shape_color_accuracy", 0)),
            float(data.get("position_accuracy", 0)),
        )
    except (TypeError, ValueError, OverflowError):
        return 0.0, 0.0, 0.0
    return (1.0 if data.get("verdict") == "match" else 0.0, *scores)


def _best(evals: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    return max(evals, key=lambda e: e[1] + e[2]) if evals else (0.0, 0.0, 0.0)


def code_channels(replies: Mapping[str, str]) -> Channels:
    """`image_match`, `shape_color_accuracy`, `position_accuracy`, `text_semantic_match`.

    The rubric channels are the best image's (by the sum of both scores, the first on ties);
    `image_match` is whether any image's verdict is "match" (computed, not in the table).
    """
    images = sorted((k for k in replies if k.startswith("image_")), key=lambda k: int(k[6:]))
    official, strict = [], []
    for key in images:
        official.append(_image_eval(read_reply(replies[key], "official") or {}))
        sdata = read_reply(replies[key], "strict")
        scores = (
            _strict_int(sdata, "shape_color_accuracy", 5),
            _strict_int(sdata, "position_accuracy", 5),
        )
        verdict = None if sdata is None else sdata.get("verdict")
        if (
            scores[0] is not None
            and scores[1] is not None
            and verdict in ("match", "partial", "mismatch")
        ):
            strict.append((1.0 if verdict == "match" else 0.0, scores[0], scores[1]))
    match = max((e[0] for e in official), default=0.0)
    best = _best(official)
    strict_best = _best(strict) if strict or not images else None
    strict_match = max((e[0] for e in strict), default=0.0) if strict_best is not None else None
    text = replies.get("text")
    text_official = (
        0.0 if text is None else _truthy(read_reply(text, "official") or {}, "text_semantic_match")
    )
    text_strict = (
        0.0 if text is None else _strict_int(read_reply(text, "strict"), "text_semantic_match")
    )
    return {
        "image_match": Channel(Kind.BINARY, match, strict_match),
        "shape_color_accuracy": Channel(
            Kind.RUBRIC, best[1], None if strict_best is None else strict_best[1]
        ),
        "position_accuracy": Channel(
            Kind.RUBRIC, best[2], None if strict_best is None else strict_best[2]
        ),
        "text_semantic_match": Channel(Kind.BINARY, text_official, text_strict),
    }


def no_code_reference() -> Channels:
    """A code case with no reference image: 0 in the release's denominator; strictly unscored."""
    note = "no_reference_image"
    return {
        "image_match": Channel(Kind.BINARY, 0.0, None, note),
        "shape_color_accuracy": Channel(Kind.RUBRIC, 0.0, None, note),
        "position_accuracy": Channel(Kind.RUBRIC, 0.0, None, note),
        "text_semantic_match": Channel(Kind.BINARY, 0.0, None, note),
    }


def rasterize_svg(svg: Path, out: Path) -> Path | None:
    """The SVG rasterised with cairosvg at its own size, as the release does (None: no cairosvg)."""
    try:
        import cairosvg
    except ImportError:
        return None
    try:
        out.write_bytes(
            cairosvg.svg2png(bytestring=svg.read_text(encoding="utf-8").encode("utf-8"))
        )
    except Exception:  # noqa: BLE001 - the release returns None on any conversion failure
        return None
    return out


async def judge_all(requests: Mapping[str, JudgeRequest], judge: Judge) -> dict[str, str]:
    """Send every request through `judge` (one after the other) and return the raw replies."""
    return {key: await judge(request) for key, request in requests.items()}
