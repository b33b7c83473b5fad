"""Tiny diffusers pipelines served by Ray Serve on a local head node with 4 logical GPUs.

The head is the one tests/ray/conftest.py starts with `ray start --head`; this process joins it.

Runs only inside a loopback-only network namespace (`.ci/run` starts one):
    unshare -n sh -c 'ip link set lo up && RAY_USAGE_STATS_ENABLED=0 COMPOSER_RAY_NAMESPACE=1 \
        .venv/bin/python -m pytest tests/ray'
"""

import asyncio
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

if os.environ.get("COMPOSER_RAY_NAMESPACE") != "1":
    pytest.skip(
        "Ray tests run only in a loopback-only network namespace (see .ci/run)",
        allow_module_level=True,
    )

ray = pytest.importorskip("ray")
from ray import serve  # noqa: E402
from ray.serve.context import _get_global_client  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

sys.path.insert(0, str(Path(__file__).parents[1] / "specialists"))
from head_node import RayHead  # noqa: E402
from tiny_models import TinyModels, tiny_models  # noqa: E402

from composer.cli import app  # noqa: E402
from composer.core.config import load_config  # noqa: E402
from composer.core.images import ImageStore  # noqa: E402
from composer.evaluation.calls import CallSettings  # noqa: E402
from composer.evaluation.runner import Runner  # noqa: E402
from composer.evaluation.store import RunStore  # noqa: E402
from composer.serving.ray.cluster import SERVE_LOCK, delete_app  # noqa: E402
from composer.serving.ray.proxy import RaySpecialist  # noqa: E402
from composer.specialists.base import load_all  # noqa: E402
from composer.specialists.registry import create  # noqa: E402

EXAMPLE = Path(__file__).parents[2] / "examples" / "ray_generator.toml"
SD = "stabilityai/stable-diffusion-xl-base-1.0"
cli = CliRunner()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    return tiny_models(tmp_path_factory.getbasetemp() / "tiny-models")


@pytest.fixture(scope="module")
def local_ray(ray_head: RayHead) -> Iterator[None]:
    """This process joined to the shared head (2 CPUs, 4 logical GPUs)."""
    ray.init(address=ray_head.address, log_to_driver=False)
    yield
    serve.shutdown()
    ray.shutdown()


def example_config(tiny: TinyModels, tmp_path: Path, **replace: str) -> Path:
    text = EXAMPLE.read_text()
    replacements = {
        SD: str(tiny.sd),
        "replicas = 4 ": "replicas = 2 ",
        "cpus_per_replica = 2": 'cpus_per_replica = 0.5\ndevice = "cpu"\nretry_initial_s = 0.2',
        "steps = 30\nguidance = 6.0\nsize = 1024\nmax_batch = 8": (
            "steps = 2\nguidance = 6.0\nsize = 32\nmax_batch = 4\nbatch_window_ms = 30"
        ),
        "n_per_category = 10": "n_per_category = 3",
        **replace,
    }
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "ray.toml"
    path.write_text(text)
    return path


def served_options(tiny: TinyModels, tmp_path: Path) -> dict[str, object]:
    """The generator's table of the example on tiny models, without the call-layer keys."""
    table = load_config(example_config(tiny, tmp_path)).models[f"diffusers/{tiny.sd}"]
    return CallSettings.split(table)[1]


async def test_two_replicas_batch_and_draw_the_same_png_for_a_seed(
    tiny: TinyModels, local_ray: None, tmp_path: Path
) -> None:
    store = ImageStore(tmp_path / "images")
    name = f"diffusers/{tiny.sd}"
    options = served_options(tiny, tmp_path)
    spec = create(name, options, images=store)
    assert isinstance(spec, RaySpecialist)
    await spec.load()  # the example's deployment: the next test reuses it
    refs = []
    for _ in range(40):  # until both replicas have drawn it
        refs.append(await spec.generate("a red circle", seed=7))
        if len(spec.stats()["per_replica"]) == 2 and len(refs) >= 4:
            break
    assert len(spec.stats()["per_replica"]) == 2
    assert len(set(refs)) == 1
    in_process = create(name, {**options, "backend": "local"}, images=store)
    assert not isinstance(in_process, RaySpecialist)
    assert spec.describe() == in_process.describe()
    await in_process.load()
    assert await in_process.generate("a red circle", seed=7) == refs[0]

    drawn = await asyncio.gather(*(spec.generate("a cat", seed=s) for s in range(16)))
    assert len(set(drawn)) == 16 and all(ref in store for ref in drawn)
    stats = spec.stats()
    assert max(stats["batch_sizes"]) > 1, stats
    assert stats["queue"] == 0 and stats["replicas"].get("RUNNING") == 2, stats
    assert spec.progress_note().startswith("2/2 replicas, queue 0, "), spec.progress_note()


