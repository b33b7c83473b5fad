"""What the symbolic reasoner knows: a small table of facts and science rules.

It is deliberately incomplete, like any model's knowledge: some facts a benchmark asks about are
missing, and one or two rules are the common textbook simplification (paint mixing applied to
light, water boiling at 100 degrees wherever it is).
"""

from __future__ import annotations

COUNT_FACTS: dict[str, int] = {
    "legs on a spider": 8,
    "legs on an insect": 6,
    "legs on an ant": 6,
    "legs on a dog": 4,
    "legs on a chicken": 2,
    "arms on a starfish": 5,
    "arms on an octopus": 8,
    "continents on earth": 7,
    "planets in the solar system": 8,
    "oceans on earth": 5,
    "rings on the olympic flag": 5,
    "strings on a violin": 4,
    "chambers in a human heart": 4,
    "great lakes of north america": 5,
    "primary colours of paint": 3,
    "wheels on a bicycle": 2,
    "wheels on a tricycle": 3,
    "wheels on a car": 4,
    "wheels on a unicycle": 1,
    "days in a week": 7,
    "seasons in a year": 4,
    "fingers on one hand": 5,
    "eyes on a human face": 2,
    "sides on a coin": 2,
    "corners on a sheet of paper": 4,
    "players in a game of chess": 2,
    "months in a quarter of a year": 3,
    "legs on a table": 4,
    "minutes in a quarter of an hour": 15,
}
"""How many there are of a thing, keyed by the lower-case phrase a prompt uses."""

COLOUR_FACTS: dict[str, str] = {
    "a ruby": "red",
    "a sapphire": "blue",
    "an emerald": "green",
    "an amethyst": "purple",
    "the sun disc on japan's flag": "red",
    "the leaf on canada's flag": "red",
    "the planet mars in photographs": "red",
    "a clear daytime sky": "blue",
    "chlorophyll": "green",
    "jade": "green",
    "onyx": "black",
    "a flamingo's feathers": "pink",
    "a grizzly bear's fur": "brown",
    "a ripe banana": "yellow",
    "a ripe tomato": "red",
    "fresh grass": "green",
    "a pumpkin": "orange",
    "a carrot": "orange",
    "a lemon": "yellow",
    "milk chocolate": "brown",
    "an eggplant": "purple",
    "a fire engine": "red",
    "a crow": "black",
    "a school bus": "yellow",
    "a cherry blossom": "pink",
    "coffee beans": "brown",
    "a lime": "green",
    "lavender flowers": "purple",
    "tar": "black",
    "a tangerine": "orange",
}
"""The colour of a thing, keyed by the phrase a prompt uses."""

SHAPE_FACTS: dict[str, str] = {
    "a full moon": "circle",
    "a coin": "circle",
    "a wheel": "circle",
    "a face of a dice": "square",
    "a chessboard": "square",
    "a yield sign": "triangle",
    "a slice of pizza": "triangle",
    "a face of the great pyramid": "triangle",
    "a sheriff's badge": "star",
    "the emblems on the us flag": "star",
    "a face of a rubik's cube": "square",
    "a christmas tree topper": "star",
}
"""The outline of a thing, keyed by the phrase a prompt uses."""

ACIDS: frozenset[str] = frozenset({"lemon juice", "vinegar", "orange juice", "cola", "sour milk"})
BASES: frozenset[str] = frozenset({"soapy water", "baking soda solution", "ammonia", "bleach"})

PAINT_MIXES: dict[frozenset[str], str] = {
    frozenset({"blue", "yellow"}): "green",
    frozenset({"red", "yellow"}): "orange",
    frozenset({"red", "blue"}): "purple",
    frozenset({"red", "white"}): "pink",
    frozenset({"red", "green"}): "brown",
    frozenset({"orange", "blue"}): "brown",
}
"""Paint mixing, which the reasoner also (wrongly) applies to coloured light."""

MAGNETIC: frozenset[str] = frozenset({"iron", "steel"})
NON_MAGNETIC: frozenset[str] = frozenset(
    {"copper", "wooden", "plastic", "glass", "aluminium", "silver", "gold", "rubber", "paper"}
)
FLOATS: frozenset[str] = frozenset(
    {"wooden", "cork", "ice", "rubber", "apple", "ping-pong", "plastic", "leaf"}
)
SINKS: frozenset[str] = frozenset({"stone", "iron", "glass", "copper", "steel", "lead"})

FREEZING_C = 0.0
BOILING_C = 100.0
"""Water's phase changes; the reasoner does not know boiling depends on altitude."""
