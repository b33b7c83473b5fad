"""A benchmark brings its own scorers: declared under its name, bound by the plan, stored with
their identity, and the run needs no `[judge]` when nothing of it is polled with checks.

Before, the plan and the binder named Uni-MMMU's scorers themselves, and a UEG benchmark
without checks was refused for want of a judge that had nothing to judge.
"""

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from composer.benchmarks.loaders import BENCHMARKS
from composer.cli import app
from composer.core.config import RunConfig
from composer.core.images import ImageStore
from composer.core.instance import Axis, Instance, References
from composer.core.outputs import ueg_output
from composer.evaluation.benchmark_scoring import SCORING, ScoringContext
from composer.evaluation.store import Judgment, RunStore, Scored

cli = CliRunner()


class InkScorer:
    """The share of dark pixels in the drawn image: a graded channel, no model."""

    id = "ink-share-v1"
    label = "ink share"

    def __init__(self, images: ImageStore) -> None:
        self.images = images

    def definition(self) -> dict[str, Any]:
        return {"model": None, "method": "ink-share", "method_version": "1", "options": {}}

    def applies(self, instance: Instance) -> bool:
        return instance.benchmark == "ink"

    async def score(
        self, instance: Instance, state: Mapping[str, Any]
    ) -> tuple[Scored, Sequence[Judgment]]:
        pixels = np.asarray(self.images.open(ueg_output(state)["image"]).convert("L"))
        share = round(float((pixels < 128).mean()), 6)
        channel = {"kind": "fraction", "official": share, "strict": share}
        scored = Scored(
            judge=self.id,
            status="ok",
            correct_official=share > 0,
            correct_strict=share > 0,
            channels={"ink": channel},
        )
        return scored, []


class InkScoring:
    asked: list[int] = []

    def needs_judge(self, instances: Sequence[Instance]) -> bool:
        return False

    def scorers(self, context: ScoringContext) -> Sequence[InkScorer]:
        self.asked.append(len(context.instances))
        return [InkScorer(context.images)]


def load_ink(config: RunConfig, images: ImageStore, run_dir: Path) -> list[Instance]:
    """The synthetic suite's UEG prompts, without their checks, as a benchmark of its own."""
    found = BENCHMARKS.get("synthetic")(config, images, run_dir)
    return [
        i.model_copy(update={"benchmark": "ink", "references": References()})
        for i in found
        if i.axis is Axis.UEG
    ]


@pytest.fixture
def ink() -> Iterator[InkScoring]:
    scoring = InkScoring()
    BENCHMARKS.register("ink", load_ink)
    SCORING.register("ink", scoring)
    yield scoring
    SCORING.unregister("ink")
    BENCHMARKS.unregister("ink")


CONFIG = """
[benchmark]
name = "ink"
n_per_category = 2
categories = ["WK", "CR"]

[systems.painter]
ueg = "direct"
roles = { model = "symbolic/painter" }
"""


def test_a_benchmark_declares_its_scorers_and_needs_no_judge(
    ink: InkScoring, tmp_path: Path
) -> None:
    config = tmp_path / "ink.toml"
    config.write_text(CONFIG)
    run_dir = tmp_path / "run"
    result = cli.invoke(app, ["run", str(config), "--out", str(run_dir), "--quiet"])
    assert result.exit_code == 0, result.output
    assert ink.asked == [4]  # asked once, with the benchmark's own instances

    store = RunStore(run_dir)
    try:
        # Declared outside composer: the declaration's code digest is part of the identity.
        ((scorer_id, stored),) = [(k, v) for k, v in store.judges().items() if "ink" in k]
        assert scorer_id.startswith("ink-share-v1-")
        assert stored["definition"]["method"] == "ink-share"
        assert stored["definition"]["declared_code"].startswith("sha256:")
        results = list(store.results())
        assert len(results) == 4
        assert all(r.status == "ok" and r.correct_official for r in results)
        assert {r.judge for r in results} == {"ink share"}
        channels = store.channels()
        assert all(0 < c[scorer_id]["ink"]["official"] < 1 for c in channels.values())
    finally:
        store.close()

    report = cli.invoke(app, ["report", str(run_dir), "--format", "json"])
    assert report.exit_code == 0, report.output
    data = json.loads(report.output)
    painter = data["systems"]["painter"]
    assert painter["UEG"]["accuracy"] == pytest.approx(100.0) and painter["UEG"]["counts"]["n"] == 4
    text = cli.invoke(app, ["report", str(run_dir)]).output
    assert "ink" in text and "fraction" in text  # the declared channel has its table


class StrictInkScorer(InkScorer):
    """The same scorer, its code edited: only darker pixels count as ink."""

    async def score(
        self, instance: Instance, state: Mapping[str, Any]
    ) -> tuple[Scored, Sequence[Judgment]]:
        scored, judgments = await super().score(instance, state)
        channel = dict(scored.channels["ink"])
        channel["official"] = channel["strict"] = round(channel["official"] / 2, 6)
        return scored.model_copy(update={"channels": {"ink": channel}}), judgments


