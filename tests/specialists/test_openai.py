"""`openai/...` and `openai-compatible/...` through the real SDK against a loopback fake."""

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import (
    DROP,
    EMPTY,
    MALFORMED,
    REFUSAL,
    FakeOpenAI,
    caption_png,
    rate_limit,
    read_caption,
    server_error,
    slow,
)

from composer.core.errors import ConfigError, PrerequisiteError, RefusalError, SpecialistError
from composer.core.images import ImageRef, ImageStore
from composer.evaluation.calls import CallLayer, CallSettings
from composer.evaluation.store_writer import RunWriter
from composer.specialists import Capability, create
from composer.specialists.base import ImageReply
from composer.specialists.openai_api import (
    OpenAISpecialist,
    capabilities_of,
    from_reply,
    image_request,
    to_request,
)

FAST = CallSettings(retry_initial_s=0.01, retry_max_s=0.05, max_attempts=4, timeout_s=0.5)


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai-key-123")
    return "sk-test-openai-key-123"


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(lambda prompt, captions: f"saw {captions} for {prompt!r}") as server:
        yield server


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "images")


@pytest.fixture
def cat(store: ImageStore) -> ImageRef:
    return store.put_png(caption_png("a cat"))


def model(name: str, fake: FakeOpenAI, store: ImageStore, **options: object) -> OpenAISpecialist:
    built = create(name, {"base_url": fake.url + "/v1", **options}, images=store)
    assert isinstance(built, OpenAISpecialist)
    return built


def test_request_translation_is_pure() -> None:
    png = caption_png("x")
    request = to_request("gpt-4.1", "What is it?", [png], max_tokens=5, detail="low")
    url = f"data:image/png;base64,{base64.b64encode(png).decode()}"
    assert request == {
        "model": "gpt-4.1",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": url, "detail": "low"}},
                    {"type": "text", "text": "What is it?"},
                ],
            }
        ],
        "max_completion_tokens": 5,
    }
    assert to_request("m", "hi")["messages"][0]["content"] == "hi"
    assert "response_format" not in image_request("gpt-image-1", "p")
    assert image_request("dall-e-3", "p", b64_json=True)["response_format"] == "b64_json"


def test_reply_translation_reads_text_usage_and_refusals() -> None:
    from openai.types.chat import ChatCompletion

    def completion(content: str | None, refusal: str | None = None, finish: str = "stop") -> object:
        message = {"role": "assistant", "content": content, "refusal": refusal}
        return ChatCompletion.model_validate(
            {
                "id": "c",
                "object": "chat.completion",
                "created": 0,
                "model": "m",
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
            }
        )

    reply = from_reply("openai/m", completion("Yes."))  # type: ignore[arg-type]
    assert reply.text == "Yes." and (reply.usage.input_tokens, reply.usage.output_tokens) == (7, 3)
    with pytest.raises(RefusalError, match="I won't"):
        from_reply("openai/m", completion(None, "I won't"))  # type: ignore[arg-type]
    with pytest.raises(RefusalError, match="content filter"):
        from_reply("openai/m", completion("", finish="content_filter"))  # type: ignore[arg-type]


def test_capabilities_by_model_family() -> None:
    assert capabilities_of("gpt-image-1") == {Capability.GENERATE, Capability.EDIT}
    assert capabilities_of("dall-e-3") == {Capability.GENERATE}
    assert capabilities_of("gpt-4.1") == {Capability.UNDERSTAND}


async def test_understand_sends_images_as_png_data_urls(
    fake: FakeOpenAI, store: ImageStore, cat: ImageRef, key: str
) -> None:
    gpt = model("openai/gpt-4.1", fake, store, max_tokens=64, temperature=0)
    reply = await gpt.understand("What animal?", [cat])
    assert reply.text == "saw ['a cat'] for 'What animal?'"
    assert reply.request_id == "req_1"
    assert reply.usage.cost_usd == pytest.approx(100 * 2.0 / 1e6 + 10 * 8.0 / 1e6)
    sent = fake.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {key}"
    assert sent.json == to_request(
        "gpt-4.1", "What animal?", [store.read_bytes(cat)], max_tokens=64, temperature=0
    )


