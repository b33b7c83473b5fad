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
        assert store.judges()["ink-share-v1"]["definition"]["method"] == "ink-share"
        results = list(store.results())
        assert len(results) == 4
        assert all(r.status == "ok" and r.correct_official for r in results)
        assert {r.judge for r in results} == {"ink share"}
        channels = store.channels()
        assert all(0 < c["ink-share-v1"]["ink"]["official"] < 1 for c in channels.values())
    finally:
        store.close()

    report = cli.invoke(app, ["report", str(run_dir), "--format", "json"])
    assert report.exit_code == 0, report.output
    data = json.loads(report.output)
    painter = data["systems"]["painter"]
    assert painter["UEG"]["accuracy"] == pytest.approx(100.0) and painter["UEG"]["counts"]["n"] == 4
    text = cli.invoke(app, ["report", str(run_dir)]).output
    assert "ink" in text and "fraction" in text  # the declared channel has its table
