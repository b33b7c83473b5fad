r"""Real-size figures on a GPU (issue 27): batching at real size and the pipeline end to end.

Every model is built from a config object with random weights (nothing is downloaded), directly
on the device: `--size real` builds the published architectures' sizes on CUDA in bf16,
`--size tiny` the test suite's tiny configs on the CPU in float32 (seconds; this is how the
script itself is tested). Each measurement runs in its own process under a time box, so one
that hangs or runs out of memory costs its own figures only. Each figure is a ratio against a
baseline measured in the same run:

1. `diffusers/` generator, SD-1.5-size UNet (0.86B; VAE, CLIP-L-size text encoder), 512 px,
   20 steps, guidance 7.5: 32 requests in flight through the adapter (its micro-batcher)
   against a hand-written batched diffusers loop on the same pipeline (goal >= 0.9x) and
   against the adapter one request at a time (goal >= 5x). Images/s.
2. `transformers/` VLM, LLaVA-1.5-7B size (CLIP ViT-L/14-336 + a Llama-2-7B decoder; the
   448 px image is resized to 336, 576 image tokens): judge-shaped yes/no questions
   (RealUnify's judge prompt), 4 new tokens each, 32 in flight against a hand-written batched
   `generate` (goal >= 0.9x) and against one at a time. Calls/s.
3. Janus-Pro-7B size (`JanusForConditionalGeneration`: SigLIP-L 384 px, a 30-layer 4096-wide
   decoder with 102,400 tokens, VQ decoder, 576 image tokens): understanding and drawing,
   8 in flight against one at a time.
4. End to end through `composer run` (in this process, so the models built here are the ones
   it loads): the synthetic suite in RealUnify's format (`write_suite`, 10 per category: 60
   UEG + 40 GEU, generated images), the VLM of 2 as reasoner and judge, the generator of 1 as
   generator and (as an img2img pipeline on the same weights) editor; the direct systems
   (generator alone on UEG, VLM alone on GEU) and the stepwise composed system
   (decompose-then-generate, generate-then-reason). Wall time, instances/s, peak GPU memory
   (torch's allocator) and the share of the wall time the GPU was busy (`utilization.gpu`
   sampled every 0.2 s through NVML or nvidia-smi; the ratio column).

    python tests/perf/gpu_suite.py --size tiny          # CPU, tiny configs, under a minute
    python tests/perf/gpu_suite.py --size real          # CUDA, real sizes, about 6-8 minutes
    python tests/perf/gpu_suite.py --size real --only 3 # one measurement
    python tests/perf/gpu_suite.py --print-wheels       # the wheels a GPU machine lacks

The GPU machine has torch, transformers 5.17 and accelerate but not diffusers, langgraph,
pydantic or tenacity; the adapters here are tested against transformers 5.25, so that travels
too. Before the device call, once, in the repository root here:

    echo /.whl/ >> .git/info/exclude
    python tests/perf/gpu_suite.py --print-wheels | sh      # pip download ... -d .whl

The device call: `run` with carry [".whl"], timeout_s 560 (the script stops itself by 480 s
and prints its table as each measurement ends), command:

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit; \
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; \
    PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 python3 tests/perf/gpu_suite.py --size real \
      --json $OUT/gpu_suite.json 2>&1 | tee $OUT/gpu_suite.log

(`--print-command` prints it as one line.)

If the carried transformers 5.25 / huggingface-hub 2.4 will not import there, delete those two
wheels and kernels, tokenizers, tomlkit from .whl to use the machine's transformers 5.17 (the
script then takes the image processors without the Pil suffix; untested).
 What random weights change: a random VLM never stops early, so
every reply is exactly its max_new_tokens (4 for the judge, 32 for the reasoner), and its
answers parse to nothing; tokenizers are the tests' word-level ones, so prompts are about one
token per word. Speed, memory and batching are what is measured, not accuracy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1] / "specialists"))  # tiny_models
sys.path.insert(0, str(HERE.parents[2]))  # composer itself, not installed on the GPU machine

import torch  # noqa: E402

# Real sizes: per measurement, seconds before its process is stopped (480 s in all).
TIMEBOX = {"tiny": {1: 120, 2: 120, 3: 120, 4: 240}, "real": {1: 100, 2: 70, 3: 120, 4: 190}}
# What the GPU machine lacks (composer's own dependencies, diffusers, langgraph's tree) and the
# transformers that composer is tested with (5.25, which wants huggingface-hub 2.4; the machine
# has 5.17 and 1.33). Pure-Python except pydantic-core, orjson, ormsgpack, uuid-utils, zstandard,
# websockets and tokenizers.
WHEELS = (
    "annotated-types==0.8.0 diffusers==0.42.1 distro==1.9.0 httpcore2==2.17.0 httpx2==2.17.0 "
    "importlib-metadata==10.2.0 jsonpatch==1.48 jsonpointer==3.12 langchain-core==1.8.3 "
    "langchain-protocol==0.0.20 langgraph==1.2.24 langgraph-checkpoint==4.3.2 "
    "langgraph-prebuilt==1.1.3 langgraph-sdk==0.4.14 langsmith==0.15.1 lazy-importer==0.1.0 "
    "orjson==3.13.0 ormsgpack==1.13.1 pydantic==2.14.4 pydantic-core==2.50.5 "
    "requests-toolbelt==1.0.0 sniffio==1.3.1 tenacity==9.1.4 truststore==0.10.5 typer==0.29.2 "
    "typing-inspection==0.4.5 uuid-utils==0.19.0 websockets==17.4 zstandard==0.25.0 "
    "huggingface-hub==2.4.0 kernels==0.19.1 tokenizers==0.23.3 tomlkit==0.15.3 "
    "transformers==5.25.0"
)
DEVICE_COMMAND = (
    "python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade "
    "--target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit; "
    "nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; "
    "PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 python3 tests/perf/gpu_suite.py --size real "
    "--json $OUT/gpu_suite.json 2>&1 | tee $OUT/gpu_suite.log"
)
PLATFORMS = " ".join(
    f"--platform {p}_x86_64"
    for p in (
        "manylinux_2_28",
        "manylinux_2_27",
        "manylinux_2_17",
        "manylinux2014",
        "manylinux1",
        "manylinux_2_34",
        "manylinux_2_35",
    )
)

Row = dict[str, Any]


# ---------------------------------------------------------------- devices and timing


def device_and_dtype(size: str) -> tuple[torch.device, torch.dtype]:
    if size == "real":
        if not torch.cuda.is_available():
            raise SystemExit("--size real needs a CUDA GPU")
        return torch.device("cuda"), torch.bfloat16
    torch.set_num_threads(1)  # as the tests: small CPU boxes contend with torch's pool
    return torch.device("cpu"), torch.float32


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


@contextmanager
def building(device: torch.device, dtype: torch.dtype) -> Iterator[None]:
    """Parameters are allocated (and randomly initialised) on the device, in the dtype."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            yield
    finally:
        torch.set_default_dtype(previous)


