"""Uni-MMMU items as composer `Instance`s: context and calls shown, ground truth hidden.

An item's context parts (its demonstrations, prompts and images, in order) become the
instance's context, its images put in the run's image store (the store is the run's own cache;
nothing is published). Its calls become the instance's `calls`; a graph replays them over the
growing context (`composer.graphs.interleaved`). The item itself, references included, is kept
in the instance's references, where only the scorers read it.

The two directions map onto composer's axes: generation aids understanding (maze, sliding,
geometry, jigsaw) is GEU, understanding aids generation (science, code) is UEG.

k, the number of ground-truth moves of a maze or sliding item, is told as the release tells
it: by its loop, one step call per move. With k withheld the instance carries composer's open
loop instead (`puzzles.open_step_calls`: up to `max_steps` steps, each step text call asking
for `prompts.STOP_MARKER` once the goal is reached, then the release's final call), the marker
as its `STOP` request, and no image count: nothing the system is shown depends on k.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from composer.benchmarks.unimmmu import prompts as P
from composer.benchmarks.unimmmu.puzzles import DEFAULT_MAX_STEPS, open_step_calls
from composer.benchmarks.unimmmu.records import ImagePart as ItemImage
from composer.benchmarks.unimmmu.records import Item, Task
from composer.core.images import ImageStore
from composer.core.instance import (
    REWRITE,
    STOP,
    Axis,
    CallSpec,
    ImagePart,
    Instance,
    OutputSpec,
    References,
    TextPart,
)

BENCHMARK = "uni-mmmu"
KEPT_TEXT = "model_text.txt"
"""Where the release keeps the text it scores, in a case folder."""

AXIS_OF: dict[Task, Axis] = {
    Task.MAZE: Axis.GEU,
    Task.SLIDING: Axis.GEU,
    Task.GEOMETRY: Axis.GEU,
    Task.JIGSAW: Axis.GEU,
    Task.SCIENCE: Axis.UEG,
    Task.CODE: Axis.UEG,
}


def item_of(instance: Instance) -> Item:
    """The Uni-MMMU item an instance was made from (scorers only: it holds the references)."""
    return Item.model_validate(instance.references.data["item"])


def to_instance(
    item: Item, images: ImageStore, *, withhold_k: bool = False, max_steps: int = DEFAULT_MAX_STEPS
) -> Instance:
    """The instance a system is run on for `item`.

    With `withhold_k`, an item whose k the release tells (maze, sliding) gets the open loop of
    `puzzles.open_step_calls` (at most `max_steps` steps, ended by the system with
    `prompts.STOP_MARKER`, the instance's `STOP` request), `OutputSpec.images_told` False and
    no image count. Other items, and every item without it, are the release's, unchanged.
    """
    where = f"Uni-MMMU {item.task.value}/{item.id}"
    context = tuple(
        ImagePart(image=images.put_file(part.path, where=where))
        if isinstance(part, ItemImage)
        else TextPart(text=part.text)
        for part in item.context
    )
    # Told, unless this item's k is the release's to tell and the run withholds it.
    k_given = not (item.expected.k_given and withhold_k)
    item_calls = item.calls if k_given else open_step_calls(item, max_steps)
    calls = tuple(
        CallSpec(
            output=call.output,
            suffix=call.suffix,
            feed_back=call.feed_back,
            label=call.label,
            kept=call.saved_as is not None
            and (call.output == "image" or call.saved_as == KEPT_TEXT),
        )
        for call in item_calls
    )
    requests = {}
    first_text = next((c for c in item.calls if c.output == "text"), None)
    if AXIS_OF[item.task] is Axis.UEG and first_text is not None:
        # decompose-then-generate: the reasoner answers the script's text call on the context's
        # text (its explanation or summary); a generator then draws that text.
        texts = [p.text for p in context if isinstance(p, TextPart)]
        requests[REWRITE] = "\n".join([*texts, first_text.suffix])
    if not k_given:
        requests[STOP] = P.STOP_MARKER
    return Instance(
        id=f"{item.task.value}-{item.id}",
        axis=AXIS_OF[item.task],
        category=item.task.value,
        benchmark=BENCHMARK,
        context=context,
        requests=requests,
        calls=calls,
        output=OutputSpec(
            text=True, images=item.expected.images if k_given else 0, images_told=k_given
        ),
        references=References(data={"item": item.model_dump(mode="json")}),
        source=where,
        meta={"task": item.task.value, "case": item.id},
    )


def load_instances(
    folder: Path,
    images: ImageStore,
    *,
    tasks: Iterable[str] | None = None,
    limit: int | None = None,
    withhold_k: bool = False,
    max_steps: int | None = None,
) -> list[Instance]:
    """Every selected item of a Uni-MMMU data folder as an instance, `limit` per task.

    `withhold_k` runs maze and sliding in composer's open loop (see `to_instance`), at most
    `max_steps` steps (None: `puzzles.DEFAULT_MAX_STEPS`).
    """
    from composer.benchmarks.unimmmu.files import load_folder

    cap = DEFAULT_MAX_STEPS if max_steps is None else max_steps
    found = load_folder(folder, tasks=tasks)
    instances = []
    for items in found.values():
        for item in items[:limit]:
            instances.append(to_instance(item, images, withhold_k=withhold_k, max_steps=cap))
    return instances
