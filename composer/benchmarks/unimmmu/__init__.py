"""Uni-MMMU (arXiv 2510.13759), read and scored natively, as its release reads and scores it.

- `files` (with `folder`, `puzzles`, `readers`, `records`): the data folder `data.tar`
  unpacks to, read in place into validated `Item`s; `prompts`: the sample scripts' task
  prompts and call suffixes word for word.
- `grids`, `scoring`, `perceptual`: the programmatic scorers (maze and sliding frames and
  moves, the jigsaw choice and DreamSim distance).
- `judged`, `judge_prompts`: the model-judged scorers' requests and reply readers.
- `case_scoring`: one item's outputs in a run; `release` and `folder_scoring`: the release's
  output layout, read, written and scored; `summaries` and `leaderboard`: the release's
  summary keys, its 14 columns and the published table (quoted).

Every scorer returns named channels (`channels`) in two readings: `official` (the release's
behaviour, quirks included) and `strict` (each quirk fixed).
"""
