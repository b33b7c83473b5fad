"""diffusers/<path>: tiny real pipelines, saved and loaded back through the adapter."""

import asyncio
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tiny_models import TinyModels, tiny_models

from composer.core.errors import ConfigError, PrerequisiteError, SpecialistError
from composer.core.images import ImageStore
from composer.specialists.base import Capability, Editor, Generator
from composer.specialists.diffusers_local import DiffusersSpecialist
from composer.specialists.registry import create


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    return tiny_models(tmp_path_factory.getbasetemp() / "tiny-models")


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "images")


async def loaded(path: Path, store: ImageStore, **options: object) -> DiffusersSpecialist:
    specialist = create(f"diffusers/{path}", {"steps": 2, **options}, images=store)
    assert isinstance(specialist, DiffusersSpecialist)
    await specialist.load()
    return specialist


def pixels(store: ImageStore, ref) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.asarray(store.open(ref).convert("RGB"), dtype=np.int16)


async def test_text_to_image_is_a_generator_with_the_right_shape(tiny, store) -> None:
    sd = await loaded(tiny.sd, store)
    assert sd.capabilities == {Capability.GENERATE}
    assert isinstance(sd, Generator)
    assert store.open(await sd.generate("a red circle", seed=1)).size == (32, 32)
    wide = await sd.generate("a red circle", seed=1, options={"size": [32, 48]})
    assert store.open(wide).size == (48, 32)


async def test_a_seed_gives_the_same_image_alone_or_in_a_batch(tiny, store) -> None:
    sd = await loaded(tiny.sd, store, max_batch=4)
    alone = await sd.generate("a blue star", seed=5)
    batch = await asyncio.gather(
        *(
            sd.generate(p, seed=s)
            for p, s in [("a cat", 1), ("a blue star", 5), ("a dog", 2), ("a blue star", 6)]
        )
    )
    assert sd.stats.sizes == {1: 1, 4: 1}
    assert np.abs(pixels(store, alone) - pixels(store, batch[1])).max() <= 1
    assert np.abs(pixels(store, batch[1]) - pixels(store, batch[3])).max() > 10  # seed matters


async def test_n_concurrent_requests_are_one_forward_pass_of_n(tiny, store) -> None:
    sd = await loaded(tiny.sd, store, max_batch=8, batch_window_ms=20)
    refs = await asyncio.gather(*(sd.generate(f"draw {i}", seed=i) for i in range(6)))
    assert len(set(refs)) == 6
    assert sd.stats.batches == 1 and sd.stats.sizes == {6: 1}


async def test_a_failing_batch_fails_only_its_own_callers(tiny, store) -> None:
    sd = await loaded(tiny.sd, store, max_batch=8)
    bad = {"size": 33}  # not divisible by 8: the pipeline rejects it; a key of its own
    results = await asyncio.gather(
        sd.generate("a", seed=1, options=bad),
        sd.generate("b", seed=2),
        sd.generate("c", seed=3, options=bad),
        sd.generate("d", seed=4),
        return_exceptions=True,
    )
    assert [type(r).__name__ for r in results] == [
        "SpecialistError",
        "ImageRef",
        "SpecialistError",
        "ImageRef",
    ]
    assert "batch of 2" in str(results[0])
    assert sd.stats.failed_batches == 1 and sd.stats.sizes == {2: 1}


async def test_image_to_image_is_an_editor(tiny, store) -> None:
    editor = await loaded(tiny.img2img, store, size=32, strength=0.5)
    assert editor.capabilities == {Capability.EDIT} and isinstance(editor, Editor)
    source = store.put(Image.new("RGB", (40, 24), (200, 10, 10)))
    edited = await asyncio.gather(
        *(editor.edit("make it blue", [source], seed=s) for s in range(3))
    )
    assert {store.open(r).size for r in edited} == {(32, 32)}
    assert editor.stats.sizes == {3: 1}
    with pytest.raises(SpecialistError, match="exactly one input image"):
        await editor.edit("x", [source, source], seed=0)
    with pytest.raises(SpecialistError, match="needs an input image"):
        await editor.generate("x", seed=0)


def test_a_missing_folder_fails_at_once(store, tmp_path: Path) -> None:
    with pytest.raises(PrerequisiteError, match="no such folder"):
        create(f"diffusers/{tmp_path / 'nope'}", {}, images=store)
    (tmp_path / "empty").mkdir()
    with pytest.raises(PrerequisiteError, match="no model_index.json"):
        create(f"diffusers/{tmp_path / 'empty'}", {}, images=store)


def test_an_uncached_hub_id_offline_says_how_to_download(store) -> None:
    with pytest.raises(PrerequisiteError, match="hf download nobody/no-such-model"):
        create("diffusers/nobody/no-such-model", {"local_files_only": True}, images=store)


def test_options_the_pipeline_lacks_are_refused(tiny, store) -> None:
    with pytest.raises(ConfigError, match="no 'strength' parameter"):
        create(f"diffusers/{tiny.sd}", {"strength": 0.5}, images=store)


def test_the_auto_pipelines_load_a_generator_checkpoint_as_an_editor(tiny, store) -> None:
    editor = create(f"diffusers/{tiny.sd}", {"task": "image-to-image"}, images=store)
    assert editor.capabilities == {Capability.EDIT}


async def test_missing_weights_fail_in_load_with_the_fix(tiny, store, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny.sd, broken)
    for weights in (broken / "unet").glob("*.safetensors"):
        weights.unlink()
    specialist = create(f"diffusers/{broken}", {}, images=store)
    with pytest.raises(PrerequisiteError, match="could not load the StableDiffusionPipeline"):
        await specialist.load()


def test_a_model_that_cannot_load_stops_the_run_and_leaves_no_folder(tiny, tmp_path: Path) -> None:
    from mockbench import config_text, write_fixture
    from typer.testing import CliRunner

    from composer.cli import app

    broken = tmp_path / "broken"
    shutil.copytree(tiny.sd, broken)
    for weights in (broken / "unet").glob("*.safetensors"):
        weights.unlink()
    text = config_text(write_fixture(tmp_path / "data")) + (
        f'\n[systems.local]\nueg = "direct"\nroles = {{ model = "diffusers/{broken}" }}\n'
    )
    config = tmp_path / "local.toml"
    config.write_text(text)
    result = CliRunner().invoke(
        app, ["run", str(config), "--out", str(tmp_path / "run"), "--quiet"]
    )
    assert result.exit_code == 2, result.output
    assert "could not load" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()
