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