def timed(function: Callable[[], Any]) -> tuple[Any, float]:
    sync()
    started = time.perf_counter()
    result = function()
    sync()
    return result, time.perf_counter() - started


def row(
    n: int, figure: str, unit: str, value: float, baseline: float | None, goal: str = ""
) -> Row:
    ratio = value / baseline if baseline else None
    return {
        "n": n,
        "figure": figure,
        "unit": unit,
        "value": value,
        "baseline": baseline,
        "ratio": ratio,
        "goal": goal,
    }


class GpuBusy:
    """Samples utilization.gpu (percent of time a kernel ran) every `period` s in a thread."""

    def __init__(self, period: float = 0.2) -> None:
        self.period = period
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._read: Callable[[], float] | None = None
        if torch.cuda.is_available():
            try:
                torch.cuda.utilization()
                self._read = lambda: float(torch.cuda.utilization())
            except Exception:  # no pynvml: ask nvidia-smi
                self._read = self._smi

    @staticmethod
    def _smi() -> float:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout
        return float(out.split()[0])

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            if self._read is not None:
                try:
                    self.samples.append(self._read())
                except Exception:
                    self._read = None

    def __enter__(self) -> GpuBusy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def share(self) -> float | None:
        return sum(self.samples) / len(self.samples) / 100 if self.samples else None


