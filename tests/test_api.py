"""The Python API (composer/api.py, docs/api.md): runs from a script and inside a running event
loop, the runner as a context manager, typed outcomes and pandas tables."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path
from typing import Any

import pytest
from mockbench import EXPECTED, config_text, write_fixture

import composer
from composer.core.errors import ConfigError, PrerequisiteError
from composer.evaluation.lock import RunFolderBusyError, is_written

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def mock_config(tmp_path: Path) -> dict[str, Any]:
    """The three-system mock run file's tables, as Python data."""
    return tomllib.loads(config_text(write_fixture(tmp_path / "data")))


def test_the_notebook_script_runs_in_a_script_and_inside_a_running_loop(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "api_notebook.py"), str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "The latest run was filtered: only instances matching 'UEG-0', 'UEG-1*'" in out
    assert "72 results, 0 not ok" in out
    assert "inside a running loop: 24 tasks" in out
    assert "plan reasoner" in out  # the in-process graph's first step, with its role
    assert (tmp_path / "runs" / "all" / "run.db").is_file()


def test_run_inside_a_running_event_loop(tmp_path: Path, mock_config: dict[str, Any]) -> None:
    out = tmp_path / "run"

    async def notebook_cell() -> composer.Results:
        # asyncio.run() would refuse here ("cannot be called from a running event loop").
        results = composer.run(mock_config, out)
        again = await composer.arun(mock_config, out)  # resumes: nothing left to do
        assert again.frame().equals(results.frame())
        return results

    results = asyncio.run(notebook_cell())
    table = results.report_frame()
    for system, expected in EXPECTED.items():
        rows = table[table["system"] == system].set_index("scope")
        assert rows.loc["UEG", "accuracy"] == pytest.approx(expected["UEG"])
        assert rows.loc["GEU", "accuracy"] == pytest.approx(expected["GEU"])
        assert rows.loc["Total", "accuracy"] == pytest.approx(expected["total"])
        assert rows.loc["UEG", "accuracy_strict"] == pytest.approx(expected["UEG_strict"])


def test_the_runner_is_a_context_manager(tmp_path: Path, mock_config: dict[str, Any]) -> None:
    out = tmp_path / "run"
    with composer.Run(mock_config, out, systems=["uni-direct"]) as run:
        with pytest.raises(RunFolderBusyError):  # the open run holds the folder
            composer.Run(mock_config, out).__enter__()
        summary = run.run()
        assert summary.tasks == 40
    with composer.Run(mock_config, out, systems=["uni-direct"]) as run:  # released on exit
        assert run.run().tasks == 0
    with pytest.raises(ConfigError, match="Use it as a context manager"):
        composer.Run(mock_config, out).run()


def test_what_the_command_line_notes_the_api_warns(tmp_path: Path) -> None:
    cfg = composer.config(
        {
            "benchmark": {"name": "synthetic", "n_per_category": 1, "categories": ["WK"]},
            "judge": {"model": "symbolic/reasoner"},
            "systems": {
                "geu-side": {"geu": "direct", "roles": {"model": "symbolic/reasoner"}},
                "ueg-side": {"ueg": "direct", "roles": {"model": "symbolic/naive-unified"}},
            },
        }
    )
    with pytest.warns(composer.RunNote, match="geu-side answers none of this run's instances"):
        with composer.Run(cfg, tmp_path / "run") as run:
            assert run.run().tasks == 1
    # Made an error, the note stops the script and leaves neither files nor the folder's lock.
    with warnings.catch_warnings():
        warnings.simplefilter("error", composer.RunNote)
        with pytest.raises(composer.RunNote):
            composer.Run(cfg, tmp_path / "stopped").__enter__()
    assert not (tmp_path / "stopped").exists()
    with composer.Run(cfg, tmp_path / "stopped"):  # not busy: nothing holds it
        pass


def test_one_system_or_instance_given_as_a_string_is_one_name(
    tmp_path: Path, mock_config: dict[str, Any]
) -> None:
    with composer.Run(mock_config, tmp_path / "run", systems="uni-direct", instances="UEG-0*"):
        pass  # it used to read "uni-direct" as the systems "u", "n", "i", ...
    # So is rerun's: it used to refuse "names no system of the run file ('u', 'n', 'i', ...)".
    with composer.Run(mock_config, tmp_path / "run", systems="uni-direct", rerun="uni-direct"):
        pass


NOT_NAMES = "takes a name or a list of names, not"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"systems": 3}, f"Run(systems=...): {NOT_NAMES} int 3."),
        ({"instances": ["UEG-0", 1]}, f"Run(instances=...): {NOT_NAMES} int 1."),
        ({"rerun": {"uni-direct": True}}, f"Run(rerun=...): {NOT_NAMES} dict"),
        ({"systems": b"uni-direct"}, f"Run(systems=...): {NOT_NAMES} bytes"),
        ({"retry_failed": "yes"}, "Run(retry_failed=...): must be True or False (got str 'yes')."),
    ],
)
def test_an_argument_of_the_wrong_type_is_refused_by_name_before_anything_is_written(
    tmp_path: Path, mock_config: dict[str, Any], options: dict[str, Any], message: str
) -> None:
    """Each used to fail deep inside (`'int' object is not iterable`), or pass unchecked."""
    with pytest.raises(ConfigError) as refused:
        composer.Run(mock_config, tmp_path / "run", **options)
    assert str(refused.value).startswith(message)
    assert not (tmp_path / "run").exists()
    with pytest.raises(ConfigError, match=r"Run\(out=...\): must be a folder's path"):
        composer.Run(mock_config, 3)  # type: ignore[arg-type]


