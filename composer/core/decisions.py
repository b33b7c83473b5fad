"""The decisions a run plan makes that its report needs, as one typed record.

Binding decides them from the run file and the instances (the headline parser, the benchmark
selection and its Total rule, the scorers in headline order, whether Uni-MMMU's k was told);
the store keeps them with each invocation; the report and `compare` read them here, never the
raw run file. A folder written before this record existed gets one derived from its stored
run file (`RunDecisions.from_config`), so it reads as it did.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from composer.core.instance import Parser


class RunDecisions(BaseModel):
    """What the report leads with and how it totals, as the latest invocation decided."""

    model_config = ConfigDict(frozen=True)

    parser: Parser = "official"
    """The headline parser (`[judge] parser`)."""
    benchmark: dict[str, Any] = {}
    """The `[benchmark]` table as run: name, selection (categories, tasks, instances, limit)
    and `total_weights`, which say what the report counts and how Total weighs the axes."""
    scorers: tuple[str, ...] = ()
    """The scorers' ids, the headline judge first."""
    judges: tuple[str, ...] | None = None
    """The ids of the run's `[judge]` judges, which poll the instances' checks (the other
    scorers are the letter reader and those benchmarks declare). None: a folder written before
    this was recorded, where every scorer with a model is taken for one."""
    k_told: bool | None = None
    """Whether the systems were told how many images to draw, where that could be withheld
    (Uni-MMMU's k, the number of ground-truth moves): False when any such instance withheld
    it; None when no instance asked for several images or ended its own loop."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any], scorers: tuple[str, ...] = ()) -> RunDecisions:
        """The decisions a stored run file implies (for folders from before this record)."""
        judge = config.get("judge") or {}
        return cls(
            parser=judge.get("parser", "official"),
            benchmark=dict(config.get("benchmark") or {}),
            scorers=scorers,
        )
