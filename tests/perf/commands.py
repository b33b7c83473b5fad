"""Commands as a user times them: `composer list graphs`, `composer demo`, the demo's peak memory.

Each command runs in a fresh process, as a user runs it, and is timed from outside; peak memory
is the child's own maximum resident set (`os.wait4`). Baselines measured in the same run: a bare
`python -c "import composer.cli"` (the floor any command pays) for the two wall times, and the
demo at 10 per category for the demo at `--per` per category. Each time is the median of
`--repeat` runs. Targets: list graphs <= 0.5 s and no langgraph import; demo (460 tasks) <= 4 s;
peak memory at 60 per category <= 1.2x that at 10.

    python tests/perf/commands.py [--repeat 3] [--per 60] [--skip-memory]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON = sys.executable


def timed(argv: list[str]) -> tuple[float, float, float]:
    """Wall seconds, peak resident MB and CPU seconds of one child process running `argv`."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    stderr = child.stderr.read().decode() if child.stderr else ""
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({child.returncode}):\n{stderr}")
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, usage.ru_maxrss / 1024, cpu  # ru_maxrss is in KiB on Linux


def median_of(
    repeat: int, argv: list[str], fresh: Path | None = None
) -> tuple[float, float, float]:
    """Median wall seconds, peak MB and CPU seconds of `repeat` runs, `fresh` removed before."""
    runs = []
    for _ in range(repeat):
        if fresh is not None:
            shutil.rmtree(fresh, ignore_errors=True)
        runs.append(timed(argv))
    wall, mb, cpu = (statistics.median(r[k] for r in runs) for k in range(3))
    return wall, mb, cpu


def main() -> None:
    """Measure and print each figure with its ratio to its baseline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--per", type=int, default=60, help="per category for the memory run")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    cli = [PYTHON, "-m", "composer"]

    floor, _, floor_cpu = median_of(args.repeat, [PYTHON, "-c", "import composer.cli"])
    listing, _, listing_cpu = median_of(args.repeat, [*cli, "list", "graphs"])
    probe = (
        "import sys; from typer.testing import CliRunner; from composer.cli.base import app; "
        "import composer.cli.commands; "
        "r = CliRunner().invoke(app, ['list', 'graphs']); assert r.exit_code == 0, r.output; "
        "print('langgraph' in sys.modules)"
    )
    imported = subprocess.run(
        [PYTHON, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    print(
        f"import composer.cli (floor): {floor:.2f} s, {floor_cpu:.2f} s CPU "
        f"(median of {args.repeat})"
    )
    print(
        f"composer list graphs: {listing:.2f} s, {listing_cpu:.2f} s CPU, "
        f"{listing / floor:.2f}x the floor; "
        f"imports langgraph: {imported} (target <= 0.5 s, no langgraph)"
    )

    # The 460-task demo; a version that also runs the Uni-MMMU-style suite is told not to.
    shown = subprocess.run([*cli, "demo", "--help"], capture_output=True, text=True).stdout
    only = ["--no-uni-mmmu"] if "--no-uni-mmmu" in shown else []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "demo"
        demo = [*cli, "demo", "--quiet", *only, "--out", str(out)]
        wall, small_mb, cpu = median_of(args.repeat, demo, fresh=out)
        print(
            f"composer demo {' '.join(only)} (460 tasks): {wall:.2f} s, {cpu:.2f} s CPU, "
            f"{wall / floor:.1f}x the floor (target <= 4 s on an idle machine)"
        )
        if not args.skip_memory:
            shutil.rmtree(out, ignore_errors=True)
            big_wall, big_mb, _ = timed([*demo, "--n-per-category", str(args.per)])
            print(
                f"peak memory: {small_mb:.0f} MB at 10 per category, {big_mb:.0f} MB at "
                f"{args.per} ({big_wall:.1f} s): {big_mb / small_mb:.2f}x (target <= 1.2x)"
            )


if __name__ == "__main__":
    main()
