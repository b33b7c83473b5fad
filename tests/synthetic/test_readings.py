"""Pixel readings kept by content (`geu_pixels.remembered`): read once, the same value after."""

import numpy as np

from composer.synthetic.symbolic.geu_jigsaw import patches_per_side
from composer.synthetic.symbolic.geu_pixels import READINGS, remembered


def test_an_image_read_again_in_other_arrays_is_read_once() -> None:
    calls: list[int] = []

    @remembered
    def brightest(pixels: np.ndarray, channel: int) -> int:
        calls.append(channel)
        return int(pixels[..., channel].max())

    image = np.zeros((8, 8, 3), dtype=np.uint8)
    image[2, 3] = (10, 20, 30)
    assert brightest(image, 1) == 20
    again = image.copy()  # a decode of the same image again: another array, the same pixels
    assert brightest(again, 1) == 20 and brightest(np.asfortranarray(image), 1) == 20
    assert calls == [1]
    assert brightest(image, 2) == 30  # other arguments: read again
    changed = image.copy()
    changed[0, 0, 1] = 99
    assert brightest(changed, 1) == 99  # other pixels: read again
    assert calls == [1, 2, 1]


def test_only_the_latest_readings_are_kept() -> None:
    calls: list[int] = []

    @remembered
    def first(pixels: np.ndarray) -> int:
        calls.append(int(pixels[0, 0, 0]))
        return int(pixels[0, 0, 0])

    images = [np.full((2, 2, 3), i, dtype=np.uint8) for i in range(READINGS + 1)]
    for image in images:
        first(image)
    first(images[-1])  # kept
    first(images[0])  # the oldest was let go: read again
    assert calls == [*range(READINGS + 1), 0]


def test_a_remembered_reader_answers_as_it_did_without_memory() -> None:
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)
    image[:, 48:] = image[:, 48:][::-1]  # a seam that jumps
    assert patches_per_side(image) == patches_per_side.__wrapped__(image)  # type: ignore[attr-defined]
    assert patches_per_side(image.copy()) == patches_per_side.__wrapped__(image)  # type: ignore[attr-defined]
