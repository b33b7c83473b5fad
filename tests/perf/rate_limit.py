"""A server that limits its rate: composer's call layer against a plain asyncio loop.

A loopback OpenAI fake (its own process, so its CPU does not slow the client) answers each call
after `--latency` seconds and at most `--rate` calls a second (a token bucket holding
`--burst`); a request past the limit is answered at once with a 429 whose `retry-after-ms`
says when the next token comes. `--calls` distinct chat calls, `--concurrency` at a time (the
run's concurrency, default 64), go through the real OpenAI SDK: once through composer's call
layer (adaptive limit, retries, cache and store writes), once through a plain loop that sends,
and on a 429 waits what the server asked and sends again. Printed for each: answered calls a
second against the server's limit (target >= 0.9x) and requests sent per call answered (target
<= 1.1x), the median of `--rounds` rounds, the limit's path for composer, and the calls that
failed after `--max-attempts` attempts each (the plain loop counts its attempts the same way).
Requests per answer are given for the whole run and for its middle half (the requests the
server received while the middle half of the answers came): the start, where the limit finds
the server's rate, costs a few refusals once; the middle half is what a long run pays.
`--models N` sends the calls through N models behind the one bucket (the k-th takes k shares
of them, so the last is left alone at the end), each with its own limit, or with
`--limit-group` one limit shared by all.

    python tests/perf/rate_limit.py [--rate 50] [--burst 10] [--latency 0.4] [--calls 800]
    python tests/perf/rate_limit.py --rate 4 --burst 1 --latency 0 --calls 40 --concurrency 8 \
        --max-attempts 5    # a fast endpoint: every refused call told the same next moment
    python tests/perf/rate_limit.py --rate 4 --burst 1 --latency 0 --calls 80 --concurrency 8 \
        --max-attempts 5 --models 2 [--limit-group]    # two models behind one bucket
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fakes import FakeOpenAI  # noqa: E402
from versions import run_writer  # noqa: E402

from composer.core.images import ImageStore  # noqa: E402
from composer.evaluation.calls import CallLayer, CallSettings  # noqa: E402
from composer.specialists.registry import create  # noqa: E402

done: list[float] = []
"""When each call was answered, in the round being measured."""


def steady_rate(requests: list[float]) -> tuple[float, float]:
    """Calls answered a second between the first and the last quarter of the answers, and the
    requests the server received then per call answered then.

    The start (the limit finding the server's) and the tail (fewer calls left than the server
    sustains) are shown in the overall figure; these are what a long run keeps. `requests`:
    when each request arrived (the server's `time.monotonic`, the clock of `done`).
    """
    times = sorted(done)
    if len(times) < 4:
        return float("nan"), float("nan")
    a, b = times[len(times) // 4], times[3 * len(times) // 4]
    answered = len(times) // 2
    return answered / (b - a), sum(1 for t in requests if a < t <= b) / answered


def _serve(pipe: Any, latency_s: float) -> None:
    with FakeOpenAI(lambda prompt, captions: "Yes.", latency_s=latency_s) as fake:
        pipe.send(fake.url)
        while True:
            command, *args = pipe.recv()
            if command == "limit":
                fake.limit_rate(*args)
                pipe.send(None)
            elif command == "count":
                pipe.send((fake.count, fake.faults_served["rate_limited"]))
            elif command == "times":
                pipe.send([r.received_at for r in fake.requests[args[0] :]])
            else:
                pipe.send(None)
                return


class RemoteFake:
    """The rate-limited fake in a child process."""

    def __init__(self, latency_s: float) -> None:
        self._pipe, child = multiprocessing.Pipe()
        self._process = multiprocessing.Process(target=_serve, args=(child, latency_s), daemon=True)
        self._process.start()
        self.url = self._pipe.recv() + "/v1"

    def ask(self, *command: Any) -> Any:
        """Send a command to the child and return its answer."""
        self._pipe.send(command)
        return self._pipe.recv()

    def close(self) -> None:
        """Stop the child."""
        self.ask("stop")
        self._process.join(5)


MODELS = ("gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o")


def model_of_call(calls: int, models: int) -> list[str]:
    """Which model sends each call: the k-th of `models` takes k shares, in turn."""
    shares = [k + 1 for k in range(models)]
    counts = [calls * share // sum(shares) for share in shares]
    counts[-1] += calls - sum(counts)
    order: list[str] = []
    while len(order) < calls:
        for k in range(models):
            if counts[k]:
                counts[k] -= 1
                order.append(MODELS[k])
    return order


async def through_composer(
    url: str, calls: int, tag: str, concurrency: int, attempts: int, models: int, group: bool
) -> tuple[float, list[int], int]:
    """`calls` distinct understand calls through the call layer.

    Returns the seconds they took, the limit's path and how many failed.
    """
    with tempfile.TemporaryDirectory() as tmp:
        images = ImageStore(Path(tmp) / "images")
        layer = CallLayer(run_writer(Path(tmp) / "run"), images)
        # The ceiling is the run's concurrency, said explicitly so that the same script
        # measures a version whose default was lower.
        shared = {"limit_group": "server"} if group else {}  # a version before it: no key
        settings = CallSettings(max_concurrency=concurrency, max_attempts=attempts, **shared)
        wrapped = {
            name: layer.wrap(create(f"openai/{name}", {"base_url": url}, images=images), settings)
            for name in MODELS[:models]
        }
        order = model_of_call(calls, models)
        limits = list(layer.limits.values())
        path: list[int] = []
        tasks = asyncio.Semaphore(concurrency)
        done.clear()

        async def one(k: int) -> None:
            async with tasks:
                await wrapped[order[k]].understand(f"{tag} question {k}: yes?")
                done.append(time.monotonic())

        async def watch() -> None:
            while True:
                path.append(sum(limit.current for limit in limits))
                await asyncio.sleep(0.25)

        watcher = asyncio.create_task(watch())
        started = time.perf_counter()
        results = await asyncio.gather(*(one(k) for k in range(calls)), return_exceptions=True)
        elapsed = time.perf_counter() - started
        watcher.cancel()
        await layer.store.flush()
        layer.store.close()
        for model in wrapped.values():
            await model.specialist.aclose()
    return elapsed, path, sum(isinstance(r, Exception) for r in results)


async def plain_loop(
    url: str, calls: int, tag: str, concurrency: int, attempts: int, models: int, group: bool
) -> tuple[float, int]:
    """The same calls through a bare AsyncOpenAI client that waits Retry-After on a 429.

    Returns the seconds they took and how many failed (refused `attempts` times).
    """
    import openai

    client = openai.AsyncOpenAI(base_url=url, max_retries=0, timeout=600.0)
    tasks = asyncio.Semaphore(concurrency)
    order = model_of_call(calls, models)
    done.clear()

    async def one(k: int) -> bool:
        request = {"role": "user", "content": f"{tag} question {k}: yes?"}
        async with tasks:
            for _ in range(attempts):
                try:
                    await client.chat.completions.create(model=order[k], messages=[request])
                    done.append(time.monotonic())
                    return True
                except openai.RateLimitError as exc:
                    await asyncio.sleep(float(exc.response.headers["retry-after-ms"]) / 1000)
            return False

    started = time.perf_counter()
    answered = await asyncio.gather(*(one(k) for k in range(calls)))
    elapsed = time.perf_counter() - started
    await client.close()
    return elapsed, answered.count(False)


def main() -> None:
    """Run both, `--rounds` times, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="server limit, calls/s")
    parser.add_argument("--burst", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.4, help="seconds per answer")
    parser.add_argument("--calls", type=int, default=800)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64, help="calls at a time")
    parser.add_argument("--max-attempts", type=int, default=20, help="attempts a call")
    parser.add_argument("--models", type=int, default=1, choices=range(1, len(MODELS) + 1))
    parser.add_argument("--limit-group", action="store_true", help="the models share a limit")
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "sk-perf-not-a-real-key")
    fake = RemoteFake(args.latency)
    figures: dict[str, list[tuple[float, float, float]]] = {"plain": [], "composer": []}
    try:
        for r in range(args.rounds):
            for name in ("plain", "composer"):
                fake.ask("limit", args.rate, args.burst)
                time.sleep(args.burst / args.rate)  # the bucket full again
                before, _ = fake.ask("count")
                cpu = time.process_time()
                tag = f"{name}-{r}"
                how = (
                    fake.url,
                    args.calls,
                    tag,
                    args.concurrency,
                    args.max_attempts,
                    args.models,
                    args.limit_group,
                )
                if name == "plain":
                    elapsed, failed = asyncio.run(plain_loop(*how))
                else:
                    elapsed, path, failed = asyncio.run(through_composer(*how))
                cpu = time.process_time() - cpu
                sent = fake.ask("count")[0] - before
                steady, steady_waste = steady_rate(fake.ask("times", before))
                answered = max(1, args.calls - failed)
                figures[name].append((steady / args.rate, sent / answered, steady_waste))
                print(
                    f"round {r + 1} {name:<8}: {elapsed:.2f} s, "
                    f"{(args.calls - failed) / elapsed:.1f} calls/s answered "
                    f"({steady:.1f} in the middle half), {sent} requests sent "
                    f"({steady_waste:.2f} per answer in the middle half), "
                    f"{failed} calls failed, client CPU {cpu / elapsed:.0%} of a core"
                    + (f"; limit every 0.25 s: {path}" if name == "composer" else "")
                )
    finally:
        fake.close()
    print(
        f"server: {args.rate:g} calls/s (burst {args.burst}), {args.latency:g} s a call, so "
        f"{args.rate * args.latency:g} calls in flight sustain it; "
        f"{args.concurrency} calls at a time, {args.max_attempts} attempts each, through "
        f"{args.models} model(s)" + (", one limit_group" if args.limit_group else "")
    )
    for name, rows in figures.items():
        speed = statistics.median(r[0] for r in rows)
        waste = statistics.median(r[1] for r in rows)
        steady_waste = statistics.median(r[2] for r in rows)
        print(
            f"{name:<8}: answered {speed:.2f}x the server's limit in the middle half of the run "
            "(target >= 0.9), "
            f"{waste:.2f} requests per call answered (target <= 1.1), "
            f"{steady_waste:.2f} in the middle half (medians of {len(rows)})"
        )


if __name__ == "__main__":
    main()
