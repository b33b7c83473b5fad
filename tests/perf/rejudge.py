"""Re-judging a finished run with another judge, against the first run: a ratio of wall times.

The first run draws and answers everything and judges it; the second changes only `[judge]`,
so only judge calls are sent (no graph runs, no image is drawn). Target: under 0.5.

    python tests/perf/rejudge.py [--n-per-category 10] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "demo.toml"


def timed(config: Path, run_dir: Path) -> float:
    started = time.perf_counter()
    command = [sys.executable, "-m", "composer.cli", "run", str(config), "--out", str(run_dir)]
    subprocess.run([*command, "--quiet"], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    """Run the demo, then re-judge it; print both times and their ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-per-category", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    firsts, seconds = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            text = EXAMPLE.read_text().replace(
                "n_per_category = 10", f"n_per_category = {args.n_per_category}"
            )
            first, second = folder / "first.toml", folder / "second.toml"
            first.write_text(text)
            second.write_text(
                text.replace(
                    'model = "symbolic/reasoner"   #', 'model = "symbolic/naive-unified"   #'
                )
            )
            firsts.append(timed(first, folder / "run"))
            seconds.append(timed(second, folder / "run"))
    a, b = statistics.median(firsts), statistics.median(seconds)
    print(f"first run {a:.2f} s, re-judge {b:.2f} s (medians of {args.runs}); ratio {b / a:.2f}")


if __name__ == "__main__":
    main()
