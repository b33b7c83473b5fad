"""Whether a run file still matches its run folder: a changed system or instance is refused.

Both checks read the folder (`RunStore`) and write nothing, so a rejected run leaves it as it
was; `composer.evaluation.plan` makes them before any model call.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from composer.core.credentials import scrub_credentials
from composer.core.definition import SystemDefinition
from composer.core.errors import ConfigError
from composer.core.instance import Instance
from composer.evaluation.store import RunStore
from composer.evaluation.store_views import record_content
from composer.evaluation.store_writer import stored_form


def system_changes(
    store: RunStore,
    definitions: Mapping[str, SystemDefinition],
    *,
    rerun: Sequence[str] = (),
    same_prompts: Collection[str] = (),
) -> None:
    """Raise if a system is defined differently from the one already run in the folder.

    Systems named in `rerun` may differ; their results are dropped when the run starts
    (`RunWriter.begin_run`). A stored prompts digest in `same_prompts` (an earlier digest over
    prompts that are all unchanged) reads as today's.

    Raises:
        ConfigError: naming every changed system with what changed, and the one `--rerun`
            that takes them all (a refusal per system, one run after another, made a user
            fixing one strategy file used by several systems go round as many times).
    """
    stored = store.system_definitions()
    changes: dict[str, str] = {}
    for name, definition in definitions.items():
        if name not in stored or name in rerun:
            continue
        before = scrub_credentials(stored[name].to_json())
        now = json.loads(json.dumps(stored_form(definition), sort_keys=True))
        if before.get("prompts") in same_prompts:
            before["prompts"] = now.get("prompts")
        if before != now:
            changes[name] = "; ".join(_differences(before, now)[:6])
    if not changes:
        return
    names = list(changes)
    what = "; ".join(f"{name!r}: {changed}" for name, changed in changes.items())
    plural = len(names) > 1
    raise ConfigError(
        f"system{'s' if plural else ''} {', '.join(repr(n) for n in names)}",
        f"differ{'' if plural else 's'} from the one{'s' if plural else ''} already run in "
        f"{store.run_dir} ({what}).",
        f"Run {'them' if plural else 'it'} again from scratch with --rerun {','.join(names)} "
        "(unchanged model calls replay from the cache), rename, or run into a new --out "
        "folder.",
    )


def instance_changes(store: RunStore, instances: Sequence[Instance]) -> None:
    """Raise if an instance id is stored in the folder with other content.

    Raises:
        ConfigError: the benchmark changed under this run directory, so finished results
            would be attributed to instances they were not computed on.
    """
    stored = store.instance_contents({i.id for i in instances})
    for instance in instances:
        before = stored.get(instance.id)
        if before is not None and before != record_content(instance.model_dump_json()):
            raise ConfigError(
                f"instance {instance.id!r}",
                f"differs from the one this run directory ({store.run_dir}) was run on: "
                "the benchmark changed.",
                "Run into a new --out folder.",
            )


def _differences(before: Any, now: Any, path: str = "") -> list[str]:
    """Where two JSON documents differ, as `path: old -> new` lines."""
    if isinstance(before, dict) and isinstance(now, dict):
        found: list[str] = []
        for key in sorted(set(before) | set(now), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in before:
                found.append(f"{where} added ({_shown(now[key], 80)})")
            elif key not in now:
                found.append(f"{where} removed (was {_shown(before[key], 80)})")
            else:
                found += _differences(before[key], now[key], where)
        return found
    if before != now:
        return [f"{path}: {_shown(before, 60)} -> {_shown(now, 60)}"]
    return []


def _shown(value: Any, limit: int) -> str:
    """`value` as JSON in at most about `limit` characters, its quotes and brackets balanced.

    A long text keeps its head and its tail (where two digests differ as often as not):
    `"sha256:3f2a...9c1d"`; a long list or table shows its size.
    """
    text = json.dumps(value)
    if len(text) <= limit:
        return text
    if isinstance(value, str):
        keep = max(4, (limit - 5) // 2)
        return json.dumps(f"{value[:keep]}...{value[-keep:]}")
    if isinstance(value, dict):
        return f"{{... {len(value)} keys}}"
    if isinstance(value, list):
        return f"[... {len(value)} items]"
    return text[:limit]
