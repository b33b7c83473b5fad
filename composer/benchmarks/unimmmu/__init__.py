"""Uni-MMMU (arXiv 2510.13759), read and scored natively, as its release reads and scores it.

`files` reads the data folder `data.tar` unpacks to; `prompts` holds the sample scripts' task
prompts word for word; `grids` and `scoring` are the programmatic scorers (maze, sliding,
jigsaw); `judged` builds the model-judged requests and reads their replies; `release` reads and
writes the release's output layout and aggregates under its summary keys. Every scorer returns
named channels (`channels`) in two readings: `official` (the release's behaviour, quirks
included) and `strict` (each quirk fixed).
"""
