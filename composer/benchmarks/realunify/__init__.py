"""RealUnify: its four JSON files (`files`) and its protocol, the paper's prompts and readers.

`files` reads a RealUnify folder into `Instance`s; `protocol` holds the paper's prompt templates
(refine, multiple choice, per-category edit, judge) and both readers of each reply kind
(`official`, the released scorer's behaviour; `strict`, an explicit answer or unscored).
"""

from composer.benchmarks.realunify.files import FILES, load_folder, read_records

__all__ = ["FILES", "load_folder", "read_records"]
