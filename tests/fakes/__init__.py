"""Loopback fakes of the hosted providers' HTTP APIs, with enqueueable faults, and a network guard.

with FakeOpenAI() as fake:
    model = create("openai/gpt-4.1", {"base_url": fake.url + "/v1"}, images=store)
    fake.enqueue(rate_limit(retry_after=1), server_error())
    ...
    assert fake.requests[-1].json["model"] == "gpt-4.1"
"""

from .providers import (
    FakeAnthropic,
    FakeGemini,
    FakeOpenAI,
    broken_png,
    caption_png,
    read_caption,
)
from .server import (
    DROP,
    EMPTY,
    MALFORMED,
    REFUSAL,
    TRUNCATE,
    FakeServer,
    Fault,
    Request,
    broken_image,
    rate_limit,
    server_error,
    slow,
)

__all__ = [
    "DROP",
    "EMPTY",
    "MALFORMED",
    "REFUSAL",
    "TRUNCATE",
    "FakeAnthropic",
    "FakeGemini",
    "FakeOpenAI",
    "FakeServer",
    "Fault",
    "Request",
    "broken_image",
    "broken_png",
    "caption_png",
    "rate_limit",
    "read_caption",
    "server_error",
    "slow",
]
