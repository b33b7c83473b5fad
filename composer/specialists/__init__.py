"""Model adapters behind the `Understander`, `Generator` and `Editor` protocols."""

from composer.specialists.base import (
    Capability,
    Editor,
    Generator,
    Options,
    Specialist,
    TextReply,
    Understander,
    Usage,
)
from composer.specialists.registry import create, register_provider

__all__ = [
    "Capability",
    "Editor",
    "Generator",
    "Options",
    "Specialist",
    "TextReply",
    "Understander",
    "Usage",
    "create",
    "register_provider",
]
