"""Hostile replies and addresses, through the real SDKs and their loopback fakes (issue 25).

Class 2: an image reply that is not a whole image (cut short, garbled, a PNG signature before
noise) is a transient fault: retried, never stored, cached or marked ok.
Class 7: no provider sends its key to a host other than its base_url's (a redirect is not
followed), and credentials written into a base_url never reach the run store.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from pathlib import Path

import pytest
from fakes import (
    FakeAnthropic,
    FakeGemini,
    FakeOpenAI,
    FakeServer,
    broken_image,
    broken_png,
    caption_png,
)
from fakes.server import Reply, Request
from PIL import Image

from composer.core.errors import SpecialistError
from composer.core.images import ImageRef, ImageStore
from composer.evaluation.calls import CallLayer, CallSettings
from composer.evaluation.store_writer import RunWriter
from composer.specialists import create
from composer.specialists.base import CallOptions, Capability, Options, Specialist

FAST = CallSettings(retry_initial_s=0.0, retry_max_s=0.0, max_attempts=3, timeout_s=5.0)
BROKEN = ["half", "tail", "junk", "crc"]
IMAGE_MODELS = {
    "openai/gpt-image-1 generate": ("openai/gpt-image-1", FakeOpenAI, "/v1", "generate"),
    "openai/gpt-image-1 edit": ("openai/gpt-image-1", FakeOpenAI, "/v1", "edit"),
    "gemini/gemini-2.5-flash-image generate": (
        "gemini/gemini-2.5-flash-image",
        FakeGemini,
        "",
        "generate",
    ),
    "gemini/gemini-2.5-flash-image edit": ("gemini/gemini-2.5-flash-image", FakeGemini, "", "edit"),
}


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-key-0000000000")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-key-0000000000")
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-key-0000000000")
    for name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def image_problem(data: bytes) -> str | None:
    """The test's own reading of "a whole image": Pillow verifies and decodes it, and a PNG
    ends with its end chunk."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except Exception as exc:  # noqa: BLE001 - any failure means: not whole
        return f"not a whole image ({exc})"
    if data.startswith(b"\x89PNG") and not data.endswith(b"IEND\xaeB`\x82"):
        return "not a whole image (no end chunk)"
    return None


def _stored_files_are_whole(images: ImageStore) -> None:
    for path in images.root.rglob("*.png"):
        assert image_problem(path.read_bytes()) is None, f"{path.name} is not a whole image"


async def _draw(model: object, method: str, images: ImageStore) -> ImageRef:
    if method == "generate":
        return await model.generate("a red circle", seed=1)  # type: ignore[attr-defined,no-any-return]
    source = images.put_png(caption_png("source"))
    return await model.edit("make it blue", [source], seed=1)  # type: ignore[attr-defined,no-any-return]


@pytest.mark.parametrize("how", BROKEN)
@pytest.mark.parametrize("which", list(IMAGE_MODELS))
def test_a_broken_image_reply_is_asked_again_and_never_stored(
    which: str, how: str, tmp_path: Path
) -> None:
    name, fake_class, suffix, method = IMAGE_MODELS[which]

    async def scenario(fake: FakeServer) -> None:
        images = ImageStore(tmp_path / "images")
        layer = CallLayer(RunWriter(tmp_path / "run"), images)
        model = create(name, {"base_url": fake.url + suffix}, images=images)
        tracked = layer.wrap(model, FAST)
        fake.enqueue(broken_image(how))
        before = fake.count
        ref = await _draw(tracked, method, images)
        assert fake.count - before == 2 and layer.stats.retried == 1
        assert image_problem(images.read_bytes(ref)) is None
        _stored_files_are_whole(images)
        # Always broken: the call fails, and nothing is cached or stored.
        fake.enqueue(*[broken_image(how)] * FAST.max_attempts)
        with pytest.raises(SpecialistError, match="not a whole image|not an image") as caught:
            await (
                tracked.generate("a blue square", seed=2)
                if method == "generate"
                else tracked.edit("make it green", [images.put_png(caption_png("s2"))], seed=2)
            )
        assert caught.value.is_retryable
        await layer.store.flush()
        assert len(layer.store.reader.call_rows()) == 1  # the first, good, reply only
        _stored_files_are_whole(images)
        await model.aclose()
        layer.store.close()

    with fake_class() as fake:
        asyncio.run(scenario(fake))


class _Painter(Specialist):
    """A generator of a plugin: it stores what it got, whole or not (the call layer checks)."""

    provider = "painter"

    def __init__(self, images: ImageStore, replies: Sequence[bytes]) -> None:
        super().__init__("painter", Options(), images=images, capabilities={Capability.GENERATE})
        self.replies = list(replies)
        self.calls = 0

    async def generate(
        self, prompt: str, *, seed: int, options: CallOptions | None = None
    ) -> ImageRef:
        self.calls += 1
        return self.images.put_png(self.replies.pop(0))


