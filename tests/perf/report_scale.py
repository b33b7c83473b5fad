"""Scale of the HTML report: 1,000 (or 10,000) instances x 6 systems; target 10 s, index < 2 MB.

Builds a run store synthetically (rows written through RunStore's own APIs, images through
ImageStore): 600 UEG and 400 GEU instances, six systems (a unified model direct and stepwise,
a composed system, the two single-role swaps between them, and a refine system), about 6,000
distinct images, three judge questions per UEG result and a call trace with nodes, latency and
cost, each call recorded with its cache key as the call layer records it. Then it times the
command `composer report --format html` (cold: a new folder, thumbnails made; warm: the same
folder again, thumbnails reused and unchanged pages left as they are; pages: the same folder
without its instance pages, so every page is written again) and, as the in-process baseline,
`summarize` + the Markdown report of the same store, and prints the ratio of each to the
baseline.

    python tests/perf/report_scale.py [--instances 1000] [--image-size 256] [--keep DIR]
    python tests/perf/report_scale.py --instances 10000 --keep /tmp/scale-10k  # 10x
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

from composer.benchmarks.realunify.categories import GEU_CATEGORIES, UEG_CATEGORIES
from composer.benchmarks.realunify.records import geu_instance, ueg_instance
from composer.core.callsite import Tally
from composer.core.definition import AxisDefinition, Kind, SystemDefinition, direct_or_stepwise
from composer.core.images import ImageRef, ImageStore
from composer.core.instance import Check, Instance
from composer.evaluation.judges import GEU_SCORER, GEU_SCORER_ID, GEU_SCORER_LABEL
from composer.evaluation.store import Judgment, Result, RunStore, Scored, Status
from composer.evaluation.store_writer import RunWriter

U, R, G, J = "mock/unified", "mock/reasoner", "mock/generator", "mock/judge"
JUDGE_ID = "mock-judge"
STEP = {"UEG": "decompose-then-generate", "GEU": "generate-then-reason"}


def _system(
    kind: Kind, graphs: dict[str, str], roles: dict[str, dict[str, str]]
) -> SystemDefinition:
    axes = {a: AxisDefinition(graph=g, roles=roles[a], code="builtin") for a, g in graphs.items()}
    return SystemDefinition(kind=kind, mode=direct_or_stepwise(graphs.values()), axes=axes)


def systems() -> dict[str, SystemDefinition]:
    def step(reasoner: str, generator: str) -> dict[str, dict[str, str]]:
        return {
            "UEG": {"reasoner": reasoner, "generator": generator},
            "GEU": {"reasoner": reasoner, "editor": generator},
        }

    direct = {"UEG": {"model": U}, "GEU": {"model": U}}
    return {
        "unified-direct": _system("unified", {"UEG": "direct", "GEU": "direct"}, direct),
        "unified-step": _system("unified", STEP, step(U, U)),
        "composed": _system("composed", STEP, step(R, G)),
        "swap-reasoner": _system("composed", STEP, step(R, U)),
        "swap-generator": _system("composed", STEP, step(U, G)),
        "composed-refine": _system(
            "composed", {"UEG": "refine", "GEU": "generate-then-reason"}, step(R, G)
        ),
    }


def picture(rng: random.Random, size: int) -> Image.Image:
    image = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y, w = rng.randrange(size), rng.randrange(size), rng.randrange(8, size // 3)
        draw.ellipse((x, y, x + w, y + w), fill=tuple(rng.randrange(256) for _ in range(3)))
    return image


Call = tuple[str, str, str, str, float, float, dict[str, object], dict[str, object]]
"""(system, instance, node, model, latency_s, cost_usd, request, reply) of one traced call."""


def build(run_dir: Path, n: int, image_size: int) -> None:
    rng = random.Random(0)
    store = RunWriter(run_dir, lock=True)
    images = ImageStore(run_dir / "images")

    def put(image: Image.Image) -> ImageRef:
        return images.put(image, text={})

    instances: list[Instance] = []
    n_ueg = n * 6 // 10
    for k in range(n):
        if k < n_ueg:
            instances.append(
                ueg_instance(
                    id=f"UEG-{k}",
                    category=UEG_CATEGORIES[k % 6],
                    prompt=f"Draw as many circles as {k} <b>bold</b> & friends, then more text.",
                    step_prompt=f"Rewrite: draw {k} circles.",
                    checks=(
                        Check(question=f"Are there {k} circles?", answer="yes"),
                        Check(question="Is there a square?", answer="no"),
                        Check(question="Are the circles red?", answer="yes"),
                    ),
                )
            )
        else:
            instances.append(
                geu_instance(
                    id=f"GEU-{k - n_ueg}",
                    category=GEU_CATEGORIES[k % 4],
                    image=put(picture(rng, image_size)),
                    question=f"Which way leads out of maze {k}?",
                    options=("up", "down", "left", "right"),
                    answer="ABCD"[k % 4],
                    evaluation_prompt="Question: ...\nThe best answer is:",
                    edit_prompt="Draw the path.",
                )
            )
    store.begin_run(
        config={"judge": {"model": J, "parser": "official"}},
        versions={"python": sys.version},
        seed=0,
        systems={name: (definition, {}) for name, definition in systems().items()},
        judges=[
            (JUDGE_ID, J, {"model": J, "method": "realunify-polling"}),
            (GEU_SCORER_ID, GEU_SCORER_LABEL, dict(GEU_SCORER)),
        ],
        instances=instances,
    )
    calls: list[Call] = []

    def call(
        tally: Tally,
        site: tuple[str, str, str],
        model: str,
        latency: float,
        request: dict[str, object],
        reply: dict[str, object],
        role: str,
    ) -> None:
        # Charged to the task's tally as the call layer does (a step with its cache key), so
        # result costs match the trace and each page's step table joins its calls.
        latency *= rng.uniform(0.5, 1.5)
        cost = rng.uniform(0.001, 0.02)
        key = f"{len(calls)}"
        charged = {"usage": {"cost_usd": cost}, "latency_s": latency}
        tally.charge(site[2], charged, sent=True, key=key, role=role)
        calls.append((*site, model, latency, cost, request, reply))

    for number, (name, definition) in enumerate(systems().items()):
        skill = 0.3 + 0.1 * number
        for instance in instances:
            axis = instance.axis.value
            graph = definition.axes[axis].graph
            right = rng.random() < skill
            status: Status = "failed" if rng.random() < 0.02 else "ok"
            output: dict[str, object] = {}
            tally, judge_tally = Tally(), Tally()
            scores: list[tuple[Scored, list[Judgment]]] = []
            if axis == "UEG":
                judgments: list[Judgment] = []
                if graph != "direct":
                    output["rewrite"] = f"Draw {instance.id} circles <script>alert(1)</script>"
                    call(
                        tally,
                        (name, instance.id, "rewrite"),
                        R,
                        0.8,
                        {"prompt": instance.text},
                        {"text": output["rewrite"]},
                        "reasoner",
                    )
                output["image"] = put(picture(rng, image_size)).uri
                asked = {"prompt": output.get("rewrite", instance.text), "options": {"steps": 4}}
                drawn = {"image": output["image"]}
                call(tally, (name, instance.id, "draw"), G, 4.0, asked, drawn, "generator")
                for p, check in enumerate(instance.references.checks):
                    reply = check.answer if right else "no"
                    judgments.append(
                        Judgment(
                            position=p,
                            question=check.question,
                            expected=check.answer,
                            reply=f"{reply.capitalize()}.",
                            official=reply,
                            strict=reply,
                        )
                    )
                    call(
                        judge_tally,
                        (name, instance.id, "judge"),
                        J,
                        0.5,
                        {"prompt": check.question, "images": [output["image"]]},
                        {"text": f"{reply.capitalize()}."},
                        J,
                    )
                verdict = Scored(
                    judge=JUDGE_ID,
                    status="ok",
                    correct_official=right,
                    correct_strict=right,
                    usage=judge_tally.as_dict(),
                )
                scores.append((verdict, judgments))
            else:
                if graph != "direct":
                    output["edited_image"] = put(picture(rng, image_size)).uri
                    call(
                        tally,
                        (name, instance.id, "edit"),
                        G,
                        5.0,
                        {"prompt": "Draw the path.", "images": [instance.images[0].uri]},
                        {"image": output["edited_image"]},
                        "editor",
                    )
                seen = instance.images[0].uri
                letter = instance.references.answer if right else "A"
                output["response"] = f"The answer is {letter}."
                call(
                    tally,
                    (name, instance.id, "answer"),
                    R,
                    1.2,
                    {"prompt": instance.text, "images": [output.get("edited_image", seen)]},
                    {"text": output["response"]},
                    "reasoner",
                )
                read = Scored(
                    judge=GEU_SCORER_ID, status="ok", correct_official=right, correct_strict=right
                )
                scores.append((read, []))
            if status == "failed":
                output, scores = {}, []
            store.put_result(
                Result(
                    system=name,
                    instance=instance.id,
                    axis=axis,
                    category=instance.category,
                    status=status,
                    output=output,
                    error="SpecialistError: timed out" if status == "failed" else None,
                    latency_s=rng.uniform(1, 10),
                    usage=tally.as_dict(),
                ),
                scores,
            )

    async def put_calls() -> None:
        # Queued in one event-loop turn, committed together, as a run's calls are.
        for key, (system, instance, node, model, latency, cost, asked, got) in enumerate(calls):
            store.queue_call(
                f"{key}",
                model=model,
                method={"draw": "generate", "edit": "edit"}.get(node, "understand"),
                request=asked,
                reply=got,
                usage={"cost_usd": cost},
                latency_s=latency,
                cost_usd=cost,
                site=(system, instance, node),
            )
        await store.flush()

    asyncio.run(put_calls())
    store.close()


def _command(run_dir: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds (its own and its children's) of `composer report --format html`."""
    command = [sys.executable, "-m", "composer", "report", str(run_dir), "--format", "html"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([*command, "--output", str(out)], check=True, capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--instances", type=int, default=1000, help="Instances (x 6 systems); 10000 for 10x."
    )
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--keep", type=Path, default=None, help="Build the run here and keep it.")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="report-scale-"))
    run_dir = root / "run"
    started = time.perf_counter()
    if not (run_dir / "run.db").exists():
        build(run_dir, args.instances, args.image_size)
    n_images = sum(1 for _ in (run_dir / "images").rglob("*.png"))
    print(
        f"store: {args.instances} instances x 6 systems, {n_images} images "
        f"({args.image_size} px), built in {time.perf_counter() - started:.1f} s"
    )

    # The whole command, as a user runs it: a fresh process, imports included. Cold: a new
    # folder, every thumbnail made; warm: the same folder again, its thumbnails reused.
    # An earlier report is moved aside and deleted only once everything is timed: on ext4
    # without a journal (this project's machines), each file created skips the inodes freed
    # in the last minute or more, one lookup each, so writing 10,000 pages just after deleting
    # 10,000 cost 3 to 4 s of kernel time (`perf`: find_inode_bit, recently_deleted) that a
    # report into a new folder, or written again into its own, does not pay.
    aside = root / "deleted-after-timing"
    aside.mkdir(exist_ok=True)
    out = root / "report-cli"
    if out.exists():
        out.rename(aside / f"report-cli-{time.time_ns()}")
    cold, cold_cpu = _command(run_dir, out)
    warm, warm_cpu = _command(run_dir, out)
    (out / "instances").rename(aside / f"instances-{time.time_ns()}")
    again, again_cpu = _command(run_dir, out)

    from composer.report.summary import summarize
    from composer.report.tables import render

    # The baseline, in this process: the same store summarized and rendered as Markdown.
    store = RunStore(run_dir)
    t0, c0 = time.perf_counter(), time.process_time()
    render(summarize(store), "markdown")
    baseline, baseline_cpu = time.perf_counter() - t0, time.process_time() - c0
    store.close()
    size = (out / "index.html").stat().st_size
    pages = sum(1 for _ in (out / "instances").glob("*.html"))
    lists = sorted(out.glob("index-*.html"))
    largest = max([size, *(p.stat().st_size for p in lists)])
    print(
        f"composer report --format html (new process, imports included): cold {cold:.2f} s "
        f"({cold_cpu:.2f} s CPU, thumbnails made), warm {warm:.2f} s ({warm_cpu:.2f} s CPU, "
        f"thumbnails reused), pages {again:.2f} s ({again_cpu:.2f} s CPU, thumbnails reused, "
        "every page written again)"
    )
    print(
        f"baseline summarize + markdown: {baseline:.2f} s ({baseline_cpu:.2f} s CPU); "
        f"html/baseline = {cold / baseline:.1f}x cold, {warm / baseline:.1f}x warm, "
        f"{again / baseline:.1f}x pages (CPU: {cold_cpu / baseline_cpu:.1f}x, "
        f"{warm_cpu / baseline_cpu:.1f}x, {again_cpu / baseline_cpu:.1f}x)"
    )
    print(
        f"index.html: {size / 1e6:.2f} MB; {len(lists)} more pages of the instance list "
        f"(largest page {largest / 1e6:.2f} MB); {pages} instance pages"
    )
    if args.instances < 10_000:
        print("target (10,000 x 6 in 10 s, index < 2 MB): run with --instances 10000")
    else:
        ok = cold < 10 and size < 2e6
        print(
            f"target (10,000 x 6 in 10 s, index < 2 MB): {'met' if ok else 'NOT met'} "
            f"(index {'met' if size < 2e6 else 'NOT met'})"
        )
    shutil.rmtree(aside, ignore_errors=True)
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
