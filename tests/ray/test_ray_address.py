"""A run joins a cluster someone else started (`address`), and leaves that cluster running.

Runs only inside a loopback-only network namespace, like the other Ray tests. composer runs as
a user runs it, in its own process (`python -m composer run`), against the head that
`ray start --head` started (tests/ray/conftest.py).
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

if os.environ.get("COMPOSER_RAY_NAMESPACE") != "1":
    pytest.skip(
        "Ray tests run only in a loopback-only network namespace (see .ci/run)",
        allow_module_level=True,
    )

pytest.importorskip("ray")
from head_node import RayHead, free_port  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from composer.cli import app  # noqa: E402
from composer.core.images import ImageStore  # noqa: E402
from composer.evaluation.store import RunStore  # noqa: E402
from composer.serving.ray.proxy import RaySpecialist  # noqa: E402
from composer.specialists.registry import create  # noqa: E402

cli = CliRunner()

CHECK = """
import json, sys, ray
from ray import serve
ray.init(address=sys.argv[1], log_to_driver=False)
print(json.dumps({
    "nodes": sum(1 for node in ray.nodes() if node["Alive"]),
    "apps": {name: str(app.status) for name, app in serve.status().applications.items()},
}))
"""
"""Another driver's view of the cluster: its live nodes and Serve applications."""


def run_config(tmp_path: Path, address: str) -> Path:
    """Two synthetic instances drawn by a scripted generator served on the cluster."""
    config = tmp_path / "run.toml"
    config.write_text(
        'seed = 0\n[benchmark]\nname = "synthetic"\nn_per_category = 2\n'
        'categories = ["logical"]\n[judge]\nmodel = "symbolic/reasoner"\n'
        '[systems.on-cluster]\nueg = "direct"\nroles = { model = "mock/drawer" }\n'
        '[models."mock/drawer"]\nbackend = "ray"\n'
        f'address = "{address}"\nreplicas = 1\ngpus_per_replica = 0\ncpus_per_replica = 0.5\n'
    )
    return config


def test_a_run_on_a_cluster_it_joined_leaves_the_cluster_running(
    ray_head: RayHead, tmp_path: Path
) -> None:
    config = run_config(tmp_path, ray_head.address)
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "composer", "run", str(config), "--out", str(run_dir)]
    done = subprocess.run(
        [*command, "--quiet"], env=ray_head.env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "Started a local Ray instance" not in done.stderr  # it joined, it did not start
    store = RunStore(run_dir)
    try:
        assert len(store.finished(retry_failed=False)) == 2
    finally:
        store.close()

    seen = subprocess.run(
        [sys.executable, "-c", CHECK, ray_head.address],
        env=ray_head.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert seen.returncode == 0, seen.stderr[-3000:]  # still reachable after the run
    cluster = json.loads(seen.stdout.strip().splitlines()[-1])
    assert cluster["nodes"] == 1
    served = create(
        "mock/drawer",
        {
            "backend": "ray",
            "address": ray_head.address,
            "replicas": 1,
            "gpus_per_replica": 0,
            "cpus_per_replica": 0.5,
        },
        images=ImageStore(tmp_path / "images"),
    )
    assert isinstance(served, RaySpecialist)
    # Its own deployment is deleted (or on its way out); Serve and the cluster stay.
    assert cluster["apps"].get(served.app, "DELETING").endswith("DELETING"), cluster


def test_an_unreachable_address_stops_the_run_at_start(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    run_dir = tmp_path / "run"
    started = time.monotonic()
    result = cli.invoke(
        app, ["run", str(run_config(tmp_path, address)), "--out", str(run_dir), "--quiet"]
    )
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert text.startswith(
        f'error [models."mock/drawer"] backend = "ray" address: no Ray cluster answers at '
        f"'{address}'"
    ), text
    assert "ray start --head" in text and "Traceback" not in text
    assert time.monotonic() - started < 15  # not Ray's minutes of retries
    assert not run_dir.exists()
