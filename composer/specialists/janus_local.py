"""`transformers/<Janus checkpoint>`: Janus-Pro, one local model that understands and draws.

`JanusForConditionalGeneration` answers prompts about images like any VLM (the understanding
path of `TransformersSpecialist`) and draws by predicting VQ image tokens one at a time with
classifier-free guidance (CFG), which a VQ decoder turns into pixels:

    prompt -> chat template + <begin_of_image> -> rows [conditional ; unconditional]
    repeat for each of the image's tokens (576 for Janus-Pro's 384 px):
        language model step (KV cache) -> generation head -> uncond + w * (cond - uncond)
        -> sample with the request's own generator -> generation embeddings -> next step
    image tokens -> VQ decoder -> image

The sampling loop is ours, not `generate(generation_mode="image")`: that one samples from
torch's global random state, so an image would depend on the batch it ran in. Here every
request draws its uniforms from its own `torch.Generator` seeded with the request's seed, and
prompts of different lengths are padded on the left with their attention mask and positions,
so a seed gives the same image alone or in any batch.

    [models."transformers/deepseek-community/Janus-Pro-7B"]
    guidance = 5.0          # CFG weight; 1 turns guidance (and its second pass) off
    image_temperature = 1.0 # 0 picks the likeliest token at each step
    max_batch = 16

Understanding and drawing requests go through one micro-batcher (one worker thread, so the
model runs one batch at a time); a batch holds one kind of request with one set of settings.
Janus-Pro does not edit images, so binding it to an editor role fails when the run starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from composer.core.errors import PrerequisiteError, SpecialistError
from composer.core.images import ImageRef, ImageStore
from composer.specialists.base import CallOptions, Capability
from composer.specialists.local_common import call_settings, not_loaded
from composer.specialists.transformers_local import TransformersOptions, TransformersSpecialist


class JanusOptions(TransformersOptions):
    """Options of a Janus model: those of every transformers model, plus how it draws."""

    guidance: float = Field(default=5.0, ge=1)
    """Classifier-free guidance weight (Janus-Pro's default 5); 1 draws without guidance."""
    image_temperature: float = Field(default=1.0, ge=0)
    """Sampling temperature of image tokens (Janus-Pro's default 1); 0 is greedy."""


class _DrawSettings(BaseModel):
    """The drawing options a single call may override; other keys only vary the cache key."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    guidance: float = Field(ge=1)
    image_temperature: float = Field(ge=0)


@dataclass(frozen=True)
class _Draw:
    prompt: str
    seed: int
    settings: _DrawSettings


@dataclass(frozen=True)
class _Tokens:
    """The special token ids that the drawing prompt and its unconditional twin use."""

    bos: int | None
    begin_image: int
    pad: int


class JanusSpecialist(TransformersSpecialist):
    """Janus behind `Understander` and `Generator`, batched across concurrent calls."""

    Options = JanusOptions
    supported = frozenset({Capability.UNDERSTAND, Capability.GENERATE})

    def __init__(
        self, model: str, options: JanusOptions, *, images: ImageStore, source: str
    ) -> None:
        """Prepare (no weights are read until `load`)."""
        super().__init__(model, options, images=images, source=source, kind="vlm")
        self.janus_opts = options
        self.tokens: _Tokens | None = None
        self.image_token_count = 0

    def _load(self) -> None:
        super()._load()
        try:
            self.tokens, self.image_token_count = self._drawing_parts()
        except PrerequisiteError:
            self.lm = None  # not half-loaded: the run stops here, and a retry loads afresh
            raise

    def _drawing_parts(self) -> tuple[_Tokens, int]:
        """The special tokens and image size of a loaded Janus; raise if it cannot draw."""
        lm, processor = self.lm, self.processor
        core: Any = getattr(lm, "model", None)
        missing = [
            part
            for part, owner in (
                ("language_model", core),
                ("generation_head", core),
                ("vqmodel", core),
                ("prepare_embeddings_for_image_generation", lm),
                ("image_start_token", processor),
                ("image_processor", processor),
            )
            if not hasattr(owner, part)
        ]
        if missing:
            raise PrerequisiteError(
                self.name,
                f"loaded as {type(lm).__name__} with {type(processor).__name__}, which lack "
                f"{', '.join(missing)}, so it cannot draw.",
                "Use a Janus checkpoint converted for transformers, e.g. "
                "'transformers/deepseek-community/Janus-Pro-7B', with its processor files.",
            )
        begin_image = self.tokenizer.convert_tokens_to_ids(processor.image_start_token)
        pad = lm.generation_config.pad_token_id
        if pad is None:
            pad = self.tokenizer.pad_token_id
        if begin_image is None or begin_image == self.tokenizer.unk_token_id or pad is None:
            raise PrerequisiteError(
                self.name,
                f"its tokenizer has no id for the begin-of-image token "
                f"{processor.image_start_token!r} or no padding token.",
                "Use the tokenizer files that came with the checkpoint.",
            )
        count = int(core.vision_model.config.num_image_tokens)
        rows, columns = core.vqmodel.quantize.quant_state_dims
        if rows * columns != count:
            raise PrerequisiteError(
                self.name,
                f"its config asks for {count} image tokens, but its VQ decoder reads a "
                f"{rows}x{columns} grid.",
                "Check vision_config.num_image_tokens against vq_config in config.json.",
            )
        return _Tokens(self.tokenizer.bos_token_id, int(begin_image), int(pad)), count

    async def generate(
        self, prompt: str, *, seed: int, options: CallOptions | None = None
    ) -> ImageRef:
        """Draw `prompt`, sampling image tokens with a generator seeded with `seed`."""
        if self.lm is None:
            raise not_loaded(self.name)
        settings = call_settings(_DrawSettings, self.janus_opts, options)
        key: Hashable = ("draw", settings.model_dump_json())
        image: Image.Image = await self.batcher.submit(_Draw(prompt, seed, settings), key=key)
        # PNG encoding off the model's thread, so it overlaps the next batch's forward pass.
        return await asyncio.to_thread(self.images.put, image)

    def _run_batch(self, requests: Sequence[Any]) -> Sequence[Any]:
        if isinstance(requests[0], _Draw):  # one batch holds one kind (keys differ by kind)
            return self._draw(requests)
        return super()._run_batch(requests)

    def _draw(self, draws: Sequence[_Draw]) -> list[Image.Image]:
        settings = draws[0].settings  # one batch shares one key, so one set of settings
        try:
            texts = [
                self.processor.apply_chat_template(
                    [{"role": "user", "content": [{"type": "text", "text": d.prompt}]}],
                    add_generation_prompt=True,
                    tokenize=False,
                )
                for d in draws
            ]
            # generation_mode="image" appends <begin_of_image>; padding goes on the left.
            inputs = self.processor(
                text=texts, generation_mode="image", padding=True, return_tensors="pt"
            )
            with torch.inference_mode():
                tokens = self._sample(
                    inputs["input_ids"].to(self.device),
                    inputs["attention_mask"].to(self.device),
                    [torch.Generator("cpu").manual_seed(d.seed) for d in draws],
                    settings,
                )
                pixels = self.lm.model.vqmodel.decode(tokens)
            images = self._pictures(pixels)
        except Exception as exc:
            raise SpecialistError(
                self.name,
                f"drawing failed on a batch of {len(draws)} ({type(exc).__name__}: {exc}).",
            ) from exc
        return images

    def _pictures(self, pixels: torch.Tensor) -> list[Image.Image]:
        """Decoded pixels (batch, channels, height, width) back to images.

        The inverse of the image processor's normalisation, computed here because the PIL
        processor's `postprocess` reads only channels-first arrays one at a time.
        """
        settings = self.processor.image_processor
        mean = torch.tensor(settings.image_mean, dtype=torch.float32).view(1, -1, 1, 1)
        std = torch.tensor(settings.image_std, dtype=torch.float32).view(1, -1, 1, 1)
        values = (pixels.float().cpu() * std + mean) / settings.rescale_factor
        # Truncated, not rounded, to uint8, as DeepSeek's and transformers' own code do.
        channels_last = values.clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        return [Image.fromarray(array) for array in channels_last]

    def _sample(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        generators: list[torch.Generator],
        settings: _DrawSettings,
    ) -> torch.Tensor:
        """The image tokens for each prompt row: (batch, image_token_count)."""
        from transformers import StaticCache

        assert self.tokens is not None
        batch, count = input_ids.shape[0], self.image_token_count
        is_guided = settings.guidance > 1
        if is_guided:
            # Janus's unconditional prompt: the same row with every token but BOS and
            # <begin_of_image> replaced by padding (still attended, as in DeepSeek's code).
            kept = input_ids == self.tokens.begin_image
            if self.tokens.bos is not None:
                kept |= input_ids == self.tokens.bos
            unconditional = input_ids.masked_fill(~kept, self.tokens.pad)
            input_ids = torch.cat([input_ids, unconditional])
            attention_mask = torch.cat([attention_mask, attention_mask])
        # Uniforms drawn up front on the CPU: the same seed gives the same draws on any device.
        uniforms = torch.stack([torch.rand(count, generator=g) for g in generators], dim=1)
        uniforms = uniforms.to(self.device)
        language_model = self.lm.model.language_model
        embeds = self.lm.get_input_embeddings()(input_ids)
        positions = (attention_mask.long().cumsum(-1) - 1).masked_fill(attention_mask == 0, 0)
        # Preallocated: a growing cache would copy every layer's keys and values at each step.
        cache = StaticCache(config=language_model.config, max_cache_len=input_ids.shape[1] + count)
        chosen = torch.empty((batch, count), dtype=torch.long, device=self.device)
        for step in range(count):
            hidden = language_model(
                inputs_embeds=embeds,
                attention_mask=attention_mask,
                position_ids=positions,
                cache=cache,
                use_cache=True,
            ).last_hidden_state[:, -1]
            logits = self.lm.model.generation_head(hidden).float()
            if is_guided:
                conditional, unconditional_logits = logits.split(batch)
                logits = unconditional_logits + settings.guidance * (
                    conditional - unconditional_logits
                )
            chosen[:, step] = _pick(logits, uniforms[step], settings.image_temperature)
            if step == count - 1:
                break
            following = chosen[:, step : step + 1]
            if is_guided:
                following = torch.cat([following, following])
            embeds = self.lm.prepare_embeddings_for_image_generation(following)
            attention_mask = torch.cat(
                [attention_mask, attention_mask.new_ones((len(embeds), 1))], 1
            )
            positions = positions[:, -1:] + 1
        return chosen


def _pick(logits: torch.Tensor, uniforms: torch.Tensor, temperature: float) -> torch.Tensor:
    """One token per row: the likeliest at temperature 0, else inverse-CDF sampling."""
    if temperature == 0:
        return logits.argmax(-1)
    probabilities = torch.softmax(logits / temperature, dim=-1)
    cumulative = probabilities.cumsum(-1)
    index = torch.searchsorted(cumulative, uniforms.unsqueeze(-1)).squeeze(-1)
    return index.clamp(max=logits.shape[-1] - 1)
