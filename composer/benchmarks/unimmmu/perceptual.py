"""DreamSim, the jigsaw image distance, loaded as the release loads it (torch imported here only).

`eval_ummmu.py` builds `dreamsim(pretrained=True, device=..., cache_dir=...)` on CUDA when
available, runs both images through its preprocessing and takes `model(a, b).item()` under
`torch.no_grad()`. This module does the same behind a lazy import, so composer imports no torch
until a jigsaw image is scored; the release's hard-coded cache folder becomes an argument.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from composer.benchmarks.unimmmu.scoring import Distance
from composer.core.errors import PrerequisiteError


def load_dreamsim(cache_dir: Path | str | None = None, device: str | None = None) -> Distance:
    """A `Distance` backed by the `dreamsim` package (weights downloaded on first use).

    Args:
        cache_dir: Where DreamSim keeps its weights (the release hard-codes its own folder);
            None uses the package's default (`./models`).
        device: "cuda" or "cpu"; None picks CUDA when available, as the release does.

    Raises:
        PrerequisiteError: when `dreamsim` (or torch) is not installed.
    """
    try:
        import torch
        from dreamsim import dreamsim
    except ImportError as exc:
        raise PrerequisiteError(
            "Uni-MMMU jigsaw image score",
            f"needs the 'dreamsim' package ({exc.name or exc} is missing).",
            "pip install 'unify-composer[unimmmu]'; without it composer scores the jigsaw "
            "choice and reports the image channel as unscored.",
        ) from None
    chosen = device or ("cuda" if torch.cuda.is_available() else "cpu")
    kwargs: dict[str, Any] = {"pretrained": True, "device": chosen}
    if cache_dir is not None:
        kwargs["cache_dir"] = str(cache_dir)
    model, preprocess = dreamsim(**kwargs)

    def distance(a: Image.Image, b: Image.Image) -> float:
        tensor_a = preprocess(a.convert("RGB")).to(chosen)
        tensor_b = preprocess(b.convert("RGB")).to(chosen)
        with torch.no_grad():
            return float(model(tensor_a, tensor_b).item())

    return distance
