"""transformers/<path>: a tiny real LLaVA-style VLM and a text-only LM through the adapter."""

import asyncio
import shutil
from pathlib import Path

import pytest
from PIL import Image
from tiny_models import TinyModels, tiny_models

from composer.core.errors import ConfigError, PrerequisiteError, SpecialistError
from composer.core.images import ImageStore
from composer.specialists.base import Capability, TextReply, Understander
from composer.specialists.registry import create
from composer.specialists.transformers_local import TransformersSpecialist


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    return tiny_models(tmp_path_factory.getbasetemp() / "tiny-models")


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "images")


async def loaded(path: Path, store: ImageStore, **options: object) -> TransformersSpecialist:
    specialist = create(f"transformers/{path}", {"max_new_tokens": 6, **options}, images=store)
    assert isinstance(specialist, TransformersSpecialist)
    await specialist.load()
    return specialist


async def test_a_vlm_answers_about_images(tiny, store) -> None:
    vlm = await loaded(tiny.vlm, store)
    assert vlm.capabilities == {Capability.UNDERSTAND} and isinstance(vlm, Understander)
    red = store.put(Image.new("RGB", (20, 30), (255, 0, 0)))
    reply = await vlm.understand("is it red ?", [red])
    assert isinstance(reply, TextReply) and isinstance(reply.text, str)
    # 16 patches + the CLS feature, then "user : ... is it red ? assistant : "
    assert reply.usage.input_tokens == 17 + 8
    assert 1 <= reply.usage.output_tokens <= 6


async def test_greedy_replies_do_not_depend_on_the_batch(tiny, store) -> None:
    vlm = await loaded(tiny.vlm, store, max_batch=8)
    images = [store.put(Image.new("RGB", (16, 16), (40 * i, 0, 0))) for i in range(3)]
    asks = [("is it red ?", [images[0]]), ("draw a cat", []), ("is it blue ?", images[1:])]
    alone = [await vlm.understand(p, i) for p, i in asks]
    together = await asyncio.gather(*(vlm.understand(p, i) for p, i in asks))
    assert [r.text for r in together] == [r.text for r in alone]
    assert vlm.stats.sizes == {1: 3, 3: 1}


async def test_n_concurrent_requests_are_one_generate_call(tiny, store) -> None:
    vlm = await loaded(tiny.vlm, store, max_batch=16, batch_window_ms=20)
    await asyncio.gather(*(vlm.understand(f"is it {c} ?") for c in ["red", "blue"] * 5))
    assert vlm.stats.batches == 1 and vlm.stats.sizes == {10: 1}


async def test_per_call_options_split_batches(tiny, store) -> None:
    lm = await loaded(tiny.lm, store, max_batch=16)
    replies = await asyncio.gather(
        lm.understand("a"), lm.understand("b", options={"max_new_tokens": 2}), lm.understand("c")
    )
    assert replies[1].usage.output_tokens <= 2
    assert lm.stats.sizes == {2: 1, 1: 1}


async def test_a_text_only_model_refuses_images(tiny, store) -> None:
    lm = await loaded(tiny.lm, store, min_new_tokens=3)
    assert (await lm.understand("is it red ?")).usage.output_tokens >= 3
    with pytest.raises(SpecialistError, match="text-only model"):
        await lm.understand("is it red ?", [store.put(Image.new("RGB", (8, 8)))])


def test_start_up_errors(tiny, store, tmp_path: Path) -> None:
    with pytest.raises(PrerequisiteError, match="no such folder"):
        create(f"transformers/{tmp_path / 'nope'}", {}, images=store)
    with pytest.raises(ConfigError, match="neither an image-text-to-text model nor a causal LM"):
        create(f"transformers/{tiny.sd / 'unet'}", {}, images=store)
    with pytest.raises(PrerequisiteError, match="hf download nobody/no-vlm"):
        create("transformers/nobody/no-vlm", {"local_files_only": True}, images=store)


def test_a_model_missing_from_the_cache_stops_at_once_where_the_hub_cannot_be_reached(
    store: ImageStore, no_network: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the internet, the hub download retried five times (23 s, a "Retrying in 4s"
    line at each try) before the same advice; the hub's name not resolving says it at once."""
    import huggingface_hub

    def download(*args: object, **kwargs: object) -> str:
        raise AssertionError("a download was tried")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    for proxy in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    with pytest.raises(PrerequisiteError, match="the hub cannot be reached") as stop:
        create("transformers/nobody/no-vlm", {}, images=store)
    assert "hf download nobody/no-vlm" in str(stop.value)
    assert len(no_network) == 1 and no_network[0].startswith("resolve ")  # the one look-up
    no_network.clear()


async def test_missing_weights_fail_in_load(tiny, store, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny.vlm, broken)
    (broken / "model.safetensors").unlink()
    specialist = create(f"transformers/{broken}", {}, images=store)
    with pytest.raises(PrerequisiteError, match="could not load the model"):
        await specialist.load()


async def test_calls_before_load_say_so(tiny, store) -> None:
    specialist = create(f"transformers/{tiny.lm}", {}, images=store)
    with pytest.raises(SpecialistError, match="not loaded"):
        await specialist.understand("hi")  # type: ignore[attr-defined]
