"""The page the report prints its figures on: its text width and height, how much of it a figure may
take, and the scale a figure prints at.

The figures stage draws at ``figures.size_inches`` of ``params.yaml`` (5.0 x 3.8 in, type of
``font_size`` 12 pt); printed at its print width (each figure's entry in
:mod:`mnist_report.config.figures`) of the :data:`TEXT_WIDTH_MM` text width, that type prints at about
10 pt, the size of the text around it. The templates place each figure at this
width (the ``figure`` macro), and ``tests/unit/plotting/test_drawings.py`` checks the type size it gives.
"""

from __future__ import annotations

#: The text width of the report's page: A4 (210 mm) less two margins of 25 mm (preamble.tex.j2).
TEXT_WIDTH_MM = 160
#: The text height: A4 (297 mm) less two margins of 25 mm.
TEXT_HEIGHT_MM = 247
#: The most of the text height a figure prints at (the ``figure`` macro's ``height``, with
#: ``keepaspectratio``): a taller figure is scaled down to this height, its type with it.
MAX_PRINT_HEIGHT = 0.42

#: The most runs (or values of lambda) a figure's caption names one by one; with more, it gives their
#: number and the table that lists them. A float cannot break across pages: a caption naming a few
#: hundred runs is taller than the page, and LaTeX would drop the figure with everything after it.
CAPTION_LIST_LIMIT = 12


def caption_lists(items: object) -> bool:
    """Whether a caption names ``items`` (a sized collection) one by one: at most :data:`CAPTION_LIST_LIMIT`."""
    return len(items) <= CAPTION_LIST_LIMIT  # type: ignore[arg-type]


def print_scale(print_width: float, size_inches: tuple[float, float]) -> float:
    """Returns printed size / drawn size of a figure drawn at ``size_inches`` that prints at
    ``print_width`` of the text width (its entry's in :mod:`mnist_report.config.figures`), or smaller
    when that would make it taller than :data:`MAX_PRINT_HEIGHT` of the text height (LaTeX keeps its
    aspect ratio)."""
    width, height = size_inches
    return min(print_width * TEXT_WIDTH_MM / 25.4 / width, MAX_PRINT_HEIGHT * TEXT_HEIGHT_MM / 25.4 / height)
