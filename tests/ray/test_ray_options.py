"""The Ray backend's configuration, wire format and network guard: no Ray process starts here.

These run in the ordinary test run as well as in the network namespace.
"""

import asyncio
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from composer.cli import app
from composer.core.errors import ConfigError, PrerequisiteError, RefusalError, SpecialistError
from composer.core.images import ImageStore
from composer.evaluation.binding import _batch_aware
from composer.evaluation.calls import CallSettings
from composer.serving.ray.cluster import NAMESPACE_VARIABLE, join_error, network_interfaces
from composer.serving.ray.proxy import RaySpecialist
from composer.serving.ray.replica import (
    ReplicaImages,
    SpecialistReplica,
    error_fields,
    rebuild_error,
)
from composer.specialists import registry
from composer.specialists.base import Capability, Specialist, SpecialistOptions
from composer.specialists.mock import MockSpecialist
from composer.specialists.registry import create

cli = CliRunner()
RAY = {"backend": "ray", "replicas": 2, "gpus_per_replica": 0.5}


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "images")


def test_backend_ray_builds_a_proxy_with_the_served_models_identity(store: ImageStore) -> None:
    own = {"default": "x", "capabilities": ["generate"]}
    spec = create("mock/m", {**RAY, **own}, images=store)
    assert isinstance(spec, RaySpecialist)
    served = create("mock/m", own, images=store)
    assert spec.name == "mock/m" and spec.capabilities == served.capabilities
    assert spec.describe() == served.describe()  # the same cache entries as in-process
    assert spec.endpoint == "ray/mock/m"
    again = create("mock/m", {**own, **RAY}, images=store)
    assert isinstance(again, RaySpecialist) and again.app == spec.app
    other = create("mock/m", {**RAY, **own, "replicas": 3}, images=store)
    assert isinstance(other, RaySpecialist) and other.app != spec.app
    assert spec.stats()["queue"] == 0 and spec.stats()["batch_sizes"] == {}
    assert spec.progress_note() == ""  # nothing deployed yet


def test_backend_local_runs_in_process_and_ignores_the_ray_keys(store: ImageStore) -> None:
    spec = create("mock/m", {**RAY, "backend": "local", "default": "x"}, images=store)
    assert isinstance(spec, MockSpecialist)


def test_an_unknown_backend_or_bad_bounds_are_configuration_errors(store: ImageStore) -> None:
    with pytest.raises(ConfigError, match="backend"):
        create("mock/m", {"backend": "slurm"}, images=store)
    with pytest.raises(ConfigError, match=r"replicas \(5\) is above max_replicas \(4\)"):
        create("mock/m", {**RAY, "replicas": 5, "max_replicas": 4}, images=store)


