"""`transformers/<hub-id-or-path>`: a local VLM (or text-only LM) as an Understander.

A model whose type transformers lists for image-text-to-text (Qwen2.5-VL, LLaVA, InternVL, ...)
loads through `AutoProcessor` and `AutoModelForImageTextToText`; a text-only causal LM through
`AutoTokenizer` and `AutoModelForCausalLM` (it can rewrite prompts, not look at images). Prompts
go through the model's own chat template; decoding is greedy unless `temperature` is set. A
Janus checkpoint is a unified model that also draws: `composer.specialists.janus_local`.

    [models."transformers/Qwen/Qwen2.5-VL-7B-Instruct"]
    max_new_tokens = 512
    max_batch = 32

Concurrent requests are batched (`composer.specialists.batching`) into one left-padded
`generate` call.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch
import transformers
from pydantic import BaseModel, ConfigDict, Field
from transformers.models.auto import modeling_auto

from composer.core.errors import ComposerError, ConfigError, PrerequisiteError, SpecialistError
from composer.core.images import ImageRef, ImageStore
from composer.specialists.base import CallOptions, Capability, TextReply, Usage
from composer.specialists.batching import MicroBatcher
from composer.specialists.local_common import (
    LOADING,
    BatchedSpecialist,
    LocalOptions,
    call_settings,
    describe_local,
    not_loaded,
    pick_device,
    pick_dtype,
    read_marker,
    resolve_source,
    torch_provenance,
)

if TYPE_CHECKING:
    from PIL import Image


class TransformersOptions(LocalOptions):
    """Options of a `transformers/...` model (all optional)."""

    max_new_tokens: int = Field(default=256, ge=1)
    min_new_tokens: int = Field(default=0, ge=0)
    temperature: float = Field(default=0.0, ge=0)
    """0 decodes greedily (the default); above 0 samples."""
    top_p: float | None = Field(default=None, gt=0, le=1)
    system_prompt: str | None = None


class _PerCall(BaseModel):
    """The options a single call may override; other call option keys only vary the cache key."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    max_new_tokens: int
    min_new_tokens: int
    temperature: float
    top_p: float | None


@dataclass(frozen=True)
class _Ask:
    prompt: str
    images: tuple[Image.Image, ...]
    settings: _PerCall


UNIFIED_MODEL_TYPES: dict[str, str] = {"janus": "composer.specialists.janus_local:JanusSpecialist"}
"""Config model types that understand and draw (`JanusForConditionalGeneration`), and the
`module:Class` of their adapter: a lazy name table, like the registry's, because that adapter
subclasses this one (an import here would be a cycle)."""


def model_kind(where: str, config: Mapping[str, Any]) -> str:
    """`vlm` or `text` from a config.json; raise for a model type that cannot answer prompts."""
    model_type = str(config.get("model_type", ""))
    if model_type == "multi_modality":
        raise ConfigError(
            where,
            "is a Janus checkpoint in DeepSeek's original format, which needs its own code "
            "(model type 'multi_modality').",
            "Use the transformers conversion, e.g. 'transformers/deepseek-community/Janus-Pro-7B'.",
        )
    if model_type in modeling_auto.MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES:
        return "vlm"
    if model_type in modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        return "text"
    raise ConfigError(
        where,
        f"model type {model_type or '(none)'!r} is neither an image-text-to-text model nor a "
        f"causal LM in transformers {transformers.__version__}.",
        "Use a VLM such as 'transformers/Qwen/Qwen2.5-VL-7B-Instruct'.",
    )


