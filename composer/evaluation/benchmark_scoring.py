"""The scorers a benchmark declares for its own instances, beside the run's generic ones.

Every run has the generic scorers: its judges, which poll an image with the instance's yes/no
checks (`JudgeScorer`), and the letter reader for an instance with an answer letter
(`ChoiceReader`). A benchmark whose instances need more (Uni-MMMU's grids, image distances and
judge prompts) declares it here, under the name its instances carry in `Instance.benchmark`:
composer's own in `SCORING`'s built-ins, a package's under the entry point group
`composer.benchmark_scorers`, a notebook's through `SCORING.register`. The plan and the binder
ask this module, so neither knows any benchmark.

A declaration is an object with two methods (`BenchmarkScoring`): `needs_judge(instances)`,
whether the run's `[judge]` models must be bound for them, and `scorers(context)`, the scorers
to add, built from the run's judges, models and settings (`ScoringContext`).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from composer.core.config import RunConfig
from composer.core.errors import ConfigError
from composer.core.images import ImageStore
from composer.core.instance import Instance
from composer.core.registry import BUILTIN_CODE, Registry, code_digest
from composer.evaluation.judges import Judge
from composer.evaluation.scorers import (
    Scorer,
    UniMMMUJudged,
    UniMMMUProgrammatic,
    checked_score,
)
from composer.evaluation.store_views import Judgment, Scored
from composer.specialists.base import Understander


@dataclass(frozen=True)
class ScoringContext:
    """What a benchmark's scorers may be built from."""

    config: RunConfig
    instances: tuple[Instance, ...]
    """This benchmark's instances in the run (never empty)."""
    judges: tuple[Judge, ...]
    """The run's `[judge]` judges, in order (empty when `needs_judge` said no)."""
    judge_models: Mapping[str, Understander]
    """Each judge's model, by `Judge.id`, through the call layer."""
    images: ImageStore
    model: Callable[[str], Understander]
    """Binds another model the run file names (through the call layer, loaded for the run)."""


@runtime_checkable
class BenchmarkScoring(Protocol):
    """A benchmark's declaration of how its instances are scored."""

    def needs_judge(self, instances: Sequence[Instance]) -> bool:
        """Whether scoring `instances` needs the run's `[judge]` models."""
        ...

    def scorers(self, context: ScoringContext) -> Sequence[Scorer]:
        """The scorers to add to the run for `context.instances`."""
        ...


SCORING: Registry[BenchmarkScoring] = Registry(
    "benchmark scoring",
    group="composer.benchmark_scorers",
    where="benchmark {!r}",
    define="an object with needs_judge(instances) -> bool and scorers(context) -> [Scorer]",
    builtins={"uni-mmmu": "composer.evaluation.benchmark_scoring:UNI_MMMU"},
)
"""Benchmark names (as instances carry them) to their scoring: composer's and plug-ins'."""


def declared(
    instances: Sequence[Instance],
) -> list[tuple[BenchmarkScoring, str, tuple[Instance, ...]]]:
    """Each benchmark of `instances` that declares scoring, its code digest and its instances.

    In run order; the digest is `builtin` for composer's own declarations.

    Raises:
        ConfigError: an entry that is not a `BenchmarkScoring`.
    """
    by_benchmark: dict[str, list[Instance]] = {}
    for instance in instances:
        by_benchmark.setdefault(instance.benchmark, []).append(instance)
    known = set(SCORING.names())
    found = []
    for name, mine in by_benchmark.items():
        if name not in known:
            continue
        scoring = SCORING.get(name)
        if not isinstance(scoring, BenchmarkScoring):
            raise ConfigError(
                SCORING.where(name),
                "declares scoring that has no needs_judge(instances) and scorers(context).",
                "Register an object with both methods (composer.evaluation.benchmark_scoring).",
            )
        # An instance's source would hash its address: its class is what holds the code.
        code = code_digest(
            scoring if isinstance(scoring, type | types.ModuleType) else type(scoring)
        )
        found.append((scoring, code, tuple(mine)))
    return found


