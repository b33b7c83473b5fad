"""Where the demo's peak memory grows with the run: each phase's peak at 10 and 60 per category.

Runs `composer demo --no-uni-mmmu` in a fresh process per size, in which a thread samples the
resident memory every few milliseconds and notes the main thread's stack at each new peak. The
demo's phases (the run; the summary, the terminal table and the HTML report, which a forked
child writes meanwhile) are timed apart: before each the process's peak is reset
(`/proc/self/clear_refs`), so each phase's peak is its own. Prints each phase's peak at both
sizes and its growth, the stack at the report phase's peak (`--stacks`: at every phase's), and
the whole process's peak ratio (`wait4`'s ru_maxrss, as `commands.py` measures it: the largest
of the process and its children) against the target of 1.2x. Linux only (`/proc`).

    python tests/perf/demo_memory.py [--small 10] [--large 60] [--stacks] [--source DIR]

`--source DIR` measures composer from another checkout (a worktree at an earlier commit, run
from outside any checkout), for a before and after in the same sitting.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET = 1.2
PHASES = ("_run", "_table_and_html")

CHILD = r"""
import json, os, sys, threading, time, traceback
from pathlib import Path
import composer.cli.commands as commands

def status(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith(field + ":"))

main, phases, current, done = threading.main_thread().ident, {}, [None], [False]

def sample():
    while not done[0]:
        name, rss = current[0], status("VmRSS")
        if name is not None and rss > phases[name]["peak"] + 1:
            frames = traceback.extract_stack(sys._current_frames()[main])
            stack = [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in frames][-10:]
            phases[name].update(peak=rss, stack=stack[::-1])
        time.sleep(0.002)

def timed(name):
    inner = getattr(commands, name)
    def phase(*args, **kwargs):
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # the peak from here on is this phase's
        phases[name] = {"start": status("VmRSS"), "peak": status("VmRSS"), "stack": []}
        current[0] = name
        try:
            return inner(*args, **kwargs)
        finally:
            current[0] = None
            phases[name]["peak"] = max(phases[name]["peak"], status("VmHWM"))
    setattr(commands, name, phase)

for name in PHASES:
    timed(name)
threading.Thread(target=sample, daemon=True).start()
commands.demo(out_dir=Path(sys.argv[1]), n_per_category=int(sys.argv[2]), seed=0, seeds=None,
              quiet=True, uni_mmmu=False)
done[0] = True
print(json.dumps(phases))
"""


def measure(per: int, source: str | None) -> tuple[dict[str, dict[str, object]], float]:
    """Each phase's start, peak and stack at its peak, and the process's peak MB, at `per`."""
    env = {**os.environ, "PYTHONPATH": source} if source else None
    with tempfile.TemporaryDirectory() as tmp:
        code = f"PHASES = {PHASES!r}\n{CHILD}"
        argv = [sys.executable, "-c", code, str(Path(tmp) / "demo"), str(per)]
        with open(Path(tmp) / "out", "w+") as out, open(Path(tmp) / "err", "w+") as err:
            child = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=tmp)
            _, status, usage = os.wait4(child.pid, 0)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the demo at {per} per category failed:\n{stderr[-2000:]}")
    phases = json.loads(stdout.strip().splitlines()[-1])
    return phases, usage.ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    """Measure both sizes, print each phase's peak and growth, the stacks and the ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=60)
    parser.add_argument("--stacks", action="store_true", help="every phase's stack at its peak")
    parser.add_argument("--source", default=None)
    args = parser.parse_args()
    small, small_peak = measure(args.small, args.source)
    large, large_peak = measure(args.large, args.source)
    for name in PHASES:
        a, b = small[name], large[name]
        print(
            f"{name.strip('_'):12} start {a['start']:4.0f} -> peak {a['peak']:4.0f} MB at "
            f"{args.small}; start {b['start']:4.0f} -> peak {b['peak']:4.0f} MB at {args.large}; "
            f"phase growth {float(a['peak']) - float(a['start']):+.0f} and "
            f"{float(b['peak']) - float(b['start']):+.0f} MB"
        )
        if args.stacks or name == "_table_and_html":
            print(f"  stack at its peak at {args.large}: " + " <- ".join(b["stack"]))
    ratio = large_peak / small_peak
    verdict = "met" if ratio <= TARGET else "NOT MET"
    print(
        f"peak memory: {small_peak:.0f} MB at {args.small} per category, {large_peak:.0f} MB "
        f"at {args.large}: {ratio:.2f}x (target <= {TARGET}x: {verdict})"
    )


if __name__ == "__main__":
    main()
