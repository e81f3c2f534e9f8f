"""LaTeX text: the ``Tex`` type, escaping, numbers as printed, and the filters the templates use.

No Jinja2 here: these are plain functions from values to LaTeX (:class:`Tex`), which
:mod:`mnist_report.reporting.templates` registers as filters, and the printed values (:func:`percent_value`,
:func:`diff_pp`, :class:`Difference`) that the fact modules compare.

Rounding: a number is rounded half up from the decimal it is written as, the float's shortest
``repr`` (0.87745 prints as 87.75 %, like 0.92135 as 92.14 %, though the nearest binary double of
0.87745 lies just below the half), never from the binary double that ``format`` would round. The
prose compares and subtracts numbers as printed: a stated difference is the difference of the two
printed values, and "the same" means printed the same.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from mnist_report.common.errors import PipelineError


class Tex(str):
    """A string that is LaTeX already: inserted as it is, where any other string is escaped.

    ``__html__`` tells Jinja2's autoescaping (markupsafe) that it is safe as it is: the templates
    escape for LaTeX in :func:`mnist_report.reporting.templates.finalize`, never for HTML.
    """

    def __html__(self) -> str:
        return self


_LATEX_SPECIAL = {
    "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
}
_LATEX_SPECIAL_RE = re.compile(r"[&%$#_{}~^\\]|\s+")


def escape_latex(text: str) -> Tex:
    """Returns ``text`` as LaTeX that prints it: ``& % $ # _ { } ~ ^ \\`` escaped, whitespace runs
    (newlines included, which would end a paragraph or a table row) made one space."""
    return Tex(_LATEX_SPECIAL_RE.sub(lambda m: _LATEX_SPECIAL.get(m.group(), " "), text))


def as_tex(value: Any) -> Tex:
    """Returns ``value`` as LaTeX: Tex (and a template macro's output) as it is, any other str escaped."""
    if isinstance(value, Tex):
        return value
    if hasattr(value, "__html__"):  # a macro's output (markupsafe.Markup): LaTeX made by the templates
        return Tex(value.__html__())
    return escape_latex(str(value))


# --------------------------------------------------------------------------- numbers as printed

def _number(value: Any, filter_name: str) -> float:
    if isinstance(value, Difference):
        value = value.value
    if isinstance(value, Decimal) and value.is_finite():
        return float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PipelineError(f"filter {filter_name} expects a finite number, got {value!r}")
    return float(value)


def written(value: Any, filter_name: str = "fixed") -> Decimal:
    """Returns the decimal ``value`` is written as: an int or Decimal as it is, a float as its shortest
    round-trip ``repr`` (0.87745 -> Decimal('0.87745'), not the binary 0.8774499999999999...)."""
    _number(value, filter_name)
    if isinstance(value, Difference):
        return value.value
    if isinstance(value, Decimal):
        return value
    return Decimal(value) if isinstance(value, int) else Decimal(repr(float(value)))


def rounded(value: Any, decimals: int, filter_name: str = "fixed") -> Decimal:
    """Returns ``value`` rounded half up to ``decimals`` digits after the point, from :func:`written`
    (-0 made 0)."""
    result = written(value, filter_name).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return result if result != 0 else abs(result)


def percent_value(value: Any, decimals: int) -> Decimal:
    """A fraction as the percentage that :func:`percent` prints: 0.87745 -> Decimal('87.75')."""
    return rounded(written(value, "acc") * 100, decimals, "acc")


def diff_pp(first: Any, second: Any, decimals: int) -> Decimal:
    """Returns ``first - second`` of two fractions in percentage points, as the difference of the two
    percentages as printed: 0.97928, 0.97894 -> Decimal('0.04') (97.93 - 97.89), not 0.03."""
    return percent_value(first, decimals) - percent_value(second, decimals)


@dataclass(frozen=True)
class Difference:
    """A signed difference ``first - second`` of two printed numbers, and how they compare.

    ``higher``: first is printed higher; ``lower``: lower; ``same``: printed the same. The filters
    ``pp`` and ``loss`` print its size, ``than`` the words of the comparison.
    """

    value: Decimal

    @property
    def higher(self) -> bool:
        return self.value > 0

    @property
    def lower(self) -> bool:
        return self.value < 0

    @property
    def same(self) -> bool:
        return self.value == 0


def accuracy_difference(first: Any, second: Any, decimals: int) -> Difference:
    """The :class:`Difference` of two accuracies (fractions) as printed, in percentage points."""
    return Difference(diff_pp(first, second, decimals))


def loss_difference(first: Any, second: Any, decimals: int) -> Difference:
    """The :class:`Difference` of two losses as printed with ``decimals`` digits."""
    return Difference(rounded(first, decimals, "loss") - rounded(second, decimals, "loss"))


# ------------------------------------------------------------------------------- number filters

def _signed(text: str) -> Tex:
    """A true minus sign rather than a hyphen, in text or math mode."""
    return Tex(text.replace("-", r"\ensuremath{-}", 1) if text.startswith("-") else text)


def fixed(value: Any, decimals: int) -> Tex:
    """``value`` with ``decimals`` digits after the point, rounded half up (:func:`rounded`)."""
    return _signed(f"{rounded(value, decimals):.{decimals}f}")


def percent(value: Any, decimals: int) -> Tex:
    """A fraction as a percentage: 0.9157 -> ``91.57\\,\\%``."""
    return Tex(f"{percent_value(value, decimals):.{decimals}f}" + r"\,\%")


def points(value: Any, decimals: int) -> Tex:
    """The size of a difference in percentage points (no sign), e.g. of :func:`diff_pp`: -0.43 -> ``0.43``."""
    return Tex(f"{rounded(abs(written(value, 'pp')), decimals, 'pp'):.{decimals}f}")


SMALL_COUNTS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _count_of(value: Any, filter_name: str) -> int:
    if isinstance(value, (list, tuple)):
        return len(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PipelineError(f"filter {filter_name} expects an integer >= 0 or a list, got {value!r}")
    return value


def count(value: Any) -> Tex:
    """A count in running text: a word from zero to nine, digits from 10 (3 -> ``three``, 12 -> ``12``);
    a list counts its items."""
    number = _count_of(value, "count")
    return Tex(SMALL_COUNTS[number] if number < len(SMALL_COUNTS) else str(number))


NUMBER_WORDS = SMALL_COUNTS + ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
                               "seventeen", "eighteen", "nineteen", "twenty")


def spelled(value: Any) -> Tex:
    """A number spelled out up to twenty, as in "the ten digits" (digits from 21): 10 -> ``ten``."""
    number = _count_of(value, "spelled")
    return Tex(NUMBER_WORDS[number] if number < len(NUMBER_WORDS) else str(number))


def sci(value: Any, digits: int = 2) -> Tex:
    """``value`` in scientific notation as math: 2.1e-13 -> ``$2.1\\times10^{-13}$``; 0 -> ``0``."""
    number = _number(value, "sci")
    if number == 0:
        return Tex("0")
    mantissa, exponent = f"{number:.{digits - 1}e}".split("e")
    return Tex(f"\\ensuremath{{{mantissa}\\times10^{{{int(exponent)}}}}}")


def num(value: Any) -> Tex:
    """The shortest form of a setting, to 12 significant digits: 1.0 -> ``1``, 0.001 -> ``0.001``,
    1e-05 -> ``10^{-5}`` (in math), 1 - 2 * 0.01 -> ``0.98`` (not 0.9800000000000001),
    1 / (2 * 0.01 * 0.001) -> ``50000`` (not 49999.99999999999)."""
    number = _number(value, "num")
    if isinstance(value, int):
        return _signed(str(value))
    number = float(f"{number:.12g}")
    if number.is_integer() and abs(number) < 1e15:
        return _signed(str(int(number)))
    text = repr(number)
    if "e" not in text:
        return _signed(text)
    mantissa, exponent = text.split("e")
    power = f"10^{{{int(exponent)}}}"
    return Tex(f"\\ensuremath{{{power}}}" if float(mantissa) == 1 else f"\\ensuremath{{{mantissa}\\times{power}}}")


def full(value: Any) -> Tex:
    """Every digit: the float's shortest round-trip ``repr`` (``0.06509106268432195``), or the int."""
    number = _number(value, "full")
    return _signed(str(value) if isinstance(value, int) else repr(number))


# ---------------------------------------------------------------------------------- text filters

def yesno(value: Any) -> Tex:
    if not isinstance(value, bool):
        raise PipelineError(f"filter yesno expects true or false, got {value!r}")
    return Tex("yes" if value else "no")


def setting(value: Any) -> Tex:
    """A run setting of any type as the text shows it: yes/no, a number (:func:`num`), a list of
    numbers, or an escaped string."""
    if isinstance(value, bool):
        return yesno(value)
    if isinstance(value, (int, float)):
        return num(value)
    if isinstance(value, list):
        return Tex(", ".join(setting(item) for item in value))
    return escape_latex(str(value))


def tt(value: Any) -> Tex:
    """A name in typewriter type (run names, files, hashes), escaped."""
    if not isinstance(value, str):
        raise PipelineError(f"filter tt expects a string, got {value!r}")
    return Tex(r"\texttt{" + escape_latex(value) + "}")


def path(value: Any) -> Tex:
    """A file path in typewriter type, escaped, which may break across lines after a ``/`` only."""
    return Tex(tt(value).replace("/", "/\\allowbreak{}"))


#: What :func:`run` puts between two characters of a name: a line break that TeX takes only where
#: nothing else fits (its penalty dwarfs any line's badness), so that a long name still fits its column.
NAME_BREAK = r"\penalty5000{}"


def run(value: Any) -> Tex:
    """A run name (or a path holding one) in typewriter type, escaped, which may break between any two
    characters when nothing else fits: a valid run name is up to 100 characters, wider than the page.
    A path breaks after a ``/`` first."""
    if not isinstance(value, str):
        raise PipelineError(f"filter run expects a string, got {value!r}")
    parts = [escape_latex(character) for character in value]
    joined = "".join(part + ("\\allowbreak{}" if part == "/" else "" if following == "/" else NAME_BREAK)
                     for part, following in zip(parts, parts[1:]))
    return Tex(r"\texttt{" + joined + (parts[-1] if parts else "") + "}")


def plural(value: Any, one: str, several: str) -> Tex:
    """``one`` for a count (or list) of exactly one, else ``several``: the words are the template's."""
    return as_tex(one if _count_of(value, "plural") == 1 else several)


def epochs(value: Any) -> Tex:
    """A number of epochs: 1 -> ``1 epoch``, 50 -> ``50 epochs``."""
    number = _count_of(value, "epochs")
    return Tex(f"{number} epoch" if number == 1 else f"{number} epochs")


def listing(items: Sequence[Any]) -> Tex:
    """Items joined as ``a, b and c`` (``a and b``; ``a``); each item as LaTeX (an int as digits)."""
    texts = [as_tex(item) if isinstance(item, str) else Tex(str(_count_of(item, "listing"))) for item in items]
    if len(texts) <= 1:
        return Tex("".join(texts))
    return Tex(", ".join(texts[:-1]) + " and " + texts[-1])


def commas(items: Sequence[Any]) -> Tex:
    """Items joined as ``a, b, c``, each as LaTeX."""
    return Tex(", ".join(as_tex(item) for item in items))


def than(difference: Difference) -> Tex:
    """The comparison of a :class:`Difference`: ``higher than``, ``lower than`` or ``the same as``."""
    if not isinstance(difference, Difference):
        raise PipelineError(f"filter than expects a Difference, got {difference!r}")
    return Tex("higher than" if difference.higher else "lower than" if difference.lower else "the same as")