async def test_generate_and_edit_with_gpt_image_1(
    fake: FakeOpenAI, store: ImageStore, cat: ImageRef
) -> None:
    painter = model("openai/gpt-image-1", fake, store, size="1024x1024", quality="medium")
    drawn = await painter.generate("a red circle", seed=3)
    assert read_caption(store.read_bytes(drawn)) == "a red circle"
    # What the call used comes back with the image, not through a side channel.
    assert isinstance(drawn, ImageReply) and drawn.usage.cost_usd is not None
    assert fake.requests[0].path == "/v1/images/generations"
    assert fake.requests[0].json == {
        "model": "gpt-image-1",
        "prompt": "a red circle",
        "n": 1,
        "size": "1024x1024",
        "quality": "medium",
    }
    edited = await painter.edit("make it blue", [cat, drawn], seed=3)
    assert read_caption(store.read_bytes(edited)) == "edit(make it blue) of [a cat; a red circle]"
    sent = fake.requests[1]
    assert sent.path == "/v1/images/edits"
    assert sent.form == {"prompt": "make it blue", "model": "gpt-image-1", "n": "1"} | {
        "size": "1024x1024",
        "quality": "medium",
    }
    files = sent.files["image[]"]
    assert [(name, kind) for name, kind, _ in files] == [
        ("image_0.png", "image/png"),
        ("image_1.png", "image/png"),
    ]
    assert files[0][2] == store.read_bytes(cat)


async def test_dall_e_3_asks_for_base64_and_cannot_edit(
    fake: FakeOpenAI, store: ImageStore, cat: ImageRef
) -> None:
    dalle = model("openai/dall-e-3", fake, store)
    assert not dalle.supports(Capability.EDIT)
    await dalle.generate("a cube", seed=0)
    assert fake.requests[0].json["response_format"] == "b64_json"
    with pytest.raises(ConfigError, match="cannot edit"):
        await dalle.edit("x", [cat], seed=0)


@pytest.mark.parametrize(
    ("fault", "error", "retryable"),
    [
        (rate_limit(retry_after=7), SpecialistError, True),
        (server_error(500), SpecialistError, True),
        (server_error(503), SpecialistError, True),
        (server_error(400), SpecialistError, False),
        (server_error(401), SpecialistError, False),
        (MALFORMED, SpecialistError, True),
        (DROP, SpecialistError, True),
        (REFUSAL, RefusalError, False),
    ],
)
async def test_each_fault_becomes_the_right_error(
    fake: FakeOpenAI, store: ImageStore, fault: object, error: type, retryable: bool, key: str
) -> None:
    gpt = model("openai/gpt-4.1", fake, store)
    fake.enqueue(fault)  # type: ignore[arg-type]
    with pytest.raises(error) as caught:
        await gpt.understand("hello")
    assert type(caught.value) is error
    assert caught.value.is_retryable is retryable
    assert str(caught.value).startswith("openai/gpt-4.1: ")
    assert key not in str(caught.value)
    if fault == rate_limit(retry_after=7):
        assert caught.value.is_rate_limit and caught.value.retry_after == 7
        assert caught.value.request_id == "req_1"


async def test_empty_replies(fake: FakeOpenAI, store: ImageStore) -> None:
    fake.enqueue(EMPTY, EMPTY)
    assert (await model("openai/gpt-4.1", fake, store).understand("x")).text == ""
    with pytest.raises(SpecialistError, match="no image") as caught:
        await model("openai/gpt-image-1", fake, store).generate("x", seed=0)
    assert caught.value.is_retryable


async def test_image_refusal_is_a_refusal(fake: FakeOpenAI, store: ImageStore) -> None:
    fake.enqueue(REFUSAL)
    with pytest.raises(RefusalError, match="safety system"):
        await model("openai/gpt-image-1", fake, store).generate("x", seed=0)


async def test_sdk_timeout_is_retryable(fake: FakeOpenAI, store: ImageStore, key: str) -> None:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(api_key=key, base_url=fake.url + "/v1", max_retries=0, timeout=0.2)
    gpt = OpenAISpecialist("gpt-4.1", OpenAISpecialist.Options(), client, images=store)  # type: ignore[arg-type]
    fake.enqueue(slow(1.0))
    with pytest.raises(SpecialistError, match="timed out") as caught:
        await gpt.understand("x")
    assert caught.value.is_retryable