def needs_judge(instances: Sequence[Instance]) -> bool:
    """Whether any benchmark of `instances` needs the run's judges for its own scorers."""
    return any(scoring.needs_judge(mine) for scoring, _, mine in declared(instances))


def benchmark_scorers(
    instances: Sequence[Instance],
    *,
    config: RunConfig,
    judges: Sequence[Judge],
    judge_models: Mapping[str, Understander],
    images: ImageStore,
    model: Callable[[str], Understander],
) -> list[Scorer]:
    """The scorers every benchmark of `instances` declares, in run order.

    A declaration outside composer (a package's, a file's, a notebook's) is versioned by its
    code, as a strategy is: each of its scorers' ids and definitions carries the digest, so an
    edit to the scoring code scores the stored outputs again instead of reusing their scores.
    """
    scorers: list[Scorer] = []
    for scoring, code, mine in declared(instances):
        context = ScoringContext(config, mine, tuple(judges), judge_models, images, model)
        made = scoring.scorers(context)
        scorers.extend(made if code == BUILTIN_CODE else [Versioned(s, code) for s in made])
    return scorers


@dataclass(frozen=True)
class Versioned:
    """A declared scorer whose declaration's code digest is part of its identity."""

    scorer: Scorer
    code: str

    @property
    def id(self) -> str:
        """The scorer's own id and a short key of the code."""
        return f"{self.scorer.id}-{self.code.removeprefix('sha256:')[:12]}"

    @property
    def label(self) -> str:
        """The scorer's own label."""
        return self.scorer.label

    def definition(self) -> dict[str, Any]:
        """The scorer's own definition and the code digest (`declared_code`)."""
        return {**self.scorer.definition(), "declared_code": self.code}

    def applies(self, instance: Instance) -> bool:
        """As the scorer says."""
        return self.scorer.applies(instance)

    async def score(
        self, instance: Instance, state: Mapping[str, Any]
    ) -> tuple[Scored, Sequence[Judgment]]:
        """The scorer's score (checked under its own id: `checked_score`), stored under this id."""
        returned = await self.scorer.score(instance, state)
        scored, judgments = checked_score(self.scorer, returned, declared=True)
        return scored.model_copy(update={"judge": self.id}), judgments


class UniMMMUScoring:
    """Uni-MMMU: the release's programmatic scorers, and its judged ones per `[judge]` model.

    DreamSim scores jigsaw images when `[benchmark] dreamsim` asks (or, unset, when it is
    installed); `[judge] text_model` is the release's text-only judge for geometry proofs.
    """

    def needs_judge(self, instances: Sequence[Instance]) -> bool:
        """Geometry, science and code are model-judged."""
        return any(UniMMMUJudged.is_judged(i) for i in instances)

    def scorers(self, context: ScoringContext) -> Sequence[Scorer]:
        """`UniMMMUProgrammatic`, then one `UniMMMUJudged` per judge."""
        from importlib.util import find_spec

        config = context.config
        distance = None
        wanted = config.benchmark.dreamsim
        if any(i.category == "jigsaw" for i in context.instances) and (
            wanted or (wanted is None and find_spec("dreamsim") is not None)
        ):
            from composer.benchmarks.unimmmu.perceptual import load_dreamsim

            cache = config.benchmark.dreamsim_cache
            distance = load_dreamsim(None if cache is None else config.resolve(cache))
        name = config.judge.text_model
        judged = self.needs_judge(context.instances)
        text_model = context.model(name) if name is not None and judged else None
        text_name = name if text_model is not None else None
        scorers: list[Scorer] = [UniMMMUProgrammatic(context.images, distance)]
        scorers += [
            UniMMMUJudged(j, context.judge_models[j.id], context.images, text_model, text_name)
            for j in context.judges
        ]
        return scorers


UNI_MMMU = UniMMMUScoring()
"""Uni-MMMU's declaration (`SCORING`'s built-in `uni-mmmu`)."""
