"""The Ray keys of a model's table: deployment shape, autoscaling bounds, cluster address.

Every other key of a `[models."..."]` table with `backend = "ray"` goes to the served model.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from composer.core.errors import ConfigError, config_error
from composer.specialists.base import SpecialistOptions


class RayOptions(SpecialistOptions):
    """The Ray keys of a `[models."..."]` table; every other key goes to the served model."""

    backend: Literal["ray"] = "ray"
    replicas: int = Field(default=1, ge=1)
    """Replicas to start; with autoscaling bounds, the number to start with (default: min)."""
    gpus_per_replica: float = Field(default=1.0, ge=0)
    """GPUs Ray reserves for each replica (fractions share a GPU; 0 runs on CPU)."""
    cpus_per_replica: float = Field(default=1.0, ge=0)
    accelerator_type: str | None = None
    """Only nodes with this GPU kind, as Ray names it (e.g. `H100`, `A100`)."""
    min_replicas: int | None = Field(default=None, ge=0)
    """Autoscaling lower bound (default: `replicas`); Serve scales on the requests in flight."""
    max_replicas: int | None = Field(default=None, ge=1)
    """Autoscaling upper bound (default: `replicas`)."""
    target_ongoing_requests: float | None = Field(default=None, gt=0)
    """Autoscaling target of groups in flight per replica (default 1)."""
    max_ongoing_requests: int | None = Field(default=None, ge=1)
    """Groups of requests one replica holds at once (default 3: one running, two waiting).

    The proxy sends the requests that arrive within the model's `batch_window_ms` (up to its
    `max_batch`) as one group, so a group is about one batch."""
    address: str | None = None
    """An existing cluster (`auto`, `ray://head:10001`); default: start a local Ray."""
    deployment: str | None = None
    """The Serve application name (default: derived from the model name and its options)."""
    keep_deployment: bool = False
    """Leave the deployment running on an `address` cluster after the run, for the next one."""
    start_timeout_s: float = Field(default=900.0, gt=0)
    """How long the replicas may take to start (load weights) before the run stops."""

    @model_validator(mode="before")
    @classmethod
    def _initial_replicas(cls, data: Any) -> Any:
        """With autoscaling bounds and no `replicas`, start at `min_replicas` (at least one)."""
        if isinstance(data, Mapping) and "replicas" not in data:
            low = data.get("min_replicas")
            if isinstance(low, int) and low >= 1:
                return {**data, "replicas": low}
        return data

    @model_validator(mode="after")
    def _bounds(self) -> RayOptions:
        low, high = self.min_replicas, self.max_replicas
        if low is not None and high is not None and low > high:
            raise ValueError(f"min_replicas ({low}) is above max_replicas ({high})")
        if low is not None and self.replicas < low:
            raise ValueError(f"replicas ({self.replicas}) is below min_replicas ({low})")
        if high is not None and self.replicas > high:
            raise ValueError(f"replicas ({self.replicas}) is above max_replicas ({high})")
        if self.target_ongoing_requests is not None and not self.is_autoscaling:
            raise ValueError(
                "target_ongoing_requests applies only with min_replicas or max_replicas"
            )
        return self

    @property
    def is_autoscaling(self) -> bool:
        """Whether autoscaling bounds are set."""
        return self.min_replicas is not None or self.max_replicas is not None

    def serve_options(self, max_ongoing_requests: int) -> dict[str, Any]:
        """The keyword arguments of `serve.deployment` for this shape."""
        opts = self
        actor: dict[str, Any] = {
            "num_cpus": opts.cpus_per_replica,
            "num_gpus": opts.gpus_per_replica,
        }
        if opts.accelerator_type:
            actor["accelerator_type"] = opts.accelerator_type
        deployment: dict[str, Any] = {
            "name": "specialist",
            "ray_actor_options": actor,
            "max_ongoing_requests": max_ongoing_requests,
            "max_constructor_retry_count": opts.replicas,
            "logging_config": {"log_level": "WARNING", "enable_access_log": False},
        }
        if opts.is_autoscaling:
            deployment["autoscaling_config"] = {
                # A bound left out is the starting number: only max scales up, only min down.
                "min_replicas": opts.min_replicas
                if opts.min_replicas is not None
                else opts.replicas,
                "initial_replicas": opts.replicas,
                "max_replicas": opts.max_replicas
                if opts.max_replicas is not None
                else opts.replicas,
                "target_ongoing_requests": opts.target_ongoing_requests or 1,
            }
        else:
            deployment["num_replicas"] = opts.replicas
        return deployment


RAY_KEYS = frozenset(RayOptions.model_fields)


def option_error(name: str, exc: ValidationError) -> ConfigError:
    """The first problem with a model's Ray keys, as one configuration error.

    A problem with one key says to fix that key; one across keys (the autoscaling bounds) says
    how they must relate.
    """
    fix = "Fix or remove that option."
    if not exc.errors()[0]["loc"]:
        fix = (
            "Autoscaling needs 0 <= min_replicas <= replicas <= max_replicas (replicas: the "
            "number to start with, by default min_replicas)."
        )
    return config_error(f'[models."{name}"]', exc, fix)


def app_name(name: str, options: Any) -> str:
    """A Serve application name per model and deployment shape: an equal config reuses it."""
    digest = hashlib.sha256(json.dumps([name, options], sort_keys=True, default=str).encode())
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name)[-40:].strip("-")
    return f"composer-{slug}-{digest.hexdigest()[:8]}"
