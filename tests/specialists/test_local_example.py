"""examples/local_models.toml runs end to end on the tiny models, with a scripted judge."""

import json
from pathlib import Path

import pytest
from tiny_models import TinyModels, tiny_models
from typer.testing import CliRunner

from composer.cli import app

EXAMPLE = Path(__file__).parents[2] / "examples" / "local_models.toml"
cli = CliRunner()


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    return tiny_models(tmp_path_factory.getbasetemp() / "tiny-models")


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
