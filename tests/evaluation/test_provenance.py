"""Every stored number knows what produced it: judge, strategy code, imported kind, cost.

Each test is one of the four ways a report used to state something untrue: a changed judge
not applied yet named, a changed strategy file reused silently, imported systems always
counted as unified, and costs that depended on the order of the systems.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from composer.cli import app
from composer.evaluation.store import RunStore

cli = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def demo_file(tmp_path: Path, *, judge: str = "symbolic/reasoner", extra: str = "") -> Path:
    text = (EXAMPLES / "demo.toml").read_text()
    text = text.replace("n_per_category = 10", "n_per_category = 2")
    text = text.replace('model = "symbolic/reasoner"   #', f'model = "{judge}"   #')
    text = text.replace('extra = ["symbolic/glance-judge"]', f"extra = [{extra}]")
    path = tmp_path / "demo.toml"
    path.write_text(text)
    return path


def run(*args: str, code: int = 0) -> str:
    result = cli.invoke(app, ["run", *args, "--quiet"])
    assert result.exit_code == code, result.output
    return result.output


def report(run_dir: Path, *extra: str) -> dict:
    result = cli.invoke(app, ["report", str(run_dir), "--format", "json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }


def test_a_changed_judge_rejudges_stored_outputs_and_the_report_names_the_right_judge(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    run(str(demo_file(tmp_path)), "--out", str(run_dir))
    first = report(run_dir)
    assert first["judge"] == "symbolic/reasoner"
    images = sorted((run_dir / "images").rglob("*.png"))
    store = RunStore(run_dir)
    calls_before = {r["key"] for r in store.call_rows()}
    store.close()

    # Before: "0 tasks run (nothing new), 0 calls sent" and the report named the new judge
    # over the old judge's scores.
    output = run(str(demo_file(tmp_path, judge="symbolic/glance-judge")), "--out", str(run_dir))
    assert "0 tasks run" in output and "outputs judged again" in output

    store = RunStore(run_dir)
    new_calls = [r for r in store.call_rows() if r["key"] not in calls_before]
    judges = {j["label"] for j in store.judges().values()}
    store.close()
    assert new_calls and {r["node"] for r in new_calls} == {"judge"}  # no graph ran again
    assert sorted((run_dir / "images").rglob("*.png")) == images  # no image drawn again
    assert {"symbolic/reasoner", "symbolic/glance-judge"} <= judges  # earlier judgments kept

    now = report(run_dir)
    assert now["judge"] == "symbolic/glance-judge"
    again = report(run_dir, "--judge", "symbolic/reasoner")
    assert again["judge"] == "symbolic/reasoner"
    for name, entry in first["systems"].items():
        if "UEG" in entry:
            assert again["systems"][name]["UEG"]["accuracy"] == entry["UEG"]["accuracy"]
    # The glance judge really judges differently somewhere, so the numbers are its own.
    assert any(
        now["systems"][n]["UEG"]["by_category"] != e["UEG"]["by_category"]
        for n, e in first["systems"].items()
        if "UEG" in e
    )
    table = cli.invoke(app, ["report", str(run_dir)]).output
    assert "judge: symbolic/glance-judge" in table
    compare = cli.invoke(app, ["compare", str(run_dir), "oracle", "naive-direct"]).output
    assert "judge symbolic/glance-judge" in compare


def test_extra_judges_judge_every_ueg_output_and_the_report_shows_agreement(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    run(str(demo_file(tmp_path, extra='"symbolic/glance-judge"')), "--out", str(run_dir))
    data = report(run_dir)
    judges = data["judges"]
    assert judges["judges"] == ["symbolic/reasoner", "symbolic/glance-judge"]
    (pair,) = judges["agreement"]
    ueg_outputs = sum(e["UEG"]["counts"]["n"] for e in data["systems"].values() if "UEG" in e)
    assert pair["instances"]["n"] == ueg_outputs
    assert 0 < pair["instances"]["agreement"] < 1  # they read pixels differently
    low, high = pair["instances"]["kappa_ci95"]
    assert low <= pair["instances"]["kappa"] <= high
    assert any(c["delta"] for c in judges["comparisons"])
    # The judge is bound in the oracle: the report says so beside its numbers.
    assert "symbolic/reasoner" in data["systems"]["oracle"]["self_preference"]
    assert "self_preference" not in data["systems"]["naive-direct"]


def test_a_changed_strategy_file_is_refused_until_rerun(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "custom_strategy.py", tmp_path / "my_strategy.py")
    config = tmp_path / "custom.toml"
    config.write_text(
        """
[benchmark]
name = "synthetic"
n_per_category = 1
categories = ["WK", "CR"]

[judge]
model = "symbolic/reasoner"

[systems.mine]
ueg = { graph = "my_strategy.py:build", n = 2 }
roles = { reasoner = "symbolic/reasoner", generator = "symbolic/painter" }
"""
    )
    run_dir = tmp_path / "run"
    run(str(config), "--out", str(run_dir))
    before = snapshot(run_dir)
    strategy = tmp_path / "my_strategy.py"
    strategy.write_text(strategy.read_text() + "\n# a changed line of code\n")

    # Before: every result was reused silently.
    output = run(str(config), "--out", str(run_dir), code=2)
    assert "system 'mine'" in output and "--rerun mine" in output and "code" in output
    assert snapshot(run_dir) == before  # the rejected run wrote nothing

    output = run(str(config), "--out", str(run_dir), "--rerun", "mine")
    assert "2 tasks run" in output and "0 calls sent" in output  # unchanged calls replay
    run(str(config), "--out", str(run_dir))  # the new definition is the stored one now


def test_imported_systems_say_what_they_are(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    config = demo_file(tmp_path)
    run(str(config), "--out", str(run_dir), "--systems", "oracle,naive-direct")
    exported = tmp_path / "exported"
    result = cli.invoke(
        app, ["export", str(run_dir), "--output", str(exported), "--systems", "oracle"]
    )
    assert result.exit_code == 0, result.output
    folder = next(p for p in exported.iterdir() if p.is_dir())
    text = config.read_text()
    text += f"""
