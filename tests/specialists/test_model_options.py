"""Model options a user must find: a key file beside the run file, what each provider can do,
and the fix when an OpenAI-compatible server is bound to a role it was not said to serve."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeOpenAI
from typer.testing import CliRunner

from composer.cli import app

cli = CliRunner()


def run_file(folder: Path, server: FakeOpenAI, *, role: str = "model", extra: str = "") -> Path:
    config = folder / "run.toml"
    config.write_text(
        f"""
[benchmark]
name = "synthetic"
n_per_category = 1
categories = ["MR-II"]

[systems.vlm]
geu = "direct"
roles = {{ {role} = "openai-compatible/local-vlm" }}

[models."openai-compatible/local-vlm"]
base_url = "{server.url}/v1"
api_key_file = "keys/vlm.key"
{extra}
"""
    )
    return config


def test_api_key_file_is_read_relative_to_the_run_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "project"
    (folder / "keys").mkdir(parents=True)
    (folder / "keys" / "vlm.key").write_text("sk-from-the-key-file\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # not the run file's folder
    with FakeOpenAI(lambda prompt, captions: "A") as server:
        config = run_file(folder, server)
        result = cli.invoke(app, ["run", str(config), "--out", str(tmp_path / "r"), "--quiet"])
        assert result.exit_code == 0, result.output
        assert server.requests[0].headers["authorization"] == "Bearer sk-from-the-key-file"
    stored = (tmp_path / "r" / "run.db").read_bytes()
    assert b"sk-from-the-key-file" not in stored and b"keys/vlm.key" in stored


def test_an_openai_compatible_server_bound_to_draw_hears_of_capabilities(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "vlm.key").write_text("k")
    with FakeOpenAI(lambda prompt, captions: "A") as server:
        config = run_file(tmp_path, server)
        config.write_text(
            config.read_text()
            .replace('categories = ["MR-II"]', 'categories = ["WK"]')
            .replace('geu = "direct"', 'ueg = "direct"')
            + '\n[judge]\nmodel = "symbolic/reasoner"\n'
        )
        result = cli.invoke(app, ["run", str(config), "--out", str(tmp_path / "r"), "--quiet"])
    assert result.exit_code == 2
    assert "cannot generate images" in result.output and "capabilities" in result.output


def test_list_providers_says_what_each_can_do() -> None:
    result = cli.invoke(app, ["list", "providers"])
    assert result.exit_code == 0
    line = next(x for x in result.stdout.splitlines() if x.startswith("openai-compatible "))
    assert "openai-compatible/" in line and "capabilities" in line and "base_url" in line
    gemini = next(x for x in result.stdout.splitlines() if x.startswith("gemini "))
    assert "generate" in gemini and "gemini/gemini-2.5-pro" in gemini
