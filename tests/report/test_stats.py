"""Metric functions against hand-computed values."""

from pathlib import Path

import pytest

from composer.core.definition import AxisDefinition, Kind, SystemDefinition
from composer.evaluation.store import Result
from composer.evaluation.store_writer import RunWriter
from composer.report import noise, stats
from composer.report.summary import comparisons, summarize
from composer.report.tables import render


def test_mcnemar_exact_matches_the_binomial_tail() -> None:
    # n = 9 discordant, k = 1: 2 * (C(9,0) + C(9,1)) / 2^9 = 2 * 10 / 512.
    assert stats.mcnemar_exact(1, 8) == 0.0390625
    assert stats.mcnemar_exact(8, 1) == 0.0390625
    assert stats.mcnemar_exact(0, 5) == 2 / 32
    assert stats.mcnemar_exact(3, 3) == 1.0  # capped at 1
    assert stats.mcnemar_exact(0, 0) == 1.0
    # n = 12, k = 2: 2 * (1 + 12 + 66) / 4096.
    assert stats.mcnemar_exact(2, 10) == pytest.approx(158 / 4096)


def test_mcnemar_exact_does_not_overflow_on_thousands_of_discordant_pairs() -> None:
    # 2**n overflowed a float beyond n = 1023. Reference values: the same tail summed by
    # mpmath at 40 digits.
    assert stats.mcnemar_exact(2400, 2600) == pytest.approx(0.0048836497375175181, rel=1e-12)
    assert stats.mcnemar_exact(2550, 2450) == pytest.approx(0.16148522239737689, rel=1e-12)
    assert stats.mcnemar_exact(2500, 2500) == 1.0
    assert stats.mcnemar_exact(1000, 4000) == 0.0  # 1.08e-420, below the smallest float
    assert stats.mcnemar_exact(1100, 1100) == 1.0


def test_bootstrap_is_seeded_and_brackets_the_difference() -> None:
    a = [i % 3 != 0 for i in range(300)]  # 200 right
    b = [i % 2 == 0 for i in range(300)]  # 150 right
    first = stats.bootstrap_interval(a, b, seed=7)
    assert first == stats.bootstrap_interval(a, b, seed=7)
    assert first != stats.bootstrap_interval(a, b, seed=8)
    low, high = first
    assert low < 100 * (200 - 150) / 300 < high
    assert 5 < low and high < 28
    assert stats.bootstrap_interval([True, False], [True, False], seed=1) == (0.0, 0.0)
    with pytest.raises(ValueError):
        stats.bootstrap_interval([True], [True, False])


def _result(system: str, instance: str, right: bool | None, **extra: object) -> Result:
    axis = "UEG" if instance.startswith("u") else "GEU"
    category = "code_to_image" if axis == "UEG" else "mental_tracking"
    if instance.endswith("0") and axis == "UEG":
        category = "world_knowledge"
    return Result(
        system=system,
        instance=instance,
        axis=axis,
        category=category,
        status="ok" if right is not None else "failed",
        correct_official=right,
        correct_strict=right,
        **extra,  # type: ignore[arg-type]
    )


def test_paired_table_counts_and_lists_differing_instances() -> None:
    outcomes = {
        "u0": (True, True),
        "u1": (True, False),
        "u2": (False, True),
        "u3": (False, False),
        "u4": (True, None),  # B failed: counts as not right
        "g0": (True, False),
    }
    ra = {i: _result("A", i, a) for i, (a, _) in outcomes.items()}
    rb = {i: _result("B", i, b) for i, (_, b) in outcomes.items()}
    rb["only-in-b"] = _result("B", "u9", True)
    p = stats.paired("A", "B", ra, rb, seed=0)
    assert (p.n, p.both, p.only_a, p.only_b, p.neither) == (6, 1, 3, 1, 1)
    assert p.accuracy_a == pytest.approx(400 / 6) and p.accuracy_b == pytest.approx(200 / 6)
    assert p.p_value == stats.mcnemar_exact(3, 1) == 0.625
    assert {d[0] for d in p.differing} == {"u1", "u2", "u4", "g0"}
    assert p.ci_low <= p.difference <= p.ci_high
    scopes = noise.compare("A", "B", noise.outcomes([*ra.values(), *rb.values()]))
    assert [s.scope for s in scopes] == ["all", "UEG", "GEU"]
    assert scopes[2].n == 1 and scopes[2].only_a == 1


