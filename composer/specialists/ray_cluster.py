"""Ray itself for the Ray backend: the network guard, joining a cluster, placement, statuses.

Every function imports Ray inside, so this module costs nothing until a model asks for Ray.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from composer.core.errors import PrerequisiteError
from composer.specialists.ray_replica import START_MARK

NAMESPACE_VARIABLE = "COMPOSER_RAY_NAMESPACE"
"""Set to 1 only inside a loopback-only network namespace; tests and CI need it to start Ray."""


def network_interfaces() -> list[str]:
    """The network interfaces this process's network namespace has (`lo` alone in `unshare -n`)."""
    try:
        lines = Path("/proc/self/net/dev").read_text().splitlines()[2:]
    except OSError:
        return []
    return [line.split(":", 1)[0].strip() for line in lines if ":" in line]


def check_network_isolation() -> None:
    """Refuse to start Ray in tests or CI outside a loopback-only network namespace.

    At start Ray probes cloud metadata addresses and binds to the external interface. Under
    pytest or CI it may only run where `COMPOSER_RAY_NAMESPACE=1` and the only interface is
    loopback: `unshare -n sh -c 'ip link set lo up && COMPOSER_RAY_NAMESPACE=1 ...'`. A user's
    own run (neither pytest nor CI) starts Ray as Ray normally starts.
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
    if "pytest" in sys.modules or os.environ.get("CI"):
        raise PrerequisiteError(
            "Ray backend",
            "refuses to start Ray in tests or CI outside a loopback-only network namespace.",
            "Run inside: unshare -n sh -c 'ip link set lo up && RAY_USAGE_STATS_ENABLED=0 "
            f"{NAMESPACE_VARIABLE}=1 <command>'",
        )


def connect(address: str | None) -> None:
    """Join the cluster at `address`, or start a local Ray, once per process; start Serve."""
    import logging

    import ray
    from ray import serve

    # Serve's driver-side INFO lines ("Connecting to existing Serve app") would cut through the
    # progress display; warnings and errors still show.
    logging.getLogger("ray.serve").setLevel(logging.WARNING)
    if not ray.is_initialized():
        try:
            ray.init(address=address, include_dashboard=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise PrerequisiteError(
                "Ray backend",
                f"cannot reach the Ray cluster at {address!r} ({exc}).",
                "Start it first (ray start --head) or fix `address`.",
            ) from exc
    serve.start(proxy_location="Disabled")  # calls come through handles, never over HTTP


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

        serve.delete(app, _blocking=False)
    except Exception:  # noqa: BLE001 - at exit or after a failed start
        pass
