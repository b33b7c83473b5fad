"""`gemini/...` through google-genai against a loopback fake of generateContent."""

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import (
    DROP,
    EMPTY,
    MALFORMED,
    REFUSAL,
    TRUNCATE,
    FakeGemini,
    Fault,
    caption_png,
    rate_limit,
    read_caption,
    server_error,
    slow,
)

from composer.core.errors import ConfigError, PrerequisiteError, RefusalError, SpecialistError
from composer.core.images import ImageStore
from composer.evaluation.calls import CallLayer, CallSettings
from composer.evaluation.store_writer import RunWriter
from composer.specialists import Capability, create
from composer.specialists.gemini_api import GeminiSpecialist

KEY = "gemini-test-key-789"


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_GEMINI_BASE_URL", raising=False)
    monkeypatch.setenv("GEMINI_API_KEY", KEY)


@pytest.fixture
def fake() -> Iterator[FakeGemini]:
    with FakeGemini(lambda prompt, captions: f"{prompt} / {captions}") as server:
        yield server


def gemini(name: str, fake: FakeGemini, store: ImageStore, **options: object) -> GeminiSpecialist:
    built = create(name, {"base_url": fake.url, **options}, images=store)
    assert isinstance(built, GeminiSpecialist)
    return built


async def test_understand_sends_inline_png_parts(fake: FakeGemini, tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    png = caption_png("a tree")
    ref = store.put_png(png)
    pro = gemini("gemini/gemini-2.5-pro", fake, store, max_tokens=99, temperature=0)
    assert pro.capabilities == {Capability.UNDERSTAND}
    reply = await pro.understand("What is it?", [ref])
    assert reply.text == "What is it? / ['a tree']" and reply.request_id == "resp_1"
    assert reply.usage.cost_usd == pytest.approx(100 * 1.25 / 1e6 + 10 * 10 / 1e6)
    sent = fake.requests[0]
    assert sent.path == "/v1beta/models/gemini-2.5-pro:generateContent" or sent.path.endswith(
        "/models/gemini-2.5-pro:generateContent"
    )
    assert sent.headers["x-goog-api-key"] == KEY
    [part_image, part_text] = sent.json["contents"][0]["parts"]
    data = part_image["inlineData"]["data"]
    assert base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)) == png
    assert part_image["inlineData"].get("mimeType", part_image["inlineData"].get("mime_type")) == (
        "image/png"
    )
    assert part_text == {"text": "What is it?"}
    assert sent.json["generationConfig"] == {"maxOutputTokens": 99, "temperature": 0.0}


async def test_nano_banana_is_unified(fake: FakeGemini, tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    banana = gemini("gemini/gemini-2.5-flash-image", fake, store, aspect_ratio="1:1")
    assert banana.capabilities == set(Capability)
    drawn = await banana.generate("a blue square", seed=11)
    assert read_caption(store.read_bytes(drawn)) == "a blue square"
    config = fake.requests[0].json["generationConfig"]
    assert config["seed"] == 11 and config["responseModalities"] == ["TEXT", "IMAGE"]
    assert config["imageConfig"] == {"aspectRatio": "1:1"}
    edited = await banana.edit("rotate it", [drawn], seed=11)
    assert read_caption(store.read_bytes(edited)) == "edit(rotate it) of [a blue square]"
    assert len(fake.requests[1].json["contents"][0]["parts"]) == 2
    assert (await banana.understand("what?", [edited])).text.startswith("what? / ['edit(")


async def test_text_model_cannot_draw(fake: FakeGemini, tmp_path: Path) -> None:
    pro = gemini("gemini/gemini-2.5-pro", fake, ImageStore(tmp_path))
    with pytest.raises(ConfigError, match="cannot generate"):
        await pro.generate("x", seed=0)


async def test_faults(fake: FakeGemini, tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    pro = gemini("gemini/gemini-2.5-pro", fake, store)
    fake.enqueue(rate_limit(2), server_error(503), server_error(403), MALFORMED, REFUSAL, EMPTY)
    with pytest.raises(SpecialistError) as caught:
        await pro.understand("x")
    assert caught.value.is_rate_limit and caught.value.retry_after == 2
    with pytest.raises(SpecialistError, match="HTTP 503") as caught:
        await pro.understand("x")
    assert caught.value.is_retryable
    with pytest.raises(SpecialistError, match="HTTP 403") as caught:
        await pro.understand("x")
    assert not caught.value.is_retryable and KEY not in str(caught.value)
    with pytest.raises(SpecialistError, match="malformed") as caught:
        await pro.understand("x")
    assert caught.value.is_retryable
    with pytest.raises(RefusalError, match="SAFETY"):
        await pro.understand("x")
    assert (await pro.understand("x")).text == ""
    banana = gemini("gemini/gemini-2.5-flash-image", fake, store)
    fake.enqueue(EMPTY)
    with pytest.raises(SpecialistError, match="no image") as caught:
        await banana.generate("x", seed=0)
    assert caught.value.is_retryable


@pytest.mark.parametrize("fault", [DROP, TRUNCATE], ids=["dropped", "truncated"])
async def test_a_lost_connection_is_retried(fake: FakeGemini, tmp_path: Path, fault: Fault) -> None:
    # google-genai reads through aiohttp, whose errors the adapter once passed on as final.
    store = ImageStore(tmp_path / "images")
    pro = gemini("gemini/gemini-2.5-pro", fake, store)
    fake.enqueue(fault)
    with pytest.raises(SpecialistError, match="connection failed or was cut") as caught:
        await pro.understand("x")
    assert caught.value.is_retryable and KEY not in str(caught.value)
    layer = CallLayer(RunWriter(tmp_path / "run"), store)
    settings = CallSettings(retry_initial_s=0.01, retry_max_s=0.02)
    fake.enqueue(fault)
    assert (await layer.wrap(pro, settings).understand("q")).text == "q / []"
    assert layer.stats.retried == 1


async def test_slow_reply_is_retried_by_the_call_layer(fake: FakeGemini, tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "images")
    layer = CallLayer(RunWriter(tmp_path / "run"), store)
    settings = CallSettings(retry_initial_s=0.01, retry_max_s=0.02, timeout_s=0.3)
    pro = layer.wrap(gemini("gemini/gemini-2.5-pro", fake, store), settings)
    fake.enqueue(slow(1.0), MALFORMED)
    assert (await pro.understand("q")).text == "q / []"
    assert fake.count == 3 and layer.stats.retried == 2


def test_keys_from_either_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")
    with pytest.raises(PrerequisiteError, match="GEMINI_API_KEY or GOOGLE_API_KEY is not set"):
        create("gemini/gemini-2.5-pro", {}, images=ImageStore(tmp_path))
    monkeypatch.setenv("GOOGLE_API_KEY", "google-key-000000")
    assert create("gemini/gemini-2.5-pro", {}, images=ImageStore(tmp_path))
