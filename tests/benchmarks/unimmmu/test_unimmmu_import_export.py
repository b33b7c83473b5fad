"""Uni-MMMU outputs in the release's layout: imported and scored like a run system, and exported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from test_unimmmu_report import report_of, synthetic_run
from typer.testing import CliRunner
from unimmmu_data import write_data

from composer.benchmarks.unimmmu.folder_scoring import score_maze, score_sliding
from composer.benchmarks.unimmmu.instances import item_of, load_instances
from composer.benchmarks.unimmmu.release import write_case, write_summary
from composer.cli import app
from composer.core.images import ImageRef, ImageStore
from composer.evaluation.store import RunStore

cli = CliRunner()
SYSTEMS = ("naive", "composed")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_run(tmp_path_factory.mktemp("unimmmu-io"))


def release_root(run_dir: Path, tmp_path: Path) -> Path:
    """A copy of the run's synthetic data folder: a release root holding data/."""
    root = tmp_path / "release"
    shutil.copytree(run_dir / "unimmmu-suite" / "data", root / "data")
    return root


def import_run(tmp_path: Path, root: Path, models: dict[str, str], *, code: int = 0) -> Path:
    """Run a file that imports `models` (system -> outputs/<model>) from `root`.

    `code` 1: some instances are expected to fail (the run says it is incomplete).
    """
    lines = ["[benchmark]", 'name = "uni-mmmu-synthetic"', f'path = "{root}"']
    for system, model in models.items():
        lines += [
            f"[systems.{system}]",
            f'import = "{root}"',
            'format = "uni-mmmu"',
            f'release_model = "{model}"',
        ]
    config = tmp_path / "import.toml"
    config.write_text("\n".join(lines))
    out = tmp_path / "imported-run"
    result = cli.invoke(app, ["run", str(config), "--out", str(out), "--quiet"])
    assert result.exit_code == code, result.output
    return out


def channels_of(run_dir: Path) -> dict[tuple[str, str], Any]:
    """(system, instance) -> the stored channels of its one scorer."""
    store = RunStore(run_dir)
    try:
        found = {}
        for (system, instance, _), scorers in store.channels().items():
            ((_, channels),) = scorers.items()
            found[(system, instance)] = channels
        return found
    finally:
        store.close()


def outputs_of(run_dir: Path) -> dict[tuple[str, str], dict[str, Any]]:
    store = RunStore(run_dir)
    try:
        return {(r.system, r.instance): r.output for r in store.results()}
    finally:
        store.close()


def write_release_folder(run_dir: Path, root: Path) -> None:
    """Each system's outputs written with the release writer, as another harness would."""
    store = RunStore(run_dir)
    try:
        instances = store.instances()
        for system in SYSTEMS:
            by_task: dict[Any, list[Any]] = {}
            for result in store.results(system):
                item = item_of(instances[result.instance])
                images = [
                    run_dir / "images" / store_path(uri) for uri in result.output.get("drawn", [])
                ]
                case = write_case(root, system, item, result.output.get("response"), images)
                by_task.setdefault(item.task, []).append(case)
            for task, cases in by_task.items():
                write_summary(root, system, task, cases)
    finally:
        store.close()


def pixels(run_dir: Path, uri: str) -> tuple[str, tuple[int, int], bytes]:
    """An image of a run's store as its pixels (PNG bytes differ with the encoder's settings)."""
    with Image.open(run_dir / "images" / store_path(uri)) as image:
        return image.mode, image.size, image.tobytes()


def store_path(uri: str) -> Path:
    return ImageStore.relative_path(ImageRef.parse(uri))


def test_a_release_layout_folder_is_scored_like_the_run_itself(
    run_dir: Path, tmp_path: Path
) -> None:
    root = release_root(run_dir, tmp_path)
    write_release_folder(run_dir, root)
    imported = import_run(tmp_path, root, {f"{s}-imported": s for s in SYSTEMS})
    ran, back = channels_of(run_dir), channels_of(imported)
    assert len(ran) == len(back) == 12
    for (system, instance), channels in ran.items():
        assert back[(f"{system}-imported", instance)] == channels, instance
    report = report_of(imported)
    for system in SYSTEMS:
        assert (
            report["systems"][f"{system}-imported"]["tasks"]
            == (report_of(run_dir)["systems"][system]["tasks"])
        )