[systems.oracle-imported]
import = "{folder}"
mode = "step"
kind = "composed"

[systems.oracle-as-unified]
import = "{folder}"
mode = "step"
"""
    config.write_text(text)
    again = tmp_path / "again"
    run(
        str(config),
        "--out",
        str(again),
        "--systems",
        "naive-direct,oracle-imported,oracle-as-unified",
    )
    data = report(again)
    assert data["systems"]["oracle-imported"]["kind"] == "composed"
    assert data["systems"]["oracle-as-unified"]["kind"] == "unified"  # the documented default
    gains = {(c["a"], c["b"]) for c in data["comparisons"] if c["comparison"].startswith("comp")}
    assert ("oracle-imported", "naive-direct") in gains
    original = report(run_dir)["systems"]["oracle"]["UEG"]
    assert data["systems"]["oracle-imported"]["UEG"]["by_category"] == original["by_category"]

    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('kind = "composed"', 'kind = "hybrid"'))
    output = run(str(bad), "--out", str(tmp_path / "bad"), code=2)
    assert "kind" in output and "composed" in output


def test_cost_per_system_does_not_depend_on_the_order(tmp_path: Path) -> None:
    found = []
    for order in (("oracle", "oracle-refine"), ("oracle-refine", "oracle")):
        run_dir = tmp_path / "-".join(order)
        run(str(demo_file(tmp_path)), "--out", str(run_dir), "--systems", ",".join(order))
        costs = report(run_dir)["costs"]
        found.append(
            {
                name: (costs[name]["calls"], costs[name]["images"], costs[name]["model_s"] > 0)
                for name in order
            }
        )
        assert sum(costs[n]["sent"] for n in order) < sum(costs[n]["calls"] for n in order)
    assert found[0] == found[1]


def test_exit_status_says_whether_the_run_is_complete(tmp_path: Path) -> None:
    config = tmp_path / "fail.toml"
    config.write_text(
        """
[benchmark]
name = "synthetic"
n_per_category = 1
categories = ["MR-II"]

[systems.broken]
geu = "direct"
roles = { model = "mock/broken" }

[models."mock/broken"]
fail = ".*"
"""
    )
    result = cli.invoke(app, ["run", str(config), "--out", str(tmp_path / "r"), "--quiet"])
    assert result.exit_code == 1, result.output
    assert "--retry-failed" in result.output.strip().splitlines()[-1]


def test_a_judging_method_from_a_user_file_judges_and_a_change_to_it_rejudges(
    tmp_path: Path,
) -> None:
    method = tmp_path / "my_judge.py"
    method.write_text(
        '''
from composer.agents.verify import ask
from composer.evaluation.judges import score_verdicts


async def judge(model, image, checks, options):
    """Ask only the first `keep` checks (a cheaper judge)."""
    kept = list(checks)[: options.get("keep", 1)]
    return score_verdicts([await ask(model, image, check) for check in kept])
'''
    )
    config = demo_file(tmp_path)
    text = config.read_text().replace(
        'parser = "official"',
        'parser = "official"\nmethod = "my_judge.py:judge"\noptions = { keep = 1 }',
    )
    config.write_text(text)
    run_dir = tmp_path / "run"
    run(str(config), "--out", str(run_dir), "--systems", "oracle,naive-direct")
    data = report(run_dir)
    assert data["judge"] == "symbolic/reasoner (my_judge.py:judge)"
    store = RunStore(run_dir)
    asked = {len(j) for j in store.all_judgments().values()}
    store.close()
    assert asked == {1}  # the method, not the paper's polling, asked the questions

    method.write_text(method.read_text().replace('get("keep", 1)', 'get("keep", 1) + 1'))
    output = run(str(config), "--out", str(run_dir), "--systems", "oracle,naive-direct")
    assert "outputs judged again" in output  # a changed method is another judge
    store = RunStore(run_dir)
    asked = {len(j) for j in store.all_judgments().values()}
    store.close()
    assert asked == {2}


def test_a_judging_method_that_asks_nothing_fails_its_scores_instead_of_passing_them(
    tmp_path: Path,
) -> None:
    """`all([])` is True: a method that recorded no judgment (here one told to keep no check)
    read every output as correct, with nothing on record to show for it."""
    (tmp_path / "lazy_judge.py").write_text(
        """
from composer.evaluation.judges import score_verdicts


async def judge(model, image, checks, options):
    return score_verdicts([])
"""
    )
    config = tmp_path / "lazy.toml"
    config.write_text(
        """
[benchmark]
name = "synthetic"
n_per_category = 1
categories = ["WK"]

[judge]
model = "symbolic/reasoner"
method = "lazy_judge.py:judge"

[systems.oracle]
ueg = "decompose-then-generate"
roles = { reasoner = "symbolic/reasoner", generator = "symbolic/painter" }
"""
    )
    run_dir = tmp_path / "run"
    result = cli.invoke(app, ["run", str(config), "--out", str(run_dir), "--quiet"])
    assert result.exit_code == 1, result.output  # the scores failed: the run is incomplete
    store = RunStore(run_dir)
    try:
        results = list(store.results())
    finally:
        store.close()
    assert results and {r.correct_official for r in results} == {None}
    assert all(
        "returned a correct Score with no judgments for 3 check(s)" in (r.error or "")
        for r in results
    ), [r.error for r in results]
