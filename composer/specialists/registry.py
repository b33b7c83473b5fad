"""The registry of providers and serving backends: names to classes, loaded lazily.

Built-in providers and plugins register the same way: a `module:Class` path under a provider
name. Plugins declare theirs as entry points in the `composer.providers` group. A provider's
module (and its SDK) is imported only when a configured name asks for it. Serving backends
(`backend = "ray"` in a model's table) sit in a second lazy table, `BACKENDS`: the registry
never imports a backend's module until a model names it, and a backend builds the model it
serves through this registry.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from composer.core.errors import ConfigError
from composer.core.images import ImageStore
from composer.core.registry import Registry
from composer.specialists.base import Specialist

BUILTIN_PROVIDERS: dict[str, str] = {
    "mock": "composer.specialists.mock:MockSpecialist",
    "symbolic": "composer.synthetic.symbolic:SymbolicSpecialist",
    "openai": "composer.specialists.openai_api:OpenAISpecialist",
    "openai-compatible": "composer.specialists.openai_api:OpenAICompatibleSpecialist",
    "anthropic": "composer.specialists.anthropic_api:AnthropicSpecialist",
    "gemini": "composer.specialists.gemini_api:GeminiSpecialist",
    "diffusers": "composer.specialists.diffusers_local:DiffusersSpecialist",
    "transformers": "composer.specialists.transformers_local:TransformersSpecialist",
}

PROVIDER_INFO: dict[str, tuple[str, str]] = {
    "mock": ("understand, generate, edit (scripted test double)", "mock/echo"),
    "symbolic": (
        "reasoner: understand; painter: generate, edit; naive-unified: all three; "
        "glance-judge: understand (offline)",
        "symbolic/reasoner",
    ),
    "openai": (
        "understand (chat models); generate, edit (gpt-image-1, dall-e-2/3)",
        "openai/gpt-4.1",
    ),
    "openai-compatible": (
        "understand; generate and edit where the server has the images endpoints "
        "(say so with capabilities = [...]); base_url required",
        "openai-compatible/Qwen/Qwen2.5-VL-7B-Instruct",
    ),
    "anthropic": ("understand", "anthropic/claude-sonnet-4-5"),
    "gemini": (
        "understand; generate, edit (gemini-2.5-flash-image, a unified model)",
        "gemini/gemini-2.5-pro",
    ),
    "diffusers": (
        "generate or edit, from the pipeline class (local weights)",
        "diffusers/stabilityai/sd-turbo",
    ),
    "transformers": (
        "understand (VLMs); a Janus checkpoint also generates (local weights)",
        "transformers/deepseek-community/Janus-Pro-7B",
    ),
}
"""What each built-in provider can do, and an example name, for `composer list providers`."""

BACKENDS: dict[str, str] = {
    "ray": "composer.serving.ray.proxy:RaySpecialist",
}
"""Serving backends by the `backend` value that asks for them; each class has `Options` (its
own keys of the model's table) and `from_config(name, options, *, images)`. `local` (run
in-process) is not in the table: it is the default."""

SDKS: dict[str, tuple[str, str]] = {
    "torch": ("torch", "local"),
    "diffusers": ("diffusers", "local"),
    "transformers": ("transformers", "local"),
    "openai": ("openai", "openai"),
    "anthropic": ("anthropic", "anthropic"),
    "google": ("google-genai", "gemini"),
}
"""The SDKs adapters import: import name to (distribution, the composer extra installing it).
A missing one's install hint and the library versions a run records both come from here."""

_EXTRA_OF_MODULE = {module: extra for module, (_, extra) in SDKS.items()}

PROVIDERS: Registry[type[Specialist]] = Registry(
    "provider",
    group="composer.providers",
    where="provider {!r}",
    define="a Specialist subclass with from_name(model, options, *, images)",
    builtins=BUILTIN_PROVIDERS,
    extras=_EXTRA_OF_MODULE,
)
"""The providers: composer's, a package's (entry points in `composer.providers`), in-process."""


def register_provider(name: str, target: str | type[Specialist]) -> None:
    """Register a provider under `name`, as a class or a lazy `module:Class` path.

    Example:
        >>> register_provider("echo", "my_package.echo:EchoSpecialist")
    """
    PROVIDERS.register(name, target)


def providers() -> dict[str, str]:
    """All known provider names and where each class lives (nothing is imported)."""
    return PROVIDERS.targets()


def split_name(name: str) -> tuple[str, str]:
    """Split `provider/rest` at its first `/` (so `diffusers//data/sd` keeps its path)."""
    provider, sep, rest = name.partition("/")
    if not sep or not provider or not rest:
        raise ConfigError(
            f"model {name!r}",
            "is not of the form 'provider/model'.",
            "Write e.g. 'openai/gpt-4.1' or 'mock/echo'.",
        )
    return provider, rest


def provider_class(provider: str) -> type[Specialist]:
    """Import and return the adapter class registered under `provider`."""
    return PROVIDERS.get(provider)  # lazily: see the module docstring


def create(name: str, options: Mapping[str, Any], *, images: ImageStore) -> Specialist:
    """Build the specialist for a `provider/model` name with its options.

    A `backend` option serves the model elsewhere (`"ray"`: `composer.serving.ray.proxy`), or
    here (`"local"`, the default; the backend's keys may stay, so switching back is a one-word
    change).
    """
    backend = options.get("backend")
    if backend == "local":
        keys = {k for target in BACKENDS.values() for k in _backend(target).Options.model_fields}
        return create(name, {k: v for k, v in options.items() if k not in keys}, images=images)
    if backend is not None:
        target = BACKENDS.get(backend) if isinstance(backend, str) else None
        if target is None:
            raise ConfigError(
                f'[models."{name}"] backend',
                f"is {backend!r}.",
                "Use 'ray' to serve the model with Ray Serve, or 'local' (the default) to run it "
                "here.",
            )
        built: Specialist = _backend(target).from_config(name, options, images=images)
        return built
    provider, model = split_name(name)
    cls = provider_class(provider)
    return cls.from_name(model, dict(options), images=images)


def _backend(target: str) -> Any:
    """The serving backend class at `module:Class` (its module imports no Ray at import)."""
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)