def test_export_then_import_round_trips(run_dir: Path, tmp_path: Path) -> None:
    root = release_root(run_dir, tmp_path)
    result = cli.invoke(
        app, ["export", str(run_dir), "--format", "uni-mmmu", "--output", str(root)]
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in (root / "outputs").iterdir()} == set(SYSTEMS)
    # What the release's own walk of the folder computes is what the run's report says.
    report = report_of(run_dir)
    for system in SYSTEMS:
        tasks = report["systems"][system]
        assert score_maze(root, system).official == tasks["tasks"]["maze"]
        assert score_sliding(root, system).strict == tasks["tasks_strict"]["sliding"]
    imported = import_run(tmp_path, root, {s: s for s in SYSTEMS})
    before, after = outputs_of(run_dir), outputs_of(imported)
    for key, output in before.items():
        assert after[key]["response"] == output["response"]
        assert [pixels(imported, uri) for uri in after[key]["drawn"]] == [
            pixels(run_dir, uri) for uri in output["drawn"]
        ]
    assert channels_of(imported) == channels_of(run_dir)


def test_export_says_which_images_are_missing(run_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    output = outputs_of(copy)[("composed", "maze-case_00000")]
    (copy / "images" / store_path(output["drawn"][0])).unlink()
    root = tmp_path / "out"
    result = cli.invoke(app, ["export", str(copy), "--format", "uni-mmmu", "--output", str(root)])
    assert result.exit_code == 0, result.output
    k = len(output["drawn"])
    assert "maze/case_00000: image 1" in result.output and "not in the run's image store" in (
        result.output
    )
    assert f"{k - 1} of {k} images" in result.output
    assert "holds no data/ folder" in result.output  # where the release's scorer must run
    frames = list((root / "outputs" / "composed" / "maze" / "case_00000").glob("cand_01/*"))
    assert len(frames) == k - 1


def test_a_missing_case_is_a_failed_instance_with_its_reason(run_dir: Path, tmp_path: Path) -> None:
    root = release_root(run_dir, tmp_path)
    write_release_folder(run_dir, root)
    shutil.rmtree(root / "outputs" / "composed" / "sliding" / "case_sliding_3x3_00001")
    imported = import_run(tmp_path, root, {"composed": "composed"}, code=1)
    store = RunStore(imported)
    try:
        failed = [r for r in store.results() if r.status == "failed"]
    finally:
        store.close()
    assert [r.instance for r in failed] == ["sliding-case_sliding_3x3_00001"]
    where = "outputs/composed/sliding/case_sliding_3x3_00001"
    assert f"{where}: no such case folder" in str(failed[0].error)


def test_a_case_made_for_other_data_is_refused(run_dir: Path, tmp_path: Path) -> None:
    root = release_root(run_dir, tmp_path)
    write_release_folder(run_dir, root)
    result_file = root / "outputs" / "composed" / "maze" / "case_00000" / "result.json"
    record = json.loads(result_file.read_text())
    record["step0"] = record["step0"].replace("00000", "00001")  # another maze's step 0
    result_file.write_text(json.dumps(record))
    imported = import_run(tmp_path, root, {"composed": "composed"}, code=1)
    store = RunStore(imported)
    try:
        failed = {r.instance: r.error for r in store.results() if r.status == "failed"}
    finally:
        store.close()
    assert list(failed) == ["maze-case_00000"]
    assert "is not this item's file" in str(failed["maze-case_00000"])


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ({"release_model": "nobody"}, "holds no outputs/nobody folder"),
        ({"release_model": "composed", "mode": "step"}, "have no mode"),
        ({}, "release_model"),
    ],
)
def test_a_bad_import_stops_with_one_line(
    run_dir: Path, tmp_path: Path, table: dict[str, str], says: str
) -> None:
    root = release_root(run_dir, tmp_path)
    write_release_folder(run_dir, root)
    lines = ["[benchmark]", 'name = "uni-mmmu-synthetic"', f'path = "{root}"', "[systems.x]"]
    lines += [f'import = "{root}"', 'format = "uni-mmmu"']
    lines += [f'{key} = "{value}"' for key, value in table.items()]
    config = tmp_path / "bad.toml"
    config.write_text("\n".join(lines))
    out = tmp_path / "never"
    result = cli.invoke(app, ["run", str(config), "--out", str(out), "--quiet"])
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert not out.exists()