# ---------------------------------------------------------------- models from configs


def build_sd(size: str, device: torch.device, dtype: torch.dtype) -> Any:
    """A StableDiffusionPipeline: SD-1.5's shapes (real) or the tests' tiny one."""
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from tiny_models import _clip_tokenizer
    from transformers import CLIPTextConfig, CLIPTextModel

    tokenizer = _clip_tokenizer()
    text_shape: dict[str, Any]
    if size == "real":
        # SD-1.5: UNet (320, 640, 1280, 1280), 2 layers per block, 8 heads, cross-attention 768;
        # the 4-level 84M VAE; CLIP ViT-L/14's text tower (12 layers, 768 wide, 77 positions).
        unet = {
            "block_out_channels": (320, 640, 1280, 1280),
            "layers_per_block": 2,
            "attention_head_dim": 8,
            "cross_attention_dim": 768,
            "sample_size": 64,
        }
        vae = {
            "block_out_channels": (128, 256, 512, 512),
            "layers_per_block": 2,
            "down_block_types": ("DownEncoderBlock2D",) * 4,
            "up_block_types": ("UpDecoderBlock2D",) * 4,
            "sample_size": 512,
        }
        text_shape = {
            "hidden_size": 768,
            "intermediate_size": 3072,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "max_position_embeddings": 77,
        }
        tokenizer.model_max_length = 77
    else:  # tests/specialists/tiny_models.py
        unet = {
            "block_out_channels": (32, 64),
            "layers_per_block": 1,
            "sample_size": 16,
            "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
            "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
            "cross_attention_dim": 32,
            "norm_num_groups": 32,
        }
        vae = {
            "block_out_channels": (32, 64),
            "down_block_types": ("DownEncoderBlock2D",) * 2,
            "up_block_types": ("UpDecoderBlock2D",) * 2,
            "norm_num_groups": 32,
            "sample_size": 32,
        }
        text_shape = {
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "max_position_embeddings": 16,
        }
    text = CLIPTextConfig(
        vocab_size=len(tokenizer), bos_token_id=0, eos_token_id=1, pad_token_id=1, **text_shape
    )
    scheduler = DDIMScheduler(clip_sample=False, steps_offset=1)  # its tables stay float32
    torch.manual_seed(0)
    with building(device, dtype):
        pipe = StableDiffusionPipeline(
            unet=UNet2DConditionModel(in_channels=4, out_channels=4, **unet),
            vae=AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, **vae),
            text_encoder=CLIPTextModel(text),
            tokenizer=tokenizer,
            scheduler=scheduler,
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )
    pipe.to(device, dtype)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def img2img_of(pipe: Any) -> Any:
    """An img2img pipeline on the same weights (the composed system's editor)."""
    from diffusers import StableDiffusionImg2ImgPipeline

    edit = StableDiffusionImg2ImgPipeline(**pipe.components)
    edit.set_progress_bar_config(disable=True)
    return edit


def build_vlm(size: str, device: torch.device, dtype: torch.dtype) -> tuple[Any, Any]:
    """A LLaVA model and processor: LLaVA-1.5-7B's shapes (real) or the tests' tiny one."""
    from tiny_models import CHAT_TEMPLATE, WORDS, _llama_config, _word_tokenizer
    from transformers import (
        CLIPVisionConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    try:  # transformers 5.25 (tested); older 5.x: the processor without the Pil suffix
        from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
    except ImportError:
        from transformers import CLIPImageProcessor as CLIPImageProcessorPil

    text = _llama_config()
    if size == "real":  # CLIP ViT-L/14-336 and Llama-2-7B (vocab 32064 as in llava-1.5-hf)
        vision = CLIPVisionConfig(
            hidden_size=1024,
            intermediate_size=4096,
            num_hidden_layers=24,
            num_attention_heads=16,
            image_size=336,
            patch_size=14,
            projection_dim=768,
        )
        for key, value in {
            "vocab_size": 32064,
            "hidden_size": 4096,
            "intermediate_size": 11008,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "num_key_value_heads": 32,
            "max_position_embeddings": 4096,
        }.items():
            setattr(text, key, value)
        text.head_dim = 128
        pixels, patch, strategy, layer = 336, 14, "default", -2
    else:
        vision = CLIPVisionConfig(
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=16,
            patch_size=4,
        )
        pixels, patch, strategy, layer = 16, 4, "full", -1
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessorPil(
            size={"shortest_edge": pixels}, crop_size={"height": pixels, "width": pixels}
        ),
        tokenizer=_word_tokenizer(),
        patch_size=patch,
        vision_feature_select_strategy=strategy,
        num_additional_image_tokens=1,  # CLIP's CLS feature
        chat_template=CHAT_TEMPLATE,
    )
    processor.tokenizer.padding_side = "left"
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=WORDS.index("<image>"),
        vision_feature_select_strategy=strategy,
        vision_feature_layer=layer,
    )
    torch.manual_seed(0)
    with building(device, dtype):
        model = LlavaForConditionalGeneration(config)
    model.to(device, dtype).eval()
    return model, processor


