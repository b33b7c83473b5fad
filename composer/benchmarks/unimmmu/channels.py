"""Score channels: one named value per thing a Uni-MMMU scorer measures, read two ways.

Every scorer in this package returns a `dict[str, Channel]`. A channel has a kind (how its
values are compared: exact tests for binary channels, a paired bootstrap for graded ones) and
two readings of the same output:

- `official`: what the released `eval_ummmu.py` computes, quirks included. `None` means the
  release drops the case from that metric's denominator.
- `strict`: each quirk fixed (every module says which, in its docstring). `None` means
  unscored: counted and shown as such, never a silent zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """How a channel's values are read and compared."""

    BINARY = "binary"
    """0 or 1 (exact match, judge yes/no)."""
    FRACTION = "fraction"
    """A share in [0, 1] (per-step accuracy)."""
    RUBRIC = "rubric_0_5"
    """A judge's integer score in [0, 5] (averaged as floats by the release)."""
    DISTANCE = "distance"
    """A perceptual distance, lower is better (DreamSim; 1.0 is the release's penalty)."""


@dataclass(frozen=True)
class Channel:
    """One scored value of one case, in both readings.

    Attributes:
        kind: How the values are compared (see `Kind`).
        official: The released scorer's value; None when the release leaves the case out.
        strict: The value with the release's quirks fixed; None when unscored.
        note: Why a value is None or differs between readings (empty when nothing to say).
    """

    kind: Kind
    official: float | None
    strict: float | None
    note: str = ""


Channels = dict[str, Channel]
"""A scorer's result for one case: channel name -> `Channel`."""


def both(kind: Kind, value: float | None, note: str = "") -> Channel:
    """A channel whose two readings agree."""
    return Channel(kind, value, value, note)
