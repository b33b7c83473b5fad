"""The local examples run end to end on the tiny models, with a scripted judge.

examples/local_models.toml (composed specialists) and examples/local_unified_janus.toml (one
unified model, direct and stepwise).
"""

import asyncio
import json
from pathlib import Path

import pytest
from tiny_models import TinyModels, tiny_janus, tiny_models
from typer.testing import CliRunner

from composer.cli import app
from composer.core.config import load_config
from composer.evaluation.runner import Runner
from composer.evaluation.store import RunStore
from composer.specialists.janus_local import JanusSpecialist

EXAMPLE = Path(__file__).parents[2] / "examples" / "local_models.toml"
JANUS_EXAMPLE = EXAMPLE.with_name("local_unified_janus.toml")
cli = CliRunner()


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    return tiny_models(tmp_path_factory.getbasetemp() / "tiny-models")


@pytest.fixture(scope="session")
def janus_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_janus(tmp_path_factory.getbasetemp() / "tiny-models")


def rewrite(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def tiny_config(tiny: TinyModels, editor: Path | str) -> str:
    text = rewrite(
        EXAMPLE.read_text(),
        {
            "Qwen/Qwen2.5-VL-7B-Instruct": str(tiny.vlm),
            "stabilityai/stable-diffusion-xl-base-1.0": str(tiny.sd),
            "timbrooks/instruct-pix2pix": str(editor),
            "max_new_tokens = 512": "max_new_tokens = 8",
            "steps = 30\nguidance = 6.0\nsize = 1024": "steps = 2\nguidance = 6.0\nsize = 32",
            "steps = 20\nsize = 512": "steps = 2\nsize = 32",
            "n_per_category = 10": "n_per_category = 1",
        },
    )
    judge = f'model = "transformers/{tiny.vlm}"\nparser'
    text = rewrite(text, {judge: 'model = "mock/judge"\nparser'})
    return text + '\n[models."mock/judge"]\ndefault = "yes"\n'


def test_the_local_example_runs_on_tiny_models(tiny: TinyModels, tmp_path: Path) -> None:
    config = tmp_path / "local.toml"
    config.write_text(tiny_config(tiny, tiny.img2img))
    run_dir = tmp_path / "run"
    result = cli.invoke(app, ["run", str(config), "--out", str(run_dir), "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads(cli.invoke(app, ["report", str(run_dir), "--format", "json"]).stdout)
    systems = report["systems"]
    assert set(systems) == {"local-composed", "sdxl-direct", "vlm-direct"}
    composed = systems["local-composed"]
    assert composed["UEG"]["counts"]["n"] == 6 and composed["GEU"]["counts"]["n"] == 4
    for system in systems.values():
        for axis in ("UEG", "GEU"):
            if axis in system:
                assert system[axis]["counts"]["failed"] == 0, system
    rows = cli.invoke(app, ["report", str(run_dir), "--format", "jsonl"]).stdout.splitlines()
    outputs = [json.loads(row)["output"] for row in rows]
    assert all(o["image"].startswith("sha256:") for o in outputs if "rewrite" in o)
    assert all(o["edited_image"].startswith("sha256:") for o in outputs if "edited_image" in o)


def test_a_text_to_image_model_bound_as_editor_stops_at_start(
    tiny: TinyModels, tmp_path: Path
) -> None:
    config = tmp_path / "local.toml"
    config.write_text(tiny_config(tiny, f"{tiny.sd}/"))  # the text-to-image model, as editor
    result = cli.invoke(app, ["run", str(config), "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 2
    assert "role 'editor'" in result.output and "cannot edit" in result.output
    assert not (tmp_path / "run").exists()


def janus_config(tiny: TinyModels, janus: Path) -> str:
    text = rewrite(
        JANUS_EXAMPLE.read_text(),
        {
            "deepseek-community/Janus-Pro-7B": str(janus),
            "timbrooks/instruct-pix2pix": str(tiny.img2img),
            "max_new_tokens = 512\nguidance": "max_new_tokens = 8\nguidance",
            "steps = 20\nsize = 512": "steps = 2\nsize = 32",
            "n_per_category = 10": "n_per_category = 1",
        },
    )
    judge = 'model = "transformers/Qwen/Qwen2.5-VL-7B-Instruct"\nparser'
    # The judge becomes a mock, so its table goes too (a table no model uses is a typo).
    qwen_table = '[models."transformers/Qwen/Qwen2.5-VL-7B-Instruct"]\nmax_new_tokens = 512\n'
    text = rewrite(
        text,
        {
            judge: 'model = "mock/judge"\nparser',
            qwen_table: '[models."mock/judge"]\ndefault = "yes"\n',
        },
    )
    return text.replace(
        'default = "yes"\nmax_batch = 32\nmax_concurrency = 32\ninitial_concurrency = 32\n',
        'default = "yes"\n',
    )


def test_the_janus_example_runs_on_tiny_models(
    tiny: TinyModels, janus_path: Path, tmp_path: Path
) -> None:
    janus = janus_path
    config = tmp_path / "janus.toml"
    config.write_text(janus_config(tiny, janus))
    runner = Runner(load_config(config), tmp_path / "run")
    try:
        summary = asyncio.run(runner.run())
        # One Janus, bound to every role of three systems (and loaded once, before the run).
        unified = [s for s in runner.specialists.values() if isinstance(s, JanusSpecialist)]
        assert len(unified) == 1 and list(runner.specialists).count(f"transformers/{janus}") == 1
        assert unified[0].stats.batches >= 1
    finally:
        runner.close()
    assert summary.statuses == {"ok": 6 + 4 + 6 + 4}  # direct UEG+GEU, stepwise UEG, edits GEU
    store = RunStore(tmp_path / "run")
    rows = [(r.system, r.axis, r.status, r.correct_official) for r in store.results()]
    store.close()
    assert {(system, axis) for system, axis, _, _ in rows} == {
        ("janus-direct", "UEG"),
        ("janus-direct", "GEU"),
        ("janus-stepwise", "UEG"),
        ("janus-reasons-on-edits", "GEU"),
    }
    assert all(status == "ok" and correct is not None for _, _, status, correct in rows)
    report = json.loads(
        cli.invoke(app, ["report", str(tmp_path / "run"), "--format", "json"]).stdout
    )
    kinds = {name: system["kind"] for name, system in report["systems"].items()}
    assert kinds == {
        "janus-direct": "unified",
        "janus-stepwise": "unified",
        "janus-reasons-on-edits": "composed",
    }


def test_janus_bound_as_editor_stops_at_start(
    tiny: TinyModels, janus_path: Path, tmp_path: Path
) -> None:
    janus = janus_path
    text = rewrite(
        janus_config(tiny, janus),
        {
            f'editor = "diffusers/{tiny.img2img}"': f'editor = "transformers/{janus}"',
            # No system binds the editor's diffusers model now: its table would be a typo.
            f'[models."diffusers/{tiny.img2img}"]': '[models."unused-table-removed"]',
        },
    )
    text = text.split('[models."unused-table-removed"]')[0]
    config = tmp_path / "janus.toml"
    config.write_text(text)
    result = cli.invoke(app, ["run", str(config), "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 2
    assert "role 'editor'" in result.output and "cannot edit images" in result.output
    assert "(it is a Generator and an Understander)" in result.output
    assert not (tmp_path / "run").exists()
