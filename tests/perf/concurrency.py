"""Hosted-call throughput: composer's runner against a plain asyncio loop, same SDK, same limits.

400 UEG instances through decompose-then-generate (rewrite with openai/gpt-4.1, draw with
openai/gpt-image-1) plus a 3-question judge (openai/gpt-4.1), against a loopback fake that
answers every call after 100 ms; 64 instances in flight and a ceiling of 64 calls per model.
The plain loop makes the same requests with the same AsyncOpenAI client settings. Printed: both
wall times, their ratio (target <= 1.25), both against calls x 0.1 s / 64; then the same with
10% of first attempts answered 429 (Retry-After: 1), where composer backs off as it must on a
rate limit (it cannot tell a random 429 from one) and the loop does not: 3.2x to 3.7x since
the adaptive limit, against 1.7x with the old halving (docs/performance.md, "Rate limits";
the rate-limited server's figures are tests/perf/rate_limit.py's); then a rerun in the same
run folder, which must send 0 requests.

    python tests/perf/concurrency.py [--instances 400]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fakes import FakeOpenAI, rate_limit  # noqa: E402
from versions import checks_of, prompt_of  # noqa: E402

from composer.benchmarks.realunify.protocol import (
    judge_request,  # noqa: E402
    refine_request,  # noqa: E402
)
from composer.core.config import parse_config  # noqa: E402
from composer.evaluation.runner import Runner  # noqa: E402

CONCURRENCY = 64
LATENCY_S = 0.1
QUESTIONS = 3


def write_suite(root: Path, n: int) -> None:
    """`n` UEG instances with three checks each, in the RealUnify file format."""
    root.mkdir(parents=True, exist_ok=True)
    records = [
        {
            "index": i,
            "task_type": "mathematical_reasoning",
            "prompt": f"draw {i}+1 stars",
            "question_list": [
                {"question": f"Are there {i + 1} stars?", "answer": "yes"},
                {"question": "Is there a moon?", "answer": "no"},
                {"question": f"Is star {i} yellow?", "answer": "yes"},
            ],
        }
        for i in range(n)
    ]
    (root / "UEG_direct.json").write_text(json.dumps(records))


def answer(prompt: str, captions: list[str]) -> str:
    """Rewrites echo the prompt; judge questions get "Yes."."""
    if "image generation:" in prompt:
        return prompt.split("image generation: ")[1].split(" Please")[0]
    return "Yes."


def config(root: Path, url: str) -> Any:
    """The run: one composed system, every model on the fake, ceiling 64 per model."""
    limits: dict[str, float] = {"max_concurrency": CONCURRENCY, "initial_concurrency": CONCURRENCY}
    limits |= {"retry_initial_s": 0.5, "retry_max_s": 2.0, "max_attempts": 6}
    return parse_config(
        {
            "concurrency": CONCURRENCY,
            "benchmark": {"path": str(root / "data")},
            "judge": {"model": "openai/gpt-4.1"},
            "systems": {
                "oracle": {
                    "ueg": "decompose-then-generate",
                    "roles": {"reasoner": "openai/gpt-4.1", "generator": "openai/gpt-image-1"},
                }
            },
            "models": {
                "openai/gpt-4.1": {"base_url": url, **limits},
                "openai/gpt-image-1": {"base_url": url, **limits},
            },
        },
        source="concurrency",
        base_dir=root,
    )


async def plain_loop(runner: Runner, url: str) -> float:
    """The same requests through a bare AsyncOpenAI client: no graph, cache or store."""
    import base64

    import openai

    client = openai.AsyncOpenAI(base_url=url, max_retries=0, timeout=600.0)
    instances = asyncio.Semaphore(CONCURRENCY)
    per_model = {"chat": asyncio.Semaphore(CONCURRENCY), "image": asyncio.Semaphore(CONCURRENCY)}

    async def call(kind: str, **request: Any) -> Any:
        while True:
            try:
                async with per_model[kind]:
                    if kind == "chat":
                        return await client.chat.completions.create(**request)
                    return await client.images.generate(**request)
            except openai.RateLimitError as exc:
                await asyncio.sleep(float(exc.response.headers.get("retry-after", "1")))

    def chat(prompt: str, image: bytes | None = None) -> dict[str, Any]:
        content: Any = prompt
        if image is not None:
            url = "data:image/png;base64," + base64.b64encode(image).decode()
            content = [
                {"type": "image_url", "image_url": {"url": url}},
                {"type": "text", "text": prompt},
            ]
        return {"model": "gpt-4.1", "messages": [{"role": "user", "content": content}]}

    async def one(instance: Any) -> None:
        async with instances:
            rewrite = await call("chat", **chat(refine_request(prompt_of(instance))))
            drawn = await call(
                "image", model="gpt-image-1", prompt=rewrite.choices[0].message.content, n=1
            )
            png = base64.b64decode(drawn.data[0].b64_json)
            await asyncio.gather(
                *(call("chat", **chat(judge_request(c.question), png)) for c in checks_of(instance))
            )

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in runner.instances))
    elapsed = time.perf_counter() - started
    await client.close()
    return elapsed


class RemoteFake:
    """The fake in a child process, so its CPU time does not slow the client being measured."""

    def __init__(self) -> None:
        import multiprocessing

        self._pipe, child = multiprocessing.Pipe()
        self._process = multiprocessing.Process(target=_serve, args=(child,), daemon=True)
        self._process.start()
        self.url = self._pipe.recv()

    def _ask(self, *command: Any) -> Any:
        self._pipe.send(command)
        return self._pipe.recv()

    @property
    def count(self) -> int:
        """Requests the fake has received."""
        return int(self._ask("count"))

    def seed_faults(self, rates: list[tuple[Any, float]]) -> None:
        """Fault this share of first attempts (see FakeServer.seed_faults)."""
        self._ask("seed", rates)

    def close(self) -> None:
        """Stop the child."""
        self._ask("stop")
        self._process.join(5)


def _serve(pipe: Any) -> None:
    with FakeOpenAI(answer, latency_s=LATENCY_S) as fake:
        pipe.send(fake.url)
        while True:
            command, *args = pipe.recv()
            if command == "count":
                pipe.send(fake.count)
            elif command == "seed":
                fake.seed_faults(args[0])
                pipe.send(None)
            else:
                pipe.send(None)
                return


def measure(root: Path, fake: RemoteFake, label: str, faults: float) -> tuple[float, float]:
    """Plain loop then composer, on fresh folders, with `faults` share of 429s."""
    url = fake.url + "/v1"
    run_dir = Path(tempfile.mkdtemp(dir=root)) / "run"
    runner = Runner(config(root, url), run_dir)
    fake.seed_faults([(rate_limit(1.0), faults)] if faults else [])
    before = fake.count
    plain = asyncio.run(plain_loop(runner, url))
    plain_calls = fake.count - before
    fake.seed_faults([(rate_limit(1.0), faults)] if faults else [])
    before = fake.count
    started = time.perf_counter()
    summary = asyncio.run(runner.run())
    ours = time.perf_counter() - started
    runner.close()
    calls = summary.calls_sent
    ideal = calls * LATENCY_S / CONCURRENCY
    print(
        f"[{label}] {len(runner.instances)} instances, {calls} calls answered, "
        f"{fake.count - before} requests sent by composer, {plain_calls} by the plain loop"
    )
    print(f"  theoretical calls x {LATENCY_S} s / {CONCURRENCY}: {ideal:.2f} s")
    print(f"  plain asyncio loop: {plain:.2f} s ({plain / ideal:.2f} x theoretical)")
    print(f"  composer runner:    {ours:.2f} s ({ours / ideal:.2f} x theoretical)")
    print(f"  ratio composer/plain: {ours / plain:.2f}")
    print(f"  statuses: {summary.statuses}, retried: {runner.layer.stats.retried}")
    if not faults:
        fake.seed_faults([])
        before = fake.count
        again = Runner(config(root, url), run_dir)
        summary = asyncio.run(again.run())
        again.close()
        print(
            f"[rerun in the same folder] requests sent: {fake.count - before}, "
            f"tasks run: {summary.tasks}, skipped: {summary.skipped}"
        )
    return plain, ours


def main() -> None:
    """Run both cases and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=400)
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "sk-perf-not-a-real-key")
    fake = RemoteFake()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            write_suite(root / "data", args.instances)
            measure(root, fake, "no faults", 0.0)
            measure(root, fake, "10% 429, Retry-After 1 s", 0.10)
    finally:
        fake.close()


if __name__ == "__main__":
    main()
