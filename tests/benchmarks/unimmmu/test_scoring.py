"""The programmatic scorers, case by case against `eval_ummmu.py` (MazeEvaluator,
SlidingPuzzleEvaluator, JigsawEvaluator)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from unimmmu_drawing import maze_image, save, sliding_image

from composer.benchmarks.unimmmu.channels import Kind
from composer.benchmarks.unimmmu.perceptual import load_dreamsim
from composer.benchmarks.unimmmu.scoring import (
    jigsaw_gt_pair,
    jigsaw_image_channels,
    jigsaw_text_channels,
    maze_expectation,
    maze_frame_channels,
    move_channels,
    parse_jigsaw_choice,
    parse_moves,
    skipped_maze_channels,
    sliding_frame_channels,
    split_candidates,
)
from composer.core.errors import PrerequisiteError


def values(channels: dict, reading: str = "official") -> dict:  # type: ignore[type-arg]
    return {name: getattr(c, reading) for name, c in channels.items()}


def test_last_answer_block_wins_and_items_are_cleaned() -> None:
    """_parse_moves: finditer, matches[-1], json.loads, str(x).strip().lower()."""
    text = '<ANSWER_JSON>["up"]</ANSWER_JSON>\n<answer_json> [" Right","DOWN", 3] </answer_json>'
    assert parse_moves(text) == ["right", "down", "3"]


def test_no_block_or_bad_json_is_an_empty_answer() -> None:
    """_parse_moves: no match -> []; JSONDecodeError -> []."""
    assert parse_moves("right, down") == []
    assert parse_moves("<ANSWER_JSON>[right]</ANSWER_JSON>") == []


def test_candidates_split_on_the_release_separator() -> None:
    """read_text().split("\\n\\n\\n-----\\n\\n\\n"); a missing file gives no candidates."""
    assert split_candidates("a\n\n\n-----\n\n\nb") == ["a", "b"]
    assert split_candidates("") == [""]
    assert split_candidates(None) == []


def test_move_accuracy_is_over_the_ground_truth_length() -> None:
    """_evaluate_text_moves: matches over zip / len(gt); exact iff pred == gt."""
    gt = ["right", "down", "down", "left"]
    got = move_channels('<ANSWER_JSON>["right","down","up"]</ANSWER_JSON>', gt)
    assert values(got) == {"text_exact": 0.0, "text_frame_acc": 0.5}
    got = move_channels('<ANSWER_JSON>["right","down","down","left","up"]</ANSWER_JSON>', gt)
    assert values(got) == {"text_exact": 0.0, "text_frame_acc": 1.0}
    assert got["text_frame_acc"].kind is Kind.FRACTION


def test_sliding_truth_is_compared_as_stored_officially() -> None:
    """SlidingPuzzleEvaluator reads `steps_words` without lower-casing, the prediction lowered:
    "Up" never matches officially; strict lowers both."""
    got = move_channels(
        '<ANSWER_JSON>["up","left"]</ANSWER_JSON>', ["Up", "left"], gt_as_stored=True
    )
    assert values(got) == {"text_exact": 0.0, "text_frame_acc": 0.5}
    assert values(got, "strict") == {"text_exact": 1.0, "text_frame_acc": 1.0}


def test_no_ground_truth_moves_scores_zero_officially_unscored_strictly() -> None:
    """`if not gt: return {"text_exact": 0, "text_frame_acc": 0.0}`."""
    got = move_channels("<ANSWER_JSON>[]</ANSWER_JSON>", [])
    assert values(got) == {"text_exact": 0.0, "text_frame_acc": 0.0}
    assert values(got, "strict") == {"text_exact": None, "text_frame_acc": None}


MOVES = ["right", "right", "down", "up"]  # from (1,1): (1,2), (1,3), (1,3) blocked, (0,3) wall


def frames(
    tmp_path: Path, cells: list[tuple[int, int]], goal: tuple[int, int] = (4, 4)
) -> list[Path]:
    return [
        save(maze_image(cell, goal), tmp_path / f"maze_step_0000_step_{i:04d}.png")
        for i, cell in enumerate(cells, 1)
    ]


def test_maze_frames_against_simulated_truth(tmp_path: Path) -> None:
    """_simulate_expected_grids from the parsed step 0: right, right, down (blocked: (2,3) is a
    wall, stays), up (blocked: row 0 is wall). Four expected frames; a prediction matching
    three at the same index: frame acc 3/4, exact 0; all parse ok (1 S, 1 G, same walls)."""
    expected = maze_expectation(maze_image((1, 1), (4, 4)), MOVES)
    assert expected is not None and len(expected.frames) == 4
    got = maze_frame_channels(frames(tmp_path, [(1, 2), (1, 3), (1, 3), (1, 4)]), expected)
    assert values(got) == {
        "img_exact": 0.0,
        "img_frame_acc": 0.75,
        "parse_frame_success": 1.0,
        "parse_all_ok": 1.0,
    }
    right = maze_frame_channels(frames(tmp_path, [(1, 2), (1, 3), (1, 3), (1, 3)]), expected)
    assert values(right)["img_exact"] == 1.0


def test_maze_extra_frames_spoil_exact_not_accuracy(tmp_path: Path) -> None:
    """_evaluate_image_grids: matches over range(gt_len); exact needs pred_len == gt_len;
    parse success is over the predicted frames (a frame with no dot is not ok)."""
    expected = maze_expectation(maze_image((1, 1), (4, 4)), ["right"])
    assert expected is not None
    paths = frames(tmp_path, [(1, 2)]) + [save(maze_image(None, (4, 4)), tmp_path / "z.png")]
    got = maze_frame_channels(paths, expected)
    assert values(got) == {
        "img_exact": 0.0,
        "img_frame_acc": 1.0,
        "parse_frame_success": 0.5,
        "parse_all_ok": 0.0,
    }


def test_maze_fewer_frames_than_moves_keep_their_parse_rates(tmp_path: Path) -> None:
    """A system that ends its loop early (k withheld): _evaluate_image_grids matches over
    range(gt_len) with `i < pred_len`, so accuracy is over the four expected frames, while
    parse_frame_success and parse_all_ok are over the two predicted ones (both parse well)."""
    expected = maze_expectation(maze_image((1, 1), (4, 4)), MOVES)
    assert expected is not None
    got = maze_frame_channels(frames(tmp_path, [(1, 2), (1, 3)]), expected)
    assert values(got) == {
        "img_exact": 0.0,
        "img_frame_acc": 0.5,
        "parse_frame_success": 1.0,
        "parse_all_ok": 1.0,
    }


def test_maze_no_frames(tmp_path: Path) -> None:
    """pred_len == 0: parse_frame_success 0.0 and parse_all_ok 0."""
    expected = maze_expectation(maze_image((1, 1), (4, 4)), ["right"])
    assert expected is not None
    assert values(maze_frame_channels([], expected)) == {
        "img_exact": 0.0,
        "img_frame_acc": 0.0,
        "parse_frame_success": 0.0,
        "parse_all_ok": 0.0,
    }


def test_unparseable_step0_leaves_the_official_denominator() -> None:
    """evaluate(): `step0_parsed["start"] is None` -> `continue` (no row at all); strict keeps
    the text channels."""
    assert maze_expectation(maze_image(None, (4, 4)), MOVES) is None
    got = skipped_maze_channels('<ANSWER_JSON>["right"]</ANSWER_JSON>', ["right"])
    assert all(c.official is None for c in got.values())
    assert got["text_exact"].strict == 1.0
    assert got["img_frame_acc"].strict is None


def test_sliding_frames_against_the_ground_truth_images() -> None:
    """_evaluate_image_ascii: zip matches / len(gt); exact iff the lists are equal."""
    a = sliding_image([[2, 3, 4], [5, 1, 6], [7, 8, 9]])
    b = sliding_image([[2, 3, 4], [1, 5, 6], [7, 8, 9]])
    gt = ["2 3 4\n5 1 6\n7 8 9", "2 3 4\n1 5 6\n7 8 9"]
    assert values(sliding_frame_channels([a, b], gt)) == {"img_exact": 1.0, "img_frame_acc": 1.0}
    assert values(sliding_frame_channels([a, a, b], gt)) == {
        "img_exact": 0.0,
        "img_frame_acc": 0.5,
    }


def test_sliding_fewer_frames_than_the_truth() -> None:
    """_evaluate_image_ascii with a shorter prediction: zip stops at it, over len(gt)."""
    a = sliding_image([[2, 3, 4], [5, 1, 6], [7, 8, 9]])
    gt = ["2 3 4\n5 1 6\n7 8 9", "2 3 4\n1 5 6\n7 8 9"]
    assert values(sliding_frame_channels([a], gt)) == {"img_exact": 0.0, "img_frame_acc": 0.5}
    assert values(sliding_frame_channels([], gt)) == {"img_exact": 0.0, "img_frame_acc": 0.0}


def test_sliding_without_truth_images_rewards_an_empty_prediction() -> None:
    """`if not gt: img_exact = 1 if not pred else 0` (and 1.0 frame accuracy)."""
    assert values(sliding_frame_channels([], [])) == {"img_exact": 1.0, "img_frame_acc": 1.0}
    assert values(sliding_frame_channels([], []), "strict") == {
        "img_exact": None,
        "img_frame_acc": None,
    }


def test_sliding_unknown_cells_match_officially_only() -> None:
    """ASCII equality makes '?' equal '?'; strict never matches a frame holding '?'."""
    odd = sliding_image([[2, 3, 4], [5, 1, 6], [7, 8, 2]], split=(1, 1))
    got = sliding_frame_channels([odd], ["2 3 4\n5 ? 6\n7 8 2"])
    assert values(got) == {"img_exact": 1.0, "img_frame_acc": 1.0}
    assert values(got, "strict") == {"img_exact": 0.0, "img_frame_acc": 0.0}


@pytest.mark.parametrize(
    ("text", "official", "strict", "status"),
    [
        ('<FINAL_ANSWER_JSON>{"choice": 1, "rationale": "x"}</FINAL_ANSWER_JSON>', 1, 1, "ok"),
        ('<final_answer_json>\n{"choice": 0}\n</final_answer_json>', 0, 0, "ok"),
        ('<FINAL_ANSWER_JSON>{"choice": true}</FINAL_ANSWER_JSON>', 1, None, "ok"),
        ('<FINAL_ANSWER_JSON>{"choice": 1.0}</FINAL_ANSWER_JSON>', 1, None, "ok"),
        (
            '<FINAL_ANSWER_JSON>{"choice": "1"}</FINAL_ANSWER_JSON>',
            None,
            None,
            "invalid_choice_value",
        ),
        (
            '<FINAL_ANSWER_JSON>{"choice": 2}</FINAL_ANSWER_JSON>',
            None,
            None,
            "invalid_choice_value",
        ),
        ("<FINAL_ANSWER_JSON>{choice: 1}</FINAL_ANSWER_JSON>", None, None, "bad_json"),
        ('{"choice": 1}', None, None, "no_final_json_block"),
        (None, None, None, "missing_text"),
        (
            '<FINAL_ANSWER_JSON>{"choice": 0, "r": {"a": 1}}</FINAL_ANSWER_JSON>'
            '<FINAL_ANSWER_JSON>{"choice": 1}</FINAL_ANSWER_JSON>',
            0,
            0,
            "ok",
        ),
    ],
)
def test_jigsaw_choice(
    text: str | None, official: int | None, strict: int | None, status: str
) -> None:
    """_parse_choice_from_text: re.search (first block), json.loads, `choice in (0, 1)`
    (Python equality: True and 1.0 pass), int(choice)."""
    choice = parse_jigsaw_choice(text)
    assert (choice.official, choice.strict, choice.status) == (official, strict, status)


def test_jigsaw_text_correct_against_label() -> None:
    """text_correct = int(choice == label) if choice is not None else 0."""
    text = '<FINAL_ANSWER_JSON>{"choice": true}</FINAL_ANSWER_JSON>'
    got = jigsaw_text_channels(text, 1)["text_correct"]
    assert (got.official, got.strict, got.kind) == (1.0, 0.0, Kind.BINARY)


def test_jigsaw_pairing_follows_the_label() -> None:
    """(gt_ok, gt_bad) if label == 0 else (gt_bad, gt_ok)."""
    ok, bad = Path("ok.png"), Path("bad.png")
    assert jigsaw_gt_pair(0, ok, bad) == (ok, bad)
    assert jigsaw_gt_pair(1, ok, bad) == (bad, ok)


def grey(level: int) -> Image.Image:
    return Image.new("RGB", (8, 8), (level, level, level))


def mean_level_distance(a: Image.Image, b: Image.Image) -> float:
    """A stand-in for DreamSim: |mean grey a - mean grey b| / 255."""
    return abs(a.getpixel((0, 0))[0] - b.getpixel((0, 0))[0]) / 255  # type: ignore[index]


def test_jigsaw_distance_mean_and_penalty() -> None:
    """d_mean = (d0 + d1) / 2 for exactly two images; any other count -> penalty 1.0."""
    gt = (grey(0), grey(255))
    got = jigsaw_image_channels([grey(51), grey(255)], gt, mean_level_distance)["d_mean"]
    assert got.official == got.strict == pytest.approx(0.1)
    assert got.kind is Kind.DISTANCE
    one = jigsaw_image_channels([grey(0)], gt, mean_level_distance)["d_mean"]
    assert (one.official, one.note) == (1.0, "invalid_count_1")


def test_jigsaw_unreadable_truth(tmp_path: Path) -> None:
    """A read error inside the release's try is the penalty; strict: unscored."""
    broken = tmp_path / "gt.png"
    broken.write_bytes(b"not a png")
    got = jigsaw_image_channels([grey(0), grey(0)], (broken, broken), mean_level_distance)
    assert (got["d_mean"].official, got["d_mean"].strict) == (1.0, None)


