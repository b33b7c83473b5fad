"""The `composer` command: parse arguments, build a config, call the library, print."""

from composer.cli.run import app, main

__all__ = ["app", "main"]
