"""Placement on a simulated 3-node Ray cluster: each replica gets a GPU of its own.

Runs only inside a loopback-only network namespace, like tests/ray/test_ray_serve.py.
"""

import os
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
from ray.cluster_utils import Cluster  # noqa: E402

from composer.core.images import ImageStore  # noqa: E402
from composer.serving.ray.proxy import RaySpecialist  # noqa: E402
from composer.specialists.registry import create  # noqa: E402


@pytest.fixture(scope="module")
def three_nodes() -> Iterator[Cluster]:
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "num_gpus": 0,
            "object_store_memory": 100 * 2**20,
            "include_dashboard": False,
        },
    )
    for _ in range(2):
        cluster.add_node(num_cpus=1, num_gpus=2, object_store_memory=100 * 2**20)
    ray.init(address=cluster.address, log_to_driver=False)
    cluster.wait_for_nodes()
    yield cluster
    serve.shutdown()
    ray.shutdown()
    cluster.shutdown()


async def test_each_replica_gets_its_own_gpu(three_nodes: Cluster, tmp_path: Path) -> None:
    options = {
        "backend": "ray",
        "replicas": 4,
        "gpus_per_replica": 1,
        "cpus_per_replica": 0,
        "default": "ok",
    }
    spec = create("mock/served", options, images=ImageStore(tmp_path / "images"))
    assert isinstance(spec, RaySpecialist)
    await spec.load()
    places = await spec.replica_info()
    assert len(places) == 4, places
    gpus = {(p["node"], p["cuda_visible_devices"]) for p in places}
    assert len(gpus) == 4, places  # no GPU shared
    assert {p["cuda_visible_devices"] for p in places} == {"0", "1"}
    head = ray.get_runtime_context().get_node_id()
    assert all(p["node"] != head for p in places)  # the head has no GPU
    assert len({p["node"] for p in places}) == 2
    assert (await spec.understand("hello")).text == "ok"