def test_any_failure_inside_the_releases_try_is_the_penalty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The release catches every exception there: a bomb Pillow refuses outright, or a
    distance that fails in its own way, is the penalty, not a failed scorer."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)
    Image.new("RGB", (8, 8)).save(tmp_path / "bomb.png")  # 64 pixels: past twice the limit
    gt = (grey(0), grey(255))
    got = jigsaw_image_channels([tmp_path / "bomb.png", grey(0)], gt, mean_level_distance)
    assert (got["d_mean"].official, got["d_mean"].strict) == (1.0, 1.0)
    assert "read_error" in got["d_mean"].note

    def broken(a: Image.Image, b: Image.Image) -> float:
        raise KeyError("no such layer")

    got = jigsaw_image_channels([grey(0), grey(0)], gt, broken)
    assert got["d_mean"].official == 1.0


def test_jigsaw_without_dreamsim_is_unscored_not_penalised() -> None:
    """The release refuses to start; composer reports the channel unscored."""
    got = jigsaw_image_channels([grey(0), grey(0)], (grey(0), grey(0)), None)["d_mean"]
    assert got.official is None and "unimmmu" in got.note


def test_missing_dreamsim_says_how_to_install() -> None:
    """load_dreamsim raises a PrerequisiteError naming the extra when the package is absent."""
    pytest.importorskip("torch")
    try:
        import dreamsim  # noqa: F401
    except ImportError:
        with pytest.raises(PrerequisiteError, match=r"unify-composer\[unimmmu\]"):
            load_dreamsim()
    else:
        pytest.skip("dreamsim is installed")