def test_autoscaling_bounds_become_the_deployments_and_start_at_min(store: ImageStore) -> None:
    spec = create("mock/m", {**RAY, "min_replicas": 2, "max_replicas": 6}, images=store)
    assert isinstance(spec, RaySpecialist) and spec.ray_options.replicas == 2
    deployment = spec.ray_options.serve_options(3)
    assert "num_replicas" not in deployment
    assert deployment["autoscaling_config"] == {
        "min_replicas": 2,
        "initial_replicas": 2,
        "max_replicas": 6,
        "target_ongoing_requests": 1,
    }
    up_only = create("mock/m", {**RAY, "replicas": 3, "max_replicas": 5}, images=store)
    assert isinstance(up_only, RaySpecialist)
    assert up_only.ray_options.serve_options(3)["autoscaling_config"]["min_replicas"] == 3
    fixed = create("mock/m", RAY, images=store)
    assert (
        isinstance(fixed, RaySpecialist) and fixed.ray_options.serve_options(3)["num_replicas"] == 2
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            "min_replicas = 5\nmax_replicas = 4",
            '[models."mock/g"]: min_replicas (5) is above max_replicas (4). Autoscaling needs '
            "0 <= min_replicas <= replicas <= max_replicas",
        ),
        (
            "min_replicas = -1",
            '[models."mock/g"] min_replicas: Input should be greater than or equal to 0 (got -1). '
            "Fix or remove that option.",
        ),
        (
            "replicas = 1\nmin_replicas = 2",
            '[models."mock/g"]: replicas (1) is below min_replicas (2).',
        ),
        (
            "target_ongoing_requests = 2",
            '[models."mock/g"]: target_ongoing_requests applies only with min_replicas or '
            "max_replicas.",
        ),
    ],
    ids=["min-above-max", "negative-min", "replicas-below-min", "target-without-bounds"],
)
def test_bad_autoscaling_bounds_stop_the_run_before_any_model_loads(
    tmp_path: Path, table: str, message: str
) -> None:
    config = tmp_path / "run.toml"
    config.write_text(
        'seed = 0\n[benchmark]\nname = "synthetic"\nn_per_category = 1\n'
        '[judge]\nmodel = "mock/judge"\n'
        '[systems.s]\nueg = "direct"\nroles = { model = "mock/g" }\n'
        '[models."mock/judge"]\nload_error = "loaded"\n'  # would fail if it got that far
        f'[models."mock/g"]\nbackend = "ray"\n{table}\n'
    )
    result = cli.invoke(app, ["run", str(config), "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())  # the console wraps long lines
    assert text.startswith(f"error {message}"), text
    assert "loaded" not in text and "Traceback" not in text
    assert not (tmp_path / "run").exists()


def test_a_bad_ray_option_stops_the_run_at_start(tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text(
        'seed = 0\n[benchmark]\nname = "synthetic"\nn_per_category = 1\n'
        '[judge]\nmodel = "symbolic/reasoner"\n'
        '[systems.s]\nueg = "direct"\nroles = { model = "mock/g" }\n'
        '[models."mock/g"]\nbackend = "ray"\nreplicas = 0\n'
    )
    result = cli.invoke(app, ["run", str(config), "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 2
    assert '[models."mock/g"] replicas' in result.output
    assert not (tmp_path / "run").exists()


async def test_the_guard_refuses_to_start_ray_outside_a_namespace(
    store: ImageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(NAMESPACE_VARIABLE, raising=False)
    spec = create("mock/m", RAY, images=store)
    with pytest.raises(PrerequisiteError, match="unshare -n"):
        await spec.load()
    ray = sys.modules.get("ray")
    assert ray is None or not ray.is_initialized()


@pytest.mark.skipif(network_interfaces() in ([], ["lo"]), reason="only loopback here")
async def test_the_guard_checks_the_interfaces_not_only_the_variable(
    store: ImageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(NAMESPACE_VARIABLE, "1")
    spec = create("mock/m", RAY, images=store)
    with pytest.raises(PrerequisiteError, match="network interfaces"):
        await spec.load()


def test_importing_composer_does_not_import_ray() -> None:
    code = (
        "import sys, composer, composer.specialists.registry, composer.evaluation.runner, "
        "composer.serving.ray.proxy; assert 'ray' not in sys.modules, 'ray imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


async def test_a_replica_answers_with_png_bytes_and_error_fields(store: ImageStore) -> None:
    options = {"flaky": "shaky", "fail": "broken", "refuse": "rude"}
    replica = SpecialistReplica("mock/m", options, MockSpecialist)
    served = create("mock/m", options, images=store)
    reply = await replica.call("generate", "a red circle", [], 3, {})
    assert store.put_png(reply["png"]) == await served.generate("a red circle", seed=3)
    assert reply["replica"].startswith("pid-") and reply["batch_sizes"] == {}
    drawn = store.put_png(reply["png"])
    edited = await replica.call("edit", "make it blue", [store.read_bytes(drawn)], 3, {})
    assert store.put_png(edited["png"]) == await served.edit("make it blue", [drawn], seed=3)

    flaky = rebuild_error((await replica.call("understand", "shaky", [], None, {}))["error"])
    assert type(flaky) is SpecialistError and flaky.is_retryable
    failed = rebuild_error((await replica.call("understand", "broken", [], None, {}))["error"])
    assert not failed.is_retryable and "scripted" in str(failed)
    refused = rebuild_error((await replica.call("understand", "rude", [], None, {}))["error"])
    assert isinstance(refused, RefusalError)
    other = rebuild_error(error_fields(ZeroDivisionError("x"), "mock/m"))
    assert "ZeroDivisionError" in str(other) and not other.is_retryable


def test_a_replica_that_cannot_build_its_model_says_why(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="(?s)<<composer-replica-start-error>>.*rules"):
        SpecialistReplica("mock/m", {"rules": "not a list"}, MockSpecialist)


async def _understood_through_failing_serve(
    store: ImageStore, error: BaseException, groups: list[int]
) -> tuple[RaySpecialist, list[BaseException]]:
    """Two understand calls through a proxy whose Serve handle raises `error` for each group.

    The handle stands in for Serve's: `await handle.call_many.remote(requests)`; each group's
    size is appended to `groups`.
    """

    class Method:
        async def remote(self, requests: list) -> list[dict]:
            groups.append(len(requests))
            raise error

    class Handle:
        call_many = Method()

    spec = create("mock/m", RAY, images=store)
    assert isinstance(spec, RaySpecialist)
    spec._handle = Handle()
    results = await asyncio.gather(
        spec.understand("a"), spec.understand("b"), return_exceptions=True
    )
    return spec, [r for r in results if isinstance(r, BaseException)]


async def test_a_failed_serve_call_fails_each_caller_with_its_own_error(
    store: ImageStore,
) -> None:
    groups: list[int] = []
    dropped = ConnectionResetError("the replica's connection dropped")
    _, results = await _understood_through_failing_serve(store, dropped, groups)
    assert groups == [2]  # one Serve call for the group
    assert len(results) == 2 and all(isinstance(r, SpecialistError) for r in results)
    assert results[0] is not results[1]  # each caller raises its own error object
    assert "ConnectionResetError" in str(results[0])


async def test_a_replica_gone_mid_request_fails_over_to_the_call_layer(store: ImageStore) -> None:
    from ray.exceptions import RayActorError

    # Serve's handle, whose replica died with the group in flight.
    spec, results = await _understood_through_failing_serve(store, RayActorError(), [])
    # Each caller gets a retryable error (the call layer sends it again, to a live replica),
    # and the group counts as one failover.
    assert len(results) == 2, results
    assert all(type(r) is SpecialistError and r.is_retryable for r in results), results
    assert "went away mid-request (RayActorError)" in str(results[0])
    assert spec.stats()["failovers"] == 1


def test_a_cluster_with_token_authentication_says_how_to_join_it() -> None:
    try:
        try:
            raise RuntimeError("RPC error: InvalidAuthToken: Authentication token is missing")
        except RuntimeError as auth:
            raise ConnectionError("Failed to connect to Ray cluster at 10.0.0.5:6379") from auth
    except ConnectionError as exc:
        error = join_error('[models."m"] backend = "ray"', "10.0.0.5:6379", exc)
    assert str(error) == (
        '[models."m"] backend = "ray" address: the Ray cluster at \'10.0.0.5:6379\' refused the '
        "connection: it uses token authentication. Set RAY_AUTH_MODE=token and give composer "
        "the cluster's token (RAY_AUTH_TOKEN, or ~/.ray/auth_token) before running it."
    )
    assert error.exit_code == 2


def test_replica_images_stay_in_memory_until_a_path_is_asked(tmp_path: Path) -> None:
    source = ImageStore(tmp_path / "source")
    drawn = source.read_bytes(source.put(Image.new("RGB", (4, 4), (200, 10, 10))))
    images = ReplicaImages(tmp_path / "replica")
    ref = images.put_png(drawn)
    assert ref in images and images.read_bytes(ref) == drawn
    assert not any((tmp_path / "replica").rglob("*.png"))  # nothing written
    assert images.open(ref).getpixel((0, 0)) == (200, 10, 10)
    assert images.take(ref) == drawn and ref not in images  # sent away: gone
    again = images.put_png(drawn)
    on_disk = images.path(again)  # an adapter that wants a file gets one
    assert on_disk.read_bytes() == drawn and again in images
    images.discard(again)
    assert not on_disk.exists() and again not in images


class _BatchingOptions(SpecialistOptions):
    max_batch: int = 8


class _Batching(Specialist):
    """A stand-in local model with a micro-batcher's `max_batch` option."""

    provider = "batching"
    Options = _BatchingOptions

    @classmethod
    def from_name(cls, model: str, options: Mapping[str, Any], *, images: ImageStore) -> Specialist:
        return cls(
            model, _BatchingOptions(**options), images=images, capabilities={Capability.GENERATE}
        )


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"max_batch": 4}, 8),  # in-process: two batches' worth
        ({"backend": "ray", "replicas": 2, "max_batch": 4}, 16),  # on each replica
        ({"backend": "ray", "min_replicas": 1, "max_replicas": 3, "max_batch": 4}, 24),
        # the user's own ceiling stays as written
        ({"backend": "ray", "replicas": 2, "max_batch": 4, "max_concurrency": 5}, 5),
    ],
)
def test_a_ray_served_model_keeps_its_batching_settings(
    store: ImageStore, monkeypatch: pytest.MonkeyPatch, options: dict, expected: int
) -> None:
    registry.register_provider("batching", _Batching)
    try:
        own = {k: v for k, v in options.items() if k != "max_concurrency"}
        spec = create("batching/m", own, images=store)
        own_ceiling = {k: v for k, v in options.items() if k == "max_concurrency"}
        settings = _batch_aware(CallSettings(**own_ceiling), spec, options)
    finally:
        registry.PROVIDERS.unregister("batching")
    assert settings.max_concurrency == expected