def _definition(kind: Kind, **roles: str) -> SystemDefinition:
    axis = AxisDefinition(graph="decompose-then-generate", roles=roles, code="builtin")
    return SystemDefinition(kind=kind, mode="stepwise", axes={"UEG": axis})


GRID = {
    "uu": _definition("unified", reasoner="m/u", generator="m/u"),
    "su": _definition("composed", reasoner="m/s", generator="m/u"),
    "us": _definition("composed", reasoner="m/u", generator="m/g"),
    "ss": _definition("composed", reasoner="m/s", generator="m/g"),
}


def test_single_role_swaps_find_the_edges_of_the_grid() -> None:
    swaps = {(a, b, role) for a, b, _, role in stats.single_role_swaps(GRID)}
    assert swaps == {
        ("uu", "su", "reasoner"),
        ("uu", "us", "generator"),
        ("su", "ss", "generator"),
        ("us", "ss", "reasoner"),
    }
    other_graph = {
        **GRID,
        "direct": SystemDefinition(
            kind="unified",
            mode="direct",
            axes={"UEG": AxisDefinition(graph="direct", roles={"model": "m/u"}, code="builtin")},
        ),
    }
    assert len(stats.single_role_swaps(other_graph)) == 4


def test_attribution_per_category_on_a_two_by_two_grid() -> None:
    # 4 instances, u0 in world_knowledge and u1..u3 in code_to_image. A specialist reasoner
    # fixes u1 and u2; a specialist generator fixes u3.
    right = {
        "uu": {"u0": True, "u1": False, "u2": False, "u3": False},
        "su": {"u0": True, "u1": True, "u2": True, "u3": False},
        "us": {"u0": True, "u1": False, "u2": False, "u3": True},
        "ss": {"u0": True, "u1": True, "u2": True, "u3": True},
    }
    grouped = noise.outcomes(
        _result(s, i, r) for s, outcomes in right.items() for i, r in outcomes.items()
    )
    rows = {(r["a"], r["b"]): r for r in noise.attribution(GRID, grouped)}
    reasoner = rows[("uu", "su")]
    assert reasoner["role"] == "reasoner" and reasoner["a_model"] == "m/u"
    assert reasoner["delta"] == -50.0
    assert reasoner["by_category"] == {
        "world_knowledge": 0.0,
        "code_to_image": pytest.approx(-200 / 3),
    }
    generator = rows[("su", "ss")]
    assert generator["delta"] == -25.0 and generator["by_category"][
        "code_to_image"
    ] == pytest.approx(-100 / 3)
    assert rows[("us", "ss")]["p_value"] == 0.5


def test_costs_charge_every_call_a_task_used_whoever_sent_it() -> None:
    # A's second task replayed a draw that another system sent first: it is charged what the
    # call cost when sent ("cost if run alone"), and counted as replayed, not spent.
    sent = {"calls": 1, "sent": 1, "cost_usd": 0.02, "spent_usd": 0.02, "model_s": 1.5}
    replayed = {"calls": 1, "sent": 0, "cost_usd": 0.02, "spent_usd": 0.0, "model_s": 1.5}
    results = [
        _result(
            "A",
            "u0",
            True,
            latency_s=2.0,
            usage={
                "calls": 1,
                "sent": 1,
                "replayed": 0,
                "images": 1,
                "cost_usd": 0.02,
                "spent_usd": 0.02,
                "model_s": 1.5,
                "nodes": {"draw": sent},
            },
        ),
        _result(
            "A",
            "u1",
            False,
            latency_s=4.0,
            usage={
                "calls": 1,
                "sent": 0,
                "replayed": 1,
                "images": 1,
                "cost_usd": 0.02,
                "spent_usd": 0.0,
                "model_s": 1.5,
                "nodes": {"draw": replayed},
            },
        ),
        _result("B", "u0", True, latency_s=1.0),
    ]
    out = stats.costs({"A": 2, "gone": 1}, results)
    assert out["A"]["tasks"] == 2 and out["A"]["latency_s"] == 3.0
    assert out["A"]["cost_usd"] == pytest.approx(0.04)  # both tasks, as if run alone
    assert out["A"]["spent_usd"] == pytest.approx(0.02)  # what this run paid
    assert out["A"]["calls"] == 2 and out["A"]["sent"] == 1 and out["A"]["replayed"] == 1
    assert out["A"]["images_per_task"] == 1.0 and out["A"]["retries"] == 2
    assert out["A"]["nodes"]["draw"]["calls"] == 2
    assert out["A"]["nodes"]["draw"]["cost_usd"] == pytest.approx(0.04)
    assert out["B"]["cost_usd"] is None and out["B"]["nodes"] == {}
    assert "gone" not in out