def build_janus(size: str, device: torch.device, dtype: torch.dtype) -> tuple[Any, Any]:
    """A Janus model and processor: Janus-Pro-7B's shapes (real) or the tests' tiny one."""
    from tiny_models import JANUS_TEMPLATE, _janus_tokenizer, _llama_config
    from transformers import (
        JanusConfig,
        JanusForConditionalGeneration,
        JanusProcessor,
        JanusVisionConfig,
        JanusVQVAEConfig,
    )

    try:
        from transformers.models.janus.image_processing_pil_janus import JanusImageProcessorPil
    except ImportError:
        from transformers import JanusImageProcessor as JanusImageProcessorPil

    tokenizer = _janus_tokenizer()
    text = _llama_config()
    if size == "real":  # deepseek-llm-7b's decoder, SigLIP-L/16 at 384, the 16x VQ tokenizer
        for key, value in {
            "vocab_size": 102400,
            "hidden_size": 4096,
            "intermediate_size": 11008,
            "num_hidden_layers": 30,
            "num_attention_heads": 32,
            "num_key_value_heads": 32,
            "max_position_embeddings": 16384,
        }.items():
            setattr(text, key, value)
        text.head_dim = 128
        vision = JanusVisionConfig(
            hidden_size=1024,
            num_hidden_layers=24,
            num_attention_heads=16,
            mlp_ratio=4.0,
            image_size=384,
            patch_size=16,
            num_image_tokens=576,
            projection_dim=4096,
        )
        vq = JanusVQVAEConfig(num_patches=24, projection_dim=4096, image_token_embed_dim=4096)
        pixels, tokens = 384, 576
    else:  # tests/specialists/tiny_models.py
        text.vocab_size = len(tokenizer)
        vision = JanusVisionConfig(
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            mlp_ratio=2,
            image_size=16,
            patch_size=4,
            num_image_tokens=16,
            projection_dim=32,
        )
        vq = JanusVQVAEConfig(
            embed_dim=8,
            num_embeddings=64,
            latent_channels=8,
            base_channels=32,
            channel_multiplier=[1, 1, 1],
            num_res_blocks=1,
            projection_dim=32,
            image_token_embed_dim=32,
        )
        pixels, tokens = 16, 16
    config = JanusConfig(
        text_config=text,
        vision_config=vision,
        vq_config=vq,
        image_token_id=tokenizer.convert_tokens_to_ids("<image_placeholder>"),
    )
    torch.manual_seed(0)
    with building(device, dtype):
        model = JanusForConditionalGeneration(config)
    model.to(device, dtype).eval()
    model.generation_config.guidance_scale = 5
    model.generation_config.temperature = 1
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    processor = JanusProcessor(
        image_processor=JanusImageProcessorPil(
            size={"height": pixels, "width": pixels},
            min_size=4 if size == "tiny" else 14,
            image_mean=[0.5] * 3,
            image_std=[0.5] * 3,
        ),
        tokenizer=tokenizer,
        chat_template=JANUS_TEMPLATE,
        use_default_system_prompt=True,
        num_image_tokens=tokens,
    )
    processor.tokenizer.padding_side = "left"
    return model, processor


