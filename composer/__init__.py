"""composer: compose specialist models as graphs and compare them with unified models.

`import composer` stays light: heavy libraries (langgraph, torch, provider SDKs) are imported
only by the modules that use them, and the Python API (`composer.api`: `run`, `arun`, `Run`,
`Results`, `config`, `open_results`, `Outcome`) is loaded on first use of one of its names.

Example:
    >>> import composer
    >>> results = composer.run("examples/demo.toml", "runs/demo")  # doctest: +SKIP
"""

from typing import Any

__version__ = "0.1.0"

_API = ("Outcome", "Results", "Run", "RunNote", "arun", "config", "open_results", "run")
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    """The API's names, imported from `composer.api` when first asked for."""
    if name in _API:
        from composer import api

        return getattr(api, name)
    raise AttributeError(f"module 'composer' has no attribute {name!r}")
