"""Core data types shared by every layer: instances, images, errors and configuration."""

from composer.core.errors import (
    AgentOutputError,
    ComposerError,
    ConfigError,
    DataError,
    PrerequisiteError,
    RefusalError,
    SpecialistError,
    UnknownNameError,
)
from composer.core.images import ImageRef, ImageStore
from composer.core.instance import Axis, Check, Instance

__all__ = [
    "AgentOutputError",
    "Axis",
    "Check",
    "ComposerError",
    "ConfigError",
    "DataError",
    "ImageRef",
    "ImageStore",
    "Instance",
    "PrerequisiteError",
    "RefusalError",
    "SpecialistError",
    "UnknownNameError",
]