def picture(px: int, seed: int = 0) -> Any:
    """A busy test image (random blocks), `px` square."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    return Image.fromarray(blocks).resize((px, px), Image.Resampling.NEAREST)


# ---------------------------------------------------------------- 1. diffusion


async def measure_diffusion(size: str) -> list[Row]:
    from composer.core.images import ImageStore
    from composer.specialists.diffusers_local import DiffusersOptions, DiffusersSpecialist

    device, dtype = device_and_dtype(size)
    n, batch, alone = (32, 16, 4) if size == "real" else (8, 4, 2)
    steps, px, guidance = (20, 512, 7.5) if size == "real" else (2, 32, 7.5)
    pipe = build_sd(size, device, dtype)
    options = DiffusersOptions(
        steps=steps, guidance=guidance, size=px, max_batch=batch, device=str(device)
    )
    store = ImageStore(Path(tempfile.mkdtemp()) / "images")
    adapter = DiffusersSpecialist("perf-sd", options, images=store, source=".", cls=type(pipe))
    adapter.pipe, adapter.device = pipe, device
    prompts = [f"a red circle and a blue square, number {i}" for i in range(n)]

    def hand(chunk: list[int]) -> None:
        with torch.inference_mode():
            pipe(
                prompt=[prompts[i] for i in chunk],
                generator=[torch.Generator("cpu").manual_seed(i) for i in chunk],
                num_inference_steps=steps,
                guidance_scale=guidance,
                height=px,
                width=px,
                output_type="pil",
            )

    def hand_loop() -> None:
        for start in range(0, n, batch):
            hand(list(range(start, min(n, start + batch))))

    hand(list(range(batch)))  # warm-up: kernels, allocator
    _, hand_s = timed(hand_loop)
    started = time.perf_counter()
    await asyncio.gather(*(adapter.generate(p, seed=i) for i, p in enumerate(prompts)))
    sync()
    batched_s = time.perf_counter() - started
    await adapter.generate(prompts[0], seed=999)  # warm-up at batch 1
    started = time.perf_counter()
    for i in range(alone):
        await adapter.generate(prompts[i], seed=1000 + i)
    sync()
    alone_s = time.perf_counter() - started
    sizes = dict(adapter.stats.sizes)
    adapter.batcher.close()
    ours = n / batched_s
    note = f"{n} in flight, max_batch {batch}, {steps} steps, {px} px; batches {sizes}"
    return [
        row(1, f"diffusers x{n} / hand batched loop", "images/s", ours, n / hand_s, ">= 0.9"),
        row(1, f"diffusers x{n} / one at a time", "images/s", ours, alone / alone_s, ">= 5"),
        {"n": 1, "note": note},
    ]


# ---------------------------------------------------------------- 2. VLM judge


async def measure_vlm(size: str) -> list[Row]:
    from composer.benchmarks.realunify.protocol import judge_request
    from composer.core.images import ImageStore
    from composer.specialists.transformers_local import TransformersOptions, TransformersSpecialist

    device, dtype = device_and_dtype(size)
    n, alone, new = (32, 8, 4) if size == "real" else (8, 2, 4)
    model, processor = build_vlm(size, device, dtype)
    options = TransformersOptions(
        max_new_tokens=new, min_new_tokens=new, max_batch=n, device=str(device)
    )
    store = ImageStore(Path(tempfile.mkdtemp()) / "images")
    adapter = TransformersSpecialist("perf-vlm", options, images=store, source=".", kind="vlm")
    adapter.processor, adapter.tokenizer = processor, processor.tokenizer
    adapter.lm, adapter.device = model, device
    image = picture(448)
    ref = store.put(image)
    questions = [
        judge_request(f"Is there a red circle left of square {i} in the image?") for i in range(n)
    ]

    def hand_batch() -> None:
        texts = [
            processor.apply_chat_template(
                [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": q}]}],
                add_generation_prompt=True,
                tokenize=False,
            )
            for q in questions
        ]
        inputs = processor(text=texts, images=[image] * n, padding=True, return_tensors="pt")
        inputs = inputs.to(device)
        with torch.inference_mode():
            model.generate(
                **inputs,
                max_new_tokens=new,
                min_new_tokens=new,
                do_sample=False,
                pad_token_id=processor.tokenizer.pad_token_id,
            )

    hand_batch()  # warm-up
    _, hand_s = timed(hand_batch)
    started = time.perf_counter()
    await asyncio.gather(*(adapter.understand(q, [ref]) for q in questions))
    sync()
    batched_s = time.perf_counter() - started
    await adapter.understand(questions[0], [ref])  # warm-up at batch 1
    started = time.perf_counter()
    for q in questions[:alone]:
        await adapter.understand(q, [ref])
    sync()
    alone_s = time.perf_counter() - started
    sizes = dict(adapter.stats.sizes)
    adapter.batcher.close()
    ours = n / batched_s
    return [
        row(2, f"VLM judge x{n} / hand batched generate", "calls/s", ours, n / hand_s, ">= 0.9"),
        row(2, f"VLM judge x{n} / one at a time", "calls/s", ours, alone / alone_s),
        {"n": 2, "note": f"{n} in flight, 448 px image, {new} new tokens; batches {sizes}"},
    ]


# ---------------------------------------------------------------- 3. Janus


async def measure_janus(size: str) -> list[Row]:
    from composer.benchmarks.realunify.protocol import judge_request
    from composer.core.images import ImageStore
    from composer.specialists.janus_local import JanusOptions, JanusSpecialist

    device, dtype = device_and_dtype(size)
    n, new = 8, 4
    model, processor = build_janus(size, device, dtype)
    options = JanusOptions(max_new_tokens=new, min_new_tokens=new, max_batch=n, device=str(device))
    store = ImageStore(Path(tempfile.mkdtemp()) / "images")
    adapter = JanusSpecialist("perf-janus", options, images=store, source=".")
    adapter.processor, adapter.tokenizer = processor, processor.tokenizer
    adapter.lm, adapter.device = model, device
    adapter.tokens, adapter.image_token_count = adapter._drawing_parts()
    ref = store.put(picture(448))
    questions = [judge_request(f"Is there a red circle in box {i}?") for i in range(n)]
    prompts = [f"a red circle above a blue square, number {i}" for i in range(n)]

    async def timed_async(calls: Callable[[], Any]) -> float:
        sync()
        started = time.perf_counter()
        await calls()
        sync()
        return time.perf_counter() - started

    await adapter.understand(questions[0], [ref])  # warm-up
    ask_alone = await timed_async(lambda: adapter.understand(questions[1], [ref]))
    ask_many = await timed_async(
        lambda: asyncio.gather(*(adapter.understand(q, [ref]) for q in questions))
    )
    await adapter.generate(prompts[0], seed=0)  # warm-up (also the batch-1 draw's shapes)
    draw_alone = await timed_async(lambda: adapter.generate(prompts[1], seed=1))
    draw_many = await timed_async(
        lambda: asyncio.gather(*(adapter.generate(p, seed=i) for i, p in enumerate(prompts)))
    )
    sizes = dict(adapter.stats.sizes)
    adapter.batcher.close()
    tokens = adapter.image_token_count
    return [
        row(3, "Janus understand x8 / one at a time", "calls/s", n / ask_many, 1 / ask_alone),
        row(3, "Janus draw x8 / one at a time", "images/s", n / draw_many, 1 / draw_alone),
        {"n": 3, "note": f"{tokens} image tokens per draw, guidance 5; batches {sizes}"},
    ]


# ---------------------------------------------------------------- 4. end to end


@contextmanager
def prebuilt(models: dict[str, Any]) -> Iterator[None]:
    """The adapters' `from_pretrained` hands back the models built here, by folder."""
    import diffusers
    import transformers

    def by_folder(source: Any, *args: Any, **kwargs: Any) -> Any:
        return models[str(source)]

    with (
        mock.patch.object(transformers.AutoModelForImageTextToText, "from_pretrained", by_folder),
        mock.patch.object(diffusers.StableDiffusionPipeline, "from_pretrained", by_folder),
        mock.patch.object(diffusers.StableDiffusionImg2ImgPipeline, "from_pretrained", by_folder),
    ):
        yield


