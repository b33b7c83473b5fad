"""Peak memory of a run whose GEU inputs are huge PNGs, against the same run on small ones.

A 6000x6000 PNG of flat colour is about 120 KB on disk and 108 MB decoded; before inputs were
bounded, eight of them took a run to 1.7 GB. Inputs larger than `MAX_SIDE` are now kept as they
are and replaced by a fitted copy for every model, so the run's peak should stay within a small
factor of the baseline. Each run is a separate process, its peak resident set read from the OS.

    python tests/perf/large_images.py [--side 6000] [--instances 8]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

CHILD = """
import resource, runpy, sys
sys.argv = ["composer", *sys.argv[1:]]
try:
    runpy.run_module("composer", run_name="__main__")
except SystemExit:
    pass
print("PEAK_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def write_suite(root: Path, side: int, n: int) -> None:
    records = []
    for i in range(n):
        relative = f"image/img_{i}.png"
        (root / "image").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (side, side), (i * 20 % 256, 90, 160)).save(root / relative)
        records.append(
            {
                "index": i,
                "task_type": "mental_tracking",
                "input_image": relative,
                "question": f"Which, case {i}?",
                "option": ["a", "b", "c", "d"],
                "answer": "A",
                "evaluation_prompt": f"Which, case {i}? Answer with a letter.",
                "edit_prompt": "Mark the path.",
            }
        )
    (root / "GEU_direct.json").write_text(json.dumps(records))
    (root / "GEU_step.json").write_text(json.dumps(records))
    (root / "run.toml").write_text(
        "\n".join(
            [
                "concurrency = 8",
                "[benchmark]",
                f'path = "{root}"',
                "[systems.direct]",
                'geu = "direct"',
                'roles = { model = "symbolic/reasoner" }',
                "[systems.stepwise]",
                'geu = "generate-then-reason"',
                'roles = { reasoner = "symbolic/reasoner", editor = "symbolic/painter" }',
                "[systems.mock]",
                'geu = "generate-then-reason"',
                'roles = { model = "mock/uni" }',
                '[models."mock/uni"]',
                'default = "A"',
            ]
        )
    )


def peak_kb(root: Path) -> tuple[int, float]:
    command = [sys.executable, "-c", CHILD, "run", str(root / "run.toml")]
    command += ["--out", str(root / "run"), "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stderr.splitlines() if line.startswith("PEAK_KB")]
    if not lines:
        raise SystemExit(done.stderr[-2000:])
    on_disk = sum(p.stat().st_size for p in (root / "image").glob("*.png")) / len(
        list((root / "image").glob("*.png"))
    )
    return int(lines[-1].split()[1]), on_disk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--side", type=int, default=6000)
    parser.add_argument("--instances", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base, large = Path(tmp) / "base", Path(tmp) / "large"
        write_suite(base, 64, args.instances)
        write_suite(large, args.side, args.instances)
        base_kb, base_file = peak_kb(base)
        large_kb, large_file = peak_kb(large)
    print(
        f"baseline: {args.instances} inputs of 64x64 ({base_file / 1024:.1f} KB each): "
        f"peak {base_kb / 1024:.0f} MB"
    )
    print(
        f"large:    {args.instances} inputs of {args.side}x{args.side} "
        f"({large_file / 1024:.0f} KB each): peak {large_kb / 1024:.0f} MB"
    )
    print(f"ratio large / baseline: {large_kb / base_kb:.2f}")


if __name__ == "__main__":
    main()
