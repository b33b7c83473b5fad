"""Tiny real diffusers and transformers models, built from config objects (no download).

`tiny_models(root)` saves, once per process, under `root`:

- `sd/`: a StableDiffusionPipeline (UNet, VAE, CLIP text encoder, a tokenizer built from a small
  vocabulary), 32 px;
- `img2img/`: a StableDiffusionImg2ImgPipeline from the same parts;
- `vlm/`: a LLaVA-style VLM (CLIP vision tower, Llama decoder) with its processor and chat
  template;
- `lm/`: a text-only Llama with a tokenizer and chat template.

`tiny_janus(root)` saves `janus/`: a Janus unified model (SigLIP-style vision tower, Llama
decoder, VQ decoder and generation head) with its processor, 16 image tokens, 16 px images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

# The CI machines have 2 cores; torch's default thread pool makes tiny models 10-50x slower there.
torch.set_num_threads(1)

WORDS = (
    "<unk> <pad> <s> </s> <image> user assistant system : a the of is it red blue green circle "
    "square star cat dog draw yes no ? . answer A B C D 1 2 3 4 5 image edit"
).split()
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }} : "
    "{% if m['content'] is string %}{{ m['content'] }} "
    "{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<image> {% else %}{{ c['text'] }} {% endif %}"
    "{% endfor %}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}assistant : {% endif %}"
)


@dataclass(frozen=True)
class TinyModels:
    sd: Path
    img2img: Path
    vlm: Path
    lm: Path


_built: dict[Path, TinyModels] = {}


def tiny_models(root: Path) -> TinyModels:
    """Build (once per root) and save the tiny models; return their folders."""
    if root not in _built:
        root.mkdir(parents=True, exist_ok=True)
        models = TinyModels(root / "sd", root / "img2img", root / "vlm", root / "lm")
        _save_diffusers(models.sd, models.img2img)
        _save_vlm(models.vlm)
        _save_lm(models.lm)
        _built[root] = models
    return _built[root]


def _clip_tokenizer():  # type: ignore[no-untyped-def]
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in "abcdefghijklmnopqrstuvwxyz0123456789":
        vocab[ch] = len(vocab)
        vocab[ch + "</w>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=16)


def _save_diffusers(sd: Path, img2img: Path) -> None:
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionImg2ImgPipeline,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    tokenizer = _clip_tokenizer()
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
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
    )
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=32,
    )
    vae = AutoencoderKL(
        block_out_channels=(32, 64),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=32,
        sample_size=32,
    )
    scheduler = DDIMScheduler(clip_sample=False, steps_offset=1)
    parts = {
        "unet": unet,
        "vae": vae,
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
        "scheduler": scheduler,
        "safety_checker": None,
        "feature_extractor": None,
        "requires_safety_checker": False,
    }
    StableDiffusionPipeline(**parts).save_pretrained(sd)
    StableDiffusionImg2ImgPipeline(**parts).save_pretrained(img2img)


def _word_tokenizer():  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        extra_special_tokens={"image_token": "<image>"},
        chat_template=CHAT_TEMPLATE,
    )


def _llama_config():  # type: ignore[no-untyped-def]
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(WORDS),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=1,
        bos_token_id=2,
        eos_token_id=3,
    )


def _save_vlm(folder: Path) -> None:
    from transformers import (
        CLIPVisionConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    processor = LlavaProcessor(
        image_processor=CLIPImageProcessorPil(
            size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16}
        ),
        tokenizer=_word_tokenizer(),
        patch_size=4,
        vision_feature_select_strategy="full",
        num_additional_image_tokens=1,  # the CLS feature, kept by the "full" strategy
        chat_template=CHAT_TEMPLATE,
    )
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=16,
            patch_size=4,
        ),
        text_config=_llama_config(),
        image_token_index=WORDS.index("<image>"),
        vision_feature_select_strategy="full",
        vision_feature_layer=-1,
    )
    torch.manual_seed(0)
    LlavaForConditionalGeneration(config).save_pretrained(folder)
    processor.save_pretrained(folder)


def _save_lm(folder: Path) -> None:
    from transformers import LlamaForCausalLM

    torch.manual_seed(0)
    LlamaForCausalLM(_llama_config()).save_pretrained(folder)
    _word_tokenizer().save_pretrained(folder)


JANUS_SPECIALS = (
    "<image_placeholder>",
    "<begin_of_image>",
    "<end_of_image>",
    "<|User|>",
    "<|Assistant|>",
)
JANUS_TEMPLATE = (
    "{% for m in messages %}{% if m['role'] == 'user' %}<|User|> : "
    "{% else %}{{ m['role'] }} : {% endif %}"
    "{% if m['content'] is string %}{{ m['content'] }} "
    "{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<image_placeholder> {% else %}{{ c['text'] }} {% endif %}"
    "{% endfor %}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|Assistant|> : {% endif %}"
)
_janus_built: dict[Path, Path] = {}


def tiny_janus(root: Path) -> Path:
    """Build (once per root) and save the tiny Janus model and processor; return its folder."""
    if root not in _janus_built:
        folder = root / "janus"
        _save_janus(folder)
        _janus_built[root] = folder
    return _janus_built[root]


def _janus_tokenizer():  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    words = [*WORDS, *JANUS_SPECIALS]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    # Janus's Llama tokenizer starts every sequence with BOS, which the unconditional prompt keeps.
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", words.index("<s>"))]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        extra_special_tokens={
            "image_token": "<image_placeholder>",
            "boi_token": "<begin_of_image>",
            "eoi_token": "<end_of_image>",
        },
    )
    tokenizer.add_tokens(["<|User|>", "<|Assistant|>"], special_tokens=True)
    return tokenizer


def _save_janus(folder: Path) -> None:
    from transformers import (
        JanusConfig,
        JanusForConditionalGeneration,
        JanusProcessor,
        JanusVisionConfig,
        JanusVQVAEConfig,
    )
    from transformers.models.janus.image_processing_pil_janus import JanusImageProcessorPil

    tokenizer = _janus_tokenizer()
    text_config = _llama_config()
    text_config.vocab_size = len(tokenizer)
    config = JanusConfig(
        text_config=text_config,
        vision_config=JanusVisionConfig(
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            mlp_ratio=2,
            image_size=16,
            patch_size=4,
            num_image_tokens=16,
            projection_dim=32,  # the decoder's hidden size
        ),
        vq_config=JanusVQVAEConfig(
            embed_dim=8,
            num_embeddings=64,
            latent_channels=8,
            base_channels=32,  # its GroupNorm has 32 groups
            channel_multiplier=[1, 1, 1],  # a 4x4 token grid, upsampled twice: 16 px
            num_res_blocks=1,
            projection_dim=32,
            image_token_embed_dim=32,
        ),
        image_token_id=tokenizer.convert_tokens_to_ids("<image_placeholder>"),
    )
    torch.manual_seed(0)
    model = JanusForConditionalGeneration(config)
    # At the default init (std 0.02) the next-token distribution over image tokens is nearly
    # uniform whatever the prompt, so a padding or masking bug would not change any sample.
    # Larger weights make it depend on the context, as a trained model's does.
    with torch.no_grad():
        for module in model.model.modules():
            if isinstance(module, torch.nn.Linear | torch.nn.Embedding):
                module.weight.normal_(0.0, 0.5)
    # What the transformers conversion of Janus-Pro sets.
    model.generation_config.guidance_scale = 5
    model.generation_config.temperature = 1
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)
    processor = JanusProcessor(
        image_processor=JanusImageProcessorPil(
            size={"height": 16, "width": 16}, min_size=4, image_mean=[0.5] * 3, image_std=[0.5] * 3
        ),
        tokenizer=tokenizer,
        chat_template=JANUS_TEMPLATE,
        use_default_system_prompt=True,  # as Janus-Pro's processor does, for understanding only
        num_image_tokens=16,
    )
    processor.save_pretrained(folder)