def framed(start: tuple[int, int]) -> Image.Image:
    """A 3:2 generator-style frame: the board (doubled, 240 px) on white, off-centre."""
    board = maze_image(start, (4, 4)).resize((240, 240), Image.Resampling.NEAREST)
    canvas = Image.new("RGB", (360, 260), "#ffffff")
    canvas.paste(board, (60, 10))
    return canvas


def test_non_square_frames_misread_officially(tmp_path: Path) -> None:
    """parse_maze_image's _find_board_square clamps the right edge by H (260), not W (360):
    content columns 60..299 grow to 58..301 (side 244), r = min(260, 58 + 244) = 260 and
    l = 260 - 244 = 16 (not 57), so the crop starts 41 px too far left and every column reads one
    cell off: the right frame does not match. Strict clamps by W and reads it."""
    from composer.benchmarks.unimmmu.scoring import maze_case_channels

    step0 = maze_image((1, 1), (4, 4))
    text = '<ANSWER_JSON>["right"]</ANSWER_JSON>'
    got = maze_case_channels(text, ["right"], step0, [framed((1, 2))])
    assert values(got)["img_frame_acc"] == 0.0
    assert values(got, "strict")["img_frame_acc"] == 1.0
    assert values(got, "strict")["text_exact"] == values(got)["text_exact"] == 1.0


def test_sliding_board_filling_a_wide_frame() -> None:
    """parse_sliding_puzzle_image: rows 0..89 and columns 28..121 give side 94 > H = 90, so
    t = b - side = 90 - 94 = -4 and the crop is rows [-4:90], the last 4 rows: every cell
    reads from those. Strict starts the crop at row 0 and reads the board."""
    tiles = [[2, 3, 4], [5, 1, 6], [7, 8, 9]]
    canvas = Image.new("RGB", (150, 90), "#ffffff")
    canvas.paste(sliding_image(tiles), (30, 0))
    gt = ["2 3 4\n5 1 6\n7 8 9"]
    got = sliding_frame_channels([canvas], gt, strict_gt=gt)
    assert values(got) == {"img_exact": 0.0, "img_frame_acc": 0.0}
    assert values(got, "strict") == {"img_exact": 1.0, "img_frame_acc": 1.0}
