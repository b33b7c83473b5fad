"""Models load at the same time before a run: the wait is the slowest load, not the sum.

The scripted models' loads block a worker thread for `load_s` seconds, as reading weights does.
"""

import asyncio
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from composer.cli import app
from composer.core.config import load_config
from composer.core.errors import PrerequisiteError
from composer.core.images import ImageStore
from composer.evaluation.runner import Runner
from composer.specialists.base import load_all
from composer.specialists.mock import MockSpecialist
from composer.specialists.registry import create

cli = CliRunner()


def two_model_config(tmp_path: Path, reasoner: str, generator: str) -> Path:
    """A composed system whose reasoner and generator are two scripted models."""
    config = tmp_path / "run.toml"
    config.write_text(
        'seed = 0\n[benchmark]\nname = "synthetic"\nn_per_category = 1\ncategories = ["logical"]\n'
        '[judge]\nmodel = "symbolic/reasoner"\n'
        '[systems.s]\nueg = "decompose-then-generate"\n'
        'roles = { reasoner = "mock/reasoner", generator = "mock/generator" }\n'
        f'[models."mock/reasoner"]\ndefault = "a red circle"\n{reasoner}\n'
        f'[models."mock/generator"]\n{generator}\n'
    )
    return config


class Timed(MockSpecialist):
    """A scripted model that records when its load began and ended."""

    spans: dict[str, tuple[float, float]] = {}

    async def load(self) -> None:
        began = time.perf_counter()
        try:
            await super().load()
        finally:
            Timed.spans[self.name] = (began, time.perf_counter())


async def test_two_slow_loads_overlap(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "images")
    Timed.spans = {}
    models = [Timed.from_name(name, {"load_s": 0.8}, images=store) for name in ("a", "b")]
    started = time.perf_counter()
    await load_all(models)
    took = time.perf_counter() - started
    (a_began, a_ended), (b_began, b_ended) = Timed.spans.values()
    assert b_began < a_ended and a_began < b_ended  # both were loading at once
    assert took < 1.4, took  # one after the other would take 1.6 s at least
    assert all(m.is_loaded for m in models)


def test_a_run_waits_for_the_slowest_load_not_the_sum(tmp_path: Path) -> None:
    config = load_config(two_model_config(tmp_path, "load_s = 1.0", "load_s = 1.0"))
    runner = Runner(config, tmp_path / "run")
    try:
        summary = asyncio.run(runner.run())
    finally:
        runner.close()
    assert summary.statuses == {"ok": 1}, summary
    assert summary.seconds < 1.8, summary.seconds  # loads in turn: 2 s before the first call
    mocks = [s for s in runner.specialists.values() if isinstance(s, MockSpecialist)]
    assert len(mocks) == 2 and all(m.is_loaded for m in mocks)


async def test_the_first_failure_is_raised_and_the_other_loads_are_cancelled(
    tmp_path: Path,
) -> None:
    store = ImageStore(tmp_path / "images")
    slow = create("mock/slow", {"load_s": 1.5}, images=store)
    later = create("mock/later", {"load_s": 0.4, "load_error": "second"}, images=store)
    first = create("mock/first", {"load_s": 0.1, "load_error": "weights unreadable"}, images=store)
    started = time.perf_counter()
    with pytest.raises(PrerequisiteError, match="mock/first: weights unreadable"):
        await load_all([slow, later, first])
    assert time.perf_counter() - started < 1.0  # nobody waited for the slow load
    assert isinstance(slow, MockSpecialist) and not slow.is_loaded
    assert isinstance(later, MockSpecialist) and not later.is_loaded


async def test_cancelling_the_run_cancels_every_load(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "images")
    models = [create(f"mock/{n}", {"load_s": 0.5}, images=store) for n in ("a", "b")]
    task = asyncio.create_task(load_all(models))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.6)  # past the worker threads' sleep: no load finished after all
    assert not any(isinstance(m, MockSpecialist) and m.is_loaded for m in models)


def test_a_failed_load_stops_the_run_with_its_message_and_no_run_folder(tmp_path: Path) -> None:
    config = two_model_config(
        tmp_path, "load_s = 0.6", 'load_s = 0.1\nload_error = "no weights at /models/sd"'
    )
    run_dir = tmp_path / "run"
    result = cli.invoke(app, ["run", str(config), "--out", str(run_dir), "--quiet"])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == "error mock/generator: no weights at /models/sd (scripted)."
    assert not run_dir.exists()
