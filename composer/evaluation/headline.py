"""Which of an output's stored scores is its headline: a rule over scorer identities only.

An output may be scored by several scorers: the run's `[judge]` judges (which poll a UEG
image with the instance's checks), the letter reader, and the scorers a benchmark declares
(`composer.evaluation.benchmark_scoring`). The report leads with one of them per output:

1. the scorer asked for (the headline judge on UEG, a named scorer on GEU), when it scored it;
2. on UEG, none when one of the run's judges scored it but not the one asked for: a headline
   never mixes judges, so the output is unscored by that judge, as ever;
3. otherwise a scorer that is not one of the run's judges: one without a model (programmatic:
   the letter reader, Uni-MMMU's grids), the latest stored; else one whose model is the
   headline judge's (a benchmark's judged scorer run with that judge); else the first in the
   latest run's order. A model-judged score from a scorer the latest run no longer has counts
   for nothing.

The rule reads only what the store keeps (scorer ids, definitions, the run's decisions), so it
knows no benchmark.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any


def polling_judges(
    recorded: Sequence[str] | None, definitions: Mapping[str, Mapping[str, Any]]
) -> frozenset[str]:
    """The run's `[judge]` judges, as its decisions recorded them.

    In a folder from before they were recorded: every scorer whose definition names a model
    (the letter reader names none).
    """
    if recorded is not None:
        return frozenset(recorded)
    return frozenset(k for k, d in definitions.items() if d.get("model") is not None)


def headline_scorer(
    axis: str,
    scored: Sequence[str],
    *,
    asked: str | None,
    judge: str | None,
    polling: Collection[str],
    definitions: Mapping[str, Mapping[str, Any]],
    order: Sequence[str],
) -> str | None:
    """The id of the score an output leads with, or None (unscored).

    Args:
        axis: The output's axis, `UEG` or `GEU`.
        scored: The scorers that scored it, in the order their scores were stored.
        asked: The scorer asked for (the UEG headline judge; on GEU, a named scorer or None).
        judge: The headline judge, whose model a benchmark's judged scorer is preferred by.
        polling: The run's `[judge]` judges (`polling_judges`).
        definitions: Every stored scorer's definition, by id.
        order: The latest run's scorers, the headline first.
    """
    if asked is not None and asked in scored:
        return asked
    if axis == "UEG" and any(k in polling for k in scored):
        return None
    others = [k for k in scored if k not in polling]
    programmatic = [k for k in others if _model(definitions, k) is None]
    if programmatic:
        return programmatic[-1]
    # A model-judged score counts only from a scorer the latest run still has: one from a
    # judge the run file no longer names is stale, and would mix judges into the headline.
    current = sorted((k for k in others if k in order), key=order.index)
    model = _model(definitions, judge)
    same = [k for k in current if model is not None and _model(definitions, k) == model]
    found = same or current
    return found[0] if found else None


def _model(definitions: Mapping[str, Mapping[str, Any]], scorer: str | None) -> Any:
    return (definitions.get(scorer or "") or {}).get("model")
