"""Every hosted provider retries the same transient faults, through its real SDK and fake."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import (
    DROP,
    MALFORMED,
    TRUNCATE,
    FakeAnthropic,
    FakeGemini,
    FakeOpenAI,
    FakeServer,
    Fault,
    rate_limit,
    server_error,
    slow,
)

from composer.core.errors import SpecialistError
from composer.core.images import ImageStore
from composer.evaluation.calls import CallLayer, CallSettings
from composer.evaluation.store_writer import RunWriter
from composer.specialists import create

PROVIDERS = {
    "openai/gpt-4.1": (FakeOpenAI, "/v1"),
    "anthropic/claude-sonnet-4-6": (FakeAnthropic, ""),
    "gemini/gemini-2.5-pro": (FakeGemini, ""),
}
TRANSIENT = {
    "dropped connection": DROP,
    "body cut mid-way": TRUNCATE,
    "timeout": slow(2.0),
    "429": rate_limit(retry_after=0.01),
    "500": server_error(500),
    "503": server_error(503),
    "malformed body": MALFORMED,
}
FAST = CallSettings(retry_initial_s=0.01, retry_max_s=0.02, max_attempts=3, timeout_s=0.5)


@pytest.fixture(params=sorted(PROVIDERS))
def provider(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, FakeServer, str]]:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.setenv(name, "test-key-0000000000")
    for name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    fake_class, suffix = PROVIDERS[request.param]
    with fake_class(lambda prompt, captions: "fine") as fake:
        yield request.param, fake, fake.url + suffix


@pytest.mark.parametrize("fault", TRANSIENT.values(), ids=list(TRANSIENT))
async def test_every_provider_retries_the_same_transient_faults(
    provider: tuple[str, FakeServer, str], fault: Fault, tmp_path: Path
) -> None:
    name, fake, url = provider
    images = ImageStore(tmp_path / "images")
    model = create(name, {"base_url": url}, images=images)
    if fault.kind != "slow":  # the adapter alone: a retryable error in the call layer's terms
        fake.enqueue(fault)
        with pytest.raises(SpecialistError) as caught:
            await model.understand("q")
        assert caught.value.is_retryable, str(caught.value)
        assert str(caught.value).startswith(f"{name}: ")
    layer = CallLayer(RunWriter(tmp_path / "run"), images)
    fake.enqueue(fault)
    before = fake.count
    assert (await layer.wrap(model, FAST).understand("q")).text == "fine"
    assert fake.count - before == 2 and layer.stats.retried == 1
    await model.aclose()


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "inf"}, float("inf")),  # past max_retry_after_s: the call fails at once
        ({"retry-after": "0"}, None),
        ({"retry-after": "-5"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after-ms": "0"}, None),
        ({"retry-after-ms": "0", "retry-after": "1"}, 1.0),  # the whole seconds, not nothing
        ({"retry-after-ms": "soon", "retry-after": "3"}, 3.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),  # a date already past
        ({"retry-after": "soon, please"}, None),
    ],
)
def test_a_retry_after_that_gives_no_wait_is_no_instruction(
    headers: dict[str, str], seconds: float | None
) -> None:
    """0, a negative, NaN or a past date would send every retry at once (a server that kept
    sending one used up max_attempts in milliseconds): the call layer's backoff applies."""
    from composer.specialists.hosted import retry_after_seconds

    assert retry_after_seconds(headers) == seconds