def test_export_of_a_run_without_unimmmu_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "r.toml"
    config.write_text(
        '[benchmark]\nname = "synthetic"\nn_per_category = 1\n'
        '[judge]\nmodel = "symbolic/reasoner"\n'
        '[systems.s]\ngeu = "direct"\nroles = { model = "symbolic/reasoner" }\n'
    )
    run_dir = tmp_path / "run"
    assert cli.invoke(app, ["run", str(config), "--out", str(run_dir), "--quiet"]).exit_code == 0
    out = tmp_path / "out"
    result = cli.invoke(app, ["export", str(run_dir), "--format", "uni-mmmu", "--output", str(out)])
    assert result.exit_code == 2 and "holds no Uni-MMMU instances" in result.output
    assert not out.exists()


def test_the_example_imports_the_release_layout() -> None:
    from composer.core.config import load_config

    example = Path(__file__).parents[3] / "examples" / "unimmmu.toml"
    config = load_config(example)
    imported = config.systems["gpt41-gpt-image"]
    assert (imported.format, imported.release_model, imported.kind) == (
        "uni-mmmu",
        "gpt",
        "composed",
    )
    assert config.benchmark.name == "uni-mmmu"
    assert config.models[config.judge.model]["temperature"] == 0.0  # greedy, as the release


VERDICT = {
    "overlay_ok": 1,
    "text_ok": 1,
    "reasoning_correct": 1,
    "result_correct": 1,
    "image_correct": 0,
    "text_semantic_match": 1,
    "shape_color_accuracy": 5,
    "position_accuracy": 3,
    "verdict": "partial",
}
REPLY = (
    '<FINAL_ANSWER_JSON>{"choice": 1}</FINAL_ANSWER_JSON> <ANSWER_JSON>["right"]</ANSWER_JSON> '
    "<RENDER_SUMMARY>a red circle</RENDER_SUMMARY> **Final answer: 3**"
)


def six_task_file(path: Path, root: Path, system: list[str]) -> Path:
    lines = ["[benchmark]", 'name = "uni-mmmu"', f'path = "{root}"', "[judge]"]
    lines += ['model = "mock/judge"', '[models."mock/judge"]']
    lines += [f"default = {json.dumps(json.dumps(VERDICT))}", *system]
    path.write_text("\n".join(lines))
    return path


def test_all_six_tasks_round_trip_judged_ones_included(tmp_path: Path) -> None:
    from unimmmu_data import write_data

    root = write_data(tmp_path / "release")
    ran = tmp_path / "ran"
    system = ["[systems.unified]", 'ueg = "interleaved"', 'geu = "interleaved"']
    system += ['roles = { model = "mock/m" }', '[models."mock/m"]']
    system += [f"default = {json.dumps(REPLY)}"]
    config = six_task_file(tmp_path / "u.toml", root, system)
    assert cli.invoke(app, ["run", str(config), "--out", str(ran), "--quiet"]).exit_code == 0
    result = cli.invoke(app, ["export", str(ran), "--format", "uni-mmmu", "--output", str(root)])
    assert result.exit_code == 0, result.output
    assert "holds no data/ folder" not in result.output
    imported = [f'import = "{root}"', 'format = "uni-mmmu"', 'release_model = "unified"']
    config = six_task_file(tmp_path / "i.toml", root, ["[systems.unified]", *imported])
    back = tmp_path / "back"
    assert cli.invoke(app, ["run", str(config), "--out", str(back), "--quiet"]).exit_code == 0
    before, after = channels_of(ran), channels_of(back)
    assert {i.split("-", 1)[0] for _, i in before} == {
        "maze", "sliding", "geometry", "jigsaw", "science", "code"
    }  # fmt: skip
    assert after == before
    # The judged tasks saw the same images: science and code score their drawn image.
    assert (
        report_of(back)["systems"]["unified"]["tasks"]
        == (report_of(ran)["systems"]["unified"]["tasks"])
    )


