"""Judges in the report: whose numbers, how far judges agree, what depends on the judge.

Reads the store only. Agreement between two judges is raw agreement and Cohen's kappa, on the
UEG questions both answered (each question's official reading: yes, no or unread) and on whole
instances (correct or not), with a percentile bootstrap 95% interval over the items. Kappa is
a four-line formula over a contingency table; it is computed here rather than pulling in
scikit-learn for it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from composer.core.definition import SystemDefinition
from composer.core.errors import ConfigError
from composer.evaluation.store import RunStore

BOOTSTRAP_RESAMPLES = 1000


def resolve_judge(store: RunStore, requested: str | None) -> tuple[str | None, str | None]:
    """The (id, label) of the judge whose scores a report shows.

    Default: the headline judge of the latest run. `requested` is a judge's model (or label,
    or id); several stored judges of that model resolve to the latest run's, else the newest.

    Raises:
        ConfigError: no stored judge matches `requested`.
    """
    judges = {k: v for k, v in store.judges().items() if v["definition"].get("model")}
    latest = store.latest_run()
    current = list(latest["judges"]) if latest else []
    if requested is None:
        first = current[0] if current and current[0] in judges else None
        return (first, judges[first]["label"]) if first else (None, None)
    matches = [
        i for i, j in judges.items() if requested in (i, j["label"], j["definition"].get("model"))
    ]
    if not matches:
        known = ", ".join(sorted({j["label"] for j in judges.values()})) or "none"
        raise ConfigError(
            f"--judge {requested!r}",
            "judged nothing in this run folder.",
            f"Judges stored: {known}. Add it to [judge] (model or extra) and run again to judge "
            "the stored outputs with it.",
        )
    preferred = [i for i in matches if i in current]
    chosen = preferred[0] if preferred else matches[-1]
    return chosen, judges[chosen]["label"]


def run_judges(store: RunStore) -> list[tuple[str, str]]:
    """(id, label) of the UEG judges the latest run named, headline first."""
    judges = store.judges()
    latest = store.latest_run()
    return [
        (i, judges[i]["label"])
        for i in (latest["judges"] if latest else [])
        if i in judges and judges[i]["definition"].get("model")
    ]


def cohen_kappa(pairs: Sequence[tuple[Any, Any]]) -> float | None:
    """Cohen's kappa of two raters over `pairs` of labels; None when it is undefined.

    Example:
        >>> cohen_kappa([("yes", "yes"), ("no", "no"), ("yes", "no"), ("no", "no")])
        0.5
    """
    n = len(pairs)
    if not n:
        return None
    observed = sum(1 for a, b in pairs if a == b) / n
    left = Counter(a for a, _ in pairs)
    right = Counter(b for _, b in pairs)
    expected = sum(left[k] * right.get(k, 0) for k in left) / (n * n)
    if expected >= 1.0:
        return None  # both raters gave one label throughout: agreement by construction
    return (observed - expected) / (1.0 - expected)


_CHUNK = 1 << 16
"""Bootstrap draws made at once: the agreement intervals' memory does not grow with the run."""