def test_the_library_runner_is_a_context_manager_too(
    tmp_path: Path, mock_config: dict[str, Any]
) -> None:
    from composer.evaluation.runner import Runner

    config = composer.config(mock_config).select(["uni-direct"])
    with Runner(config, tmp_path / "run") as runner:
        assert asyncio.run(runner.run()).tasks == 40
    assert not is_written(tmp_path / "run")  # closed on leaving the block
    with Runner(config, tmp_path / "run") as runner:  # the folder was released
        assert asyncio.run(runner.run()).tasks == 0


def test_outcomes_are_typed_and_the_tables_are_dataframes(
    tmp_path: Path, mock_config: dict[str, Any]
) -> None:
    results = composer.run(mock_config, tmp_path / "run", instances=["UEG-1", "GEU-2"])
    outcomes = {(o.system, o.instance): o for o in results.outcomes()}
    assert len(outcomes) == 6
    drawn = outcomes[("composed", "UEG-1")]
    assert drawn.status == "ok" and drawn.correct is True and drawn.rewrite == "draw 3 circles"
    assert drawn.image is not None and drawn.image.is_file() and drawn.calls == 2  # rewrite, draw
    answered = outcomes[("uni-direct", "GEU-2")]
    assert answered.response == "A" and answered.correct is False and answered.image is None
    frame = results.frame()
    assert len(frame) == 6 and "output" not in frame.columns
    assert {"system", "instance", "seed", "status", "correct", "latency_s", "calls"} <= set(
        frame.columns
    )
    paired = results.paired_frame()
    assert {"a", "b", "scope", "difference", "ci95_low", "ci95_high", "p_value"} <= set(
        paired.columns
    )
    steps = results.steps("composed", "UEG-1")
    assert [(s.node, s.role) for s in steps[:2]] == [("rewrite", "reasoner"), ("draw", "generator")]
    assert results.report()["selection"].startswith("The latest run was filtered")


def test_a_bad_config_names_the_key(tmp_path: Path, mock_config: dict[str, Any]) -> None:
    mock_config["concurrency"] = "8"
    with pytest.raises(ConfigError, match="concurrency"):
        composer.run(mock_config, tmp_path / "run")
    assert not (tmp_path / "run").exists()
    with pytest.raises(ConfigError, match="holds no run.db"):
        composer.open_results(tmp_path / "nowhere")


def test_tables_without_pandas_name_the_extra(tmp_path: Path, mock_config: dict[str, Any]) -> None:
    composer.run(mock_config, tmp_path / "run", systems=["uni-direct"], instances=["GEU-0"])
    code = (
        "import sys; sys.modules['pandas'] = None\n"
        "import composer\n"
        f"results = composer.open_results({str(tmp_path / 'run')!r})\n"
        "print(len(results.outcomes()))\n"
        "results.frame()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "1"  # typed outcomes need no pandas
    assert "PrerequisiteError" in done.stderr
    assert "pip install 'unify-composer[pandas]'" in done.stderr
    assert PrerequisiteError.exit_code == 2  # the CLI's exit for a missing extra


def test_import_composer_stays_light_with_the_api() -> None:
    code = (
        "import sys, composer\n"
        "composer.run, composer.Results, composer.Run, composer.config\n"
        "print(','.join(m for m in ('langgraph', 'pandas', 'torch') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        composer.nonsense  # noqa: B018


def test_results_opened_by_a_relative_path_survive_a_chdir(
    tmp_path: Path, mock_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    composer.run(mock_config, tmp_path / "run", systems=["uni-direct"], instances=["UEG-0"])
    monkeypatch.chdir(tmp_path)
    results = composer.open_results("run")
    monkeypatch.chdir("/")
    assert len(results.frame()) == 1  # it used to fail: "unable to open database file"
    with pytest.raises(ConfigError, match="takes a system name and an instance id"):
        results.steps(None, "UEG-0")  # type: ignore[arg-type]  # it answered another system's
    with pytest.raises(ConfigError, match="takes a whole-number seed or None, not str '0'"):
        results.steps("uni-direct", "UEG-0", seed="0")  # type: ignore[arg-type]


def test_an_on_progress_that_is_not_callable_is_refused_before_anything_is_written(
    tmp_path: Path, mock_config: dict[str, Any]
) -> None:
    with pytest.raises(ConfigError, match="must be callable"):
        composer.Run(mock_config, tmp_path / "run", on_progress=5)  # type: ignore[arg-type]
    assert not (tmp_path / "run").exists()
