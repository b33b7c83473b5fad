"""The synthetic UEG generator's fact tables: the answers the benchmark's prompts rely on.

Each entry is (phrase, value, is_common). Common facts are what any capable model knows; the
uncommon ones are there so that hard items can ask about things a small model may not know.
These tables belong to the benchmark, not to any solver.
"""

from __future__ import annotations

Fact = tuple[str, int, bool]
Named = tuple[str, str, bool]

COUNTS: dict[str, list[Fact]] = {
    "world_knowledge": [
        ("legs on a spider", 8, True),
        ("legs on an insect", 6, True),
        ("arms on a starfish", 5, True),
        ("arms on an octopus", 8, True),
        ("continents on Earth", 7, True),
        ("planets in the Solar System", 8, True),
        ("oceans on Earth", 5, True),
        ("rings on the Olympic flag", 5, True),
        ("strings on a violin", 4, True),
        ("chambers in a human heart", 4, True),
        ("Great Lakes of North America", 5, True),
        ("primary colours of paint", 3, True),
        ("hearts in an octopus", 3, False),
        ("moons orbiting Mars", 2, False),
        ("bones in the human middle ear", 3, False),
        ("wings on a bee", 4, False),
        ("planets closer to the Sun than Earth", 2, False),
    ],
    "commonsense_reasoning": [
        ("wheels on a bicycle", 2, True),
        ("wheels on a tricycle", 3, True),
        ("wheels on a car", 4, True),
        ("legs on a dog", 4, True),
        ("legs on a chicken", 2, True),
        ("days in a week", 7, True),
        ("seasons in a year", 4, True),
        ("fingers on one hand", 5, True),
        ("eyes on a human face", 2, True),
        ("sides on a coin", 2, True),
        ("corners on a sheet of paper", 4, True),
        ("players in a game of chess", 2, True),
        ("months in a quarter of a year", 3, True),
        ("legs on a table", 4, True),
        ("toes on a cat's front paw", 5, False),
        ("holes in a standard shirt button", 4, False),
        ("strings on a ukulele", 4, False),
        ("wheels on a shopping trolley", 4, False),
        ("legs on a daddy longlegs", 8, False),
    ],
}

COLOURS: dict[str, list[Named]] = {
    "world_knowledge": [
        ("a ruby", "red", True),
        ("a sapphire", "blue", True),
        ("an emerald", "green", True),
        ("an amethyst", "purple", True),
        ("the sun disc on Japan's flag", "red", True),
        ("the leaf on Canada's flag", "red", True),
        ("the planet Mars in photographs", "red", True),
        ("a clear daytime sky", "blue", True),
        ("chlorophyll", "green", True),
        ("jade", "green", True),
        ("onyx", "black", True),
        ("a flamingo's feathers", "pink", True),
        ("a grizzly bear's fur", "brown", True),
        ("the Statue of Liberty today", "green", False),
        ("a polar bear's skin", "black", False),
        ("copper sulfate crystals", "blue", False),
        ("lapis lazuli", "blue", False),
        ("malachite", "green", False),
    ],
    "commonsense_reasoning": [
        ("a ripe banana", "yellow", True),
        ("a ripe tomato", "red", True),
        ("fresh grass", "green", True),
        ("a pumpkin", "orange", True),
        ("a carrot", "orange", True),
        ("a lemon", "yellow", True),
        ("milk chocolate", "brown", True),
        ("an eggplant", "purple", True),
        ("a fire engine", "red", True),
        ("a crow", "black", True),
        ("a school bus", "yellow", True),
        ("a cherry blossom", "pink", True),
        ("coffee beans", "brown", True),
        ("a lime", "green", True),
        ("lavender flowers", "purple", True),
        ("tar", "black", True),
        ("a tangerine", "orange", True),
        ("the inside of a kiwi fruit", "green", False),
        ("a robin's egg", "blue", False),
        ("a canary", "yellow", False),
        ("cinnamon", "brown", False),
        ("a ripe plum", "purple", False),
    ],
}

SHAPES: dict[str, list[Named]] = {
    "world_knowledge": [
        ("a full moon", "circle", True),
        ("a face of the Great Pyramid", "triangle", True),
        ("the emblems on the US flag", "star", True),
        ("a chessboard", "square", True),
        ("a coin", "circle", True),
        ("a face of a tetrahedron", "triangle", False),
    ],
    "commonsense_reasoning": [
        ("a wheel", "circle", True),
        ("a face of a dice", "square", True),
        ("a yield sign", "triangle", True),
        ("a slice of pizza", "triangle", True),
        ("a sheriff's badge", "star", True),
        ("a face of a Rubik's cube", "square", True),
        ("a Christmas tree topper", "star", True),
        ("a dartboard", "circle", False),
    ],
}

ACIDS: list[tuple[str, bool]] = [
    ("lemon juice", True),
    ("vinegar", True),
    ("orange juice", True),
    ("cola", True),
    ("tomato juice", False),
    ("battery acid", False),
]
BASES: list[tuple[str, bool]] = [
    ("soapy water", True),
    ("baking soda solution", True),
    ("ammonia", True),
    ("bleach", True),
    ("milk of magnesia", False),
    ("lye solution", False),
]

PAINT: list[tuple[str, str, str]] = [
    ("blue", "yellow", "green"),
    ("red", "yellow", "orange"),
    ("red", "blue", "purple"),
    ("red", "white", "pink"),
]
LIGHT: list[tuple[str, str, str]] = [("red", "green", "yellow")]

MAGNET_ITEMS: list[tuple[str, bool, bool]] = [
    ("an iron nail", True, True),
    ("a steel paperclip", True, True),
    ("a steel key", True, True),
    ("an iron washer", True, True),
    ("a copper coin", False, True),
    ("a wooden spoon", False, True),
    ("a plastic comb", False, True),
    ("a glass marble", False, True),
    ("an aluminium can", False, True),
    ("a gold ring", False, True),
    ("a rubber band", False, True),
    ("a nickel washer", True, False),
    ("a cobalt bead", True, False),
    ("a brass button", False, False),
]
"""(item, attracted by a magnet, is_common)."""

WATER_ITEMS: list[tuple[str, bool, bool]] = [
    ("a wooden block", True, True),
    ("a cork", True, True),
    ("an ice cube", True, True),
    ("a rubber duck", True, True),
    ("a ping-pong ball", True, True),
    ("a stone", False, True),
    ("an iron key", False, True),
    ("a glass marble", False, True),
    ("a copper coin", False, True),
    ("a steel bolt", False, True),
    ("a pumice stone", True, False),
    ("an ebony block", False, False),
    ("a bar of gold", False, False),
]
"""(item, floats in fresh water, is_common)."""