class StrictInkScoring(InkScoring):
    def scorers(self, context: ScoringContext) -> Sequence[InkScorer]:
        return [StrictInkScorer(context.images)]


def test_a_declared_scorer_whose_code_changed_scores_the_stored_outputs_again(
    ink: InkScoring, tmp_path: Path
) -> None:
    config = tmp_path / "ink.toml"
    config.write_text(CONFIG)
    run_dir = tmp_path / "run"
    assert cli.invoke(app, ["run", str(config), "--out", str(run_dir), "--quiet"]).exit_code == 0
    again = cli.invoke(app, ["run", str(config), "--out", str(run_dir)])
    assert again.exit_code == 0 and "0 tasks run" in again.output  # the same code: resumed

    # The same scorer id and definition, other code: never the old scores under it.
    SCORING.register("ink", StrictInkScoring())
    edited = cli.invoke(app, ["run", str(config), "--out", str(run_dir)])
    assert edited.exit_code == 0, edited.output
    # The outputs are scored again, none is drawn again.
    assert "4 outputs judged again" in edited.output and "0 calls sent" in edited.output
    store = RunStore(run_dir)
    try:
        ids = [k for k in store.judges() if k.startswith("ink-share-v1-")]
        assert len(ids) == 2
        shares = {
            k: [c[k]["ink"]["official"] for c in store.channels().values() if k in c] for k in ids
        }
        first, second = (shares[k] for k in ids)
        assert sorted(second) == sorted(round(v / 2, 6) for v in first)
    finally:
        store.close()


_INK_SCORE = InkScorer.score
"""The ink scorer's own score(), which the broken ones below start from."""


def _channel(**cell: Any) -> Any:
    """A result whose one channel is `cell` (the ink scorer's otherwise)."""

    async def score(self: InkScorer, instance: Instance, state: Mapping[str, Any]) -> Any:
        scored, judgments = await _INK_SCORE(self, instance, state)
        return scored.model_copy(update={"channels": {"ink": cell}}), judgments

    return score


async def _none(self: InkScorer, instance: Instance, state: Mapping[str, Any]) -> Any:
    return None


async def _foreign(self: InkScorer, instance: Instance, state: Mapping[str, Any]) -> Any:
    scored, judgments = await _INK_SCORE(self, instance, state)
    return scored.model_copy(update={"judge": "judge-of-another"}), judgments


async def _raises(self: InkScorer, instance: Instance, state: Mapping[str, Any]) -> Any:
    raise ZeroDivisionError("no pixels")


@pytest.mark.parametrize(
    ("score", "error"),
    [
        (
            _channel(kind="fraction", official=float("nan"), strict=0.5),
            "channel 'ink': its official reading is float nan, not a finite number.",
        ),
        (
            _channel(kind="fraction", official=1.7, strict=1.7),
            "channel 'ink': its official reading is 1.7, outside a fraction channel's range "
            "(0 to 1).",
        ),
        (
            _channel(kind="binary", official=1, strict=0.5),
            "channel 'ink': its strict reading is 0.5, outside a binary channel's range (0 or 1).",
        ),
        (
            _channel(kind="fraction", offical=0.5, strict=0.5),
            "channel 'ink': has the key 'offical', which no channel has.",
        ),
        (
            _channel(kind="percent", official=50, strict=50),
            "channel 'ink': has the kind 'percent', which is not one composer compares.",
        ),
        (
            _channel(kind="fraction", official="0.5", strict=0.5),
            "channel 'ink': its official reading is str '0.5', not a finite number.",
        ),
        (_none, "returned NoneType None, not a (Scored, judgments) pair."),
        (_foreign, "scored under the id 'judge-of-another', not its own"),
        (_raises, "raised ZeroDivisionError: no pixels at test_benchmark_scoring.py:"),
    ],
    ids=[
        "nan",
        "above range",
        "binary half",
        "misspelt key",
        "kind",
        "text",
        "none",
        "id",
        "raises",
    ],
)
def test_a_scorer_result_the_report_cannot_read_fails_that_score_naming_the_scorer(
    ink: InkScoring,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    score: Any,
    error: str,
) -> None:
    """Each was stored as it came (a NaN made the channel's mean NaN; 1.7 a share above 1; a
    misspelt key left the case unscored; another id wrote over another scorer's scores) or
    failed with a bare TypeError naming no scorer."""
    monkeypatch.setattr(InkScorer, "score", score)
    config = tmp_path / "ink.toml"
    config.write_text(CONFIG)
    run_dir = tmp_path / "run"
    result = cli.invoke(app, ["run", str(config), "--out", str(run_dir), "--quiet"])
    assert result.exit_code == 1, result.output  # the scores failed; the run went on
    store = RunStore(run_dir)
    try:
        results = list(store.results())
        assert len(results) == 4 and {r.status for r in results} == {"failed"}
        for r in results:
            assert r.error.startswith("scorer 'ink share'"), r.error  # as reports name it
            assert error in r.error, r.error
        assert not any(store.channels().values())  # nothing unreadable was stored
    finally:
        store.close()
