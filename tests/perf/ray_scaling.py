"""Throughput of a model served by Ray Serve on 1, 2 and 4 replicas, against linear scaling.

The model is built for the measurement: its forward pass takes a fixed time per batch (a sleep,
as a compute-bound GPU would), behind the same micro-batcher as the local adapters, so any loss
is the Ray backend's or the machine's (driver, replicas and Ray's own processes share its
CPUs). It runs 256 requests on 1, 2 and 4 replicas on logical GPUs, `--runs` times each, and
prints the medians:

- throughput per replica count, and its ratio to linear (n x the 1-replica throughput; target
  >= 0.85), and to the ideal (n x max_batch / batch time), with how many requests each replica
  served;
- the per-request overhead of a Ray-served call against the same model in-process, for a model
  that takes no time: one request at a time (each pays Serve's round trip alone), and 512 at
  once (requests travel to the replicas in groups of `max_batch`).

Ray runs only inside a loopback-only network namespace: run as root, the script re-executes
itself under `unshare -n` (it refuses to run otherwise).

    python tests/perf/ray_scaling.py                 # 0.25 s per batch of 8, about 2 minutes
    python tests/perf/ray_scaling.py --batch-s 0.5 --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field

from composer.core.images import ImageRef, ImageStore
from composer.specialists.base import CallOptions, Capability, Specialist, SpecialistOptions
from composer.specialists.batching import BatchStats, MicroBatcher

N = 256
REPLICAS = (1, 2, 4)


def reexec_in_namespace() -> None:
    """Re-run this script in a loopback-only network namespace, or refuse to run."""
    if os.environ.get("COMPOSER_RAY_NAMESPACE") == "1":
        return
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        sys.exit(
            "ray_scaling.py starts Ray, which must run in a loopback-only network namespace: "
            "run it as root (it re-executes itself under `unshare -n`)."
        )
    script = (
        'ip link set lo up && RAY_USAGE_STATS_ENABLED=0 COMPOSER_RAY_NAMESPACE=1 exec "$0" "$@"'
    )
    os.execvp(
        "unshare",
        ["unshare", "-n", "sh", "-c", script, sys.executable, os.path.abspath(__file__)]
        + sys.argv[1:],
    )


class FixedTimeOptions(SpecialistOptions):
    """A batch takes `batch_s` seconds, whatever its size up to `max_batch`."""

    batch_s: float = Field(default=0.25, ge=0)
    max_batch: int = Field(default=8, ge=1)
    batch_window_ms: float = Field(default=5.0, ge=0)


def _png(seed: int) -> bytes:
    from PIL import Image

    colour = tuple(hashlib.sha256(str(seed).encode()).digest()[:3])
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(buffer, format="PNG")
    return buffer.getvalue()


class FixedTimeSpecialist(Specialist):
    """A generator whose batched forward pass sleeps a fixed time per batch."""

    provider = "fixed-time"
    Options = FixedTimeOptions

    def __init__(self, model: str, options: FixedTimeOptions, *, images: ImageStore) -> None:
        super().__init__(model, options, images=images, capabilities={Capability.GENERATE})
        self.opts = options
        self.batcher: MicroBatcher[int, bytes] = MicroBatcher(
            self._run, max_batch=options.max_batch, window_s=options.batch_window_ms / 1000
        )

    @classmethod
    def from_name(
        cls, model: str, options: Mapping[str, Any], *, images: ImageStore
    ) -> FixedTimeSpecialist:
        return cls(model, FixedTimeOptions(**options), images=images)

    @property
    def stats(self) -> BatchStats:
        return self.batcher.stats

    def close(self) -> None:
        self.batcher.close()

    def _run(self, seeds: Sequence[int]) -> list[bytes]:
        time.sleep(self.opts.batch_s)
        return [_png(seed) for seed in seeds]

    async def generate(
        self, prompt: str, *, seed: int, options: CallOptions | None = None
    ) -> ImageRef:
        return self.images.put_png(await self.batcher.submit(seed))


async def throughput(spec: Specialist, n: int) -> float:
    started = time.perf_counter()
    await asyncio.gather(*(spec.generate("x", seed=i) for i in range(n)))  # type: ignore[attr-defined]
    return n / (time.perf_counter() - started)


async def latency_ms(spec: Specialist, n: int = 100) -> float:
    times = []
    for i in range(n):
        started = time.perf_counter()
        await spec.generate("x", seed=10_000 + i)  # type: ignore[attr-defined]
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def served_requests(spec: Any) -> dict[str, int]:
    return {rid: r["requests"] for rid, r in spec.stats()["per_replica"].items()}


async def main(batch_s: float, max_batch: int, max_ongoing: int | None, runs: int) -> None:
    import ray
    from ray import serve

    from composer.specialists.registry import create, register_provider

    register_provider("fixed-time", FixedTimeSpecialist)
    ray.init(
        num_cpus=2,
        num_gpus=max(REPLICAS),
        object_store_memory=200 * 2**20,
        include_dashboard=False,
        log_to_driver=False,
    )
    store = ImageStore(tempfile.mkdtemp(prefix="ray-scaling-"))
    own = {"batch_s": batch_s, "max_batch": max_batch}
    ideal_one = max_batch / batch_s

    local = create("fixed-time/model", own, images=store)
    local_rate = await throughput(local, N)
    print(f"in-process      {local_rate:7.1f} req/s   ideal {ideal_one:7.1f}")

    rates: dict[int, float] = {}
    for replicas in REPLICAS:
        options = {
            **own,
            "backend": "ray",
            "replicas": replicas,
            "gpus_per_replica": 1,
            "cpus_per_replica": 0,
            **({"max_ongoing_requests": max_ongoing} if max_ongoing else {}),
        }
        spec = create("fixed-time/model", options, images=store)
        await spec.load()
        await throughput(spec, 4 * replicas * max_batch)  # warm every replica's path
        before = served_requests(spec)
        each = [await throughput(spec, N) for _ in range(runs)]
        rates[replicas] = statistics.median(each)
        split = sorted(n - before.get(rid, 0) for rid, n in served_requests(spec).items())
        linear = rates[replicas] / (replicas * rates[1])
        ideal = rates[replicas] / (replicas * ideal_one)
        print(
            f"ray x{replicas} replicas {rates[replicas]:7.1f} req/s   vs linear {linear:.2f}x"
            f"   vs ideal {ideal:.2f}x   runs {[round(r, 1) for r in each]}"
            f"   requests per replica {split}"
        )
        await spec.aclose()
        serve.delete(spec.app)  # type: ignore[attr-defined]

    # Per-request cost with a model that takes no time: one at a time (each request pays the
    # round trip alone), and 512 at once (requests travel in groups of max_batch).
    quick = {"batch_s": 0.0, "max_batch": max_batch, "batch_window_ms": 0.0}
    in_process = create("fixed-time/quick", quick, images=store)
    ray_quick = {**quick, "backend": "ray", "cpus_per_replica": 0}
    served = create("fixed-time/quick", ray_quick, images=store)
    await served.load()
    await latency_ms(served, 10)
    alone = [(await latency_ms(in_process), await latency_ms(served)) for _ in range(runs)]
    local_ms, ray_ms = (statistics.median(x) for x in zip(*alone, strict=True))
    print(
        f"per request, one at a time: in-process {local_ms:.2f} ms, ray {ray_ms:.2f} ms, "
        f"overhead {ray_ms - local_ms:.2f} ms (median of {runs} x 100 sequential calls)"
    )
    loaded = [
        (1000 / await throughput(in_process, 512), 1000 / await throughput(served, 512))
        for _ in range(runs)
    ]
    local_ms, ray_ms = (statistics.median(x) for x in zip(*loaded, strict=True))
    print(
        f"per request, 512 at once:   in-process {local_ms:.2f} ms, ray {ray_ms:.2f} ms, "
        f"overhead {ray_ms - local_ms:.2f} ms (median of {runs} runs, groups of {max_batch})"
    )
    worst = min(rates[n] / (n * rates[1]) for n in REPLICAS)
    print(f"scaling vs linear, worst: {worst:.2f}x (target >= 0.85)")
    await served.aclose()
    for spec in (local, in_process):
        spec.close()
    serve.shutdown()
    ray.shutdown()


if __name__ == "__main__":
    reexec_in_namespace()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-s", type=float, default=0.25)
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--max-ongoing", type=int, default=None, help="groups per replica")
    parser.add_argument("--runs", type=int, default=3, help="measurements per figure (median)")
    args = parser.parse_args()
    asyncio.run(main(args.batch_s, args.max_batch, args.max_ongoing, args.runs))
