"""A reply no agent can use is never cached as a success: empty replies are asked again, and a
reply an agent could not parse is sent again on `--retry-failed` instead of being replayed."""

import asyncio
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import EMPTY, FakeGemini, FakeOpenAI
from mockbench import write_fixture
from PIL import Image
from typer.testing import CliRunner

from composer.cli import app
from composer.core.errors import EmptyReplyError
from composer.core.images import ImageStore
from composer.evaluation.calls import CallLayer, CallSettings
from composer.evaluation.store import RunStore
from composer.evaluation.store_writer import RunWriter
from composer.specialists import create

cli = CliRunner()
FAST = CallSettings(retry_initial_s=0.01, retry_max_s=0.02, max_attempts=3)


class Scripted:
    """A Gemini that answers RealUnify prompts, except that chosen prompts get a bad reply the
    first `times` times they are asked."""

    def __init__(self, bad: dict[str, tuple[str, int]]) -> None:
        self.bad = bad
        self.asked: Counter[str] = Counter()

    def __call__(self, prompt: str, captions: list[str]) -> str:
        for pattern, (reply, times) in self.bad.items():
            if re.search(pattern, prompt):
                self.asked[pattern] += 1
                if self.asked[pattern] <= times:
                    return reply
        found = re.search(r"image generation: draw (\d+)\+(\d+) (\w+) Please", prompt)
        if found:
            return f"draw {int(found[1]) + int(found[2])} {found[3]}"
        found = re.search(r"image generation: (draw \d+ \w+) Please", prompt)
        if found:
            return found[1]
        found = re.search(r"Are there (\d+) (\w+)\?", prompt)
        if found:
            return "Yes." if captions == [f"draw {found[1]} {found[2]}"] else "No."
        if "Is there a dragon?" in prompt:
            return "No."
        found = re.search(r"question \w+ (\d)\?", prompt)
        return "ABCD"[int(found[1])] if found else "I cannot tell."


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai-key-123")
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-test-key-789")
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


@pytest.fixture
def openai(env: None) -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def write_config(tmp_path: Path, openai: FakeOpenAI, gemini: FakeGemini) -> Path:
    data = write_fixture(tmp_path / "data")
    fast = "retry_initial_s = 0.01\nretry_max_s = 0.02\nmax_attempts = 3"
    config = tmp_path / "oracle.toml"
    config.write_text(
        f"""seed = 3
concurrency = 4
[benchmark]
path = "{data}"
[judge]
model = "gemini/gemini-2.5-pro"
[systems.oracle]
ueg = "decompose-then-generate"
geu = "generate-then-reason"
[systems.oracle.roles]
reasoner = "gemini/gemini-2.5-pro"
generator = "openai/gpt-image-1"
editor = "openai/gpt-image-1"
[models."openai/gpt-image-1"]
base_url = "{openai.url}/v1"
{fast}
[models."gemini/gemini-2.5-pro"]
base_url = "{gemini.url}"
{fast}
"""
    )
    return config


def statuses(run_dir: Path) -> dict[str, str]:
    store = RunStore(run_dir)
    found = {r.instance: r.status for r in store.results()}
    store.close()
    return found


def test_an_empty_reply_is_asked_again_and_never_cached(openai: FakeOpenAI, tmp_path: Path) -> None:
    with FakeGemini(lambda prompt, captions: "fine") as gemini:
        images = ImageStore(tmp_path / "images")
        layer = CallLayer(RunWriter(tmp_path / "run"), images)
        model = layer.wrap(
            create("gemini/gemini-2.5-pro", {"base_url": gemini.url}, images=images), FAST
        )
        gemini.enqueue(EMPTY)
        assert asyncio.run(model.understand("q")).text == "fine"
        assert gemini.count == 2 and layer.stats.retried == 1
        gemini.enqueue(EMPTY, EMPTY, EMPTY)
        with pytest.raises(EmptyReplyError, match="gemini/gemini-2.5-pro: returned an empty reply"):
            asyncio.run(model.understand("q2"))
        assert gemini.count == 5
        asyncio.run(layer.store.flush())
        assert len(layer.store.reader.call_rows()) == 1  # only "fine" was stored
        assert asyncio.run(model.understand("q2")).text == "fine"  # asked again, not replayed
        assert gemini.count == 6


def test_a_judge_that_asks_again_itself_gets_each_empty_reply_at_once(
    openai: FakeOpenAI, tmp_path: Path
) -> None:
    # The judge's own 15 re-asks are the retries: the call layer must not retry each of them
    # again with backoff (15 x max_attempts requests). The judge says so by asking through the
    # view `reporting_empty()` returns, not through shared state the call layer reads.
    from composer.agents.verify import EMPTY_REPLY_RETRIES, ask_text
    from composer.specialists.base import AsksAgainOnEmpty

    with FakeGemini(lambda prompt, captions: "") as gemini:
        images = ImageStore(tmp_path / "images")
        layer = CallLayer(RunWriter(tmp_path / "run"), images)
        model = layer.wrap(
            create("gemini/gemini-2.5-pro", {"base_url": gemini.url}, images=images), FAST
        ).as_role("judge")
        assert isinstance(model, AsksAgainOnEmpty)
        ref = images.put(Image.new("RGB", (8, 8), "red"))
        assert asyncio.run(ask_text(model, ref, "Is it red?")) == ""
        assert gemini.count == EMPTY_REPLY_RETRIES
        assert layer.stats.retried == 0
        # The role's own view still retries an empty reply with backoff.
        with pytest.raises(EmptyReplyError):
            asyncio.run(model.understand("plain question"))
        assert gemini.count == EMPTY_REPLY_RETRIES + FAST.max_attempts


def test_instances_failed_by_empty_or_unparseable_replies_recover_on_retry_failed(
    openai: FakeOpenAI, tmp_path: Path
) -> None:
    script = Scripted(
        {
            # The rewrite agent cannot read '""' (AgentOutputError), once.
            r"image generation: draw 1\+2 circles Please": ('""', 1),
            # Empty past the call layer's three attempts, then fine.
            r"question mental_tracking 1\?": ("", 3),
        }
    )
    with FakeGemini(script) as gemini:
        config = write_config(tmp_path, openai, gemini)
        run_dir = tmp_path / "run"
        first = cli.invoke(app, ["run", str(config), "--out", str(run_dir), "--quiet"])
        assert first.exit_code == 1, first.output  # failed tasks
        failed = {i for i, s in statuses(run_dir).items() if s == "failed"}
        assert len(failed) == 2
        store = RunStore(run_dir)
        errors = {r.instance: r.error for r in store.results() if r.status == "failed"}
        texts = [row for row in store.call_rows() if row["method"] == "understand"]
        store.close()
        assert any("agent 'rewrite'" in str(e) for e in errors.values())
        assert any("returned an empty reply" in str(e) for e in errors.values())
        assert len(texts) == len({row["key"] for row in texts})

        again = cli.invoke(
            app, ["run", str(config), "--out", str(run_dir), "--quiet", "--retry-failed"]
        )
        assert again.exit_code == 0, again.output
        assert set(statuses(run_dir).values()) <= {"ok", "unscored"}
        # Each bad reply was asked for again, not replayed from the cache.
        assert script.asked[r"image generation: draw 1\+2 circles Please"] == 2
        assert script.asked[r"question mental_tracking 1\?"] == 4
