"""The figures stage's cache: a PNG (and the PDF beside it) kept between runs under the digest of everything its pixels
depend on, so that a figure whose inputs did not change is copied instead of drawn again.

An entry of the cache folder (``.cache/figures/``, git-ignored, no DVC output) is
``<figure>-<recipe digest>-<sha256 of the PNG>.png``: a damaged file is never used. The digest
(:func:`recipe_digest`) covers the recipe (drawing function and arguments), dpi and font size, the
drawing code and the versions of Python, NumPy and matplotlib, so a copy has the bytes a redraw
would give (``tests/integration/test_figures.py``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib import font_manager

from mnist_report.common.errors import PipelineError
from mnist_report.common.files import write_bytes
from mnist_report.plotting.recipes import Recipe


def _feed(hasher: Any, value: Any) -> None:
    """Feeds ``value`` to ``hasher`` unambiguously: a type tag, then the value (floats exactly, arrays
    with their dtype and shape). A type it does not know is an error, never a guess."""
    if value is None:
        hasher.update(b"N;")
    elif isinstance(value, bool):
        hasher.update(b"B1;" if value else b"B0;")
    elif isinstance(value, (int, np.integer)):
        hasher.update(b"I%d;" % int(value))
    elif isinstance(value, (float, np.floating)):
        hasher.update(b"F" + float(value).hex().encode() + b";")
    elif isinstance(value, str):
        data = value.encode("utf-8")
        hasher.update(b"S%d:" % len(data) + data)
    elif isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        hasher.update(b"A" + array.dtype.str.encode() + repr(array.shape).encode() + b":")
        hasher.update(array.tobytes())
    elif isinstance(value, (list, tuple)):
        hasher.update(b"L%d:" % len(value))
        for item in value:
            _feed(hasher, item)
    elif isinstance(value, dict):
        hasher.update(b"D%d:" % len(value))
        for key in sorted(value):
            _feed(hasher, key)
            _feed(hasher, value[key])
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        _feed(hasher, type(value).__qualname__)
        _feed(hasher, {field.name: getattr(value, field.name) for field in dataclasses.fields(value)})
    else:
        raise TypeError(f"cannot digest a {type(value).__name__} in a figure recipe")


def recipe_digest(recipe: Recipe, dpi: int, font_size: float, code: Sequence[Path]) -> str:
    """Returns the sha256 (hex) of everything the PNG of ``recipe`` depends on: the recipe (drawing
    function and arguments), the dpi and font size, the source files ``code`` (the drawings and the
    recipes: :data:`mnist_report.plotting.render.DRAWING_CODE`) and the versions of Python, NumPy and
    matplotlib (whose fonts and defaults are part of the pixels)."""
    hasher = hashlib.sha256()
    font = font_manager.findfont(font_manager.FontProperties())  # the style's font, as the drawing finds it
    _feed(hasher, ["mnist-report figure", recipe.draw.__name__, recipe.arguments, dpi, font_size,
                   sys.version, np.__version__, matplotlib.__version__, font, Path(font).stat().st_size])
    for source in code:
        hasher.update(source.read_bytes())
    return hasher.hexdigest()


def cached_png(cache_dir: Path, name: str, digest: str, suffix: str = ".png") -> bytes | None:
    """Returns the PNG (or, with ``suffix`` ``.pdf``, the PDF) stored for (name, digest) in ``cache_dir``
    if its bytes are intact, else None.

    An entry is ``<name>-<recipe digest>-<sha256 of the PNG>.png``: a damaged file is never used."""
    for path in cache_dir.glob(f"{name}-{digest}-*{suffix}"):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if path.stem.rsplit("-", 1)[1] == hashlib.sha256(data).hexdigest():
            return data
    return None


def store_png(cache_dir: Path, name: str, digest: str, data: bytes, suffix: str = ".png") -> None:
    """Stores a PNG (or, with ``suffix`` ``.pdf``, a PDF) under (name, digest), and removes that
    figure's other entries of that suffix (one per figure)."""
    path = cache_dir / f"{name}-{digest}-{hashlib.sha256(data).hexdigest()}{suffix}"
    try:
        for old in cache_dir.glob(f"{name}-*{suffix}"):
            if old != path:
                old.unlink(missing_ok=True)
        write_bytes(path, data)
    except (OSError, PipelineError):
        pass  # the cache only saves time: a failure to keep a PNG there costs the next run a redraw
