"""Serving backends for local models: where a model runs when it does not run in-process.

A `[models."..."]` table with `backend = "ray"` is served by `composer.serving.ray`. The
registry reaches a backend through its lazy name table (`composer.specialists.registry`), so
nothing here is imported until a model asks for it.
"""
