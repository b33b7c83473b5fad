"""`overhead_parts.py --caches` reads callgrind's dumps itself: each object's own cost.

A miscount would put the interpreter's misses on SQLite or the reverse, and the
performance notes would blame the wrong code.
"""

from __future__ import annotations

from pathlib import Path

from overhead_parts import self_cost_by_object

DUMP = """\
version: 1
creator: callgrind-3.19.0
positions: line
events: Ir DLmr DLmw
summary: 0

ob=(1) /usr/lib/libpython3.11.so.1.0
fl=(1) ceval.c
fn=(1) eval
10 100 4 1
+2 50 1
cob=(2) /usr/lib/x86_64-linux-gnu/libsqlite3.so.0
cfi=(2) ???
cfn=(2) sqlite3VdbeExec
calls=3 0
12 900 30 5
* 7
ob=(2)
fl=(2)
fn=(2)
0 900 30 5
ob=(1)
fn=(1)
-1 3 0 2

totals: 1060 35 8
"""


def test_each_object_gets_its_own_cost_and_not_its_callees(tmp_path: Path) -> None:
    dump = tmp_path / "phase.callgrind"
    dump.write_text(DUMP)
    costs = self_cost_by_object(dump, ["Ir", "DLmr", "DLmw"])
    assert costs == {
        "libpython3.11.so.1.0": {"Ir": 160.0, "DLmr": 5.0, "DLmw": 3.0},
        "libsqlite3.so.0": {"Ir": 900.0, "DLmr": 30.0, "DLmw": 5.0},
    }
    # Every cost line counted once: the objects add up to the dump's own totals.
    totals = [float(v) for v in DUMP.split("totals: ")[1].split()]
    assert [sum(c[e] for c in costs.values()) for e in ("Ir", "DLmr", "DLmw")] == totals


def test_a_dump_with_two_position_columns_is_read_the_same(tmp_path: Path) -> None:
    """`--dump-instr=yes` writes an address before each line number."""
    lines = []
    for line in DUMP.splitlines():
        if line == "positions: line":
            line = "positions: instr line"
        elif line and (line[0].isdigit() or line[0] in "+-*"):
            first, _, rest = line.partition(" ")
            line = f"0x1 {first} {rest}"
        lines.append(line)
    dump = tmp_path / "phase.callgrind"
    dump.write_text("\n".join(lines))
    two = self_cost_by_object(dump, ["Ir", "DLmr", "DLmw"])
    (tmp_path / "one.callgrind").write_text(DUMP)
    assert two == self_cost_by_object(tmp_path / "one.callgrind", ["Ir", "DLmr", "DLmw"])