def _png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("how", BROKEN)
def test_the_call_layer_decodes_every_drawn_image_of_any_provider(how: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        images = ImageStore(tmp_path / "images")
        layer = CallLayer(RunWriter(tmp_path / "run"), images)
        good = _png((10, 200, 30))
        painter = _Painter(images, [broken_png(good, how), good])
        ref = await layer.wrap(painter, FAST).generate("p", seed=0)
        assert painter.calls == 2 and images.read_bytes(ref) == good
        _stored_files_are_whole(images)
        await layer.store.flush()
        [row] = layer.store.reader.call_rows()
        assert row["attempts"] == 2
        layer.store.close()

    asyncio.run(scenario())


# Class 7: a redirect never carries the key to another host.


class _Redirector(FakeServer):
    """Answers every request with a redirect to the same path on `target`."""

    def __init__(self, target: str, status: int) -> None:
        super().__init__()
        self.target = target
        self.status = status

    def handle(self, request: Request) -> Reply:
        return Reply(self.status, {}, {"location": self.target + request.path})


KEYS = ("sk-openai-key-0000000000", "sk-ant-key-0000000000", "gemini-key-0000000000")
ENDPOINTS = {
    "openai chat": ("openai/gpt-4.1", FakeOpenAI, "/v1", "understand"),
    "openai images": ("openai/gpt-image-1", FakeOpenAI, "/v1", "generate"),
    "openai-compatible": ("openai-compatible/local", FakeOpenAI, "/v1", "understand"),
    "anthropic": ("anthropic/claude-sonnet-4-6", FakeAnthropic, "", "understand"),
    "gemini (aiohttp)": ("gemini/gemini-2.5-pro", FakeGemini, "", "understand"),
    "gemini (httpx)": ("gemini/gemini-2.5-pro", FakeGemini, "", "understand"),
    "gemini images": ("gemini/gemini-2.5-flash-image", FakeGemini, "", "generate"),
}


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_no_provider_follows_a_redirect_to_another_host(
    endpoint: str, status: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, fake_class, suffix, method = ENDPOINTS[endpoint]
    if endpoint == "gemini (httpx)":  # the SDK's other HTTP library: as if aiohttp were absent
        import google.genai._api_client as genai_client

        monkeypatch.setattr(genai_client, "has_aiohttp", False)
    options = {"base_url": None}
    if name.startswith("openai-compatible/"):
        options["api_key_env"] = "OPENAI_API_KEY"

    async def scenario(redirector: FakeServer, elsewhere: FakeServer) -> None:
        images = ImageStore(tmp_path / "images")
        layer = CallLayer(RunWriter(tmp_path / "run"), images)
        model = create(name, {**options, "base_url": redirector.url + suffix}, images=images)
        tracked = layer.wrap(model, FAST)
        with pytest.raises(SpecialistError) as caught:
            if method == "understand":
                await tracked.understand("hello")
            else:
                await tracked.generate("a circle", seed=0)
        message = str(caught.value)
        assert f"redirected the request (HTTP {status}) to http://127.0.0.2:" in message, message
        assert not caught.value.is_retryable and redirector.count == 1
        assert not any(key in message for key in KEYS)
        await model.aclose()
        layer.store.close()

    with fake_class(host="127.0.0.2") as elsewhere:
        with _Redirector(elsewhere.url, status) as redirector:
            asyncio.run(scenario(redirector, elsewhere))
        assert elsewhere.requests == [], "a request (and its key) went to another host"


# Class 7: credentials in a base_url never reach the run store.


def test_credentials_in_a_base_url_are_not_stored(tmp_path: Path) -> None:
    from realunify_fixture import write_realunify
    from typer.testing import CliRunner

    from composer.cli import app

    secrets = ("alice-user", "s3cr3t-pass-1", "bob-user", "hunter2-pass-2")
    data = write_realunify(tmp_path / "RealUnify")
    with FakeGemini(lambda prompt, captions: "Yes.") as gemini, FakeOpenAI() as openai:
        host = gemini.url.removeprefix("http://")
        openai_host = openai.url.removeprefix("http://")
        run_file = tmp_path / "run.toml"
        run_file.write_text(
            "\n".join(
                [
                    "[benchmark]",
                    'name = "realunify"',
                    f'path = "{data}"',
                    "[judge]",
                    'model = "gemini/gemini-2.5-pro"',
                    "[systems.nano]",
                    'ueg = "direct"',
                    'geu = "direct"',
                    'roles = { model = "gemini/gemini-2.5-flash-image" }',
                    "[systems.composed]",
                    'ueg = "decompose-then-generate"',
                    'roles = { reasoner = "gemini/gemini-2.5-pro", generator = '
                    '"openai/gpt-image-1" }',
                    '[models."gemini/gemini-2.5-flash-image"]',
                    f'base_url = "http://{secrets[0]}:{secrets[1]}@{host}"',
                    '[models."gemini/gemini-2.5-pro"]',
                    f'base_url = "http://{secrets[2]}:{secrets[3]}@{host}"',
                    '[models."openai/gpt-image-1"]',
                    f'base_url = "http://{secrets[0]}:{secrets[3]}@{openai_host}/v1"',
                ]
            )
        )
        run_dir = tmp_path / "out"
        result = CliRunner().invoke(app, ["run", str(run_file), "--out", str(run_dir), "--quiet"])
        assert result.exit_code in (0, 1), result.output
        assert gemini.count > 0 and openai.count > 0
        report = CliRunner().invoke(app, ["report", str(run_dir), "--format", "json"])
        assert report.exit_code == 0, report.output
        again = CliRunner().invoke(app, ["run", str(run_file), "--out", str(run_dir), "--quiet"])
        assert again.exit_code == result.exit_code, again.output  # the definitions still match
    stored = b"".join(p.read_bytes() for p in run_dir.rglob("*") if p.is_file())
    for text in (result.output, report.output, again.output):
        stored += text.encode()
    for secret in secrets:
        assert secret.encode() not in stored, f"{secret} is in the run folder or the output"
    assert f"http://***@{host}".encode() in stored  # where the requests went is still recorded
