"""The offline sandbox does not pretend (issue 24, section 3).

A symbolic model refuses, with the reason, every request it does not understand: an edit it
cannot follow (it used to return the input unchanged), a prompt naming nothing it can draw (a
blank canvas), a question of no form it reads (a guessed letter, or "Unclear." that the official
reader took for "no"), a request of no kind it knows ("I cannot help ..."). A refusal makes the
instance `refused`, counted in the report and listed with its reason. Its vocabulary is
documented in docs/strategies.md, generated from the code and checked here.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from composer.agents.rewrite import REWRITE_PROMPT
from composer.benchmarks.realunify.protocol import (
    EDIT_PROMPTS,
    choice_request,
    edit_request,
    judge_request,
    refine_request,
)
from composer.cli import app
from composer.core.errors import RefusalError
from composer.core.images import ImageStore
from composer.synthetic.symbolic import SymbolicSpecialist, geu, ueg, vocabulary
from composer.synthetic.symbolic.ueg_vision import _QUESTIONS

DOCS = Path(__file__).parents[2] / "docs" / "strategies.md"
cli = CliRunner()


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "images")


def model(name: str, store: ImageStore) -> SymbolicSpecialist:
    return SymbolicSpecialist.from_name(name, {}, images=store)


def refusal(call: object) -> str:
    with pytest.raises(RefusalError) as caught:
        asyncio.run(call)  # type: ignore[arg-type]
    return str(caught.value)


def test_the_painter_refuses_an_edit_it_cannot_follow(store: ImageStore) -> None:
    painter = model("painter", store)
    drawn = asyncio.run(painter.generate("Draw 2 red circles.", seed=0))
    reason = refusal(painter.edit("Make every circle blue.", [drawn], seed=0))
    assert reason.startswith("model 'symbolic/painter': does not understand this edit request")
    assert "'Make every circle blue.'" in reason and "docs/strategies.md" in reason
    assert "mental_reconstruction" in reason  # what it does follow
    # The edits it knows still edit.
    restored = asyncio.run(painter.edit(edit_request("mental_reconstruction", ""), [drawn], seed=0))
    assert restored is not None


def test_the_painter_refuses_a_prompt_naming_nothing_it_can_draw(store: ImageStore) -> None:
    painter = model("painter", store)
    reason = refusal(painter.generate("A quiet harbour at dawn.", seed=0))
    assert "does not understand this generate request" in reason and "names none" in reason
    assert asyncio.run(painter.generate("A harbour with 3 blue triangles.", seed=0))


def test_the_reasoner_takes_composers_own_rewrite_request(store: ImageStore) -> None:
    """`rewrite` without a benchmark's request sends REWRITE_PROMPT: the sandbox answers it."""
    reasoner = model("reasoner", store)
    reply = asyncio.run(
        reasoner.understand(
            REWRITE_PROMPT.format(prompt="Draw 2 red circles and twice as many blue squares.")
        )
    )
    assert reply.text == "Draw on a white canvas, scattered: 2 red circles, 4 blue squares."


def test_the_reasoner_refuses_what_it_cannot_read(store: ImageStore) -> None:
    reasoner = model("reasoner", store)
    painter = model("painter", store)
    image = asyncio.run(painter.generate("Draw 2 red circles.", seed=0))
    # A request of no kind it knows, once "I cannot help with that request."
    assert "none of the requests it answers" in refusal(
        reasoner.understand("Describe the mood of this picture.", [image])
    )
    # A judge question of no form it reads, once "Unclear." (which the official reader takes
    # for "no": the instance came out as judged).
    assert "yes/no questions in its forms only" in refusal(
        reasoner.understand(judge_request("Is the cat asleep?"), [image])
    )
    # A multiple-choice question of no kind it knows, once a hash-guessed letter.
    request = choice_request("Which animal is this?", ["cat", "dog", "owl", "fox"])
    assert "none of them: 'Which animal is this?'" in refusal(reasoner.understand(request, [image]))
    # A prompt it cannot work out, once the reason text drawn as if it were a rewrite.
    assert "could not work out what to draw" in refusal(
        reasoner.understand(refine_request("Paint the feeling of Tuesday."))
    )
    # No image for a judge question, once "There is no image ..." (read as "no").
    assert "needs an image" in refusal(reasoner.understand(judge_request("Is there a star?")))
    assert "judge questions only" in refusal(
        model("glance-judge", store).understand(refine_request("Draw 2 red circles."), [image])
    )


