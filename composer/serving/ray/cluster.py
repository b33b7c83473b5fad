"""Ray itself for the Ray backend: the network guard, joining a cluster, placement, statuses.

Every function imports Ray inside, so this module costs nothing until a model asks for Ray.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from composer.core.errors import ConfigError, PrerequisiteError
from composer.serving.ray.replica import START_MARK

NAMESPACE_VARIABLE = "COMPOSER_RAY_NAMESPACE"
"""Set to 1 only inside a loopback-only network namespace; tests and CI need it to start Ray."""

GUARD_VARIABLE = "COMPOSER_RAY_GUARD"
"""Set to 1 where Ray may start only inside such a namespace (the test suite sets it, in
`tests/conftest.py`); `CI` set to anything but empty does the same."""


def network_interfaces() -> list[str]:
    """The network interfaces this process's network namespace has (`lo` alone in `unshare -n`)."""
    try:
        lines = Path("/proc/self/net/dev").read_text().splitlines()[2:]
    except OSError:
        return []
    return [line.split(":", 1)[0].strip() for line in lines if ":" in line]


def check_network_isolation() -> None:
    """Refuse to start Ray in tests or CI outside a loopback-only network namespace.

    At start Ray probes cloud metadata addresses and binds to the external interface. Where
    `COMPOSER_RAY_GUARD=1` (the tests) or `CI` is set, it may only run where
    `COMPOSER_RAY_NAMESPACE=1` and the only interface is loopback:
    `unshare -n sh -c 'ip link set lo up && COMPOSER_RAY_NAMESPACE=1 ...'`. A user's own run
    (neither variable set) starts Ray as Ray normally starts.
    """
    if os.environ.get(NAMESPACE_VARIABLE) == "1":
        others = [name for name in network_interfaces() if name != "lo"]
        if others:
            raise PrerequisiteError(
                NAMESPACE_VARIABLE,
                f"is 1, but this process sees network interfaces {', '.join(others)}.",
                "Set it only inside `unshare -n` (a loopback-only network namespace).",
            )
        return
    if os.environ.get(GUARD_VARIABLE) == "1" or os.environ.get("CI"):
        raise PrerequisiteError(
            "Ray backend",
            "refuses to start Ray in tests or CI outside a loopback-only network namespace.",
            "Run inside: unshare -n sh -c 'ip link set lo up && RAY_USAGE_STATS_ENABLED=0 "
            f"{NAMESPACE_VARIABLE}=1 <command>'",
        )


_JOIN_LOCK = threading.Lock()
"""Models load at the same time, each in a worker thread: one of them starts or joins Ray."""

SERVE_LOCK = threading.RLock()
"""Held around every call of Serve's client API from composer's threads. That API is not
thread-safe: building a deployment's config (in `serve.deployment`, and in `serve.status` for
every deployment it reports) registers and unregisters a module for pickling by value in a
process-wide set, so two threads at once fail with "... is not registered for pickle by
value"."""

_joined: dict[str, str | None] = {}
"""The `address` this process joined Ray with (under the key `address`), once it has."""

REACH_TIMEOUT_S = 5.0
"""How long `check_reachable` waits for the head to accept a connection."""