async def test_the_example_completes_when_a_replica_is_killed_mid_run(
    tiny: TinyModels, local_ray: None, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    killed: list[str] = []

    def kill_one_replica(system: str, result: object) -> None:
        if killed:
            return
        spec = runner.specialists[f"diffusers/{tiny.sd}"]
        assert isinstance(spec, RaySpecialist)
        names = [
            a["name"]
            for a in ray.util.list_named_actors(all_namespaces=True)
            if a["name"].startswith("SERVE_REPLICA::") and spec.app in a["name"]
        ]
        ray.kill(ray.get_actor(names[0], namespace="serve"), no_restart=True)
        killed.append(names[0])

    config = load_config(example_config(tiny, tmp_path))
    runner = Runner(config, run_dir, on_progress=kill_one_replica)
    spec = runner.specialists[f"diffusers/{tiny.sd}"]
    assert isinstance(spec, RaySpecialist)
    try:
        summary = await runner.run()
    finally:
        runner.close()
        with SERVE_LOCK:  # the proxy's own threads may be asking Serve for its status
            serve.delete(spec.app)
    stats = spec.stats()
    assert killed
    assert summary.tasks == 18 and summary.statuses.get("failed", 0) == 0, summary
    store = RunStore(run_dir)
    try:
        assert len(store.finished(retry_failed=True)) == 18
    finally:
        store.close()
    # Whether the killed replica had a request in flight (a failover) or the router saw it gone
    # first is a race; the failover itself is tested in test_ray_options.py.
    assert stats["sent"] >= 18, stats


def test_a_deployment_that_cannot_be_placed_stops_at_start(
    tiny: TinyModels, local_ray: None, tmp_path: Path
) -> None:
    config = example_config(tiny, tmp_path, **{"gpus_per_replica = 1": "gpus_per_replica = 8"})
    result = cli.invoke(app, ["run", str(config), "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert "cannot be placed" in message and "8 GPU" in message and "4 GPU(s)" in message
    assert len(message.splitlines()) <= 3, message


async def test_a_model_that_fails_to_load_stops_at_start(
    tiny: TinyModels, local_ray: None, tmp_path: Path
) -> None:
    broken = tmp_path / "broken-sd"
    shutil.copytree(tiny.sd, broken)
    for weights in (broken / "unet").glob("*.safetensors"):
        weights.write_bytes(b"not weights")
    options = {**served_options(tiny, tmp_path), "replicas": 1}
    spec = create(f"diffusers/{broken}", options, images=ImageStore(tmp_path / "images"))
    with pytest.raises(Exception) as caught:
        await spec.load()
    text = str(caught.value)
    assert type(caught.value).__name__ == "PrerequisiteError"
    assert "a replica could not load the model" in text and "could not load" in text, text


async def test_autoscaling_bounds_reach_serve_and_replicas_stay_within_them(
    local_ray: None, tmp_path: Path
) -> None:
    options = {
        "backend": "ray",
        "min_replicas": 1,
        "max_replicas": 2,
        "gpus_per_replica": 0,
        "cpus_per_replica": 0.25,
        "latency_s": 0.02,
        "default": "ok",
    }
    spec = create("mock/autoscaled", options, images=ImageStore(tmp_path / "images"))
    assert isinstance(spec, RaySpecialist)
    await spec.load()
    try:
        with SERVE_LOCK:
            details = _get_global_client().get_serve_details()  # what `serve status` shows
        deployment = details["applications"][spec.app]["deployments"]["specialist"]
        applied = deployment["deployment_config"]["autoscaling_config"]
        assert (applied["min_replicas"], applied["initial_replicas"]) == (1, 1), applied
        assert applied["max_replicas"] == 2 and applied["target_ongoing_requests"] == 1
        assert deployment["deployment_config"].get("num_replicas") in (None, 1)
        assert spec.stats()["replicas"] == {"RUNNING": 1}  # starts at min
        counts = set()
        load = asyncio.gather(*(spec.understand(f"question {i}") for i in range(120)))
        while not load.done():
            await asyncio.sleep(0.2)
            with SERVE_LOCK:
                app = serve.status().applications[spec.app].deployments["specialist"]
            counts.add(sum(app.replica_states.values()))
        assert all(r.text == "ok" for r in await load)
        assert counts and max(counts) <= 2, counts
    finally:
        delete_app(spec.app)


async def test_two_deployments_start_at_the_same_time(local_ray: None, tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "images")
    own = {"backend": "ray", "gpus_per_replica": 0, "cpus_per_replica": 0.25, "load_s": 2.0}
    models = [create(f"mock/{name}", {**own, "default": name}, images=store) for name in "ab"]
    gaps: list[float] = []

    async def tick() -> None:  # a load that blocked the event loop would show as a long gap
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.05)
            gaps.append(time.monotonic() - last)
            last = time.monotonic()

    ticker = asyncio.create_task(tick())
    try:
        await load_all(models)
    finally:
        ticker.cancel()
    try:
        assert [(await m.understand("?")).text for m in models] == ["a", "b"]  # type: ignore[attr-defined]
        # Joining Ray, deploying and waiting for the replicas ran off the event loop, so the
        # two loads went on together (each replica's own load takes 2 s).
        assert max(gaps) < 1.0, max(gaps)
    finally:
        for model in models:
            assert isinstance(model, RaySpecialist)
            delete_app(model.app)
