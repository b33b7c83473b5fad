"""`anthropic/...` through the real SDK against a loopback fake of the Messages API."""

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import EMPTY, MALFORMED, REFUSAL, FakeAnthropic, caption_png, rate_limit, server_error

from composer.core.errors import PrerequisiteError, RefusalError, SpecialistError
from composer.core.images import ImageStore
from composer.evaluation.calls import CallLayer, CallSettings
from composer.evaluation.store_writer import RunWriter
from composer.specialists import Capability, create
from composer.specialists.anthropic_api import AnthropicSpecialist, to_request

KEY = "sk-ant-test-key-456"
NAME = "anthropic/claude-sonnet-4-6"


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(lambda prompt, captions: f"{prompt} / {captions}") as server:
        yield server


def claude(fake: FakeAnthropic, store: ImageStore, **options: object) -> AnthropicSpecialist:
    built = create(NAME, {"base_url": fake.url, **options}, images=store)
    assert isinstance(built, AnthropicSpecialist)
    return built


async def test_images_go_as_base64_blocks_before_the_text(
    fake: FakeAnthropic, tmp_path: Path
) -> None:
    store = ImageStore(tmp_path)
    png = caption_png("a fox")
    ref = store.put_png(png)
    model = claude(fake, store, max_tokens=50)
    assert model.capabilities == {Capability.UNDERSTAND}
    reply = await model.understand("Which animal?", [ref])
    assert reply.text == "Which animal? / ['a fox']" and reply.request_id == "req_1"
    assert reply.usage.cost_usd == pytest.approx(100 * 3 / 1e6 + 10 * 15 / 1e6)
    sent = fake.requests[0]
    assert sent.path == "/v1/messages" and KEY in (
        sent.headers.get("x-api-key", "") + sent.headers.get("authorization", "")
    )
    assert sent.json == {
        "model": "claude-sonnet-4-6",
        "max_tokens": 50,
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/png",
                            "data": base64.b64encode(png).decode(),
                        },
                    },
                    {"type": "text", "text": "Which animal?"},
                ],
            }
        ],
    }
    assert to_request("m", "hi")["max_tokens"] == 1024


async def test_faults(fake: FakeAnthropic, tmp_path: Path) -> None:
    model = claude(fake, ImageStore(tmp_path))
    fake.enqueue(rate_limit(3), server_error(529), server_error(400), MALFORMED, REFUSAL, EMPTY)
    with pytest.raises(SpecialistError) as caught:
        await model.understand("x")
    assert caught.value.is_rate_limit and caught.value.retry_after == 3
    assert caught.value.request_id == "req_1"
    with pytest.raises(SpecialistError) as caught:
        await model.understand("x")
    assert caught.value.is_retryable and "529" in str(caught.value)
    with pytest.raises(SpecialistError) as caught:
        await model.understand("x")
    assert not caught.value.is_retryable and "HTTP 400" in str(caught.value)
    with pytest.raises(SpecialistError, match="malformed") as caught:
        await model.understand("x")
    assert caught.value.is_retryable
    with pytest.raises(RefusalError, match="refusal"):
        await model.understand("x")
    assert (await model.understand("x")).text == ""


async def test_through_the_call_layer(fake: FakeAnthropic, tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "images")
    layer = CallLayer(RunWriter(tmp_path / "run"), store)
    settings = CallSettings(retry_initial_s=0.01, retry_max_s=0.02, max_attempts=3)
    model = layer.wrap(claude(fake, store), settings)
    fake.enqueue(rate_limit(0.01), server_error(500))
    assert (await model.understand("q")).text == "q / []"
    assert fake.count == 3
    fake.enqueue(server_error(500), server_error(500), server_error(500))
    with pytest.raises(SpecialistError, match="HTTP 500"):
        await model.understand("r")
    assert fake.count == 6  # bounded: max_attempts = 3


def test_missing_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(PrerequisiteError, match="ANTHROPIC_API_KEY is not set"):
        create(NAME, {}, images=ImageStore(tmp_path))


def test_sdk_base_url_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    built = create(NAME, {}, images=ImageStore(tmp_path))
    assert str(built.client.base_url).startswith("http://127.0.0.1:9")  # type: ignore[attr-defined]
