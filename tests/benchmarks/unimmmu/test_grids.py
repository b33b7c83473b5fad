"""The frame readers against `eval_ummmu.py`'s maze and sliding image parsers."""

from __future__ import annotations

from unimmmu_drawing import MAZE, maze_image, sliding_image

from composer.benchmarks.unimmmu.grids import (
    hex_rgb,
    maze_parse_ok,
    parse_maze,
    parse_sliding,
    simulate_maze,
    walls_of,
)


def drawn(start: tuple[int, int] | None, goal: tuple[int, int] | None) -> list[list[str]]:
    grid = [list(row) for row in MAZE]
    if goal:
        grid[goal[0]][goal[1]] = "G"
    if start:
        grid[start[0]][start[1]] = "SG" if start == goal else "S"
    return grid


def test_palette_is_the_release_hex_over_255() -> None:
    """`_hex_to_rgb01`: int(hex pair, 16) / 255 in float32."""
    assert hex_rgb("#2563eb").dtype == "float32"
    assert abs(float(hex_rgb("#2563eb")[2]) - 0xEB / 255) < 1e-7


def test_white_margin_shifts_cells_as_the_release_centres_them() -> None:
    """_find_board_square: content rows 10..129 grow by 2 px to 8..131 (side 124), then
    t = cy - half = 69 - 62 = 7, so the crop starts 3 px above the board: the corner wall
    cell holds 18x18 of 21x21 wall pixels (0.73 < 0.75) and reads '?'."""
    frame = parse_maze(maze_image((1, 1), (4, 4), margin=10))
    assert frame.grid[0][0] == "?"
    assert frame.grid[1][1:] == ["S", " ", " ", " ", "#"]


def test_maze_frame_reads_back_walls_start_and_goal() -> None:
    """parse_maze_image: start if blue share >= 0.75*0.25, goal if green >= 0.75*0.75, wall or
    floor if that share >= 0.75 (the release's `parser_params` tolerance)."""
    frame = parse_maze(maze_image((1, 1), (4, 4)))
    assert frame.grid == drawn((1, 1), (4, 4))
    assert (frame.start, frame.goal) == ((1, 1), (4, 4))


def test_dot_inside_goal_frame_reads_sg() -> None:
    """Branch `f_start >= s_thresh and f_goal >= g_thresh` -> "SG", start == goal."""
    frame = parse_maze(maze_image((4, 4), (4, 4)))
    assert frame.grid[4][4] == "SG"
    assert frame.start == frame.goal == (4, 4)


def test_small_dot_found_by_the_start_fallback() -> None:
    """A blue share under 0.1875 leaves the cell floor or "?"; `start_pos is None` then takes the
    cell with the largest blue share when it is >= heuristic_min_start (0.08)."""
    frame = parse_maze(maze_image((1, 1), (4, 4), dot_radius=4))
    assert frame.start == (1, 1)
    assert frame.grid[1][1] == "S"


def test_thin_goal_frame_found_by_the_goal_fallback() -> None:
    """A green share under 0.5625 but >= heuristic_min_goal (0.25) is the goal by fallback."""
    frame = parse_maze(maze_image((1, 1), (4, 4), frame_width=2))
    assert frame.goal == (4, 4)
    assert frame.grid[4][4] == "G"


def test_no_dot_gives_no_start() -> None:
    """No blue at all: every blue share is 0 < 0.08, so start stays None (the case is skipped)."""
    assert parse_maze(maze_image(None, (4, 4))).start is None


def test_simulation_keeps_a_blocked_move_as_a_frame() -> None:
    """_simulate_positions_from_moves: a move into a wall stays in place but yields a frame;
    an unknown word is (0, 0); the frame shows 'G' and 'S' (or 'SG' on the goal)."""
    walls = walls_of(drawn(None, None))
    frames = simulate_maze((1, 1), (1, 3), walls, ["up", "right", "jump", "right"])
    assert [f[1][1:4] for f in frames] == [
        ["S", " ", "G"],
        [" ", "S", "G"],
        [" ", "S", "G"],
        [" ", " ", "SG"],
    ]
    assert all(f[0] == list("######") for f in frames)


def test_parse_ok_needs_walls_and_one_dot() -> None:
    """_is_parse_ok: no '?', walls equal, and (1 SG) or (1 S and 1 G)."""
    walls = walls_of(drawn(None, None))
    assert maze_parse_ok(drawn((1, 1), (4, 4)), walls)
    assert maze_parse_ok(drawn((4, 4), (4, 4)), walls)
    assert not maze_parse_ok(drawn((1, 1), None), walls)
    bad = drawn((1, 1), (4, 4))
    bad[2][1] = "#"
    assert not maze_parse_ok(bad, walls)
    assert not maze_parse_ok(None, walls)


def test_sliding_frame_reads_set1_indices() -> None:
    """parse_sliding_puzzle_image: each cell is argmax share + 1 when share >= 0.80."""
    tiles = [[2, 3, 4], [5, 1, 6], [7, 8, 9]]
    assert parse_sliding(sliding_image(tiles)) == "2 3 4\n5 1 6\n7 8 9"


def test_sliding_half_painted_cell_is_unknown() -> None:
    """A cell half one colour and half another has no share >= 0.80: '?'."""
    tiles = [[2, 3, 4], [5, 1, 6], [7, 8, 2]]
    assert parse_sliding(sliding_image(tiles, split=(1, 1))) == "2 3 4\n5 ? 6\n7 8 2"
