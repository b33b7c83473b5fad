"""The categories of the benchmarks composer ships, per axis, in report order, abbreviated.

Each benchmark declares its own categories (RealUnify's in `realunify.categories`); this module
only lists them together, so a report orders and abbreviates the categories of any run the
same way. A category no benchmark declares is shown after these, by name.
"""

from __future__ import annotations

from composer.benchmarks.realunify import categories as realunify

UNIMMMU_UEG_TASKS: tuple[str, ...] = ("science", "code")
"""Uni-MMMU's understanding-aids-generation tasks, in its leaderboard's order."""
UNIMMMU_GEU_TASKS: tuple[str, ...] = ("jigsaw", "maze", "sliding", "geometry")
"""Uni-MMMU's generation-aids-understanding tasks, in its leaderboard's order."""

UEG_CATEGORIES: tuple[str, ...] = realunify.UEG_CATEGORIES + UNIMMMU_UEG_TASKS
"""Every known category of the UEG axis, in report order."""
GEU_CATEGORIES: tuple[str, ...] = realunify.GEU_CATEGORIES + UNIMMMU_GEU_TASKS
"""Every known category of the GEU axis, in report order."""
CATEGORY_ABBREV: dict[str, str] = {
    **realunify.CATEGORY_ABBREV,
    "science": "Sci",
    "code": "Code",
    "jigsaw": "Jig",
    "maze": "Maze",
    "sliding": "Slid",
    "geometry": "Math",
}
"""The short names tables use (RealUnify's are the paper's; Uni-MMMU's its leaderboard's)."""