def connect(where: str, address: str | None) -> None:
    """Join the cluster at `address`, or start a local Ray, once per process; start Serve.

    `address` is what `ray.init` takes: `None` (start a local Ray), `auto` (the cluster this
    machine is a node of), `HOST:PORT` (the head's GCS address, from a machine of the cluster)
    or `ray://HOST:PORT` (Ray Client). Two models that name different addresses are a
    configuration error, since a process joins one cluster.

    Raises:
        PrerequisiteError: nothing answers at `address`, or Ray refused the connection (token
            authentication, a version mismatch); the message names `where` and the address.
        ConfigError: another model of this run joined a different address.
    """
    import logging

    import ray
    from ray import serve

    # Serve's driver-side INFO lines ("Connecting to existing Serve app") would cut through the
    # progress display; warnings and errors still show.
    logging.getLogger("ray.serve").setLevel(logging.WARNING)
    check_reachable(where, address)
    with _JOIN_LOCK:
        if "address" in _joined and ray.is_initialized():
            if _joined["address"] != address:
                raise ConfigError(
                    f"{where} address",
                    f"is {address!r}, but another model of this run joined Ray at "
                    f"{_joined['address']!r}, and one process joins one cluster.",
                    "Give every Ray-served model the same address (or none).",
                )
        elif not ray.is_initialized():
            try:
                ray.init(address=address, include_dashboard=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise join_error(where, address, exc) from exc
            _joined["address"] = address
        with SERVE_LOCK:
            serve.start(proxy_location="Disabled")  # calls come through handles, never HTTP


def check_reachable(where: str, address: str | None) -> None:
    """Raise at once when nothing accepts connections at a `HOST:PORT` address.

    `ray.init` keeps retrying an address where nothing listens for minutes before it fails;
    a plain TCP connection tells in at most `REACH_TIMEOUT_S`. `None` and `auto` need no
    check (Ray answers at once when there is no local cluster).
    """
    if address is None or address in ("auto", "local"):
        return
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(
            f"{where} address",
            f"is {address!r}, which is not HOST:PORT.",
            'Use the head\'s address as `ray start --head` printed it ("10.0.0.5:6379"), '
            '"ray://HOST:10001" for Ray Client, or "auto" on a node of the cluster.',
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=REACH_TIMEOUT_S):
            pass
    except OSError as exc:
        raise PrerequisiteError(
            f"{where} address",
            f"no Ray cluster answers at {address!r} ({exc.strerror or exc}).",
            f"Start it first (on the head machine: ray start --head --port={port}), or fix "
            "the address; `ray status` on a cluster node prints the right one.",
        ) from exc


def join_error(where: str, address: str | None, exc: BaseException) -> PrerequisiteError:
    """The message for a `ray.init` that failed, with Ray's own reason and the fix."""
    reasons: list[str] = []
    cause: BaseException | None = exc
    while cause is not None and len(reasons) < 4:
        reasons.append(str(cause))
        cause = cause.__cause__ or cause.__context__
    text = " ".join(reasons)
    if "auth" in text.lower():
        return PrerequisiteError(
            f"{where} address",
            f"the Ray cluster at {address!r} refused the connection: it uses token authentication.",
            "Set RAY_AUTH_MODE=token and give composer the cluster's token (RAY_AUTH_TOKEN, or "
            "~/.ray/auth_token) before running it.",
        )
    if address is None:
        return PrerequisiteError(
            where,
            f"could not start a local Ray ({str(exc).strip()[:300]}).",
            "See Ray's log above.",
        )
    return PrerequisiteError(
        f"{where} address",
        f"could not join the Ray cluster at {address!r} ({str(exc).strip()[:300]}).",
        "Check that composer runs on a node of that cluster with the same Ray and Python "
        "versions (or use a ray:// address), and that `ray status` works there.",
    )


def check_placement(
    where: str, *, cpus: float, gpus: float, accelerator_type: str | None, replicas: int
) -> None:
    """Raise `PrerequisiteError` when the cluster's nodes cannot hold `replicas` replicas."""
    import ray

    need = {"CPU": cpus, "GPU": gpus}
    if accelerator_type:
        need[f"accelerator_type:{accelerator_type}"] = 0.001
    need = {key: amount for key, amount in need.items() if amount > 0}
    nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
    room = sum(how_many(node, need) for node in nodes)
    wanted = max(replicas, 1)
    if room >= wanted or not need:
        return
    total_gpus = sum(node.get("GPU", 0.0) for node in nodes)
    kinds = sorted(
        {key.split(":", 1)[1] for node in nodes for key in node if key.startswith("accelerator_")}
    )
    ask = f"{wanted} replica(s) x {gpus:g} GPU, {cpus:g} CPU"
    if accelerator_type:
        ask += f" of kind {accelerator_type!r}"
    have = f"{len(nodes)} node(s), {total_gpus:g} GPU(s)"
    if kinds:
        have += f" ({', '.join(kinds)})"
    raise PrerequisiteError(
        where,
        f"the deployment cannot be placed: it asks for {ask}, and the Ray cluster has {have}, "
        f"room for {room}.",
        "Lower replicas or gpus_per_replica, or add nodes to the cluster.",
    )


def how_many(node: Mapping[str, float], need: Mapping[str, float]) -> int:
    """How many replicas needing `need` fit in a node with resources `node`."""
    counts = [int(node.get(key, 0.0) // amount) for key, amount in need.items()]
    return min(counts) if counts else 0


def state_name(state: Any) -> str:
    """A Serve status enum member's name (`RUNNING`), whatever its `str()` shows."""
    return str(getattr(state, "value", state))


def status_text(status: Any) -> str:
    """The messages of a Serve application status and of its deployments."""
    if status is None:
        return ""
    parts = [str(status.message or "")]
    parts += [str(deployment.message or "") for deployment in status.deployments.values()]
    return "\n".join(part for part in parts if part)


def start_error_text(text: str) -> str | None:
    """A replica's own start error, found between `START_MARK`s in Serve's status text."""
    marks = re.escape(START_MARK)
    found = re.search(marks + r"(.*?)" + marks, text, re.S)
    return found.group(1).strip() if found else None


def delete_app(app: str) -> None:
    """Delete a Serve application without waiting (best effort)."""
    try:
        from ray import serve

        with SERVE_LOCK:
            serve.delete(app, _blocking=False)
    except Exception:  # noqa: BLE001 - at exit or after a failed start
        pass
