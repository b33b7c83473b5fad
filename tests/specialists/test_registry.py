from pathlib import Path

import pytest

from composer.core.errors import ConfigError, PrerequisiteError, UnknownNameError
from composer.core.images import ImageStore
from composer.specialists import Capability, create, register_provider
from composer.specialists.mock import MockSpecialist
from composer.specialists.registry import providers, split_name


def test_names_split_at_the_first_slash() -> None:
    assert split_name("diffusers//data/sd-turbo") == ("diffusers", "/data/sd-turbo")
    assert split_name("openai/gpt-4.1") == ("openai", "gpt-4.1")
    with pytest.raises(ConfigError, match="provider/model"):
        split_name("gpt-4.1")


def test_unknown_provider_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError, match="Known providers: .*mock"):
        create("nope/model", {}, images=ImageStore(tmp_path))


def test_missing_sdk_names_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "composer_fake_adapter.py").write_text("import diffusers_not_installed_here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    register_provider("needs-sdk", "composer_fake_adapter:Nothing")
    with pytest.raises(
        PrerequisiteError, match="'diffusers_not_installed_here', which is not installed"
    ):
        create("needs-sdk/x", {}, images=ImageStore(tmp_path))


def test_known_sdks_map_to_their_extra() -> None:
    from composer.specialists.registry import _EXTRA_OF_MODULE

    assert _EXTRA_OF_MODULE["openai"] == "openai" and _EXTRA_OF_MODULE["diffusers"] == "local"


def test_a_registered_provider_without_its_module(tmp_path: Path) -> None:
    register_provider("ghost", "composer.specialists.ghost_adapter:Ghost")
    with pytest.raises(UnknownNameError, match="the module 'composer.specialists.ghost_adapter'"):
        create("ghost/x", {}, images=ImageStore(tmp_path))


def test_a_plugin_class_registers_like_a_builtin(tmp_path: Path) -> None:
    class Echo(MockSpecialist):
        provider = "echo"

    register_provider("echo", Echo)
    model = create("echo/e", {"default": "hi"}, images=ImageStore(tmp_path))
    assert isinstance(model, Echo) and model.name == "echo/e"
    assert "echo" in providers()


def test_mock_options_are_strict_and_capabilities_checked(tmp_path: Path) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        create("mock/m", {"defualt": "x"}, images=ImageStore(tmp_path))
    model = create("mock/m", {"capabilities": ["generate"]}, images=ImageStore(tmp_path))
    assert model.supports(Capability.GENERATE) and not model.supports(Capability.EDIT)


def test_a_mock_rule_that_is_no_regular_expression_is_one_line_exit_2(tmp_path: Path) -> None:
    """re.error is no ValueError: pydantic let it out, and the run ended in a traceback."""
    from typer.testing import CliRunner

    from composer.cli import app

    config = tmp_path / "c.toml"
    config.write_text(
        "\n".join(
            [
                "[benchmark]",
                'name = "synthetic"',
                "n_per_category = 1",
                "[judge]",
                'model = "symbolic/reasoner"',
                "[systems.s]",
                'ueg = "direct"',
                'roles = { model = "mock/x" }',
                '[models."mock/x"]',
                'rules = [{ match = "([", reply = "B" }]',
            ]
        )
    )
    result = CliRunner().invoke(app, ["run", str(config), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2, result.output
    assert "is not a regular expression" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()
