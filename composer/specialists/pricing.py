"""Prices of hosted models, and the meter through which image calls report what they used.

The table holds list prices in USD at the time of writing; they change, so a run file can
override any model's price in its `[models]` table:

    [models."openai/gpt-image-1"]
    price = { input_per_mtok = 5.0, output_per_mtok = 40.0, per_image = 0.042 }

A model id matches the longest table entry it starts with, so a dated snapshot
(`gpt-4.1-2025-04-14`) is priced like its family (`gpt-4.1`). A model with no entry and no
override has no cost (`None`), which the report shows as unknown rather than zero.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from composer.specialists.base import Usage

MAX_PRICE = 1_000_000.0
"""The highest price composer accepts, in USD per million tokens or per image."""


class Price(BaseModel):
    """What a model charges: USD per million input and output tokens, and per image made."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    # Bounded so that a cost summed over a whole run stays a finite number.
    input_per_mtok: float = Field(default=0.0, ge=0, le=MAX_PRICE)
    output_per_mtok: float = Field(default=0.0, ge=0, le=MAX_PRICE)
    per_image: float = Field(default=0.0, ge=0, le=MAX_PRICE)

    def cost(self, usage: Usage) -> float:
        """The USD cost of `usage` at this price."""
        return (
            usage.input_tokens * self.input_per_mtok / 1e6
            + usage.output_tokens * self.output_per_mtok / 1e6
            + usage.images * self.per_image
        )


PRICES: dict[str, Price] = {
    "openai/gpt-4.1": Price(input_per_mtok=2.0, output_per_mtok=8.0),
    "openai/gpt-4.1-mini": Price(input_per_mtok=0.4, output_per_mtok=1.6),
    "openai/gpt-4.1-nano": Price(input_per_mtok=0.1, output_per_mtok=0.4),
    "openai/gpt-4o": Price(input_per_mtok=2.5, output_per_mtok=10.0),
    "openai/gpt-4o-mini": Price(input_per_mtok=0.15, output_per_mtok=0.6),
    "openai/gpt-5": Price(input_per_mtok=1.25, output_per_mtok=10.0),
    "openai/gpt-5-mini": Price(input_per_mtok=0.25, output_per_mtok=2.0),
    "openai/o3": Price(input_per_mtok=2.0, output_per_mtok=8.0),
    # Image models: per_image is a 1024x1024 image at medium (gpt-image-1) or standard quality.
    "openai/gpt-image-1": Price(input_per_mtok=5.0, per_image=0.042),
    "openai/gpt-image-1-mini": Price(input_per_mtok=2.0, per_image=0.011),
    "openai/dall-e-3": Price(per_image=0.04),
    "openai/dall-e-2": Price(per_image=0.02),
    "anthropic/claude-opus-4": Price(input_per_mtok=15.0, output_per_mtok=75.0),
    "anthropic/claude-sonnet-4": Price(input_per_mtok=3.0, output_per_mtok=15.0),
    "anthropic/claude-haiku-4-5": Price(input_per_mtok=1.0, output_per_mtok=5.0),
    "anthropic/claude-3-5-haiku": Price(input_per_mtok=0.8, output_per_mtok=4.0),
    "gemini/gemini-2.5-pro": Price(input_per_mtok=1.25, output_per_mtok=10.0),
    "gemini/gemini-2.5-flash": Price(input_per_mtok=0.3, output_per_mtok=2.5),
    "gemini/gemini-2.5-flash-lite": Price(input_per_mtok=0.1, output_per_mtok=0.4),
    # Nano Banana bills output images as tokens; per_image is that charge for one image.
    "gemini/gemini-2.5-flash-image": Price(input_per_mtok=0.3, per_image=0.039),
}


def price_of(name: str, override: Price | None = None) -> Price | None:
    """The price of `provider/model`: the override, else the longest matching table entry."""
    if override is not None:
        return override
    matches = [key for key in PRICES if name == key or name.startswith(key + "-")]
    return PRICES[max(matches, key=len)] if matches else None


def priced(usage: Usage, price: Price | None) -> Usage:
    """`usage` with its `cost_usd` filled in (left `None` when the price is unknown)."""
    if price is None:
        return usage
    return usage.model_copy(update={"cost_usd": price.cost(usage)})