STRATEGY = '''
"""draw, then ask the painter for an edit it does not know."""
from dataclasses import dataclass

import composer.graphs as cg


@dataclass(frozen=True)
class Roles:
    generator: cg.Generator
    editor: cg.Editor


async def draw(state: cg.UEGState, runtime: cg.Runtime[Roles]) -> dict:
    image = await runtime.context.generator.generate(state["instance"].text, seed=state["seed"])
    return {"image": image}


async def patch(state: cg.UEGState, runtime: cg.Runtime[Roles]) -> dict:
    image = await runtime.context.editor.edit(
        "Make every shape red.", [state["image"]], seed=state["seed"]
    )
    return {"image": image}


@cg.register_graph("draw-and-patch", axes=(cg.Axis.UEG,))
def build(axis: cg.Axis, options: dict) -> cg.Strategy:
    graph = cg.StateGraph(cg.UEGState, context_schema=Roles).add_sequence([draw, patch])
    return cg.Strategy("draw-and-patch", axis, graph.add_edge(cg.START, "draw").compile(), Roles)
'''

RUN_FILE = """
seed = 0
[benchmark]
name = "synthetic"
n_per_category = 2
categories = ["mathematical_reasoning"]
[judge]
model = "symbolic/reasoner"
[systems.patched]
ueg = { graph = "patch.py:build" }
roles = { generator = "symbolic/painter", editor = "symbolic/painter" }
"""


def test_a_refused_edit_is_a_refused_instance_counted_in_the_report(tmp_path: Path) -> None:
    (tmp_path / "patch.py").write_text(STRATEGY)
    (tmp_path / "run.toml").write_text(RUN_FILE)
    run_dir = tmp_path / "run"
    ran = cli.invoke(app, ["run", str(tmp_path / "run.toml"), "--out", str(run_dir), "--quiet"])
    assert ran.exit_code == 0, ran.output  # refused is an outcome, not a failure of the run
    report = json.loads(cli.invoke(app, ["report", str(run_dir), "--format", "json"]).stdout)
    counts = report["systems"]["patched"]["UEG"]["counts"]
    assert counts["refused"] == 2 and counts["n"] == 2
    table = cli.invoke(app, ["report", str(run_dir)]).stdout
    assert "refused: 2 outputs" in table
    assert "model 'symbolic/painter': does not understand this edit request" in table
    assert "'Make every shape red.'" in table


def section(text: str) -> str:
    start, end = "<!-- symbolic-vocabulary:start -->\n", "<!-- symbolic-vocabulary:end -->"
    assert start in text and end in text, "docs/strategies.md lost the vocabulary markers"
    return text.split(start, 1)[1].split(end, 1)[0]


def test_the_guide_documents_the_vocabulary_the_code_has() -> None:
    """docs/strategies.md holds `vocabulary.markdown()` word for word.

    On a change, paste the output of
    `python -c "from composer.synthetic.symbolic import vocabulary; print(vocabulary.markdown())"`
    between the markers.
    """
    assert section(DOCS.read_text()) == vocabulary.markdown()


def test_the_documented_examples_are_what_the_models_read() -> None:
    assert set(vocabulary.QUESTION_EXAMPLES) == set(_QUESTIONS)
    for kind, question in vocabulary.QUESTION_EXAMPLES.items():
        normalised = " ".join(question.lower().split())
        assert _QUESTIONS[kind].match(normalised), (kind, question)
    assert set(vocabulary.CHOICE_EXAMPLES) == set(EDIT_PROMPTS)
    for category, question in vocabulary.CHOICE_EXAMPLES.items():
        assert geu.category_of_question(question) == category
    for category in EDIT_PROMPTS:
        assert geu._edit_parts(edit_request(category, "Which?")) is not None
    text = vocabulary.markdown()
    example = re.search(r"`(Draw on a white canvas, [^`]*)`", text)
    assert example and ueg.rewrite(example.group(1), naive=False) == example.group(1)
