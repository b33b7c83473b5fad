"""Pixel readings: kept by content (`geu_pixels.remembered`), and what the fast ones compute."""

import numpy as np

from composer.synthetic.symbolic import geu_pixels
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


def test_downsample_is_the_rounded_float32_mean_of_each_block() -> None:
    rng = np.random.default_rng(7)
    for height, width, factor in [(40, 52, 3), (64, 64, 8), (17, 300, 16), (600, 520, 260)]:
        pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        h, w = height // factor * factor, width // factor * factor
        blocks = (
            pixels[:h, :w].astype(np.float32).reshape(h // factor, factor, w // factor, factor, 3)
        )
        expected = blocks.mean(axis=(1, 3)).round().astype(np.uint8)
        found = geu_pixels.downsample(pixels, factor)
        assert found.dtype == np.uint8 and np.array_equal(found, expected), (height, width, factor)


def test_colour_map_names_the_nearest_palette_colour_of_each_quantised_pixel() -> None:
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (12, 9, 3), dtype=np.uint8)
    pixels[0, 0] = geu_pixels.PALETTE[geu_pixels.COLOUR_NAMES[2]]  # one exact palette colour
    palette = np.array([geu_pixels.PALETTE[n] for n in geu_pixels.COLOUR_NAMES], dtype=np.float64)
    found = geu_pixels.colour_map(pixels, tolerance=70)
    for (y, x), index in np.ndenumerate(found):
        centre = (pixels[y, x] >> 3).astype(np.float64) * 8 + 4  # the 5-bit cell's centre
        dist = ((palette - centre) ** 2).sum(axis=1)
        assert index == (int(dist.argmin()) if dist.min() <= 70 * 70 else -1), (y, x)
    assert found[0, 0] == 2