def e2e_config(data: Path, vlm: Path, sd: Path, edit: Path, size: str) -> str:
    """examples/local_models.toml's systems, on these models and the written suite."""
    steps, px = (20, 512) if size == "real" else (2, 32)
    reason_tokens, judge_batch = (32, 32) if size == "real" else (4, 8)
    roles = (
        f'reasoner = "transformers/{vlm}", generator = "diffusers/{sd}", '
        f'editor = "diffusers/{edit}"'
    )
    return f"""
seed = 0
concurrency = 64

[benchmark]
name = "realunify"
path = "{data}"

[judge]
model = "transformers/{vlm}"
parser = "official"

[systems.composed-stepwise]
ueg = "decompose-then-generate"
geu = "generate-then-reason"
roles = {{ {roles} }}

[systems.sd-direct]
ueg = "direct"
roles = {{ model = "diffusers/{sd}" }}

[systems.vlm-direct]
geu = "direct"
roles = {{ model = "transformers/{vlm}" }}

[models."transformers/{vlm}"]
max_new_tokens = {reason_tokens}
max_batch = {judge_batch}
max_concurrency = {judge_batch}
initial_concurrency = {judge_batch}

[models."diffusers/{sd}"]
steps = {steps}
guidance = 7.5
size = {px}
max_batch = 16
max_concurrency = 32
initial_concurrency = 32

[models."diffusers/{edit}"]
steps = {steps}
size = {px}
strength = 0.6
max_batch = 16
max_concurrency = 32
initial_concurrency = 32
"""