def test_what_the_release_scores_zero_is_scored_zero_not_failed(tmp_path: Path) -> None:
    """A science or code case without an image keeps its text judged and scores 0 for the
    image; a science case without a folder is 0, 0, 0 (the release walks every science case):
    in the denominator, as the release counts them, not failed and left out."""
    root = write_data(tmp_path / "release")
    instances = load_instances(root, ImageStore(tmp_path / "images"), tasks=["science", "code"])
    items = {i.id: item_of(i) for i in instances}
    text = "<RENDER_SUMMARY>a red circle</RENDER_SUMMARY> the ice melts"
    for item in items.values():
        write_case(root, "m", item, text, [])  # no image anywhere
    shutil.rmtree(root / "outputs" / "m" / "science" / "case_02")
    config = tmp_path / "import.toml"
    config.write_text(
        "\n".join(
            [
                "[benchmark]",
                'name = "uni-mmmu"',
                f'path = "{root}"',
                "tasks = ['science', 'code']",
                "[judge]",
                'model = "mock/judge"',
                '[models."mock/judge"]',
                'default = \'{"reasoning_correct": 1, "result_correct": 1, "image_correct": 1, '
                '"text_semantic_match": 1}\'',
                "[systems.m]",
                f'import = "{root}"',
                'format = "uni-mmmu"',
                'release_model = "m"',
            ]
        )
    )
    out = tmp_path / "run"
    result = cli.invoke(app, ["run", str(config), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output  # nothing failed
    got = {k[1]: {n: c["official"] for n, c in v.items()} for k, v in channels_of(out).items()}
    # case_01: its text judged (1, 1), its image 0; case_02 (no folder): 0, 0, 0.
    assert got["science-case_01"] == {
        "reasoning_correct": 1.0,
        "result_correct": 1.0,
        "image_correct": 0.0,
    }
    assert set(got["science-case_02"].values()) == {0.0}
    (code,) = (v for k, v in got.items() if k.startswith("code-"))
    assert (code["shape_color_accuracy"], code["position_accuracy"]) == (0.0, 0.0)
    assert code["text_semantic_match"] == 1.0
    # The science summary divides by both cases, as the release's does.
    science = report_of(out)["systems"]["m"]["tasks"]["science"]
    assert science["total_cases"] == 2
    assert science["text_reasoning_acc"] == 0.5 and science["image_acc"] == 0.0


def imported_channels(
    tmp_path: Path, root: Path, tasks: list[str], *, code: int = 0
) -> dict[str, Any]:
    """Import outputs/m/ for `tasks` (the judge says 1, 5 and match to everything); instance ->
    channels."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "import.toml"
    judge = (
        '{"verdict": "match", "shape_color_accuracy": 5, "position_accuracy": 5, '
        '"text_semantic_match": 1, "reasoning_correct": 1, "result_correct": 1, '
        '"image_correct": 1}'
    )
    config.write_text(
        "\n".join(
            [
                "[benchmark]",
                'name = "uni-mmmu"',
                f'path = "{root}"',
                f"tasks = {json.dumps(tasks)}",
                "[judge]",
                'model = "mock/judge"',
                '[models."mock/judge"]',
                f"default = '{judge}'",
                "[systems.m]",
                f'import = "{root}"',
                'format = "uni-mmmu"',
                'release_model = "m"',
            ]
        )
    )
    out = tmp_path / "run"
    result = cli.invoke(app, ["run", str(config), "--out", str(out), "--quiet"])
    assert result.exit_code == code, result.output
    return {k[1]: v for k, v in channels_of(out).items()}


def test_an_empty_science_text_is_judged_and_a_missing_one_is_not(tmp_path: Path) -> None:
    """The release judges `model_text.txt` when the file exists, even empty; without the file
    it scores the text 0 unasked. The judge here says 1 to whatever it is asked."""
    root = write_data(tmp_path / "release")
    instances = load_instances(root, ImageStore(tmp_path / "images"), tasks=["science"])
    first, second = sorted((item_of(i) for i in instances), key=lambda item: item.id)[:2]
    write_case(root, "m", first, "", [])  # an empty file
    write_case(root, "m", second, None, [])  # the folder without the file
    got = imported_channels(tmp_path, root, ["science"])
    got = {k: {n: c["official"] for n, c in v.items()} for k, v in got.items()}
    assert got[f"science-{first.id}"]["reasoning_correct"] == 1.0  # judged, as the release does
    assert got[f"science-{second.id}"]["reasoning_correct"] == 0.0  # not asked


def test_jigsaw_cases_are_the_ones_its_summary_lists(tmp_path: Path) -> None:
    """`JigsawEvaluator` scores the ids of the task's `summary.json`: a listed case without a
    folder scores 0, and a folder it does not list is left out officially (strict only)."""
    root = write_data(tmp_path / "release")
    instances = load_instances(root, ImageStore(tmp_path / "images"), tasks=["jigsaw"])
    listed, unlisted = sorted((item_of(i) for i in instances), key=lambda item: item.id)
    for item in (listed, unlisted):
        label = item.references.label  # type: ignore[union-attr]
        write_case(
            root, "m", item, f'<FINAL_ANSWER_JSON>{{"choice": {label}}}</FINAL_ANSWER_JSON>', []
        )
    shutil.rmtree(root / "outputs" / "m" / "jigsaw" / listed.id)
    summary = {"per_item": [{"id": listed.result_fields["id"]}]}
    (root / "outputs" / "m" / "jigsaw" / "summary.json").write_text(json.dumps(summary))
    got = {k: v["text_correct"] for k, v in imported_channels(tmp_path, root, ["jigsaw"]).items()}
    assert got[f"jigsaw-{listed.id}"]["official"] == 0.0  # listed, no folder: no answer
    left_out = got[f"jigsaw-{unlisted.id}"]
    assert left_out["official"] is None and left_out["strict"] == 1.0
    assert left_out["note"] == "not in the run's summary"


def test_maze_and_sliding_cases_the_release_skips_or_makes_no_row_of(tmp_path: Path) -> None:
    """No `step0` / `init_png` in `result.json`: skipped (failed, with the reason); no text and
    no frames: no row officially, zeros strictly."""
    root = write_data(tmp_path / "release")
    instances = load_instances(root, ImageStore(tmp_path / "images"), tasks=["maze", "sliding"])
    items = sorted((item_of(i) for i in instances), key=lambda item: (item.task.value, item.id))
    maze = [i for i in items if i.task.value == "maze"]
    sliding = [i for i in items if i.task.value == "sliding"]
    write_case(root, "m", maze[0], '<ANSWER_JSON>["right"]</ANSWER_JSON>', [])
    (root / "outputs" / "m" / "maze" / maze[0].id / "result.json").write_text("{}")
    write_case(root, "m", sliding[0], None, [])  # no text, no cand_01
    got = imported_channels(tmp_path, root, ["maze", "sliding"], code=1)  # one failed
    assert f"maze-{maze[0].id}" not in got  # failed: the release skips it
    store = RunStore(tmp_path / "run")
    (failed,) = [r for r in store.results("m") if r.instance == f"maze-{maze[0].id}"]
    assert "result.json names no step0" in (failed.error or "")
    left_out = got[f"sliding-{sliding[0].id}"]
    assert {c["official"] for c in left_out.values()} == {None}
    assert {c["note"] for c in left_out.values()} == {"no text and no frames: no row"}
    assert left_out["text_exact"]["strict"] == 0.0


def test_a_code_case_is_judged_against_the_reference_its_result_json_names(
    tmp_path: Path,
) -> None:
    """`CodeSVGEvaluator` reads the reference from the case's `result.json`: without one (and
    no SVG it can rasterise here: cairosvg absent) every channel is 0, unjudged, whatever
    the metadata says."""
    root = write_data(tmp_path / "release")
    (instance,) = load_instances(root, ImageStore(tmp_path / "images"), tasks=["code"])
    item = item_of(instance)
    picture = Image.new("RGB", (8, 8), "#E74C3C")
    write_case(root, "m", item, "<RENDER_SUMMARY>a red circle</RENDER_SUMMARY>", [picture])
    got = imported_channels(tmp_path / "a", root, ["code"])
    assert got[instance.id]["image_match"]["official"] == 1.0  # result.json names a.png
    (root / "outputs" / "m" / "code" / item.id / "result.json").write_text('{"png": "None"}')
    got = imported_channels(tmp_path / "b", root, ["code"])
    assert {c["official"] for c in got[instance.id].values()} == {0.0}
    assert got[instance.id]["image_match"]["note"] == "no_reference_image"
