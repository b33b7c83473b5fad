"""A benchmark of its own shape, in one file: its instances and its own graded scorer.

`[benchmark] name = "custom_benchmark.py:load"` (examples/custom_benchmark.toml) loads the
instances; importing this file also declares, under the name the instances carry
(`Instance.benchmark`, here "coverage"), the scorer composer scores them with, so the run
needs no `[judge]`. The instances are the synthetic suite's world-knowledge and commonsense
prompts without their yes/no checks; the score is how much of the canvas a drawing covers (a
`fraction` channel, with its own table and paired test in the report), counted correct when
the drawing is neither empty nor the whole canvas.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from composer.benchmarks.loaders import BENCHMARKS
from composer.core.config import RunConfig
from composer.core.images import ImageStore
from composer.core.instance import Axis, Instance, References
from composer.core.outputs import ueg_output
from composer.evaluation.benchmark_scoring import SCORING, ScoringContext
from composer.evaluation.store_views import Judgment, Scored

NAME = "coverage"


def load(config: RunConfig, images: ImageStore, run_dir: Path) -> list[Instance]:
    """The synthetic suite's UEG prompts, sized and selected by `[benchmark]`, as this benchmark."""
    suite = BENCHMARKS.get("synthetic")(config, images, run_dir)
    return [
        i.model_copy(update={"benchmark": NAME, "references": References()})
        for i in suite
        if i.axis is Axis.UEG
    ]


class Coverage:
    """The share of the canvas that is not background, in both readings (they agree here)."""

    id = "coverage-v1"
    label = "canvas coverage"

    def __init__(self, images: ImageStore) -> None:
        self.images = images

    def definition(self) -> dict[str, Any]:
        """No model scores: `model` is None (the report leads with this score)."""
        return {"model": None, "method": "coverage", "method_version": "1", "options": {}}

    def applies(self, instance: Instance) -> bool:
        """Every instance of this benchmark."""
        return instance.benchmark == NAME

    async def score(
        self, instance: Instance, state: Mapping[str, Any]
    ) -> tuple[Scored, Sequence[Judgment]]:
        """Read the drawing's pixels; no model is asked, so there are no judgments."""
        pixels = np.asarray(self.images.open(ueg_output(state)["image"]).convert("L"))
        share = round(float((pixels < 240).mean()), 6)
        correct = 0.0 < share < 1.0
        channel = {"kind": "fraction", "official": share, "strict": share}
        scored = Scored(
            judge=self.id,
            status="ok",
            correct_official=correct,
            correct_strict=correct,
            channels={"coverage": channel},
        )
        return scored, []


class CoverageScoring:
    """The declaration: no judge needed, one scorer."""

    def needs_judge(self, instances: Sequence[Instance]) -> bool:
        """Nothing here is judged by a model."""
        return False

    def scorers(self, context: ScoringContext) -> Sequence[Coverage]:
        """One `Coverage` over the run's image store."""
        return [Coverage(context.images)]


SCORING.register(NAME, CoverageScoring())
