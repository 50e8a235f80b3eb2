"""The shape of an edit: without ``--ar`` it keeps its image's (the nearest of the
model's ratios), and without ``--size`` the size of the earlier result it edits.
A re-roll keeps everything: its options come from the journal, all given."""

from __future__ import annotations

import math
from dataclasses import replace

from bot.options import RATIOS, ImageOptions


def nearest_ratio(width: int, height: int) -> str:
    """The model's ratio closest to ``width``×``height``, compared as logarithms so
    that 2:1 and 1:2 are equally far from 1:1."""
    target = math.log(max(width, 1) / max(height, 1))
    return min(RATIOS, key=lambda ratio: abs(math.log(_value(ratio)) - target))


def _value(ratio: str) -> float:
    width, height = ratio.split(":")
    return int(width) / int(height)


def edit_options(
    options: ImageOptions, source: tuple[int, int], earlier: ImageOptions | None
) -> ImageOptions:
    """``options`` with what the text left out taken from the image to edit: its
    pixel size ``source``, and the options it was made with (``earlier``, when it
    is a result the journal knows)."""
    ratio, size = options.aspect_ratio, options.size
    if "ar" in options.defaulted:
        ratio = nearest_ratio(*source)
    if "size" in options.defaulted and earlier is not None:
        size = earlier.size
    return replace(
        options, aspect_ratio=ratio, size=size, defaulted=options.defaulted - {"ar", "size"}
    )