def composer_run(args: list[str]) -> int:
    from composer.cli import app

    try:
        result = app(args, standalone_mode=False)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return int(result or 0)


async def measure_e2e(size: str) -> list[Row]:
    from composer.synthetic.suite import write_suite

    device, dtype = device_and_dtype(size)
    root = Path(tempfile.mkdtemp(prefix="gpu-suite-"))
    data = root / "realunify"
    write_suite(data, n_per_category=10 if size == "real" else 1, seed=0, difficulty="mixed")
    ueg = len(json.loads((data / "UEG_direct.json").read_text()))
    geu = len(json.loads((data / "GEU_direct.json").read_text()))
    model, processor = build_vlm(size, device, dtype)
    pipe = build_sd(size, device, dtype)
    px = 512 if size == "real" else 32
    folders = {"vlm": root / "vlm", "sd": root / "sd", "edit": root / "edit"}
    # The folders hold what the adapters read before the weights: config and processor files.
    model.config.save_pretrained(folders["vlm"])
    processor.save_pretrained(folders["vlm"])
    for key, cls in (("sd", "StableDiffusionPipeline"), ("edit", "StableDiffusionImg2ImgPipeline")):
        folders[key].mkdir()
        (folders[key] / "model_index.json").write_text(json.dumps({"_class_name": cls}))
    with torch.inference_mode():  # warm-up, so the first system timed pays no first call
        pipe(prompt="a red circle", num_inference_steps=2, height=px, width=px)
    models = {str(folders["vlm"]): model, str(folders["sd"]): pipe}
    models[str(folders["edit"])] = img2img_of(pipe)
    config = root / "e2e.toml"
    config.write_text(e2e_config(data, folders["vlm"], folders["sd"], folders["edit"], size))
    rows: list[Row] = []
    for label, systems, count in (
        ("direct", "sd-direct,vlm-direct", ueg + geu),
        ("stepwise", "composed-stepwise", ueg + geu),
    ):
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        out = root / f"run-{label}"
        with prebuilt(models), GpuBusy() as busy:
            started = time.perf_counter()
            code = await asyncio.to_thread(  # its own event loop
                composer_run,
                ["run", str(config), "--out", str(out), "--quiet", "--systems", systems],
            )
            sync()
            wall = time.perf_counter() - started
        peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else None
        share = busy.share()
        rows += [
            row(4, f"e2e {label}: wall time", "s", wall, None),
            row(4, f"e2e {label}: instances/s", "inst/s", count / wall, None),
        ]
        if peak is not None:  # CUDA only
            rows.append(row(4, f"e2e {label}: peak GPU memory", "GiB", peak, None))
        if share is not None:  # CUDA only: NVML or nvidia-smi
            rows.append(row(4, f"e2e {label}: GPU busy / wall", "share", share, 1.0))
        note = f"{label}: composer run exit {code}, {count} instances ({ueg} UEG, {geu} GEU)"
        rows.append({"n": 4, "note": f"{note}, systems {systems}"})
    return rows


