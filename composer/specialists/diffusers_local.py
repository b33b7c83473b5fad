"""`diffusers/<hub-id-or-path>`: a local diffusers pipeline as a Generator or an Editor.

The pipeline class decides what the model can do, before any weight is read: a pipeline whose
call takes an input `image` (image-to-image, instruction editing, Kontext-style) is an Editor,
one that takes only a prompt is a Generator. So binding a text-to-image model to an editor
role fails when the run is configured, not at the first call.

    [models."diffusers/stabilityai/stable-diffusion-xl-base-1.0"]
    steps = 30
    guidance = 6.0
    size = 1024
    max_batch = 8

Concurrent requests are batched (`composer.specialists.batching`); each request's noise comes
from its own `torch.Generator` seeded with the request's seed, so an image does not depend on
the batch it ran in.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import diffusers
import torch
from pydantic import BaseModel, ConfigDict, Field

from composer.core.errors import ComposerError, ConfigError, PrerequisiteError, SpecialistError
from composer.core.images import ImageRef, ImageStore
from composer.specialists.base import CallOptions, Capability
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


class DiffusersOptions(LocalOptions):
    """Options of a `diffusers/...` model (all optional; unset ones keep the pipeline's default)."""

    steps: int | None = Field(default=None, ge=1)
    guidance: float | None = None
    size: int | tuple[int, int] | None = None
    """Output size in pixels, `512` or `[height, width]`; an editor resizes its input to it."""
    strength: float | None = Field(default=None, gt=0, le=1)
    """How far an image-to-image editor moves away from its input."""
    negative_prompt: str | None = None
    scheduler: str | None = None
    """A diffusers scheduler class name, e.g. `EulerDiscreteScheduler`, built from the
    pipeline's scheduler config."""
    task: Literal["text-to-image", "image-to-image"] | None = None
    """Load the checkpoint as this task through the auto pipelines (default: the saved class)."""
    variant: str | None = None
    """Weights variant, e.g. `fp16`."""


class _PerCall(BaseModel):
    """The options a single call may override; other call option keys only vary the cache key."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    steps: int | None = None
    guidance: float | None = None
    size: int | tuple[int, int] | None = None
    strength: float | None = None
    negative_prompt: str | None = None


@dataclass(frozen=True)
class _Draw:
    prompt: str
    seed: int
    image: Image.Image | None
    settings: _PerCall


_PARAMETERS = {
    "steps": "num_inference_steps",
    "guidance": "guidance_scale",
    "strength": "strength",
    "negative_prompt": "negative_prompt",
}


def _auto_mappings() -> tuple[dict[str, type], dict[str, type]]:
    from diffusers.pipelines import auto_pipeline

    return (
        dict(auto_pipeline.AUTO_TEXT2IMAGE_PIPELINES_MAPPING),
        dict(auto_pipeline.AUTO_IMAGE2IMAGE_PIPELINES_MAPPING),
    )


def pipeline_class(where: str, class_name: str, task: str | None) -> type:
    """The pipeline class that `class_name` (from model_index.json) loads as, for `task`."""
    if task is not None:
        text2image, image2image = _auto_mappings()
        family = next(
            (
                name
                for mapping in (text2image, image2image)
                for name, cls in mapping.items()
                if cls.__name__ == class_name
            ),
            None,
        )
        target = (text2image if task == "text-to-image" else image2image).get(family or "")
        if target is None:
            raise ConfigError(
                where,
                f"the auto pipelines have no {task} pipeline for {class_name}.",
                "Remove the `task` option to load the saved pipeline class.",
            )
        return target
    cls = getattr(diffusers, class_name, None)
    if not isinstance(cls, type):
        raise ConfigError(
            where,
            f"model_index.json names the pipeline class {class_name!r}, which diffusers "
            f"{diffusers.__version__} does not have.",
            "Upgrade diffusers, or set `task` to load it through the auto pipelines.",
        )
    return cls


def capability_of(where: str, cls: type) -> Capability:
    """Editor when the pipeline's call takes an input `image`, Generator when only a prompt."""
    parameters = inspect.signature(cls.__call__).parameters
    if "prompt" not in parameters:
        raise ConfigError(
            where,
            f"{cls.__name__} takes no text prompt.",
            "Use a text-to-image or image-editing pipeline.",
        )
    if "mask_image" in parameters:
        raise ConfigError(
            where,
            f"{cls.__name__} is an inpainting pipeline (it needs a mask), which no role uses.",
            "Use an image-to-image or instruction-editing pipeline.",
        )
    if "video" in cls.__name__.lower() or "audio" in cls.__name__.lower():
        raise ConfigError(where, f"{cls.__name__} does not make still images.")
    return Capability.EDIT if "image" in parameters else Capability.GENERATE


class DiffusersSpecialist(BatchedSpecialist):
    """A diffusers pipeline behind `Generator` or `Editor`, batched across concurrent calls."""

    provider = "diffusers"
    extra = "local"
    Options = DiffusersOptions

    def __init__(
        self,
        model: str,
        options: DiffusersOptions,
        *,
        images: ImageStore,
        source: str,
        cls: type,
    ) -> None:
        """Prepare (no weights are read until `load`)."""
        capability = capability_of(f"diffusers/{model}", cls)
        super().__init__(model, options, images=images, capabilities={capability})
        self.opts = options
        self.source = source
        self.pipeline_cls = cls
        self.parameters = set(inspect.signature(cls.__call__).parameters)
        for option, parameter in _PARAMETERS.items():
            if getattr(options, option) is not None and parameter not in self.parameters:
                raise ConfigError(
                    f'[models."{self.name}"] {option}',
                    f"{cls.__name__} has no {parameter!r} parameter.",
                    "Remove that option.",
                )
        self.pipe: Any = None
        self.device = torch.device("cpu")
        self.batcher: MicroBatcher[_Draw, Image.Image] = MicroBatcher(
            self._run,
            max_batch=options.max_batch,
            window_s=options.batch_window_ms / 1000,
            name=f"diffusers-{cls.__name__}",
        )

    @classmethod
    def from_name(
        cls, model: str, options: Mapping[str, Any], *, images: ImageStore
    ) -> DiffusersSpecialist:
        """Find the pipeline and its class for `diffusers/<model>`; raise if it cannot load."""
        opts = DiffusersOptions(**options)
        where = f"diffusers/{model}"
        source = resolve_source(where, model, "model_index.json", opts)
        index = read_marker(where, source, "model_index.json", opts)
        class_name = str(index.get("_class_name", ""))
        return cls(
            model,
            opts,
            images=images,
            source=source,
            cls=pipeline_class(where, class_name, opts.task),
        )

    def describe(self) -> dict[str, Any]:
        """Name, pipeline class and the options that change results (not the batching ones)."""
        return describe_local(self.name, self.opts, pipeline=self.pipeline_cls.__name__)

    def provenance(self) -> dict[str, Any]:
        """Device, dtype and attention kernel of the pipeline's denoiser, once loaded."""
        if self.pipe is None:
            return {}
        denoiser = getattr(self.pipe, "unet", None) or getattr(self.pipe, "transformer", None)
        found = torch_provenance(denoiser, self.device)
        return {"pipeline": self.pipeline_cls.__name__, **found}

    async def load(self) -> None:
        """Read the weights onto the device (once, however many roles use this model)."""
        if self.pipe is None:
            self.pipe = await asyncio.to_thread(self._load)

    def _load(self) -> Any:
        self.device = pick_device(self.opts.device)
        dtype = pick_dtype(self.opts.dtype, self.device)
        kwargs: dict[str, Any] = {
            "dtype": dtype,
            "local_files_only": self.opts.local_files_only or None,
            "trust_remote_code": self.opts.trust_remote_code,
        }
        if self.opts.revision:
            kwargs["revision"] = self.opts.revision
        if self.opts.variant:
            kwargs["variant"] = self.opts.variant
        try:
            with LOADING:
                pipe = self.pipeline_cls.from_pretrained(self.source, **kwargs)  # type: ignore[attr-defined]
        except ComposerError:
            raise
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise PrerequisiteError(
                self.name,
                f"could not load the {self.pipeline_cls.__name__} weights "
                f"({type(exc).__name__}: {str(exc).strip()[:400]}).",
                "Check that the folder is complete (every component's weights), or download "
                f"it again: hf download {self.model}",
            ) from exc
        if self.opts.scheduler:
            scheduler = getattr(diffusers, self.opts.scheduler, None)
            if scheduler is None or not hasattr(scheduler, "from_config"):
                raise ConfigError(
                    f'[models."{self.name}"] scheduler',
                    f"diffusers has no scheduler {self.opts.scheduler!r}.",
                    "Use a class name such as 'EulerDiscreteScheduler'.",
                )
            pipe.scheduler = scheduler.from_config(pipe.scheduler.config)
        pipe.to(self.device)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    def _key(self, draw: _Draw) -> Hashable:
        size = draw.image.size if draw.image is not None else None
        return (draw.settings.model_dump_json(), size)

    def _ensure_loaded(self) -> None:
        if self.pipe is None:
            raise not_loaded(self.name)

    async def generate(
        self, prompt: str, *, seed: int, options: CallOptions | None = None
    ) -> ImageRef:
        """Draw `prompt` with noise from `seed`."""
        self._ensure_loaded()
        if Capability.GENERATE not in self.capabilities:
            raise SpecialistError(self.name, f"{self.pipeline_cls.__name__} needs an input image.")
        draw = _Draw(prompt, seed, None, call_settings(_PerCall, self.opts, options))
        return await self._draw(draw)

    async def edit(
        self,
        prompt: str,
        images: Sequence[ImageRef],
        *,
        seed: int,
        options: CallOptions | None = None,
    ) -> ImageRef:
        """Edit the one input image according to `prompt`, with noise from `seed`."""
        self._ensure_loaded()
        if Capability.EDIT not in self.capabilities:
            raise SpecialistError(self.name, f"{self.pipeline_cls.__name__} cannot edit images.")
        if len(images) != 1:
            raise SpecialistError(self.name, f"edits exactly one input image, not {len(images)}.")
        settings = call_settings(_PerCall, self.opts, options)
        image = self.images.open(images[0]).convert("RGB")
        if settings.size is not None:
            height, width = _hw(settings.size)
            image = image.resize((width, height))
        draw = _Draw(prompt, seed, image, settings)
        return await self._draw(draw)

    async def _draw(self, draw: _Draw) -> ImageRef:
        image = await self.batcher.submit(draw, key=self._key(draw))
        # PNG encoding off the model's thread, so it overlaps the next batch's forward pass.
        return await asyncio.to_thread(self.images.put, image)

    def _run(self, draws: Sequence[_Draw]) -> list[Image.Image]:
        settings = draws[0].settings  # one batch shares one key, so one set of settings
        kwargs: dict[str, Any] = {
            "prompt": [d.prompt for d in draws],
            # CPU generators: the same seed gives the same noise on every device and batch.
            "generator": [torch.Generator("cpu").manual_seed(d.seed) for d in draws],
            "output_type": "pil",
        }
        for option, parameter in _PARAMETERS.items():
            value = getattr(settings, option)
            if value is not None and parameter in self.parameters:
                kwargs[parameter] = [value] * len(draws) if option == "negative_prompt" else value
        if settings.size is not None and "height" in self.parameters:
            kwargs["height"], kwargs["width"] = _hw(settings.size)
        if draws[0].image is not None:
            kwargs["image"] = [d.image for d in draws]
        try:
            with torch.inference_mode():
                output = self.pipe(**kwargs)
        except Exception as exc:
            raise SpecialistError(
                self.name,
                f"{self.pipeline_cls.__name__} failed on a batch of {len(draws)} "
                f"({type(exc).__name__}: {exc}).",
            ) from exc
        images: list[Image.Image] = list(output.images)
        return images


def _hw(size: int | tuple[int, int]) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else size