class TransformersSpecialist(BatchedSpecialist):
    """A transformers model behind `Understander`, batched across concurrent calls."""

    provider = "transformers"
    extra = "local"
    Options = TransformersOptions
    supported: ClassVar[frozenset[Capability]] = frozenset({Capability.UNDERSTAND})
    """What every model of this class can do (a subclass that also draws adds GENERATE)."""

    def __init__(
        self,
        model: str,
        options: TransformersOptions,
        *,
        images: ImageStore,
        source: str,
        kind: str,
    ) -> None:
        """Prepare (no weights are read until `load`)."""
        super().__init__(model, options, images=images, capabilities=self.supported)
        self.opts = options
        self.source = source
        self.kind = kind
        self.processor: Any = None
        self.tokenizer: Any = None
        self.lm: Any = None
        self.device = torch.device("cpu")
        self.batcher = MicroBatcher(
            self._run_batch,
            max_batch=options.max_batch,
            window_s=options.batch_window_ms / 1000,
            name=f"transformers-{kind}",
        )

    @classmethod
    def from_name(
        cls, model: str, options: Mapping[str, Any], *, images: ImageStore
    ) -> TransformersSpecialist:
        """Find the model and its kind for `transformers/<model>`; raise if it cannot load.

        The config decides the class: a Janus checkpoint becomes a `JanusSpecialist` (an
        Understander and a Generator), so a role it cannot fill fails when the run starts.
        """
        where = f"transformers/{model}"
        finding = LocalOptions(
            **{k: v for k, v in options.items() if k in LocalOptions.model_fields}
        )
        source = resolve_source(where, model, "config.json", finding)
        config = read_marker(where, source, "config.json", finding)
        unified = UNIFIED_MODEL_TYPES.get(str(config.get("model_type")))
        if unified is not None:
            module_name, _, class_name = unified.partition(":")
            both: Any = getattr(importlib.import_module(module_name), class_name)
            built: TransformersSpecialist = both(
                model, both.Options(**options), images=images, source=source
            )
            return built
        opts = TransformersOptions(**options)
        return cls(model, opts, images=images, source=source, kind=model_kind(where, config))

    def describe(self) -> dict[str, Any]:
        """Name and the options that change results (not the batching ones)."""
        return describe_local(self.name, self.opts)

    def provenance(self) -> dict[str, Any]:
        """Device, dtype and attention kernel of the loaded model."""
        return torch_provenance(self.lm, self.device)

    async def load(self) -> None:
        """Read the processor and weights onto the device (once)."""
        if self.lm is None:
            await asyncio.to_thread(self._load)

    def _load(self) -> None:
        self.device = pick_device(self.opts.device)
        common: dict[str, Any] = {
            "trust_remote_code": self.opts.trust_remote_code,
            "local_files_only": self.opts.local_files_only,
            "revision": self.opts.revision,
        }
        try:
            if self.kind == "vlm":
                processor = transformers.AutoProcessor.from_pretrained(self.source, **common)
                tokenizer = getattr(processor, "tokenizer", None)
                model_cls: Any = transformers.AutoModelForImageTextToText
            else:
                processor = tokenizer = transformers.AutoTokenizer.from_pretrained(
                    self.source, **common
                )
                model_cls = transformers.AutoModelForCausalLM
            with LOADING:
                lm = model_cls.from_pretrained(
                    self.source, dtype=pick_dtype(self.opts.dtype, self.device), **common
                )
        except ComposerError:
            raise
        except (OSError, ValueError, RuntimeError, KeyError, ImportError) as exc:
            raise PrerequisiteError(
                self.name,
                f"could not load the model ({type(exc).__name__}: {str(exc).strip()[:400]}).",
                "Check that the folder holds the weights, the config and the processor files, "
                f"or download it again: hf download {self.model}",
            ) from exc
        if tokenizer is None or getattr(processor, "chat_template", None) is None:
            raise PrerequisiteError(
                self.name,
                "has no chat template (it is a base model, or its processor files are missing).",
                "Use an instruction-tuned model, or add a chat_template.jinja to its folder.",
            )
        # Batched generation appends new tokens on the right, so prompts are padded on the left.
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        lm.to(self.device)
        lm.eval()
        self.processor, self.tokenizer, self.lm = processor, tokenizer, lm

    async def understand(
        self,
        prompt: str,
        images: Sequence[ImageRef] = (),
        *,
        options: CallOptions | None = None,
    ) -> TextReply:
        """Answer `prompt` about `images` (in that order) through the chat template."""
        if self.lm is None:
            raise not_loaded(self.name)
        if images and self.kind == "text":
            raise SpecialistError(
                self.name,
                f"is a text-only model and was shown {len(images)} image(s).",
                "Bind a VLM to roles that look at images.",
            )
        pictures = tuple(self.images.open(ref).convert("RGB") for ref in images)
        settings = call_settings(_PerCall, self.opts, options)
        key: Hashable = settings.model_dump_json()
        reply: TextReply = await self.batcher.submit(_Ask(prompt, pictures, settings), key=key)
        return reply

    def _messages(self, ask: _Ask) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        if self.opts.system_prompt:
            messages.append({"role": "system", "content": self.opts.system_prompt})
        if self.kind == "text":
            messages.append({"role": "user", "content": ask.prompt})
        else:
            content: list[dict[str, Any]] = [{"type": "image"} for _ in ask.images]
            content.append({"type": "text", "text": ask.prompt})
            messages.append({"role": "user", "content": content})
        return messages

    def _run_batch(self, requests: Sequence[Any]) -> Sequence[Any]:
        """Run one batch the micro-batcher gathered (a subclass adds other kinds of request)."""
        return self._run(requests)

    def _run(self, asks: Sequence[_Ask]) -> list[TextReply]:
        settings = asks[0].settings  # one batch shares one key, so one set of settings
        try:
            texts = [
                self.processor.apply_chat_template(
                    self._messages(a), add_generation_prompt=True, tokenize=False
                )
                for a in asks
            ]
            pictures = [image for a in asks for image in a.images]
            if self.kind == "vlm":
                inputs = self.processor(
                    text=texts, images=pictures or None, padding=True, return_tensors="pt"
                )
            else:
                inputs = self.tokenizer(
                    texts, padding=True, return_tensors="pt", add_special_tokens=False
                )
            inputs = inputs.to(self.device)
            sampling: dict[str, Any] = {"do_sample": settings.temperature > 0}
            if settings.temperature > 0:
                sampling["temperature"] = settings.temperature
                if settings.top_p is not None:
                    sampling["top_p"] = settings.top_p
            with torch.inference_mode():
                output = self.lm.generate(
                    **inputs,
                    max_new_tokens=settings.max_new_tokens,
                    min_new_tokens=settings.min_new_tokens or None,
                    pad_token_id=self.tokenizer.pad_token_id,
                    **sampling,
                )
        except Exception as exc:
            raise SpecialistError(
                self.name,
                f"generation failed on a batch of {len(asks)} ({type(exc).__name__}: {exc}).",
            ) from exc
        prompt_length = inputs["input_ids"].shape[1]
        new_tokens = output[:, prompt_length:]
        replies = []
        for row, mask in zip(new_tokens, inputs["attention_mask"], strict=True):
            count = _generated_length(row.tolist(), self._stop_ids())
            text = self.tokenizer.decode(row[:count], skip_special_tokens=True)
            usage = Usage(input_tokens=int(mask.sum()), output_tokens=count)
            replies.append(TextReply(text=text.strip(), usage=usage))
        return replies

    def _stop_ids(self) -> set[int]:
        ids = {self.tokenizer.pad_token_id}
        eos = self.lm.generation_config.eos_token_id
        ids.update(eos if isinstance(eos, list) else [eos])
        return {i for i in ids if i is not None}


def _generated_length(tokens: list[int], stop: set[int]) -> int:
    """Tokens up to and including the first stop token (later ones are padding)."""
    for index, token in enumerate(tokens):
        if token in stop:
            return index + 1
    return len(tokens)
