"""Local specialists served by Ray Serve: the same model on many GPUs and machines.

A `[models."..."]` table with `backend = "ray"` makes the registry build a `RaySpecialist`: a
driver-side proxy with the protocols of the model it serves. Each Serve replica builds that same
specialist (same name, same options minus the Ray keys, same micro-batcher) and returns plain
data, PNG bytes for images; the proxy puts them in the run's `ImageStore` and returns the
`ImageRef`. So the cache, retries, accounting and run store stay in the one driver process, and a
result is the same as in-process (the cache identity is the served model's own).

    [models."diffusers/stabilityai/stable-diffusion-xl-base-1.0"]
    backend = "ray"
    replicas = 4
    gpus_per_replica = 1
    # address = "auto"          # an existing cluster; default: start a local one
    steps = 30                  # the model's own options, as in-process
    max_batch = 8

    driver: runner -> call layer -> RaySpecialist --handle--> replica 1: specialist + batcher
                                                          +-> replica 2: specialist + batcher

A request on a replica that dies raises a retryable `SpecialistError`, so the call layer sends
it again and Serve routes it to a live replica. A deployment that cannot be placed or whose model
fails to load stops the run in `load()`, before the first call. Ray is imported only there.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from composer.core.errors import PrerequisiteError, SpecialistError
from composer.core.images import ImageRef, ImageStore
from composer.serving.ray.cluster import (
    SERVE_LOCK,
    check_network_isolation,
    check_placement,
    connect,
    delete_app,
    start_error_text,
    state_name,
    status_text,
)
from composer.serving.ray.options import RAY_KEYS, RayOptions, app_name, option_error
from composer.serving.ray.replica import Request, SpecialistReplica, error_fields, rebuild_error
from composer.specialists.base import CallOptions, Specialist, TextReply
from composer.specialists.batching import MicroBatcher
from composer.specialists.registry import create

STATES_EVERY_S = 2.0
"""How often the replica states are fetched from Serve, for pacing and the progress display."""


class RaySpecialist(Specialist):
    """A driver-side proxy for a specialist served by Ray Serve; see the module docstring.

    Example:
        >>> spec = create("diffusers//models/sd", {"backend": "ray", "replicas": 2},
        ...               images=store)  # doctest: +SKIP
        >>> await spec.load()  # starts (or joins) Ray and the deployment  # doctest: +SKIP
        >>> spec.stats()["replicas"]  # doctest: +SKIP
        2
    """

    provider = "ray"
    extra = "ray"
    Options = RayOptions

    def __init__(
        self, served: Specialist, ray_options: RayOptions, served_options: Mapping[str, Any]
    ) -> None:
        """Proxy `served` (built here, never loaded) with its deployment options."""
        super().__init__(
            served.model,
            ray_options,
            images=served.images,
            capabilities=served.capabilities,
            endpoint=f"ray/{served.name}",
        )
        self.served = served
        self.ray_options = ray_options
        self.served_options = dict(served_options)
        shape = ray_options.model_dump(exclude={"deployment", "keep_deployment", "start_timeout_s"})
        self.app = ray_options.deployment or app_name(served.name, [shape, self.served_options])
        self._handle: Any = None
        self._owns_deployment = False
        self._deployed_here = False
        self._abandoned = threading.Event()
        # Requests that arrive within the served model's batch window go to a replica as one
        # Serve call: one routing decision and one round trip per batch, and the groups wait
        # here, not in Serve's router (a router whose replicas are all full backs off up to
        # 0.5 s and is not woken when one frees, which leaves replicas idle).
        self._gatherer: MicroBatcher[Request, dict[str, Any]] = MicroBatcher(
            self._send_many,
            max_batch=int(self.served_options.get("max_batch", 8)),
            window_s=float(self.served_options.get("batch_window_ms", 5.0)) / 1000,
            name=f"ray-{self.app}",
            capacity=self._group_capacity,
        )
        self._queued = 0
        self._sent = 0
        self._failovers = 0
        self._per_replica: dict[str, dict[str, Any]] = {}
        self._states: dict[str, int] = {}
        self._watcher: asyncio.Task[None] | None = None

    @classmethod
    def from_config(
        cls, name: str, options: Mapping[str, Any], *, images: ImageStore
    ) -> RaySpecialist:
        """Split `options` into Ray keys and the model's own, and build the served model here.

        The served model is built (not loaded) in the driver too: that checks its options and
        gives its capabilities and cache identity before anything starts.
        """
        try:
            ray_options = RayOptions(**{k: v for k, v in options.items() if k in RAY_KEYS})
        except ValidationError as exc:
            raise option_error(name, exc) from None
        served_options = {k: v for k, v in options.items() if k not in RAY_KEYS}
        if importlib.util.find_spec("ray") is None:
            raise PrerequisiteError(
                f'[models."{name}"] backend',
                "is 'ray', but Ray Serve is not installed.",
                "Install it with: pip install 'unify-composer[ray]'",
            )
        served = create(name, served_options, images=images)
        return cls(served, ray_options, served_options)

    @property
    def max_ongoing_requests(self) -> int:
        """Groups of requests one replica holds at once (one running, the others queued)."""
        return self.ray_options.max_ongoing_requests or 3

    @property
    def name(self) -> str:
        """The served model's name: a Ray-served model keeps its own name."""
        return self.served.name

    def describe(self) -> dict[str, Any]:
        """The served model's identity: results (and cache entries) equal the in-process ones."""
        return self.served.describe()

    async def load(self) -> None:
        """Join or start Ray, deploy the replicas and wait until every one has loaded its model.

        Everything that blocks (importing Ray, joining the cluster, deploying, polling the
        status) runs in a worker thread, so several models load at the same time. A load that
        is cancelled (another model failed) deletes the deployment it started.

        Raises:
            PrerequisiteError: outside a network namespace in tests; no cluster at `address`;
                no node can hold a replica; the cluster has too few GPUs; a replica failed to
                load its model; the replicas did not start within `start_timeout_s`.
        """
        if self._handle is not None:
            return
        check_network_isolation()
        self._abandoned.clear()
        try:
            if await asyncio.to_thread(self._start):
                await self._wait_running()
            self._handle = await asyncio.to_thread(self._get_handle)
            await self._refresh_states()
        except asyncio.CancelledError:
            self._abandoned.set()
            if self._deployed_here:
                delete_app(self.app)
            raise
        self._watcher = asyncio.get_running_loop().create_task(
            self._watch_states(), name=f"replica states of {self.app}"
        )
        opts = self.ray_options
        self._owns_deployment = opts.address is not None and not opts.keep_deployment
        if self._owns_deployment:  # also when the run ends without `close()`
            import atexit

            atexit.register(delete_app, self.app)

    def _start(self) -> bool:
        """Join Ray, check placement and deploy unless running; whether it deployed (a thread)."""
        where = f'[models."{self.name}"] backend = "ray"'
        try:
            from ray import serve  # noqa: F401 - a missing or broken Ray Serve is reported here
        except ImportError as exc:
            raise PrerequisiteError(
                where,
                f"Ray Serve cannot be imported ({exc}).",
                "Install it with: pip install 'unify-composer[ray]'",
            ) from exc
        connect(where, self.ray_options.address)
        self._check_placement()
        status = self._app_status()
        if status is not None and state_name(status.status) == "RUNNING":
            return False
        if self._abandoned.is_set():
            return False
        self._deployed_here = True
        self._deploy()
        if self._abandoned.is_set():  # cancelled while deploying: undo it
            delete_app(self.app)
        return True

    def _get_handle(self) -> Any:
        from ray import serve

        with SERVE_LOCK:
            return serve.get_app_handle(self.app)

    def _deploy(self) -> None:
        from ray import serve

        with SERVE_LOCK:
            deployment = serve.deployment(
                SpecialistReplica, **self.ray_options.serve_options(self.max_ongoing_requests)
            )
            app = deployment.bind(self.name, self.served_options, type(self.served))
            serve.run_many(
                [serve.RunTarget(app, name=self.app, route_prefix=None)],
                wait_for_applications_running=False,
            )

    def _app_status(self) -> Any:
        """Serve's status of this deployment's application (`None` if there is none)."""
        from ray import serve

        with SERVE_LOCK:
            return serve.status().applications.get(self.app)

    async def _wait_running(self) -> None:
        deadline = time.monotonic() + self.ray_options.start_timeout_s
        while True:
            status = await asyncio.to_thread(self._app_status)
            state = state_name(status.status) if status is not None else "NOT_STARTED"
            if state == "RUNNING":
                return
            if state == "DEPLOY_FAILED" or time.monotonic() > deadline:
                delete_app(self.app)
                raise self._start_error(state, status_text(status))
            await asyncio.sleep(0.25)

    def _start_error(self, state: str, text: str) -> PrerequisiteError:
        """One message for a deployment that did not start: the replica's own error if any."""
        where = f'[models."{self.name}"] backend = "ray"'
        replica_error = start_error_text(text)
        if replica_error:
            return PrerequisiteError(where, f"a replica could not load the model: {replica_error}")
        if state == "DEPLOY_FAILED":
            what = f"the Ray deployment failed: {text.strip()[-600:]}"
        else:
            timeout = self.ray_options.start_timeout_s
            what = (
                f"the replicas did not start within {timeout:g} s ({text.strip()[-300:] or state})."
            )
        return PrerequisiteError(
            where,
            what,
            "Check the model loads in-process first (backend = 'local'), and that every node "
            "can read its weights.",
        )

    def _check_placement(self) -> None:
        opts = self.ray_options
        check_placement(
            f'[models."{self.name}"] backend = "ray"',
            cpus=opts.cpus_per_replica,
            gpus=opts.gpus_per_replica,
            accelerator_type=opts.accelerator_type,
            replicas=opts.replicas,  # the number started first; autoscaling adds more later
        )

    def stats(self) -> dict[str, Any]:
        """Progress figures of this deployment: replicas, queue depth and batch sizes.

        `queue` is the requests sent and not yet answered; `batch_sizes` counts the batches of
        each size the replicas' micro-batchers ran; `failovers` the groups of requests that a
        replica's death interrupted (the call layer retried them).
        """
        sizes: Counter[int] = Counter()
        for replica in self._per_replica.values():
            sizes.update(replica["batch_sizes"])
        return {
            "deployment": self.app,
            "replicas": self._replica_states(),
            "queue": self._queued,
            "sent": self._sent,
            "failovers": self._failovers,
            "batch_sizes": dict(sorted(sizes.items())),
            "per_replica": {
                rid: {"requests": r["requests"], "batch_sizes": dict(r["batch_sizes"])}
                for rid, r in self._per_replica.items()
            },
        }

    def progress_note(self) -> str:
        """`2/2 replicas, queue 5, 12 batches, mean 7.4, largest 8` for the progress display."""
        if self._handle is None:
            return ""
        stats = self.stats()
        sizes: dict[int, int] = stats["batch_sizes"]
        running = stats["replicas"].get("RUNNING", 0)
        target = sum(stats["replicas"].values()) or self.ray_options.replicas
        note = f"{running}/{target} replicas, queue {stats['queue']}"
        batches = sum(sizes.values())
        if batches:
            mean = sum(size * count for size, count in sizes.items()) / batches
            note += f", {batches} batches, mean {mean:.1f}, largest {max(sizes)}"
        if stats["failovers"]:
            note += f", {stats['failovers']} failed over"
        return note

    async def aclose(self) -> None:
        """Stop refreshing the replica states (the run's event loop is ending)."""
        self._stop_watching()

    def _stop_watching(self) -> None:
        if self._watcher is not None and not self._watcher.done():
            self._watcher.cancel()
        self._watcher = None

    def close(self) -> None:
        """Delete the deployment from an `address` cluster, unless `keep_deployment`.

        A local Ray started by this process ends with it; on a shared cluster the replicas would
        otherwise keep their GPUs.
        """
        self._stop_watching()
        if self._handle is not None and self._owns_deployment:
            delete_app(self.app)
            self._handle = None

    def _group_capacity(self) -> int:
        """Groups in flight at most: what the running replicas accept.

        Exactly as many as they hold, so the router always has a replica with room (a router
        with none backs off) and a group sent when one is answered goes to the replica that
        answered, keeping every replica's queue equal.
        """
        running = self._replica_states().get("RUNNING") or self.ray_options.replicas
        return running * self.max_ongoing_requests

    def _replica_states(self) -> dict[str, int]:
        """Replica counts by state (`RUNNING`, `STARTING`, ...), as last fetched."""
        return self._states

    def _fetch_states(self) -> dict[str, int] | None:
        """Ask Serve for the replica states (in a worker thread: a status costs tens of ms)."""
        try:
            app = self._app_status()
            found = app.deployments["specialist"].replica_states if app is not None else {}
            return {state_name(k): int(v) for k, v in found.items()}
        except Exception:  # noqa: BLE001 - a figure for progress and pacing; keep the last one
            return None

    async def _refresh_states(self) -> None:
        states = await asyncio.to_thread(self._fetch_states)
        if states is not None:
            self._states = states

    async def _watch_states(self) -> None:
        """Refresh the replica states every `STATES_EVERY_S` while the deployment is in use."""
        while True:
            await asyncio.sleep(STATES_EVERY_S)
            await self._refresh_states()

    async def _send(
        self,
        method: str,
        prompt: str,
        images: Sequence[ImageRef],
        seed: int | None,
        options: CallOptions | None,
    ) -> dict[str, Any]:
        if self._handle is None:
            raise SpecialistError(
                self.name,
                "is not deployed.",
                "Await load() before the first call (the runner does).",
            )
        data = await asyncio.to_thread(self._read_all, images) if images else []
        request = (method, prompt, data, seed, dict(options or {}))
        self._queued += 1
        try:
            reply = await self._gatherer.submit(request)
        finally:
            self._queued -= 1
        if "replica" in reply:  # answered by a replica (not a failed Serve call)
            self._sent += 1
            replica = self._per_replica.setdefault(
                str(reply["replica"]), {"requests": 0, "batch_sizes": {}}
            )
            replica["requests"] += 1
            replica["batch_sizes"] = reply.get("batch_sizes", {})
        if "error" in reply:
            raise rebuild_error(reply["error"])
        return reply

    async def _send_many(self, requests: list[Request]) -> list[dict[str, Any]]:
        """One Serve call for a group of requests: one routing decision, one round trip.

        A failed call becomes an error reply per request, so each caller raises its own error.
        """
        try:
            replies: list[dict[str, Any]] = await self._handle.call_many.remote(requests)
        except Exception as exc:  # noqa: BLE001 - translated below
            error = error_fields(self._ray_error(exc), self.name)
            return [{"error": dict(error)} for _ in requests]
        if any("png" in reply for reply in replies):  # one trip to a worker thread per group
            await asyncio.to_thread(self._store_all, replies)
        return replies

    def _read_all(self, images: Sequence[ImageRef]) -> list[bytes]:
        return [self.images.read_bytes(ref) for ref in images]

    def _store_all(self, replies: list[dict[str, Any]]) -> None:
        """Put the group's PNGs in the run's image store; each reply keeps its `ref`."""
        for reply in replies:
            if "png" in reply:
                reply["ref"] = self.images.put_png(reply.pop("png"))

    def _ray_error(self, exc: Exception) -> SpecialistError:
        from ray import exceptions as ray_errors
        from ray.serve import exceptions as serve_errors

        gone = (
            ray_errors.RayActorError,
            ray_errors.WorkerCrashedError,
            ray_errors.ObjectLostError,
            serve_errors.ReplicaUnavailableError,
            serve_errors.DeploymentUnavailableError,
            serve_errors.BackPressureError,
        )
        if isinstance(exc, gone):
            self._failovers += 1
            return SpecialistError(
                self.name,
                f"its Ray replica went away mid-request ({type(exc).__name__}).",
                "The call layer retries it on another replica.",
                is_retryable=True,
            )
        return SpecialistError(
            self.name, f"the Ray deployment failed the request ({type(exc).__name__}: {exc})."
        )

    async def understand(
        self,
        prompt: str,
        images: Sequence[ImageRef] = (),
        *,
        options: CallOptions | None = None,
    ) -> TextReply:
        """Answer on a replica."""
        reply = await self._send("understand", prompt, images, None, options)
        return TextReply.model_validate(reply["text"])

    async def generate(
        self, prompt: str, *, seed: int, options: CallOptions | None = None
    ) -> ImageRef:
        """Draw on a replica; store its PNG in the run's image store."""
        reply = await self._send("generate", prompt, (), seed, options)
        ref: ImageRef = reply["ref"]
        return ref

    async def edit(
        self,
        prompt: str,
        images: Sequence[ImageRef],
        *,
        seed: int,
        options: CallOptions | None = None,
    ) -> ImageRef:
        """Edit on a replica (the input images travel as PNG bytes); store the result here."""
        reply = await self._send("edit", prompt, images, seed, options)
        ref: ImageRef = reply["ref"]
        return ref

    async def replica_info(self, *, tries: int = 64) -> list[dict[str, Any]]:
        """Where each running replica is (node, GPUs), asking until all have answered."""
        expected = self._replica_states().get("RUNNING", self.ray_options.replicas)
        found: dict[str, dict[str, Any]] = {}
        for _ in range(tries):
            info: dict[str, Any] = await self._handle.info.remote()
            found[info["replica"]] = info
            if len(found) >= expected:
                break
        return list(found.values())
