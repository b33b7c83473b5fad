"""What the local-model adapters share: their options, finding weights, device and dtype.

A local model name is `provider/<hub-id-or-path>`: a path (absolute, or relative to the working
folder) is used as it is; anything else is a Hugging Face hub id, looked up in the local cache
first. Nothing here imports torch at module level.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, Field

from composer.core.errors import ConfigError, PrerequisiteError, SpecialistError
from composer.specialists.base import CallOptions, Specialist, SpecialistOptions
from composer.specialists.batching import BatchStats, MicroBatcher

if TYPE_CHECKING:
    import torch


LOADING = threading.Lock()
"""Held while a local model builds itself from its weights. Runs load their models at the same
time, in threads; but diffusers (through accelerate's `init_empty_weights`) patches
`torch.nn.Module` for the whole process while it builds a model, so a model built in another
thread meanwhile gets parameters on the meta device, and interleaved patches can leave the patch
in place for good."""


class BatchedSpecialist(Specialist):
    """A local model behind a micro-batcher: its batch counts, progress note and shutdown."""

    batcher: MicroBatcher[Any, Any]

    @property
    def stats(self) -> BatchStats:
        """The batcher's counts: batches run and their sizes."""
        return self.batcher.stats

    def progress_note(self) -> str:
        """Batches run so far, for the progress display."""
        return self.batcher.stats.note()

    def close(self) -> None:
        """Stop the micro-batcher's worker thread."""
        self.batcher.close()


SettingsT = TypeVar("SettingsT", bound=BaseModel)


def call_settings(
    settings: type[SettingsT], configured: BaseModel, options: CallOptions | None
) -> SettingsT:
    """One call's `settings`: the call's `options` where they set a field, else `configured`.

    `configured` is the model's options; other call option keys only vary the cache key.
    """
    fields = settings.model_fields
    merged = {key: getattr(configured, key) for key in fields} | {
        key: value for key, value in (options or {}).items() if key in fields
    }
    return settings(**merged)


def not_loaded(name: str) -> SpecialistError:
    """The error of a call made before the model's `load()`."""
    return SpecialistError(
        name, "is not loaded.", "Await load() before the first call (the runner does)."
    )


class LocalOptions(SpecialistOptions):
    """Options every local model takes, in its `[models."provider/..."]` table."""

    device: str = "auto"
    """`auto` (cuda, then mps, then cpu) or a torch device such as `cuda:1`."""
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    """`auto`: bfloat16 on cuda, float32 elsewhere."""
    max_batch: int = Field(default=8, ge=1)
    """At most this many concurrent requests run as one forward pass."""
    batch_window_ms: float = Field(default=5.0, ge=0)
    """How long the first request of a batch waits for others to join it."""
    trust_remote_code: bool = False
    """Run the model repository's own Python code (only for repositories you trust)."""
    local_files_only: bool = False
    """Never reach the hub: weights must be a path or already in the Hugging Face cache."""
    revision: str | None = None


BATCHING_FIELDS = frozenset({"max_batch", "batch_window_ms"})
"""Options that change speed, not results: left out of the cache identity."""


def is_offline(options: LocalOptions) -> bool:
    """Whether the hub must not be contacted (the option or `HF_HUB_OFFLINE`)."""
    from huggingface_hub import constants

    return options.local_files_only or bool(constants.HF_HUB_OFFLINE)


def _looks_like_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~")) or Path(model).expanduser().exists()


def resolve_source(where: str, model: str, marker: str, options: LocalOptions) -> str:
    """Return the folder (or hub id) to load `model` from, after checking `marker` exists.

    `marker` is the file that every such model has (`model_index.json` for a diffusers
    pipeline, `config.json` for a transformers model). Raises `PrerequisiteError` with the fix:
    a path that does not exist, a folder without the marker, a hub id missing from the cache
    while offline.
    """
    if _looks_like_path(model):
        folder = Path(model).expanduser()
        if not folder.is_dir():
            raise PrerequisiteError(
                where, f"no such folder ({str(folder)!r}).", "Check the path in the model name."
            )
        if not (folder / marker).is_file():
            raise PrerequisiteError(
                where,
                f"the folder {str(folder)!r} has no {marker}, so it is not a saved model of "
                "this kind.",
                "Point the name at the folder that save_pretrained wrote.",
            )
        return str(folder)
    read_marker(where, model, marker, options)
    return model


def read_marker(where: str, model: str, marker: str, options: LocalOptions) -> dict[str, Any]:
    """Read the JSON file `marker` of a path or hub id (cache first, then the hub if allowed)."""
    if _looks_like_path(model):
        path = Path(model).expanduser() / marker
    else:
        path = Path(_from_hub(where, model, marker, options))
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise PrerequisiteError(where, f"cannot read {path} ({exc}).") from exc
    return data


def _from_hub(where: str, model: str, marker: str, options: LocalOptions) -> str:
    from huggingface_hub import hf_hub_download, try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError

    download = f"Download it first with: hf download {model}  (or give a local path)."
    try:
        # A pure cache look-up: hf_hub_download(local_files_only=True) still builds request
        # headers, and its user-agent detection reaches the network.
        cached = try_to_load_from_cache(model, marker, revision=options.revision)
    except HFValidationError as exc:
        raise ConfigError(
            where, f"{model!r} is neither an existing folder nor a hub id.", str(exc)
        ) from exc
    if isinstance(cached, str):
        return cached
    if is_offline(options):
        raise PrerequisiteError(
            where, "is not in the Hugging Face cache and the hub is off (offline).", download
        )
    _check_hub_reachable(where, download)
    try:
        with _hub_warnings_quiet():  # its "Retrying in 4s [Retry 3/5]" lines: the error says it
            return str(hf_hub_download(model, marker, revision=options.revision, etag_timeout=10))
    except Exception as exc:  # network, gated or missing repository
        raise PrerequisiteError(
            where,
            f"could not fetch {marker} from the hub ({type(exc).__name__}: {exc}).",
            download,
        ) from exc


def pick_device(spec: str) -> torch.device:
    """The torch device for an options `device` value."""
    import torch

    if spec != "auto":
        return torch.device(spec)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def pick_dtype(spec: str, device: torch.device) -> torch.dtype:
    """The torch dtype for an options `dtype` value on `device`."""
    import torch

    if spec == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    dtype: torch.dtype = getattr(torch, spec)
    return dtype


def torch_provenance(module: Any, device: torch.device | None) -> dict[str, Any]:
    """Device (with the GPU's name), dtype and attention kernel of a loaded torch model.

    The kernel is the model config's `_attn_implementation` (transformers: `sdpa`, `eager`,
    `flash_attention_2`) or the class names of its attention processors (diffusers); {} for a
    model that is not loaded.
    """
    if module is None or device is None:
        return {}
    import torch

    found: dict[str, Any] = {"device": str(device)}
    if device.type == "cuda" and torch.cuda.is_available():
        found["device_name"] = torch.cuda.get_device_name(device)
    parameters = getattr(module, "parameters", None)
    if callable(parameters):
        first = next(iter(parameters()), None)
        if first is not None:
            found["dtype"] = str(first.dtype).removeprefix("torch.")
    elif getattr(module, "dtype", None) is not None:
        found["dtype"] = str(module.dtype).removeprefix("torch.")
    config = getattr(module, "config", None)
    kernel = getattr(config, "_attn_implementation", None)
    if kernel is None:
        processors = getattr(module, "attn_processors", None)
        if isinstance(processors, dict) and processors:
            kernel = ", ".join(sorted({type(p).__name__ for p in processors.values()}))
    if kernel is not None:
        found["attention"] = str(kernel)
    found["torch"] = torch.__version__
    return found


def describe_local(name: str, options: LocalOptions, **extra: Any) -> dict[str, Any]:
    """The cache identity of a local model: its name and the options that change results."""
    kept = options.model_dump(mode="json", exclude=set(BATCHING_FIELDS))
    return {"name": name, "options": kept, **extra}


def _check_hub_reachable(where: str, download: str) -> None:
    """Stop at once where the hub's name does not resolve (a machine without the internet).

    `hf_hub_download` retries a connection error five times, 23 s of backoff with a warning at
    each try, before the same error. Behind a proxy the local resolver may not know the hub's
    name: then the download is left to try.
    """
    import os
    import socket
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return
    host = urlsplit(constants.ENDPOINT).hostname
    if not host:
        return
    try:
        socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise PrerequisiteError(
            where,
            f"is not in the Hugging Face cache, and the hub cannot be reached ({host}: {exc}).",
            download,
        ) from None


@contextlib.contextmanager
def _hub_warnings_quiet() -> Iterator[None]:
    """huggingface_hub's warnings held back (its retries'), its errors still shown."""
    hub = logging.getLogger("huggingface_hub")
    level = hub.level
    hub.setLevel(max(logging.ERROR, level))
    try:
        yield
    finally:
        hub.setLevel(level)
