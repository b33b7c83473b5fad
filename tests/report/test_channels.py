"""Score channels in the report: means, the test each kind gets, seeds, judges, renderings."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import TypeAdapter
from rich.console import Console

from composer.core.definition import AxisDefinition, Kind, SystemDefinition
from composer.evaluation.store import Result, RunStore, Scored
from composer.evaluation.store_writer import RunWriter
from composer.report import channel_stats, stats
from composer.report.model import Report
from composer.report.summary import summarize
from composer.report.tables import render
from composer.report.terminal import print_report

PROGRAMMATIC = "uni-mmmu-programmatic-test"
Channel = tuple[str, float | None, float | None]
"""kind, official, strict."""


def _definition(kind: Kind, **roles: str) -> SystemDefinition:
    axis = AxisDefinition(graph="interleaved", roles=roles, code="builtin")
    return SystemDefinition(kind=kind, mode="stepwise", axes={"GEU": axis})


SYSTEMS = {
    "composed": _definition("composed", reasoner="m/r", editor="m/p", generator="m/p"),
    "unified": _definition("unified", model="m/u"),
}


def _store(
    path: Path,
    outputs: Mapping[tuple[str, str, int], Mapping[str, Channel] | None],
    *,
    seeds: Sequence[int] = (0,),
    judges: Sequence[tuple[str, str, dict[str, Any]]] = (),
    judged: Mapping[tuple[str, str, int], Mapping[str, Mapping[str, Channel]]] | None = None,
    with_channels: bool = True,
) -> RunStore:
    """A store of maze outputs: None is a failed output; headline = the `exact` channel."""
    store = RunWriter(path)
    programmatic = (PROGRAMMATIC, "programmatic", {"model": None, "method": "programmatic"})
    store.begin_run(
        config={"judge": {"parser": "official"}, "seeds": list(seeds)},
        versions={},
        seed=seeds[0],
        systems={name: (d, {}) for name, d in SYSTEMS.items()},
        judges=[*judges, programmatic],
        instances=[],
    )
    for (system, instance, seed), channels in outputs.items():
        category = instance.rstrip("0123456789")
        result = Result(
            system=system,
            instance=instance,
            seed=seed,
            axis="GEU",
            category=category,
            status="ok" if channels is not None else "failed",
            latency_s=1.0,
        )
        scores: list[tuple[Scored, list[Any]]] = []
        if channels is not None:
            head = channels.get("exact", ("binary", 1.0, 1.0))
            stored = {
                n: {"kind": k, "official": o, "strict": s} for n, (k, o, s) in channels.items()
            }
            scored = Scored(
                judge=PROGRAMMATIC,
                status="ok",
                correct_official=head[1] == 1.0,
                correct_strict=head[2] == 1.0,
                channels=stored if with_channels else {},
            )
            scores.append((scored, []))
        for scorer, by_name in ((judged or {}).get((system, instance, seed)) or {}).items():
            stored = {
                n: {"kind": k, "official": o, "strict": s} for n, (k, o, s) in by_name.items()
            }
            scores.append((Scored(judge=scorer, status="ok", channels=stored), []))
        store.put_result(result, scores)
    store.close()
    return RunStore(path)


def _maze(exact: float, frac: float | None, frac_strict: float | None, dist: float) -> dict:
    return {
        "exact": ("binary", exact, exact),
        "frac": ("fraction", frac, frac_strict),
        "dist": ("distance", dist, dist),
    }


# composed and unified on five maze instances; unified failed maze4.
ONE_SEED = {
    ("composed", "maze0", 0): _maze(1.0, 1.0, 1.0, 0.1),
    ("composed", "maze1", 0): _maze(1.0, 0.5, 0.5, 0.2),
    ("composed", "maze2", 0): _maze(1.0, 0.75, 0.75, 0.1),
    ("composed", "maze3", 0): _maze(0.0, 0.25, None, 0.3),
    ("composed", "maze4", 0): _maze(1.0, 1.0, 1.0, 0.1),
    ("unified", "maze0", 0): _maze(0.0, 0.5, 0.5, 0.4),
    ("unified", "maze1", 0): _maze(1.0, 0.5, 0.5, 0.2),
    ("unified", "maze2", 0): _maze(0.0, 0.25, 0.25, 0.5),
    ("unified", "maze3", 0): _maze(0.0, 0.25, 0.25, 0.3),
    ("unified", "maze4", 0): None,
}


def _row(report: Mapping[str, Any], channel: str, scope: str = "maze") -> dict[str, Any]:
    rows = report["channels"]["paired"]
    return next(r for r in rows if (r["channel"], r["scope"]) == (channel, scope))


def test_means_per_reading_count_unscored_outputs(tmp_path: Path) -> None:
    report = summarize(_store(tmp_path / "run", ONE_SEED))
    section = report["channels"]
    assert section["kinds"] == {"exact": "binary", "frac": "fraction", "dist": "distance"}
    composed = section["systems"]["composed"]["GEU"]["by_category"]["maze"]
    # official: (1 + 0.5 + 0.75 + 0.25 + 1) / 5; strict leaves maze3 out: 3.25 / 4.
    assert composed["frac"] == {
        "kind": "fraction",
        "n": 5,
        "official": {"mean": pytest.approx(0.7), "unscored": 0},
        "strict": {"mean": pytest.approx(0.8125), "unscored": 1},
    }
    unified = section["systems"]["unified"]["GEU"]["by_category"]["maze"]
    # The failed output has no value: counted as unscored, not as 0.
    assert unified["exact"]["n"] == 5
    assert unified["exact"]["official"] == {"mean": 0.25, "unscored": 1}
    assert unified["frac"]["official"]["mean"] == pytest.approx(0.375)
    # One category: the axis's `all` holds the same numbers.
    assert section["systems"]["unified"]["GEU"]["all"] == unified


def test_each_kind_gets_its_test(tmp_path: Path) -> None:
    report = summarize(_store(tmp_path / "run", ONE_SEED))
    exact = _row(report, "exact")
    # Paired where both scored (maze0-3): composed alone right on maze0 and maze2.
    assert (exact["n"], exact["a_higher"], exact["b_higher"], exact["ties"]) == (4, 2, 0, 2)
    assert (exact["mean_a"], exact["mean_b"], exact["difference"]) == (0.75, 0.25, 0.5)
    assert exact["test"] == "exact McNemar"
    assert exact["p_value"] == stats.mcnemar_exact(2, 0) == 0.5
    frac = _row(report, "frac")
    # Differences 0.5, 0, 0.5, 0: mean 0.25. A resample of 4 lands on 0 or 0.5, as far from
    # 0.25 as 0.25 is from 0, with probability 2 / 16; its 2.5% and 97.5% points are 0 and 0.5.
    assert frac["test"] == "paired bootstrap" and frac["noise"] == "instances"
    assert frac["difference"] == pytest.approx(0.25)
    assert frac["ci95"] == [0.0, 0.5]
    assert 0.09 < frac["p_value"] < 0.16
    dist = _row(report, "dist")
    assert dist["test"] == "paired bootstrap" and dist["kind"] == "distance"
    assert dist["difference"] == pytest.approx(
        ((0.1 + 0.2 + 0.1 + 0.3) - (0.4 + 0.2 + 0.5 + 0.3)) / 4
    )
    assert (dist["a_higher"], dist["b_higher"]) == (0, 2)  # composed is nearer: lower is better
    assert {(r["a"], r["b"], r["question"]) for r in report["channels"]["paired"]} == {
        ("composed", "unified", "composed - unified")
    }

    # Under the strict headline the pairs are on the strict values: composed's maze3 has none.
    strict = _row(summarize(_store(tmp_path / "strict", ONE_SEED), "strict"), "frac")
    assert (strict["reading"], strict["n"]) == ("strict", 3)
    assert strict["difference"] == pytest.approx(1 / 3)


def test_several_seeds_give_the_sign_test_and_the_spread(tmp_path: Path) -> None:
    def exact(value: float, frac: float) -> dict:
        return {"exact": ("binary", value, value), "frac": ("fraction", frac, frac)}

    outputs = {
        ("composed", "maze0", 0): exact(1.0, 1.0),
        ("composed", "maze1", 0): exact(1.0, 1.0),
        ("composed", "maze2", 0): exact(1.0, 1.0),
        ("composed", "maze0", 1): exact(1.0, 1.0),
        ("composed", "maze1", 1): exact(0.0, 0.5),
        ("composed", "maze2", 1): exact(1.0, 1.0),
        ("unified", "maze0", 0): exact(0.0, 0.0),
        ("unified", "maze1", 0): exact(1.0, 0.5),
        ("unified", "maze2", 0): exact(1.0, 0.5),
        ("unified", "maze0", 1): exact(0.0, 0.0),
        ("unified", "maze1", 1): exact(0.0, 0.5),
        ("unified", "maze2", 1): exact(0.0, 0.5),
    }
    report = summarize(_store(tmp_path / "run", outputs, seeds=(0, 1)))
    means = report["channels"]["systems"]["composed"]["GEU"]["by_category"]["maze"]["exact"]
    assert means["official"]["by_seed"] == {"0": 1.0, "1": pytest.approx(2 / 3)}
    assert means["official"]["mean"] == pytest.approx(5 / 6)
    assert means["official"]["seed_sd"] == pytest.approx(np.std([1.0, 2 / 3], ddof=1))
    row = _row(report, "exact")
    # Per-instance rates: composed 1, 0.5, 1; unified 0, 0.5, 0.5: composed higher on two.
    assert row["test"] == "exact sign test on per-instance rates"
    assert (row["a_higher"], row["b_higher"], row["ties"]) == (2, 0, 1)
    assert row["p_value"] == 0.5 and row["noise"] == "instances + seeds"
    assert row["difference"] == pytest.approx((2.5 - 1.0) / 3)
    assert _row(report, "frac")["test"] == "cluster bootstrap (instances, then seeds)"


def test_headline_judge_model_scores_channels_and_each_judge_is_shown(tmp_path: Path) -> None:
    judges = [
        ("judge-1", "m/j1", {"model": "m/j1"}),
        ("judge-2", "m/j2", {"model": "m/j2"}),
        ("judged-1", "m/j1 (prompts)", {"model": "m/j1", "method": "judged"}),
        ("judged-2", "m/j2 (prompts)", {"model": "m/j2", "method": "judged"}),
    ]
    outputs = {(s, "geometry0", 0): {} for s in SYSTEMS}
    rubric = {
        ("composed", "geometry0", 0): {
            "judged-1": {"rubric": ("rubric_0_5", 4.0, 4.0)},
            "judged-2": {"rubric": ("rubric_0_5", 2.0, 2.0)},
        },
        ("unified", "geometry0", 0): {
            "judged-1": {"rubric": ("rubric_0_5", 1.0, 1.0)},
            "judged-2": {"rubric": ("rubric_0_5", 3.0, None)},
        },
    }
    store = _store(tmp_path / "run", outputs, judges=judges, judged=rubric)
    section = summarize(store)["channels"]

    def rubric_of(systems: Mapping[str, Any], system: str) -> dict[str, Any]:
        return dict(systems[system]["GEU"]["by_category"]["geometry"]["rubric"])

    assert rubric_of(section["systems"], "composed")["official"]["mean"] == 4.0  # m/j1 leads
    by_judge = section["judges"]["by_judge"]
    assert set(by_judge) == {"m/j1", "m/j2"}
    assert rubric_of(by_judge["m/j2"]["systems"], "composed")["official"]["mean"] == 2.0
    assert rubric_of(by_judge["m/j2"]["systems"], "unified")["strict"] == {
        "mean": None,
        "unscored": 1,
    }
    # composed - unified is +3 by m/j1 and -1 by m/j2: the report says it depends on the judge.
    assert [r["difference"] for r in by_judge["m/j1"]["paired"]] == [3.0]
    assert section["judges"]["notes"] == [
        "rubric (geometry), composed vs unified: +3.000 (p 1) by m/j1, -1.000 (p 1) by m/j2"
    ]
    assert "score channels by judge" in render(summarize(store), "csv")
    # One instance: every difference is the same, so the bootstrap has no spread: sign test.
    assert by_judge["m/j1"]["paired"][0]["test"] == channel_stats.SIGN_WHEN_EQUAL
    assert summarize(store, judge="m/j2")["channels"]["paired"][0]["difference"] == -1.0


def test_channels_add_one_key_and_change_no_other_byte(tmp_path: Path) -> None:
    plain = _store(tmp_path / "plain", ONE_SEED, with_channels=False)
    scored = _store(tmp_path / "scored", ONE_SEED)
    without = summarize(plain)
    assert "channels" not in without
    with_channels = dict(summarize(scored))
    with_channels.pop("channels")
    assert render(without, "json") == json.dumps(with_channels, indent=2)
    markdown = render(summarize(scored), "markdown")
    head, _, tail = markdown.partition("\n\n### Score channels, mean per reading")
    assert head + "\n" == render(without, "markdown") and tail
    csv_text, plain_csv = render(summarize(scored), "csv"), render(without, "csv")
    assert csv_text.startswith(plain_csv)
    assert csv_text[len(plain_csv) :].startswith('\r\n"# score channels, mean per reading"')


def test_every_rendering_shows_the_channels_and_their_tests(tmp_path: Path) -> None:
    report = summarize(_store(tmp_path / "run", ONE_SEED))
    assert TypeAdapter(Report).validate_python(report, strict=True) == report
    markdown = render(report, "markdown")
    assert "### Score channels, mean per reading" in markdown
    assert "| composed | unified | GEU | maze | frac | fraction | official | 4 |" in markdown
    csv_text = render(report, "csv")
    assert "# score channels, paired (test per row)" in csv_text
    assert "exact McNemar" in csv_text and "paired bootstrap" in csv_text
    console = Console(file=io.StringIO(), width=200, record=True)
    print_report(console, report)
    text = console.export_text()
    assert "GEU score channels" in text
    assert "0.700 (s 0.812) [" not in text  # official has no unscored composed output
    assert "0.700 (s 0.812)" in text
    assert "0.250 [1/5 u]" in text  # unified's exact: the failed output is unscored
    assert "score channels, paired on shared instances" in text


def test_a_swapped_pair_mirrors_the_interval_and_keeps_p() -> None:
    rng = np.random.default_rng(3)
    a = rng.random((40, 3))
    b = rng.random((40, 3))
    a[5, 1] = np.nan
    ab = channel_stats.paired_channel(a, b, "fraction", seed=1)
    ba = channel_stats.paired_channel(b, a, "fraction", seed=1)
    assert ab.ci95 == (0.0 - ba.ci95[1], 0.0 - ba.ci95[0])
    assert ab.p_value == ba.p_value
    assert ab.difference == pytest.approx(-(ba.difference or 0.0))
    assert ab.test == channel_stats.CLUSTER_BOOTSTRAP


def test_chunked_resampling_draws_what_one_chunk_draws() -> None:
    d = np.random.default_rng(0).random((30, 1)) - 0.4
    whole = channel_stats.replicates(d, resamples=500, chunk=10**9)
    pieces = channel_stats.replicates(d, resamples=500, chunk=30 * 7)  # 7 replicates a chunk
    assert whole.shape == pieces.shape == (500,)
    # Another stream of draws, the same distribution.
    assert abs(whole.mean() - pieces.mean()) < 0.02
    assert abs(whole.std() - pieces.std()) < 0.02


def test_the_html_report_shows_the_channel_tables(tmp_path: Path) -> None:
    from composer.report.html import write_html

    store = _store(tmp_path / "run", ONE_SEED)
    index = write_html(store, tmp_path / "html").read_text()
    assert '<h2 id="channels-1">Score channels, mean per reading</h2>' in index
    assert '<h2 id="channels-2">Score channels, paired (test per row)</h2>' in index
    assert "exact McNemar" in index and "paired bootstrap" in index


def test_a_channel_mean_does_not_depend_on_the_order_outputs_finished_in() -> None:
    # Two runs that score the same outputs store them in the order their tasks finished; the
    # report must give the same number to the last digit (a pairwise sum does not).
    import math
    from itertools import permutations

    from composer.report.channels import _reading

    values = [0.1, 0.7, 1e16, 0.3, -1e16, 0.2]
    means = {
        _reading([(0, {"official": v}) for v in order], "official", 1)["mean"]
        for order in permutations(values)
    }
    assert means == {math.fsum(values) / 6}  # one value: 1.3 / 6, the large pair cancelling