async def test_call_layer_retries_every_transient_fault_then_caches(
    fake: FakeOpenAI, store: ImageStore, tmp_path: Path
) -> None:
    layer = CallLayer(RunWriter(tmp_path / "run"), store)
    gpt = layer.wrap(model("openai/gpt-4.1", fake, store), FAST)
    fake.enqueue(rate_limit(retry_after=0.05), server_error(502), MALFORMED)
    assert (await gpt.understand("q")).text == "saw [] for 'q'"
    assert fake.count == 4 and layer.stats.retried == 3
    fake.enqueue(slow(2.0))  # past timeout_s = 0.5: the call layer gives up and retries
    assert (await gpt.understand("q2")).text == "saw [] for 'q2'"
    assert fake.count == 6
    assert (await gpt.understand("q")).text == "saw [] for 'q'"
    assert fake.count == 6  # replayed from the cache


async def test_a_retry_after_past_the_cap_fails_the_call_at_once(
    fake: FakeOpenAI, store: ImageStore, tmp_path: Path
) -> None:
    layer = CallLayer(RunWriter(tmp_path / "run"), store)
    assert CallSettings().max_retry_after_s == 120
    gpt = layer.wrap(model("openai/gpt-4.1", fake, store), FAST)
    fake.enqueue(rate_limit(retry_after=86400))
    started = asyncio.get_running_loop().time()
    with pytest.raises(SpecialistError) as caught:
        await gpt.understand("q")
    assert asyncio.get_running_loop().time() - started < 5
    assert str(caught.value).startswith(
        "openai/gpt-4.1: the server asked to wait 86400 s before a retry, more than "
        "max_retry_after_s=120 (rate limited (HTTP 429) (request id req_1))."
    )
    assert not caught.value.is_retryable and fake.count == 1
    # A wait within the cap is honoured, here on a retry after a 5xx.
    fake.enqueue(server_error(503), rate_limit(retry_after=0.05))
    assert (await gpt.understand("q")).text == "saw [] for 'q'" and fake.count == 4
    capped = layer.wrap(
        model("openai/gpt-4.1", fake, store), FAST.model_copy(update={"max_retry_after_s": 0.01})
    )
    fake.enqueue(server_error(503), rate_limit(retry_after=0.05))
    with pytest.raises(SpecialistError, match="more than max_retry_after_s=0.01"):
        await capped.understand("q3")
    assert fake.count == 6


async def test_call_layer_does_not_retry_4xx_or_refusals(
    fake: FakeOpenAI, store: ImageStore, tmp_path: Path
) -> None:
    layer = CallLayer(RunWriter(tmp_path / "run"), store)
    gpt = layer.wrap(model("openai/gpt-4.1", fake, store), FAST)
    fake.enqueue(server_error(404), REFUSAL)
    with pytest.raises(SpecialistError, match="HTTP 404"):
        await gpt.understand("a")
    with pytest.raises(RefusalError):
        await gpt.understand("b")
    with pytest.raises(RefusalError):
        await gpt.understand("b")  # the refusal is cached, not re-sent
    assert fake.count == 2


async def test_image_cost_reaches_the_call_store(
    fake: FakeOpenAI, store: ImageStore, tmp_path: Path
) -> None:
    layer = CallLayer(RunWriter(tmp_path / "run"), store)
    price = {"input_per_mtok": 1.0, "per_image": 0.5}
    painter = layer.wrap(model("openai/gpt-image-1", fake, store, price=price), FAST)
    await painter.generate("a dot", seed=1)
    await layer.store.flush()
    row = layer.store.reader.call_rows()[0]
    assert row["cost_usd"] == pytest.approx(50 * 1.0 / 1e6 + 0.5)  # 50 input tokens, 1 image


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch, store: ImageStore) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(PrerequisiteError, match="OPENAI_API_KEY is not set"):
        create("openai/gpt-4.1", {}, images=store)
    monkeypatch.setenv("MY_KEY", "sk-from-my-var-0000")
    built = create("openai/gpt-4.1", {"api_key_env": "MY_KEY"}, images=store)
    assert built.client.api_key == "sk-from-my-var-0000"  # type: ignore[attr-defined]
    with pytest.raises(PrerequisiteError, match="OTHER_KEY is not set"):
        create("openai/gpt-4.1", {"api_key_env": "OTHER_KEY"}, images=store)


