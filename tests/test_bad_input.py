"""Crashes on bad input, as a class: every bad input is exit 2, one line, and nothing written.

Each case breaks one thing a user (or a colleague's folder) can hand composer: the run file,
the output paths, the dataset files, the records, the command-line counts and the run file's
settings. Every one must stop with one line saying where, what and how to fix, no traceback,
and no run folder created.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from realunify_fixture import RUN_SYSTEMS, config, write_realunify
from typer.testing import CliRunner

from composer.cli import app

cli = CliRunner()
Case = Callable[[Path], tuple[list[str], str]]
"""Builds the broken input under tmp_path; returns the CLI arguments and the expected text."""


def _setup(tmp: Path, systems: str = RUN_SYSTEMS, extra: str = "") -> tuple[Path, Path]:
    data = write_realunify(tmp / "RealUnify")
    run_file = tmp / "run.toml"
    run_file.write_text(config(data, systems) + extra)
    return data, run_file


def _run(tmp: Path, run_file: Path, *more: str) -> list[str]:
    return ["run", str(run_file), "--out", str(tmp / "out"), "--quiet", *more]


def _records(data: Path, name: str, change: Callable[[list[dict]], object]) -> None:
    records = json.loads((data / name).read_text())
    change(records)
    (data / name).write_text(json.dumps(records))


def run_file_binary(tmp: Path) -> tuple[list[str], str]:
    _, run_file = _setup(tmp)
    run_file.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00binary")
    return _run(tmp, run_file), "is not UTF-8 text"


def run_file_folder(tmp: Path) -> tuple[list[str], str]:
    (tmp / "folder.toml").mkdir()
    return _run(tmp, tmp / "folder.toml"), "is a folder, not a file"


def out_is_a_file(tmp: Path) -> tuple[list[str], str]:
    _, run_file = _setup(tmp)
    (tmp / "out").write_text("a file")
    return _run(tmp, run_file), "--out"


def out_under_a_file(tmp: Path) -> tuple[list[str], str]:
    _, run_file = _setup(tmp)
    (tmp / "file").write_text("a file")
    args = ["run", str(run_file), "--out", str(tmp / "file" / "out" / "deeper"), "--quiet"]
    return args, "which is a file"


def dataset_not_utf8(tmp: Path) -> tuple[list[str], str]:
    data, run_file = _setup(tmp)
    (data / "UEG_direct.json").write_bytes(b'[{"index": 0, "prompt": "\xff\xfe"}]')
    return _run(tmp, run_file), "UEG_direct.json: is not UTF-8 text"


def dataset_nested_deep(tmp: Path) -> tuple[list[str], str]:
    data, run_file = _setup(tmp)
    (data / "GEU_direct.json").write_text("[" * 100_000 + "]" * 100_000)
    return _run(tmp, run_file), "GEU_direct.json: is nested too deeply"


def dataset_file_is_a_folder(tmp: Path) -> tuple[list[str], str]:
    data, run_file = _setup(tmp)
    (data / "UEG_step.json").unlink()
    (data / "UEG_step.json").mkdir()
    return _run(tmp, run_file), "UEG_step.json: is a folder, not a file"


def nul_in_image_path(tmp: Path) -> tuple[list[str], str]:
    data, run_file = _setup(tmp)
    _records(data, "GEU_direct.json", lambda rs: rs[1].update(input_image="image/a\x00.jpg"))
    return _run(tmp, run_file), "GEU_direct.json index 1: field 'input_image' holds a NUL byte"


def lone_surrogate_index(tmp: Path) -> tuple[list[str], str]:
    data, run_file = _setup(tmp)
    text = (data / "UEG_direct.json").read_text().replace('"index": 3', '"index": "\\ud800"')
    (data / "UEG_direct.json").write_text(text)
    return _run(tmp, run_file), "a lone surrogate"


def geu_input_not_an_image(tmp: Path) -> tuple[list[str], str]:
    data, run_file = _setup(tmp)
    records = json.loads((data / "GEU_direct.json").read_text())
    (data / records[2]["input_image"]).write_bytes(b"GIF? no: a text file named .jpg")
    return _run(tmp, run_file), "GEU_direct.json index 2: img_003.jpg is not an image"


def geu_input_truncated(tmp: Path) -> tuple[list[str], str]:
    data, run_file = _setup(tmp)
    records = json.loads((data / "GEU_direct.json").read_text())
    image = data / records[0]["input_image"]
    image.write_bytes(image.read_bytes()[:200])
    return _run(tmp, run_file), "GEU_direct.json index 0: img_001.jpg is not a readable image"


def _jsonl(tmp: Path, change: Callable[[dict], None]) -> tuple[list[str], str]:
    (tmp / "images").mkdir()
    Image.new("RGB", (8, 8)).save(tmp / "images" / "a.png")
    record = {
        "id": "g-1",
        "axis": "GEU",
        "category": "geometry",
        "image": "images/a.png",
        "question": "Which?",
        "options": ["1", "2", "3"],
        "answer": "B",
        "evaluation_prompt": "Which?",
    }
    change(record)
    (tmp / "items.jsonl").write_text(json.dumps(record) + "\n")
    run_file = tmp / "run.toml"
    run_file.write_text(
        '[benchmark]\nname = "jsonl"\npath = "items.jsonl"\n'
        '[systems.s]\ngeu = "direct"\nroles = { model = "mock/vlm" }\n'
    )
    return _run(tmp, run_file), "items.jsonl line 1: field "


def jsonl_answer_number(tmp: Path) -> tuple[list[str], str]:
    args, text = _jsonl(tmp, lambda r: r.update(answer=2))
    return args, text + "'answer' must be one of the option letters (got 2)"


def jsonl_answer_list(tmp: Path) -> tuple[list[str], str]:
    args, text = _jsonl(tmp, lambda r: r.update(answer=["B"]))
    return args, text + "'answer' must be one of the option letters"


def jsonl_meta_list(tmp: Path) -> tuple[list[str], str]:
    args, text = _jsonl(tmp, lambda r: r.update(meta=[1, 2]))
    return args, text + "'meta' must be a JSON object"


def jsonl_not_utf8(tmp: Path) -> tuple[list[str], str]:
    args, _ = _jsonl(tmp, lambda r: None)
    (tmp / "items.jsonl").write_bytes(b'{"id": "\xff"}\n')
    return args, "items.jsonl: is not UTF-8 text"


def jsonl_nested_deep(tmp: Path) -> tuple[list[str], str]:
    args, _ = _jsonl(tmp, lambda r: None)
    (tmp / "items.jsonl").write_text('{"meta": ' + "[" * 50_000 + "]" * 50_000 + "}\n")
    return args, "items.jsonl line 1: is nested too deeply"


def jsonl_surrogate_id(tmp: Path) -> tuple[list[str], str]:
    args, _ = _jsonl(tmp, lambda r: None)
    (tmp / "items.jsonl").write_text('{"id": "\\udc80", "axis": "UEG"}\n')
    return args, "items.jsonl line 1: holds text that is not valid Unicode"


def negative_concurrency(tmp: Path) -> tuple[list[str], str]:
    _, run_file = _setup(tmp)
    return _run(tmp, run_file, "--concurrency", "-3"), "--concurrency: must be 1 or more (got -3)"


def negative_limit(tmp: Path) -> tuple[list[str], str]:
    _, run_file = _setup(tmp)
    return _run(tmp, run_file, "--limit", "-1"), "--limit: must be 1 or more (got -1)"


def zero_limit(tmp: Path) -> tuple[list[str], str]:
    _, run_file = _setup(tmp)
    return _run(tmp, run_file, "--limit", "0"), "--limit: must be 1 or more (got 0)"


def synth_negative_n(tmp: Path) -> tuple[list[str], str]:
    args = ["synth", "--out", str(tmp / "out"), "--n-per-category", "-2"]
    return args, "--n-per-category: must be 1 or more (got -2)"


def demo_negative_n(tmp: Path) -> tuple[list[str], str]:
    args = ["demo", "--out", str(tmp / "out"), "--n-per-category", "-1", "--quiet"]
    return args, "--n-per-category: must be 1 or more (got -1)"


def synth_out_is_a_file(tmp: Path) -> tuple[list[str], str]:
    (tmp / "out").write_text("x")
    return ["synth", "--out", str(tmp / "out")], "is a file, not a folder"


def demo_out_under_a_file(tmp: Path) -> tuple[list[str], str]:
    (tmp / "f").write_text("x")
    return ["demo", "--out", str(tmp / "f" / "out"), "--quiet"], "which is a file"


def models_table_typo(tmp: Path) -> tuple[list[str], str]:
    _, run_file = _setup(tmp, extra='\n[models."mock/vlmm"]\ndefault = "B"\n')
    return _run(tmp, run_file), '[models."mock/vlmm"]: names a model that no system'


def models_table_typo_with_systems(tmp: Path) -> tuple[list[str], str]:
    systems = RUN_SYSTEMS + '[systems.other]\nueg = "direct"\nroles = { model = "mock/judge" }\n'
    _, run_file = _setup(tmp, systems, '\n[models."mock/typo"]\ndefault = "B"\n')
    return _run(tmp, run_file, "--systems", "model"), '[models."mock/typo"]'


def adapter_option_as_text(tmp: Path) -> tuple[list[str], str]:
    _, run_file = _setup(tmp, extra='\nlatency_s = "0.5"\n')  # an adapter's own option
    return _run(tmp, run_file), '[models."mock/vlm"] latency_s'


def max_concurrency_as_text(tmp: Path) -> tuple[list[str], str]:
    _, run_file = _setup(tmp, extra='\nmax_concurrency = "8"\n')  # into [models."mock/vlm"]
    return _run(tmp, run_file), '[models."mock/vlm"] max_concurrency'


def demo_huge_n(tmp: Path) -> tuple[list[str], str]:
    args = ["demo", "--out", str(tmp / "out"), "--n-per-category", "20000000", "--quiet"]
    return args, "--n-per-category: must be at most 10,000 (got 20,000,000)"


def synth_huge_n(tmp: Path) -> tuple[list[str], str]:
    return ["synth", "--out", str(tmp / "out"), "--n-per-category", "100001"], "at most 10,000"


def run_file_huge_n(tmp: Path) -> tuple[list[str], str]:
    run_file = tmp / "run.toml"
    run_file.write_text(
        '[benchmark]\nname = "synthetic"\nn_per_category = 1000000\n'
        '[systems.a]\nueg = "direct"\nroles = { model = "mock/m" }\n'
    )
    return _run(tmp, run_file), "key benchmark.n_per_category: Input should be less than or"


def limit_group_as_number(tmp: Path) -> tuple[list[str], str]:
    _, run_file = _setup(tmp, extra="\nlimit_group = 3\n")  # into [models."mock/vlm"]
    return _run(tmp, run_file), '[models."mock/vlm"] limit_group'


def limit_as_float(tmp: Path) -> tuple[list[str], str]:
    _, run_file = _setup(tmp)
    run_file.write_text(run_file.read_text().replace("[benchmark]", "[benchmark]\nlimit = 2.0"))
    return _run(tmp, run_file), "key benchmark.limit: Input should be a valid integer"


def _top_line(line: str, expected: str) -> Case:
    """`line` written at the top of a working run file (a top-level key)."""

    def case(tmp: Path) -> tuple[list[str], str]:
        _, run_file = _setup(tmp)
        run_file.write_text(f"{line}\n" + run_file.read_text())
        return _run(tmp, run_file), expected

    return case


def _secret_option(option: str) -> Case:
    def case(tmp: Path) -> tuple[list[str], str]:
        _, run_file = _setup(tmp, extra=f'\n{option} = "sk-proj-SECRET-1234"\n')
        return _run(tmp, run_file), f'[models."mock/vlm"] {option}'

    return case


def _refine(max_rounds: str) -> Case:
    def case(tmp: Path) -> tuple[list[str], str]:
        systems = (
            f'[systems.r]\nueg = {{ graph = "refine", max_rounds = {max_rounds} }}\n'
            'roles = { reasoner = "mock/vlm", generator = "mock/judge" }\n'
        )
        _, run_file = _setup(tmp, systems)
        return _run(tmp, run_file), "graph 'refine' option max_rounds: "

    return case


CASES: dict[str, Case] = {
    "run file binary": run_file_binary,
    "run file a folder": run_file_folder,
    "--out a file": out_is_a_file,
    "--out under a file": out_under_a_file,
    "dataset file not UTF-8": dataset_not_utf8,
    "dataset file nested 100,000 deep": dataset_nested_deep,
    "dataset file a folder": dataset_file_is_a_folder,
    "NUL byte in an image path": nul_in_image_path,
    "index a lone surrogate": lone_surrogate_index,
    "GEU input not an image": geu_input_not_an_image,
    "GEU input truncated": geu_input_truncated,
    "JSONL answer a number": jsonl_answer_number,
    "JSONL answer a list": jsonl_answer_list,
    "JSONL meta a list": jsonl_meta_list,
    "JSONL file not UTF-8": jsonl_not_utf8,
    "JSONL line nested deep": jsonl_nested_deep,
    "JSONL id a lone surrogate": jsonl_surrogate_id,
    "--concurrency negative": negative_concurrency,
    "--limit negative": negative_limit,
    "--limit zero": zero_limit,
    "synth --n-per-category negative": synth_negative_n,
    "demo --n-per-category negative": demo_negative_n,
    "demo --n-per-category 20 million": demo_huge_n,
    "synth --n-per-category 100,001": synth_huge_n,
    "n_per_category = 1000000": run_file_huge_n,
    "synth --out a file": synth_out_is_a_file,
    "demo --out under a file": demo_out_under_a_file,
    "[models] table no system uses": models_table_typo,
    "[models] typo, --systems picks another": models_table_typo_with_systems,
    'concurrency = "8"': _top_line(
        'concurrency = "8"', "key concurrency: Input should be a valid integer (got '8')"
    ),
    'seed = "1"': _top_line('seed = "1"', "key seed: Input should be a valid integer"),
    "limit = 2.0": limit_as_float,
    'max_concurrency = "8"': max_concurrency_as_text,
    "limit_group = 3": limit_group_as_number,
    'task_timeout_s = "60"': _top_line(
        'task_timeout_s = "60"', "key task_timeout_s: Input should be a valid number"
    ),
    "task_timeout_s = 0": _top_line(
        "task_timeout_s = 0", "key task_timeout_s: Input should be greater than 0"
    ),
    'recursion_limit = "50"': _top_line(
        'recursion_limit = "50"', "key recursion_limit: Input should be a valid integer"
    ),
    "recursion_limit = 0": _top_line(
        "recursion_limit = 0", "key recursion_limit: Input should be greater than or equal to 1"
    ),
    'latency_s = "0.5" (adapter option)': adapter_option_as_text,
    "api_key written where no setting takes it": _secret_option("api_key"),
    "api_key_file not a text path": _secret_option("api_key_file"),
    "max_rounds = 0": _refine("0"),
    "max_rounds = -1": _refine("-1"),
    'max_rounds = "3"': _refine('"3"'),
}


def _tree(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in root.rglob("*")}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_stops_with_one_line_and_writes_nothing(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args, expected = CASES[case](tmp_path)
    before = _tree(tmp_path)
    result = cli.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert expected in result.output, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert _tree(tmp_path) == before, "a rejected invocation must write nothing"
    assert "SECRET" not in result.output, "an error never echoes what may be a key"


def test_a_model_of_an_unselected_system_is_not_a_typo(tmp_path: Path) -> None:
    systems = RUN_SYSTEMS + '[systems.other]\nueg = "direct"\nroles = { model = "mock/other" }\n'
    _, run_file = _setup(tmp_path, systems, '\n[models."mock/other"]\ndefault = "B"\n')
    result = cli.invoke(app, _run(tmp_path, run_file, "--systems", "model"))
    assert result.exit_code == 0, result.output


def test_the_judge_model_counts_as_used(tmp_path: Path) -> None:
    systems = '[systems.g]\ngeu = "direct"\nroles = { model = "mock/vlm" }\n'
    _, run_file = _setup(tmp_path, systems)  # [models."mock/judge"] is the judge's only
    result = cli.invoke(app, _run(tmp_path, run_file))
    assert result.exit_code == 0, result.output


def test_an_extra_judges_model_counts_as_used(tmp_path: Path) -> None:
    _, run_file = _setup(tmp_path, extra='\n[models."mock/judge2"]\ndefault = "Yes"\n')
    text = run_file.read_text()
    run_file.write_text(
        text.replace('model = "mock/judge"', 'model = "mock/judge"\nextra = ["mock/judge2"]', 1)
    )
    result = cli.invoke(app, _run(tmp_path, run_file))
    assert result.exit_code in (0, 1), result.output  # ran (1: some mock answers fail)