def _replicates(
    a: np.ndarray, b: np.ndarray, labels: int, *, seed: int, resamples: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per resample of the items: how many pairs agree, and how often each rater gave each label.

    The draws are those of `rng.integers(0, n, size=(resamples, n))`, made `_CHUNK` at a time
    in the same order (the generator's stream does not depend on how it is cut), and reduced to
    counts as they come: memory is O(resamples x labels), whatever the number of items.
    """
    n = len(a)
    rng = np.random.default_rng(seed)
    agree = np.zeros(resamples, dtype=np.int64)
    counts_a = np.zeros((labels, resamples), dtype=np.int64)
    counts_b = np.zeros((labels, resamples), dtype=np.int64)
    total = resamples * n
    for start in range(0, total, _CHUNK):
        picks = rng.integers(0, n, size=min(_CHUNK, total - start))
        rows = (start + np.arange(picks.size)) // n
        sa, sb = a[picks], b[picks]
        agree += np.bincount(rows[sa == sb], minlength=resamples)
        for k in range(labels):
            counts_a[k] += np.bincount(rows[sa == k], minlength=resamples)
            counts_b[k] += np.bincount(rows[sb == k], minlength=resamples)
    return agree, np.stack([counts_a, counts_b])


def _interval(
    pairs: Sequence[tuple[Any, Any]], *, seed: int, resamples: int = BOOTSTRAP_RESAMPLES
) -> dict[str, list[float] | None]:
    """Percentile bootstrap 95% intervals of agreement and kappa, resampling the items.

    Each resample's agreement and kappa come from counts (`_replicates`), so the run's size
    does not change the memory it takes; for a seed they are the numbers the resampled arrays
    gave before (the same draws, and the same floating-point operations on exact counts).
    """
    if not pairs:
        return {"agreement_ci95": None, "kappa_ci95": None}
    labels = {label: k for k, label in enumerate(sorted({str(x) for p in pairs for x in p}))}
    a = np.array([labels[str(x)] for x, _ in pairs])
    b = np.array([labels[str(y)] for _, y in pairs])
    n = len(pairs)
    agree, counts = _replicates(a, b, len(labels), seed=seed, resamples=resamples)
    observed = agree / n
    expected = sum((counts[0][k] / n) * (counts[1][k] / n) for k in labels.values())
    defined = expected < 1.0  # a resample where both raters gave one label has no kappa
    kappas = (observed[defined] - expected[defined]) / (1.0 - expected[defined])
    low, high = np.quantile(observed, [0.025, 0.975])
    out: dict[str, list[float] | None] = {"agreement_ci95": [float(low), float(high)]}
    if kappas.size:
        k_low, k_high = np.quantile(kappas, [0.025, 0.975])
        out["kappa_ci95"] = [float(k_low), float(k_high)]
    else:
        out["kappa_ci95"] = None
    return out


def _measure(pairs: Sequence[tuple[Any, Any]], seed: int) -> dict[str, Any]:
    agreement = sum(1 for a, b in pairs if a == b) / len(pairs) if pairs else None
    return {
        "n": len(pairs),
        "agreement": agreement,
        "kappa": cohen_kappa(pairs),
        **_interval(pairs, seed=seed),
    }


def agreement(
    store: RunStore, judges: Sequence[tuple[str, str]], *, seed: int = 0
) -> list[dict[str, Any]]:
    """For each pair of `judges`: agreement and kappa on UEG questions and on instances."""
    # Keyed by run seed too: each seed's output is judged on its own.
    readings: dict[str, dict[tuple[str, str, int, int], str]] = {}
    for system, instance, judge, position, _, official, _, seed_ in store.judgment_rows():
        readings.setdefault(judge, {})[(system, instance, seed_, position)] = official or "unread"
    verdicts: dict[str, dict[tuple[str, str, int], bool]] = {}
    for system, instance, judge, status, correct, _, seed_ in store.score_rows():
        if status == "ok":
            verdicts.setdefault(judge, {})[(system, instance, seed_)] = bool(correct)
    rows: list[dict[str, Any]] = []
    for i, (a, label_a) in enumerate(judges):
        for b, label_b in judges[i + 1 :]:
            ra, rb = readings.get(a, {}), readings.get(b, {})
            va, vb = verdicts.get(a, {}), verdicts.get(b, {})
            questions = [(ra[k], rb[k]) for k in sorted(ra) if k in rb]
            instances = [(va[k], vb[k]) for k in sorted(va) if k in vb]
            disagree = sorted(k for k in va if k in vb and va[k] != vb[k])
            rows.append(
                {
                    "a": label_a,
                    "b": label_b,
                    "questions": _measure(questions, seed),
                    "instances": _measure(instances, seed),
                    "disagreements": [
                        {"system": s, "instance": n, "seed": k} for s, n, k in disagree
                    ],
                }
            )
    return rows


def _key(row: Mapping[str, Any], fields: Sequence[str]) -> tuple[Any, ...]:
    return tuple(row[f] for f in fields)


def by_judge(
    per_judge: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """Each headline comparison and paired test under every judge, flagged where it changes.

    `per_judge` maps a judge's label to its report (`summarize` for that judge). A comparison
    is flagged `sign_changes` when its difference is positive under one judge and negative
    under another; a paired test `significance_changes` when p < 0.05 under one and not
    another.
    """
    labels = list(per_judge)
    comparisons: dict[tuple[Any, ...], dict[str, Any]] = {}
    paired: dict[tuple[Any, ...], dict[str, Any]] = {}
    c_fields = ("comparison", "a", "b", "axis")
    p_fields = ("a", "b", "scope")
    for label in labels:
        for row in per_judge[label]["comparisons"]:
            entry = comparisons.setdefault(
                _key(row, c_fields),
                dict(zip(c_fields, _key(row, c_fields), strict=True)) | {"delta": {}},
            )
            entry["delta"][label] = row["delta"]
        for row in per_judge[label]["paired"]:
            entry = paired.setdefault(
                _key(row, p_fields),
                dict(zip(p_fields, _key(row, p_fields), strict=True))
                | {"difference": {}, "p_value": {}},
            )
            entry["difference"][label] = row["difference"]
            entry["p_value"][label] = row["p_value"]
    for entry in comparisons.values():
        values = list(entry["delta"].values())
        entry["sign_changes"] = any(v > 0 for v in values) and any(v < 0 for v in values)
    for entry in paired.values():
        values = list(entry["difference"].values())
        entry["sign_changes"] = any(v > 0 for v in values) and any(v < 0 for v in values)
        significant = [p < 0.05 for p in entry["p_value"].values()]
        entry["significance_changes"] = any(significant) and not all(significant)
    notes = [
        f"{c['comparison']}: {c['a']} vs {c['b']}, {c['axis']}: "
        + ", ".join(f"{v:+.1f} by {k}" for k, v in c["delta"].items())
        for c in comparisons.values()
        if c["sign_changes"]
    ]
    notes += [
        f"paired {p['a']} vs {p['b']} ({p['scope']}): "
        + ", ".join(
            f"{p['difference'][k]:+.1f} (p {p['p_value'][k]:.2g}) by {k}" for k in p["difference"]
        )
        for p in paired.values()
        if p["sign_changes"] or p["significance_changes"]
    ]
    return {
        "comparisons": list(comparisons.values()),
        "paired": list(paired.values()),
        "notes": notes,
    }


_RUNTIMES = ("openai-compatible", "diffusers", "transformers", "symbolic", "mock")
"""Providers that run anyone's models: the family of one of their models is its organisation
(`transformers/Qwen/...`), or the model itself."""


def family(model: str) -> str:
    """The provider family of a model name, for the self-preference check.

    Example:
        >>> family("gemini/gemini-2.5-flash-image"), family("transformers/Qwen/Qwen2.5-VL-7B")
        ('gemini', 'transformers/Qwen')
    """
    provider, _, rest = model.partition("/")
    if provider not in _RUNTIMES:
        return provider
    head, sep, _ = rest.partition("/")
    return f"{provider}/{head}" if sep else model


def self_preference(
    definitions: Mapping[str, SystemDefinition], judge_model: str | None
) -> dict[str, str]:
    """Per system judged by its own model, or by a model of the same provider family, why."""
    if not judge_model:
        return {}
    notes: dict[str, str] = {}
    for name, definition in definitions.items():
        if "UEG" not in definition.axes:
            continue
        models = {m for axis in definition.axes.values() for m in axis.roles.values()}
        if judge_model in models:
            notes[name] = f"judged by {judge_model}, which is bound in this system"
        else:
            same = sorted(m for m in models if family(m) == family(judge_model))
            if same:
                notes[name] = (
                    f"judged by {judge_model}, of the same provider family as {', '.join(same)}"
                )
    return notes