def test_key_file_and_sdk_base_url_variable(
    monkeypatch: pytest.MonkeyPatch, store: ImageStore, tmp_path: Path
) -> None:
    (tmp_path / "key").write_text("sk-from-file-00000\n")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    built = create("openai/gpt-4.1", {"api_key_file": str(tmp_path / "key")}, images=store)
    assert built.client.api_key == "sk-from-file-00000"  # type: ignore[attr-defined]
    assert str(built.client.base_url) == "http://127.0.0.1:9/v1/"  # type: ignore[attr-defined]
    with pytest.raises(PrerequisiteError, match="cannot read its key file"):
        create("openai/gpt-4.1", {"api_key_file": str(tmp_path / "nope")}, images=store)


def test_options_are_strict(store: ImageStore) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="colour"):
        create("openai/gpt-4.1", {"colour": "red"}, images=store)


def test_cache_identity_ignores_transport(store: ImageStore) -> None:
    a = create("openai/gpt-4.1", {"base_url": "http://127.0.0.1:1/v1"}, images=store)
    b = create("openai/gpt-4.1", {"base_url": "http://127.0.0.1:2/v1"}, images=store)
    assert a.describe() == b.describe()
    assert "api_key" not in str(a.describe())


async def test_compatible_server_needs_a_base_url_and_gets_no_openai_key(
    fake: FakeOpenAI, store: ImageStore, cat: ImageRef, key: str
) -> None:
    with pytest.raises(ConfigError, match="base_url"):
        create("openai-compatible/qwen2.5-vl", {}, images=store)
    vlm = model("openai-compatible/Qwen/Qwen2.5-VL-7B-Instruct", fake, store)
    assert vlm.capabilities == {Capability.UNDERSTAND}
    await vlm.understand("What?", [cat])
    sent = fake.requests[0]
    assert sent.json["model"] == "Qwen/Qwen2.5-VL-7B-Instruct"
    assert key not in sent.headers.get("authorization", "")
    painter = model(
        "openai-compatible/flux",
        fake,
        store,
        capabilities=["generate"],
        api_key_env="OPENAI_API_KEY",
    )
    await painter.generate("a tree", seed=0)
    assert fake.requests[1].json["response_format"] == "b64_json"
    assert fake.requests[1].headers["authorization"] == f"Bearer {key}"


async def test_a_benchmarks_own_layout_goes_out_as_laid_out(
    fake: FakeOpenAI, store: ImageStore, cat: ImageRef, tmp_path: Path
) -> None:
    """Uni-MMMU's judge calls as its release sends them: a system message of their own, then
    the user message's texts and images in their order (the code summary check is text, image,
    text), with the release's token limit; the flattened prompt is what other adapters get."""
    from composer.benchmarks.unimmmu.judged import VL_MODEL, JudgeRequest

    picture = tmp_path / "cat.png"
    picture.write_bytes(store.read_bytes(cat))
    request = JudgeRequest(VL_MODEL, "Be strict.", ("Compare:", picture, "Candidate: a cat"), 512)
    assert request.flat_prompt == "Be strict.\n\nCompare:\n\nCandidate: a cat"
    gpt = model("openai-compatible/qwen", fake, store)
    await gpt.understand(request.flat_prompt, [cat], options=request.call_options())
    sent = fake.requests[0].json
    assert sent["max_completion_tokens"] == 512
    system, user = sent["messages"]
    assert system == {"role": "system", "content": "Be strict."}
    assert [part["type"] for part in user["content"]] == ["text", "image_url", "text"]
    assert user["content"][0]["text"] == "Compare:" and user["content"][2]["text"] == (
        "Candidate: a cat"
    )
    assert user["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    # The proof judge's 32767 new tokens are left to the server (it refuses more than its
    # context); with no system message, none is sent.
    proof = JudgeRequest(VL_MODEL, None, ("Prove it.",), 32767, thinking=True)
    assert proof.call_options() == {"parts": [{"text": "Prove it."}]}
    with pytest.raises(ValueError, match="neither a text nor one of the call's images"):
        to_request("m", "p", [], parts=[{"image": 0}])
