"""Peak memory of `composer report` as the run grows: 60 instances per category against 10.

Runs the demo (two judges, so the report computes the judges' agreement with its bootstrap) at
10 and at 60 instances per category, then runs `composer report` on each in a fresh process
and reads that process's peak resident memory (`wait4`'s ru_maxrss). The 10-per-category
report is the baseline, measured in the same run. Target: the ratio at most 1.2 (the run
store grows sixfold; what the report keeps of it should not).

    python tests/perf/report_memory.py [--small 10] [--large 60] [--keep DIR] [--source DIR]

`--keep DIR` keeps (and reuses) the two demo folders; `--source DIR` runs the reports with
composer from another checkout (e.g. an older commit, to measure the baseline before a change).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET = 1.2
FORMATS = ("json", "table")


def demo(folder: Path, n: int) -> Path:
    """The demo's run folder at `n` instances per category (made once, then reused)."""
    run_dir = folder / f"demo-{n}"
    if not (run_dir / "run.db").exists():
        command = [sys.executable, "-m", "composer", "demo", "--n-per-category", str(n)]
        command += ["--out", str(run_dir), "--quiet", "--no-uni-mmmu"]
        subprocess.run(command, check=True, capture_output=True)
    return run_dir


def peak_mb(run_dir: Path, fmt: str, source: str | None) -> float:
    """Peak resident memory, in MB, of one `composer report` process."""
    env = dict(os.environ)
    if source:
        env["PYTHONPATH"] = source
    command = [sys.executable, "-m", "composer", "report", str(run_dir), "--format", fmt]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    assert child.stderr is not None
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"report failed: {child.stderr.read().decode()[-2000:]}")
    return usage.ru_maxrss / 1024  # kilobytes on Linux


def main() -> None:
    """Build both runs, measure each report's peak memory, print the ratio against target."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=60)
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument("--source", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        small, large = demo(folder, args.small), demo(folder, args.large)
        worst = 0.0
        for fmt in FORMATS:
            base = peak_mb(small, fmt, args.source)
            grown = peak_mb(large, fmt, args.source)
            ratio = grown / base
            worst = max(worst, ratio)
            print(
                f"report --format {fmt}: peak {base:.0f} MB at {args.small}/category, "
                f"{grown:.0f} MB at {args.large}/category: ratio {ratio:.2f}"
            )
        verdict = "ok" if worst <= TARGET else "ABOVE TARGET"
        print(f"worst ratio {worst:.2f} (target <= {TARGET}): {verdict}")
        if worst > TARGET:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
