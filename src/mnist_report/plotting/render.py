"""The figures stage's work: checks that the figures draw legibly in bounded memory, then draws each
figure's :class:`~mnist_report.plotting.recipes.Recipe` as a PDF (the report prints it) and a PNG
(``dvc plots`` shows it), or copies both from the cache (:mod:`mnist_report.plotting.cache`) when its
digest is there: a change to one run redraws the figures that show it, nothing else, and the bytes
are those of a full redraw (``tests/integration/test_figures.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mnist_report.common.errors import PipelineError
from mnist_report.common.files import write_bytes
from mnist_report.common.outputs import FIGURE_PDFS_DIR, FIGURES_DIR, figure_file, figure_pdf
from mnist_report.config import layout
from mnist_report.config.figures import FIGURE_NAMES, print_width
from mnist_report.config.params import Params
from mnist_report.plotting import cache, drawings, recipes
from mnist_report.plotting.recipes import figure_recipes

#: The stage's PNGs by recipe digest, between runs (git-ignored; not a DVC output): see draw_figures.
FIGURE_CACHE = Path(".cache/figures")
#: The code a figure's pixels depend on besides its recipe: the drawings, and the code that makes
#: the recipes (a change there that reaches no argument still invalidates the cache, to be safe).
DRAWING_CODE = (Path(drawings.__file__), Path(recipes.__file__))


#: The printed size of the figures' type, in points: below it is hard to read, above it is out of scale
#: with the report's 11-pt text (and labels crowd the axes). The 12-pt type of the default 5-inch
#: figures prints at about 10 pt (layout.py).
PRINTED_TYPE_PT = (5.0, 20.0)
#: The fewest pixels per printed inch (a screen's): below it the type of a figure is blurred beyond reading
#: (the defaults give 240).
MIN_PRINTED_PPI = 72
#: The most pixels along a side of a figure: matplotlib holds the whole image in memory (4 bytes a
#: pixel, 64 MB at this limit), and 4000 pixels is 960 per printed inch at the text width.
MAX_SIDE_PIXELS = 4000


def check_drawable(figures: Any) -> None:
    """Raises PipelineError naming the params key when a figure's size, dpi and font size would not
    draw in bounded memory or not be legible as the report prints it (:func:`mnist_report.config.layout.print_scale`)."""
    for name in FIGURE_NAMES:
        size, key = figures.size_of(name), figures.size_key(name)
        shown_size = f"{key} = [{size[0]:g}, {size[1]:g}]"
        pixels = max(size) * figures.dpi
        if pixels > MAX_SIDE_PIXELS:
            raise PipelineError(f"figures.dpi = {figures.dpi} with {shown_size}: figure {name} would be "
                                f"{pixels:.0f} pixels on a side; expected at most {MAX_SIDE_PIXELS} (a smaller dpi or size)")
        scale = layout.print_scale(print_width(name), size)
        printed_type = figures.font_size * scale
        low, high = PRINTED_TYPE_PT
        if not low <= printed_type <= high:
            raise PipelineError(f"{shown_size}: figure {name} prints at {scale:.3g} of that size, its "
                                f"{figures.font_size:g}-pt type (figures.font_size) at {printed_type:.3g} pt; "
                                f"expected the type to print at {low:g} to {high:g} pt")
        ppi = figures.dpi / scale
        if ppi < MIN_PRINTED_PPI:
            raise PipelineError(f"figures.dpi = {figures.dpi} with {shown_size}: figure {name} would print at "
                                f"{ppi:.0f} pixels per inch; expected at least {MIN_PRINTED_PPI}")


def draw_figures(params: Params, root: Path = Path("."), out_dir: Path | None = None, *,
                 cache_dir: Path | None = None) -> tuple[list[Path], list[str]]:
    """Draws every figure as ``<name>.pdf`` (vector, the report prints it) and ``<name>.png`` (what
    ``dvc plots`` shows), both from the same Figure; returns (the paths written, PDF then PNG for each
    figure, and the names drawn).

    Inputs are read under ``root``. The PNGs go to ``out_dir`` (default ``root/report/figures``), the
    PDFs to ``root/report/build/figures``, or to ``out_dir`` too when it is given. With
    ``cache_dir``, a figure whose :func:`~mnist_report.plotting.cache.recipe_digest` is stored there is copied from it instead of
    drawn again (the same bytes: the digest covers everything the drawing depends on), and each
    figure drawn is stored there (its PNG and its PDF). Every input is read and
    checked before anything is written.
    """
    figures = params.figures
    check_drawable(figures)
    pdf_dir = Path(root) / FIGURE_PDFS_DIR if out_dir is None else Path(out_dir)
    out_dir = Path(root) / FIGURES_DIR if out_dir is None else Path(out_dir)
    by_name = figure_recipes(params, root)
    files: dict[Path, bytes] = {}
    drawn: list[str] = []
    with drawings.figure_style(figures.font_size):
        for name, recipe in by_name.items():
            digest = cache.recipe_digest(recipe, figures.dpi, figures.font_size, DRAWING_CODE) if cache_dir is not None else ""
            png, pdf = ([cache.cached_png(Path(cache_dir), name, digest, suffix) for suffix in (".png", ".pdf")]
                        if cache_dir is not None else [None, None])
            if png is None or pdf is None:
                figure = recipe.figure()
                png, pdf = drawings.render_png(figure, figures.dpi), drawings.render_pdf(figure)
                if cache_dir is not None:
                    cache.store_png(Path(cache_dir), name, digest, png)
                    cache.store_png(Path(cache_dir), name, digest, pdf, ".pdf")
                drawn.append(name)
            files[pdf_dir / figure_pdf(name)], files[out_dir / figure_file(name)] = pdf, png
    for path, data in files.items():
        write_bytes(path, data)
    return list(files), drawn


