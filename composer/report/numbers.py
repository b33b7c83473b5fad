"""How a score is printed: one decimal, a half rounded up, as the papers' tables print them.

Python's `f"{39.25:.1f}"` gives `39.2`: the float 39.25 is exact, and a tie rounds to even. The
papers round a half up (RealUnify prints BAGEL's direct GEU as 39.3), and with four categories
of 100 instances every GEU mean is a multiple of 0.25, so ties are common there. Every report
format prints its scores through `one_decimal`, so none differs from the paper, or from another
format, by that last digit.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal


def one_decimal(value: float) -> str:
    """`value` to one decimal, a half away from zero (the shortest repr of the float, rounded).

    Example:
        >>> one_decimal(39.25), one_decimal(31.25), one_decimal(72.66), one_decimal(-0.25)
        ('39.3', '31.3', '72.7', '-0.3')
    """
    if not math.isfinite(value):
        return f"{value:.1f}"
    return str(Decimal(repr(float(value))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