MEASUREMENTS: dict[int, Callable[[str], Any]] = {
    1: measure_diffusion,
    2: measure_vlm,
    3: measure_janus,
    4: measure_e2e,
}


# ---------------------------------------------------------------- driver


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def table(rows: list[Row]) -> str:
    lines = [
        f"{'#':<2} {'figure':<44} {'unit':<9} {'composer':>9} {'baseline':>9} "
        f"{'ratio':>7} {'goal':>7}"
    ]
    notes = []
    for r in rows:
        if "note" in r:
            notes.append(f"   {r['n']}: {r['note']}")
            continue
        lines.append(
            f"{r['n']:<2} {r['figure']:<44} {r['unit']:<9} {fmt(r['value']):>9} "
            f"{fmt(r['baseline']):>9} {fmt(r['ratio']):>7} {r['goal']:>7}"
        )
    return "\n".join(lines + notes)


def inner(size: str, number: int, result: Path) -> None:
    """Run one measurement in this process and write its rows."""
    import diffusers
    import transformers

    transformers.logging.set_verbosity_error()  # the tiny tokenizers' length warnings
    diffusers.logging.set_verbosity_error()
    scratch = tempfile.TemporaryDirectory(prefix="gpu-suite-")
    tempfile.tempdir = scratch.name  # every folder a measurement writes, removed at the end
    started = time.perf_counter()
    rows = asyncio.run(MEASUREMENTS[number](size))
    rows.append(
        {"n": number, "note": f"measurement {number} took {time.perf_counter() - started:.1f} s"}
    )
    result.write_text(json.dumps(rows, default=str))
    tempfile.tempdir = None
    scratch.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", choices=["tiny", "real"], default="tiny")
    parser.add_argument("--only", type=int, choices=sorted(MEASUREMENTS), default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    parser.add_argument("--print-wheels", action="store_true", help="the pip download command")
    parser.add_argument("--print-command", action="store_true", help="the device call's command")
    parser.add_argument("--inner", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.print_wheels:
        print(
            f"python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 "
            f"--implementation cp {PLATFORMS} -d .whl {WHEELS}"
        )
        return
    if args.print_command:
        print(DEVICE_COMMAND)
        return
    if args.inner is not None:
        inner(args.size, args.only, args.inner)
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    name = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    import transformers

    print(
        f"device: {name}; size: {args.size}; torch {torch.__version__}; "
        f"transformers {transformers.__version__}",
        flush=True,
    )
    rows: list[Row] = []
    for number in sorted(MEASUREMENTS) if args.only is None else [args.only]:
        limit = TIMEBOX[args.size][number]
        with tempfile.TemporaryDirectory() as scratch:
            result = Path(scratch) / "rows.json"
            command = [
                sys.executable,
                str(HERE),
                "--size",
                args.size,
                "--only",
                str(number),
                "--inner",
                str(result),
            ]
            started = time.perf_counter()
            try:
                done = subprocess.run(command, timeout=limit)
                if done.returncode == 0 and result.exists():
                    rows.extend(json.loads(result.read_text()))
                else:
                    rows.append({"n": number, "note": f"FAILED (exit {done.returncode})"})
            except subprocess.TimeoutExpired:
                rows.append({"n": number, "note": f"TIMED OUT after {limit} s"})
            print(f"measurement {number}: {time.perf_counter() - started:.1f} s", flush=True)
            print(table([r for r in rows if r["n"] == number]), flush=True)
    print("\n" + table(rows))
    if args.json is not None:
        args.json.write_text(
            json.dumps({"device": name, "size": args.size, "rows": rows}, indent=2, default=str)
        )


if __name__ == "__main__":
    main()
