"""Scores print as the papers print them: one decimal, a half rounded up."""

from __future__ import annotations

import pytest

from composer.report.numbers import one_decimal
from composer.report.tables import mean_sd


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (39.25, "39.3"),  # RealUnify's BAGEL direct GEU (Python's format: 39.2)
        (31.25, "31.3"),  # OneCAT direct GEU
        (29.25, "29.3"),  # OneCAT step GEU
        (36.25, "36.3"),
        (72.66666666666667, "72.7"),
        (100.0, "100.0"),
        (0.0, "0.0"),
        (2.675, "2.7"),
    ],
)
def test_a_half_rounds_up(value: float, shown: str) -> None:
    assert one_decimal(value) == shown


def test_mean_and_sd_over_seeds_round_the_same_way() -> None:
    assert mean_sd(39.25, [39.0, 39.5]) == "39.3 ± 0.4"
