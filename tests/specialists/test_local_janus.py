"""transformers/<Janus>: a tiny real Janus model as one Understander and Generator."""

import asyncio
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from pydantic import ValidationError
from tiny_models import tiny_janus

from composer.core.errors import ConfigError, PrerequisiteError
from composer.core.images import ImageStore
from composer.specialists.base import Capability, Editor, Generator, TextReply, Understander
from composer.specialists.janus_local import JanusSpecialist
from composer.specialists.registry import create

SIZE = 16  # a 4x4 grid of image tokens, upsampled twice by the tiny VQ decoder


@pytest.fixture(scope="session")
def janus_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_janus(tmp_path_factory.getbasetemp() / "tiny-models")


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "images")


async def loaded(path: Path, store: ImageStore, **options: object) -> JanusSpecialist:
    specialist = create(f"transformers/{path}", {"max_new_tokens": 6, **options}, images=store)
    assert isinstance(specialist, JanusSpecialist)
    await specialist.load()
    return specialist


def pixels(store: ImageStore, ref) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.asarray(store.open(ref).convert("RGB"), dtype=np.int16)


class Forwards:
    """Counts the language model's forward passes and the rows in each (a forward hook)."""

    def __init__(self, janus: JanusSpecialist) -> None:
        self.rows: list[int] = []
        self.prompts: list[int] = []  # passes over a whole prompt (length > 1)
        self.handle = janus.lm.model.language_model.register_forward_hook(self.seen)

    def seen(self, module, args, output) -> None:  # type: ignore[no-untyped-def]
        hidden = output.last_hidden_state
        self.rows.append(hidden.shape[0])
        if hidden.shape[1] > 1:
            self.prompts.append(hidden.shape[0])


async def test_one_model_understands_and_draws(janus_path, store) -> None:
    janus = await loaded(janus_path, store)
    assert janus.capabilities == {Capability.UNDERSTAND, Capability.GENERATE}
    assert isinstance(janus, Understander) and isinstance(janus, Generator)
    assert not janus.supports(Capability.EDIT) and not isinstance(janus, Editor)
    red = store.put(Image.new("RGB", (20, 30), (255, 0, 0)))
    reply = await janus.understand("is it red ?", [red])
    assert isinstance(reply, TextReply) and isinstance(reply.text, str)
    assert reply.usage.input_tokens > 16 and 1 <= reply.usage.output_tokens <= 6  # 16 image tokens
    image = store.open(await janus.generate("draw a red circle", seed=3))
    assert image.mode == "RGB" and image.size == (SIZE, SIZE)


async def test_a_seed_gives_the_same_image_alone_or_in_a_batch(janus_path, store) -> None:
    janus = await loaded(janus_path, store, max_batch=4)
    alone = await janus.generate("a blue star", seed=5)
    # Prompts of different lengths, so the batch is padded on the left.
    requests = [("a cat", 1), ("a blue star", 5), ("draw a red circle . is it red ?", 2)]
    batch = await asyncio.gather(
        *(janus.generate(p, seed=s) for p, s in [*requests, ("a blue star", 6)])
    )
    assert janus.stats.sizes == {1: 1, 4: 1}
    assert np.abs(pixels(store, alone) - pixels(store, batch[1])).max() <= 1
    assert np.abs(pixels(store, batch[1]) - pixels(store, batch[3])).max() > 10  # seed matters
    assert len(set(batch)) == 4


async def test_greedy_drawing_matches_transformers_own_generate(janus_path, store) -> None:
    janus = await loaded(janus_path, store, image_temperature=0, guidance=3.0)
    ours = pixels(store, await janus.generate("draw a blue star", seed=0))
    # The reference: transformers' generate(generation_mode="image"), greedy, same guidance.
    lm, processor = janus.lm, janus.processor
    lm.generation_config.generation_kwargs = {
        "boi_token_id": processor.tokenizer.convert_tokens_to_ids("<begin_of_image>")
    }
    chat = [{"role": "user", "content": [{"type": "text", "text": "draw a blue star"}]}]
    text = processor.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
    inputs = processor(text=[text], generation_mode="image", return_tensors="pt")
    tokens = lm.generate(**inputs, generation_mode="image", do_sample=False, guidance_scale=3.0)
    with torch.inference_mode():
        decoded = lm.model.vqmodel.decode(tokens)
    reference = processor.postprocess(
        list(decoded.float()), return_tensors="PIL.Image.Image", input_data_format="channels_first"
    )["pixel_values"][0]
    assert np.array_equal(ours, np.asarray(reference, dtype=np.int16))


async def test_concurrent_draws_are_one_batched_forward_pass_per_token(janus_path, store) -> None:
    janus = await loaded(janus_path, store, max_batch=8, batch_window_ms=20)
    forwards = Forwards(janus)
    refs = await asyncio.gather(
        *(janus.generate(f"draw {c}", seed=i) for i, c in enumerate("ABCD"))
    )
    assert len(set(refs)) == 4 and janus.stats.sizes == {4: 1}
    # One pass over the 4 prompts and their 4 unconditional twins, then one per image token.
    assert forwards.prompts == [8] and forwards.rows == [8] * 16
    forwards.rows.clear()
    await asyncio.gather(
        *(janus.generate("a cat", seed=i, options={"guidance": 1}) for i in (1, 2))
    )
    assert forwards.rows == [2] * 16  # without guidance, no unconditional rows
    asks = await asyncio.gather(
        *(janus.understand(f"is it {c} ?") for c in ("red", "blue", "green"))
    )
    assert all(isinstance(a, TextReply) for a in asks)
    assert janus.stats.sizes == {4: 1, 2: 1, 3: 1}


async def test_drawing_settings_split_batches_and_understanding_never_joins_them(
    janus_path, store
) -> None:
    janus = await loaded(janus_path, store, max_batch=8, batch_window_ms=20)
    await asyncio.gather(
        janus.generate("a", seed=1),
        janus.generate("b", seed=2, options={"guidance": 2.0}),
        janus.generate("c", seed=3),
        janus.understand("is it red ?"),
    )
    assert sorted(janus.stats.sizes.elements()) == [1, 1, 2]


async def test_loads_once(janus_path, store) -> None:
    janus = await loaded(janus_path, store)
    model = janus.lm
    await janus.load()
    assert janus.lm is model


def test_start_up_errors(janus_path, store, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="guidance"):
        create(f"transformers/{janus_path}", {"guidance": 0.5}, images=store)
    original = tmp_path / "Janus-Pro-original"
    original.mkdir()
    (original / "config.json").write_text(json.dumps({"model_type": "multi_modality"}))
    with pytest.raises(ConfigError, match="deepseek-community/Janus-Pro-7B"):
        create(f"transformers/{original}", {}, images=store)


async def test_a_config_whose_image_tokens_do_not_fit_the_decoder_fails_in_load(
    janus_path, store, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(janus_path, broken)
    config = json.loads((broken / "config.json").read_text())
    config["vision_config"]["num_image_tokens"] = 9
    (broken / "config.json").write_text(json.dumps(config))
    janus = create(f"transformers/{broken}", {}, images=store)
    with pytest.raises(PrerequisiteError, match="9 image tokens, but its VQ decoder reads a 4x4"):
        await janus.load()
    assert janus.lm is None  # type: ignore[attr-defined]
