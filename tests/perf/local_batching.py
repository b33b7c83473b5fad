"""Throughput of local models through the adapters: batched, hand-written batched, one at a time.

For a diffusion pipeline (images/s) and a decoder LM (tokens/s), on one model in one process:

- `adapter x32`: 32 concurrent requests through the adapter (its micro-batcher forms batches);
- `hand loop`: the same 32 requests as a hand-written loop of batched calls on the same model;
- `one at a time`: requests through the adapter, each awaited before the next.

It prints the ratios adapter / hand loop (target >= 0.9) and adapter / one at a time (target
>= 5 on a GPU). Random weights are enough for speed.

    python tests/perf/local_batching.py              # tiny models, CPU, seconds
    python tests/perf/local_batching.py --size real  # SD-1.5-size UNet at 512 px, 20 steps,
                                                      # a 1.5B decoder (needs a GPU)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "specialists"))

from tiny_models import WORDS, _clip_tokenizer, _word_tokenizer  # noqa: E402

from composer.core.images import ImageStore  # noqa: E402
from composer.specialists.diffusers_local import DiffusersOptions, DiffusersSpecialist  # noqa: E402
from composer.specialists.transformers_local import (  # noqa: E402
    TransformersOptions,
    TransformersSpecialist,
)

N = 32


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def build_pipeline(size: str, device: torch.device, dtype: torch.dtype) -> Any:
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    tokenizer = _clip_tokenizer()
    if size == "real":  # SD-1.5 shapes: a 0.86B UNet, the 84M VAE, a CLIP-L-size text encoder
        unet_kw: dict[str, Any] = {"sample_size": 64, "cross_attention_dim": 768}
        vae_kw: dict[str, Any] = {
            "block_out_channels": (128, 256, 512, 512),
            "down_block_types": ("DownEncoderBlock2D",) * 4,
            "up_block_types": ("UpDecoderBlock2D",) * 4,
            "layers_per_block": 2,
        }
        text = CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=768,
            intermediate_size=3072,
            num_hidden_layers=12,
            num_attention_heads=12,
            max_position_embeddings=77,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        )
        tokenizer.model_max_length = 77
    else:
        unet_kw = {
            "block_out_channels": (32, 64),
            "layers_per_block": 1,
            "sample_size": 16,
            "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
            "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
            "cross_attention_dim": 32,
        }
        vae_kw = {
            "block_out_channels": (32, 64),
            "down_block_types": ("DownEncoderBlock2D",) * 2,
            "up_block_types": ("UpDecoderBlock2D",) * 2,
        }
        text = CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=16,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        )
    with torch.device(device):
        pipe = StableDiffusionPipeline(
            unet=UNet2DConditionModel(**unet_kw),
            vae=AutoencoderKL(latent_channels=4, **vae_kw),
            text_encoder=CLIPTextModel(text),
            tokenizer=tokenizer,
            scheduler=DDIMScheduler(clip_sample=False, steps_offset=1),
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )
    pipe.to(device, dtype)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def build_decoder(size: str, device: torch.device, dtype: torch.dtype) -> tuple[Any, Any]:
    from transformers import LlamaConfig, LlamaForCausalLM

    if size == "real":  # Qwen2-1.5B shapes (1.5B parameters with its 151,936-token vocabulary)
        shape: dict[str, Any] = {
            "vocab_size": 151936,
            "hidden_size": 1536,
            "intermediate_size": 8960,
            "num_hidden_layers": 28,
            "num_attention_heads": 12,
            "num_key_value_heads": 2,
        }
    else:
        shape = {
            "vocab_size": len(WORDS),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
        }
    config = LlamaConfig(
        max_position_embeddings=2048, pad_token_id=1, bos_token_id=2, eos_token_id=3, **shape
    )
    with torch.device(device):
        model = LlamaForCausalLM(config)
    model.to(dtype).eval()
    tokenizer = _word_tokenizer()
    tokenizer.padding_side = "left"
    return model, tokenizer


def rate(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


async def bench_diffusion(
    size: str, device: torch.device, dtype: torch.dtype, batch: int, sequential: int
) -> dict[str, float]:
    steps, px = (20, 512) if size == "real" else (2, 32)
    pipe = build_pipeline(size, device, dtype)
    store = ImageStore(Path(tempfile.mkdtemp()) / "images")
    options = DiffusersOptions(steps=steps, size=px, max_batch=batch, device=str(device))
    adapter = DiffusersSpecialist("perf-sd", options, images=store, source=".", cls=type(pipe))
    adapter.pipe = pipe  # the very model the hand loop uses
    prompts = [f"a red circle {i}" for i in range(N)]

    def hand_loop() -> None:
        for start in range(0, N, batch):
            chunk = list(range(start, min(N, start + batch)))
            with torch.inference_mode():
                pipe(
                    prompt=[prompts[i] for i in chunk],
                    generator=[torch.Generator("cpu").manual_seed(i) for i in chunk],
                    num_inference_steps=steps,
                    height=px,
                    width=px,
                    output_type="pil",
                )
        sync()

    hand_loop()  # warm-up: kernels, allocator
    started = time.perf_counter()
    hand_loop()
    hand = rate(N, time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(adapter.generate(p, seed=i) for i, p in enumerate(prompts)))
    batched = rate(N, time.perf_counter() - started)

    started = time.perf_counter()
    for i in range(sequential):
        await adapter.generate(prompts[i], seed=1000 + i)
    alone = rate(sequential, time.perf_counter() - started)
    sizes = dict(adapter.stats.sizes)
    adapter.batcher.close()
    return {"adapter_x32": batched, "hand_loop": hand, "one_at_a_time": alone, "batch_sizes": sizes}  # type: ignore[dict-item]


async def bench_decoder(
    size: str, device: torch.device, dtype: torch.dtype, sequential: int
) -> dict[str, float]:
    new_tokens = 128 if size == "real" else 16
    model, tokenizer = build_decoder(size, device, dtype)
    options = TransformersOptions(
        max_new_tokens=new_tokens, min_new_tokens=new_tokens, max_batch=N, device=str(device)
    )
    adapter = TransformersSpecialist(
        "perf-lm", options, images=ImageStore(tempfile.mkdtemp()), source=".", kind="text"
    )
    adapter.processor = adapter.tokenizer = tokenizer
    adapter.lm, adapter.device = model, device
    prompts = [f"draw {1 + i % 5} red circle ? answer {'ABCD'[i % 4]}" for i in range(N)]

    def hand_loop() -> int:
        texts = [
            tokenizer.apply_chat_template(
                [{"role": "user", "content": p}], add_generation_prompt=True, tokenize=False
            )
            for p in prompts
        ]
        inputs = tokenizer(texts, padding=True, return_tensors="pt", add_special_tokens=False).to(
            device
        )
        with torch.inference_mode():
            out = model.generate(
                **inputs,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )
        sync()
        return int(out.shape[0] * (out.shape[1] - inputs["input_ids"].shape[1]))

    hand_loop()
    started = time.perf_counter()
    tokens = hand_loop()
    hand = rate(tokens, time.perf_counter() - started)

    started = time.perf_counter()
    replies = await asyncio.gather(*(adapter.understand(p) for p in prompts))
    batched = rate(sum(r.usage.output_tokens for r in replies), time.perf_counter() - started)

    started = time.perf_counter()
    tokens = 0
    for p in prompts[:sequential]:
        tokens += (await adapter.understand(p)).usage.output_tokens
    alone = rate(tokens, time.perf_counter() - started)
    sizes = dict(adapter.stats.sizes)
    adapter.batcher.close()
    return {"adapter_x32": batched, "hand_loop": hand, "one_at_a_time": alone, "batch_sizes": sizes}  # type: ignore[dict-item]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["tiny", "real"], default="tiny")
    parser.add_argument("--batch", type=int, default=16, help="diffusion batch (both loops)")
    parser.add_argument("--sequential", type=int, default=4, help="requests one at a time")
    parser.add_argument("--only", choices=["diffusion", "decoder"], default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cpu":
        torch.set_num_threads(1)  # small CPU boxes: the default pool contends with itself
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
    print(f"device: {name}, size: {args.size}, dtype: {dtype}, torch {torch.__version__}")
    figures: dict[str, Any] = {"device": name, "size": args.size}
    lm_dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    runs: dict[str, Callable[[], Coroutine[Any, Any, dict[str, float]]]] = {
        "diffusion_images_per_s": lambda: bench_diffusion(
            args.size, device, dtype, args.batch, args.sequential
        ),
        "decoder_tokens_per_s": lambda: bench_decoder(args.size, device, lm_dtype, args.sequential),
    }
    for key, bench in runs.items():
        if args.only is not None and not key.startswith(args.only):
            continue
        try:
            figures[key] = asyncio.run(bench())
        except Exception as exc:  # report the other benchmark all the same
            print(f"{key}: failed: {type(exc).__name__}: {exc}")
        if device.type == "cuda":
            torch.cuda.empty_cache()
    for key in ("diffusion_images_per_s", "decoder_tokens_per_s"):
        if key not in figures:
            continue
        f = figures[key]
        print(
            f"{key}: adapter x{N} {f['adapter_x32']:.2f}, hand loop {f['hand_loop']:.2f}, "
            f"one at a time {f['one_at_a_time']:.2f}; adapter/hand "
            f"{f['adapter_x32'] / f['hand_loop']:.2f}x (target >= 0.9), adapter/alone "
            f"{f['adapter_x32'] / f['one_at_a_time']:.1f}x (target >= 5); "
            f"batches {f['batch_sizes']}"
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()
