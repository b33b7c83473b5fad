"""Bad input: one clear message, exit code 2, no traceback, and no model call made."""

import json
from pathlib import Path

import pytest
from mockbench import config_text, write_fixture
from typer.testing import CliRunner

from composer.cli import app

cli = CliRunner()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_fixture(tmp_path / "data")


def run(tmp_path: Path, text: str) -> tuple[int, str, Path]:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    out = tmp_path / "run"
    result = cli.invoke(app, ["run", str(config), "--out", str(out), "--quiet"])
    return result.exit_code, result.output, out


def assert_clean_stop(code: int, output: str, out: Path) -> None:
    assert code == 2, output
    assert "Traceback" not in output
    assert len([line for line in output.splitlines() if line.strip()]) <= 3
    assert not (out / "run.db").exists(), "a config error must stop before anything runs"


def test_unknown_graph(tmp_path: Path, data: Path) -> None:
    text = config_text(data).replace('ueg = "direct"', 'ueg = "decompose-then-draw"', 1)
    code, output, out = run(tmp_path, text)
    assert_clean_stop(code, output, out)
    assert "graph 'decompose-then-draw'" in output and "Known graphs" in output


def test_unbound_role(tmp_path: Path, data: Path) -> None:
    text = config_text(data).replace(
        'roles = { reasoner = "mock/reasoner", generator = "mock/uni", editor = "mock/uni" }',
        'roles = { reasoner = "mock/reasoner", editor = "mock/uni" }',
    )
    code, output, out = run(tmp_path, text)
    assert_clean_stop(code, output, out)
    assert "system 'composed' role 'generator'" in output and "is not bound" in output


def test_role_bound_to_model_without_capability(tmp_path: Path, data: Path) -> None:
    text = config_text(data) + '\ncapabilities = ["understand", "generate"]\n'
    text = text.replace('[models."mock/judge"]', '[models."mock/judge"]\n', 1)
    # mock/judge keeps all; make mock/uni a pure text-to-image + understanding model instead:
    text = text.replace('default = "A"', 'default = "A"\ncapabilities = ["understand", "generate"]')
    text = text.rstrip().removesuffix('capabilities = ["understand", "generate"]')
    code, output, out = run(tmp_path, text)
    assert_clean_stop(code, output, out)
    assert "role 'editor'" in output and "cannot edit images" in output and "Bind a model" in output


def test_malformed_record(tmp_path: Path, data: Path) -> None:
    records = json.loads((data / "UEG_direct.json").read_text())
    records[5]["question_list"][1]["answer"] = "maybe"
    (data / "UEG_direct.json").write_text(json.dumps(records))
    code, output, out = run(tmp_path, config_text(data))
    assert_clean_stop(code, output, out)
    assert "UEG_direct.json index 5" in output and "question_list[1]" in output


def test_escaping_image_path(tmp_path: Path, data: Path) -> None:
    records = json.loads((data / "GEU_direct.json").read_text())
    records[2]["input_image"] = "../../etc/passwd"
    (data / "GEU_direct.json").write_text(json.dumps(records))
    code, output, out = run(tmp_path, config_text(data))
    assert_clean_stop(code, output, out)
    assert "GEU_direct.json index 2" in output and "escapes the dataset folder" in output


def test_unknown_setting_and_bad_toml(tmp_path: Path, data: Path) -> None:
    code, output, out = run(
        tmp_path, config_text(data).replace("concurrency = 4", "concurrence = 4")
    )
    assert_clean_stop(code, output, out)
    assert "key concurrence: is not a known setting." in output  # its value is never echoed
    code, output, out = run(tmp_path, "[systems.a\nueg=1")
    assert_clean_stop(code, output, out)
    assert "not valid TOML" in output


def test_role_name_typo(tmp_path: Path, data: Path) -> None:
    text = config_text(data).replace(
        'reasoner = "mock/reasoner", generator',
        'reasonr = "mock/reasoner", reasoner = "mock/reasoner", generator',
    )
    code, output, out = run(tmp_path, text)
    assert_clean_stop(code, output, out)
    assert "reasonr" in output and "no graph of this system has" in output


def test_missing_judge_for_ueg(tmp_path: Path, data: Path) -> None:
    text = config_text(data).replace('[judge]\nmodel = "mock/judge"', "")
    text = text[: text.index('[models."mock/judge"]')]  # its table alone would be a typo
    code, output, out = run(tmp_path, text)
    assert_clean_stop(code, output, out)
    assert "[judge] model" in output


def test_graph_on_wrong_axis(tmp_path: Path, data: Path) -> None:
    text = config_text(data).replace('geu = "generate-then-reason"', 'geu = "refine"', 1)
    code, output, out = run(tmp_path, text)
    assert_clean_stop(code, output, out)
    assert "does not run the GEU axis" in output


def test_report_on_missing_run(tmp_path: Path) -> None:
    result = cli.invoke(app, ["report", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "holds no run.db" in result.output