def _system(kind: str, mode: str, ueg: float, geu: float) -> dict:
    return {
        "kind": kind,
        "mode": mode,
        "models": ["m"],
        "UEG": {"accuracy": ueg, "by_category": {"world_knowledge": ueg}},
        "GEU": {"accuracy": geu, "by_category": {"mental_tracking": geu}},
        "total": 0.6 * ueg + 0.4 * geu,
    }


def test_oracle_headroom_is_best_composed_minus_best_unified() -> None:
    systems = {
        "u-direct": _system("unified", "direct", 10, 40),
        "u-step": _system("unified", "stepwise", 30, 20),
        "c1": _system("composed", "stepwise", 70, 30),
        "c2": _system("composed", "stepwise", 50, 70),
        "spec": _system("specialist", "direct", 99, 99),
    }
    rows = [r for r in comparisons(systems) if r["comparison"].startswith("oracle headroom")]
    by_axis = {r["axis"]: (r["a"], r["b"], r["delta"]) for r in rows}
    assert by_axis["UEG"] == ("c1", "u-step", 40)
    assert by_axis["GEU"] == ("c2", "u-direct", 30)
    assert by_axis["Total"][:2] == ("c2", "u-step")
    assert by_axis["Total"][2] == pytest.approx(58 - 26)
    gaps = [r for r in comparisons(systems) if r["comparison"].startswith("integration gap")]
    assert {(r["axis"], r["delta"]) for r in gaps} == {("UEG", 20), ("GEU", -20)}


def test_summary_holds_paired_attribution_and_costs(tmp_path: Path) -> None:
    from composer.evaluation.store import Scored

    store = RunWriter(tmp_path / "run")
    store.begin_run(
        config={"judge": {"model": "m/j", "parser": "official"}},
        versions={},
        seed=3,
        systems={name: (definition, {}) for name, definition in GRID.items()},
        judges=[("j1", "m/j", {"model": "m/j"})],
        instances=[],
    )
    right = {
        "uu": [True, False, False],
        "su": [True, True, False],
        "us": [True, False, True],
        "ss": [True, True, True],
    }
    for system, outcomes in right.items():
        for k, ok in enumerate(outcomes):
            result = _result(system, f"u{k}", ok, latency_s=1.0)
            scored = Scored(judge="j1", status="ok", correct_official=ok, correct_strict=ok)
            store.put_result(result, [(scored, [])])
    report = summarize(store.reader)
    assert report["seed"] == 3 and report["judge"] == "m/j"
    assert len(report["attribution"]) == 4
    pair = next(p for p in report["paired"] if (p["a"], p["b"], p["scope"]) == ("uu", "ss", "all"))
    assert (pair["both"], pair["only_a"], pair["only_b"], pair["neither"]) == (1, 0, 2, 0)
    assert report["costs"]["uu"]["tasks"] == 3
    text = render(report, "markdown")
    assert "### Paired comparisons" in text and "### Stage attribution" in text
    assert report["systems"]["su"]["UEG"]["category_counts"]["code_to_image"] == {
        "n": 2,
        "correct_official": 1,
        "correct_strict": 1,
        "not_ok": 0,
    }
    store.close()
