"""What the symbolic models see of an image: the pixels its stored PNG decodes to, read once.

The models of a run keep what they saw by content (`symbolic.Sight`): the pixels of an image
one of them made, the shapes the judge found in it. Their answers must be those they give about
the image read back from its file, and a run must never see another run's images.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from composer.benchmarks.realunify.protocol import (
    LETTERS,
    choice_request,
    edit_request,
    judge_request,
    refine_request,
)
from composer.core.errors import DataError
from composer.core.images import ImageRef, ImageStore
from composer.synthetic.suite import geu as geu_suite
from composer.synthetic.suite.ueg import make_item
from composer.synthetic.symbolic import GLANCE_FACTOR, SymbolicSpecialist, geu, ueg


def model(name: str, store: ImageStore) -> SymbolicSpecialist:
    return SymbolicSpecialist.from_name(name, {}, images=store)


def ask(judge: SymbolicSpecialist, question: str, image: ImageRef) -> str:
    return asyncio.run(judge.understand(judge_request(question), [image])).text


def glanced(pixels: np.ndarray) -> np.ndarray:
    """The glance judge's view, as it is documented: a third of the size, box-filtered."""
    full = Image.fromarray(pixels)
    small = full.reduce(GLANCE_FACTOR)
    return np.asarray(small.resize(full.size, Image.Resampling.NEAREST))


def test_judges_answer_about_a_made_image_as_about_its_file(tmp_path: Path) -> None:
    made = ImageStore(tmp_path / "run" / "images")
    reasoner, painter = model("reasoner", made), model("painter", made)
    drawn: list[tuple[ImageRef, list[tuple[str, str]]]] = []
    for i, category in enumerate(("mathematical_reasoning", "code_to_image", "logical_reasoning")):
        item = make_item(category, random.Random(f"sights/{i}"), "medium")
        refined = asyncio.run(reasoner.understand(refine_request(item.prompt))).text
        drawn.append((asyncio.run(painter.generate(refined, seed=i)), item.checks))
    questions = [(image, q) for image, checks in drawn for q, _ in checks]
    # Judged right after they were made (the painter's pixels, kept), by both judges...
    glance = model("glance-judge", made)
    now = [(ask(reasoner, q, image), ask(glance, q, image)) for image, q in questions]
    # ... and as a later run reading the same folder judges them (decoded from the files).
    reread = ImageStore(tmp_path / "run" / "images")
    for (image, question), answers in zip(questions, now, strict=True):
        pixels = np.asarray(reread.open(image).convert("RGB"))
        expected = (
            ueg.answer_yes_no(question, pixels),
            ueg.answer_yes_no(question, glanced(pixels)),
        )
        assert answers == expected, question
        later = (ask(model("reasoner", reread), question, image),)
        assert later == expected[:1]


def test_the_reasoner_answers_about_an_edited_image_as_about_its_file(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "images")
    painter, reasoner = model("painter", store), model("reasoner", store)
    for i, category in enumerate(("mental_reconstruction", "cognitive_navigation")):
        item = geu_suite.make_item(category, random.Random(f"sights/edit/{i}"), "medium")
        source = store.put(item.image)
        edited = asyncio.run(painter.edit(edit_request(category, item.question), [source], seed=i))
        options = list(item.options)
        request = choice_request(item.question, options)
        reply = asyncio.run(reasoner.understand(request, [edited])).text
        decoded = np.asarray(ImageStore(tmp_path / "images").open(edited).convert("RGB"))
        assert reply == LETTERS[geu.answer_choice(item.question, options, [decoded], naive=False)]


def test_a_run_never_sees_the_images_of_another(tmp_path: Path) -> None:
    first = ImageStore(tmp_path / "first")
    painter = model("painter", first)
    image = asyncio.run(painter.generate("Draw 2 red circles.", seed=0))
    assert ask(model("reasoner", first), "Are there exactly 2 red circles?", image) == "Yes"
    other = model("reasoner", ImageStore(tmp_path / "second"))
    with pytest.raises(DataError, match="no image"):
        ask(other, "Are there exactly 2 red circles?", image)


@pytest.mark.parametrize(
    ("colour", "seen"),
    [((194, 194, 250), True), ((195, 195, 250), False), ((250, 250, 250), False)],
)
def test_the_judge_takes_pale_colours_for_background(
    colour: tuple[int, int, int], seen: bool
) -> None:
    # A pixel within 60 of white in every channel is background, whatever its colour.
    pixels = np.full((64, 64, 3), 255, dtype=np.uint8)
    pixels[20:40, 20:40] = colour
    assert bool(ueg.find_blobs(pixels)) is seen
