"""latex.py's filters, each against hand-written LaTeX: what every kind of value prints as, and the
one line that names the filter when a template hands it the wrong kind of value."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mnist_report.common.errors import PipelineError
from mnist_report.reporting import latex
from mnist_report.reporting.latex import Difference, Tex


@pytest.mark.parametrize("value, printed", [
    (2.1e-13, r"\ensuremath{2.1\times10^{-13}}"), (0, "0"), (0.0, "0"), (-3.0e5, r"\ensuremath{-3.0\times10^{5}}"),
    (1, r"\ensuremath{1.0\times10^{0}}"), (Decimal("0.00125"), r"\ensuremath{1.3\times10^{-3}}"),
])
def test_sci_prints_two_significant_digits_in_math(value, printed):
    assert latex.sci(value) == printed


def test_sci_takes_its_digits():
    assert latex.sci(0.000123456, 4) == r"\ensuremath{1.235\times10^{-4}}"


@pytest.mark.parametrize("value, printed", [
    (0.06509106268432195, "0.06509106268432195"), (7, "7"), (-0.5, r"\ensuremath{-}0.5"), (1e-20, "1e-20"),
    (-3, r"\ensuremath{-}3"), (2.0, "2.0"),
])
def test_full_prints_every_digit(value, printed):
    assert latex.full(value) == printed


@pytest.mark.parametrize("value, printed", [
    (True, "yes"), (False, "no"), (3, "3"), (0.05, "0.05"), (1e-05, r"\ensuremath{10^{-5}}"),
    ([2, 3], "2, 3"), ([True, 0.5, "a_b"], r"yes, 0.5, a\_b"), ("soft&max", r"soft\&max"), (-2, r"\ensuremath{-}2"),
])
def test_setting_prints_each_kind_of_setting(value, printed):
    assert latex.setting(value) == printed


@pytest.mark.parametrize("items, printed", [
    ([], ""), (["a"], "a"), (["a", "b"], "a and b"), (["a", "b", "c"], "a, b and c"), ([3, 12], "3 and 12"),
    ([Tex(r"\texttt{x}"), "y_z"], r"\texttt{x} and y\_z"),
])
def test_listing_joins_with_commas_and_and(items, printed):
    assert latex.listing(items) == printed


def test_listing_refuses_an_item_that_is_neither_text_nor_a_count():
    with pytest.raises(PipelineError, match=r"^filter listing expects an integer >= 0 or a list, got 1.5$"):
        latex.listing([1.5])


def test_commas_join_each_item_as_latex():
    assert latex.commas(["a_b", Tex(r"\emph{c}"), 3]) == r"a\_b, \emph{c}, 3"
    assert latex.commas([]) == ""


@pytest.mark.parametrize("function, value, message", [
    (latex.sci, "1", "filter sci expects a finite number, got '1'"),
    (latex.full, None, "filter full expects a finite number, got None"),
    (latex.full, float("nan"), "filter full expects a finite number, got nan"),
    (latex.num, True, "filter num expects a finite number, got True"),
    (latex.count, -1, "filter count expects an integer >= 0 or a list, got -1"),
    (latex.spelled, 2.0, "filter spelled expects an integer >= 0 or a list, got 2.0"),
    (latex.epochs, True, "filter epochs expects an integer >= 0 or a list, got True"),
    (latex.yesno, 1, "filter yesno expects true or false, got 1"),
    (latex.tt, 5, "filter tt expects a string, got 5"),
    (latex.than, 0.5, "filter than expects a Difference, got 0.5"),
])
def test_a_wrong_value_is_one_line_naming_the_filter(function, value, message):
    with pytest.raises(PipelineError) as error:
        function(value)
    assert str(error.value) == message


def test_plural_counts_lists_and_numbers():
    assert latex.plural(1, "run", "runs") == "run" and latex.plural(["a"], "run", "runs") == "run"
    assert latex.plural(0, "run", "runs") == "runs" and latex.plural(["a", "b"], "run", "runs") == "runs"
    assert latex.plural(2, "a_b", "c") == "c" and latex.plural(1, "a_b", "c") == r"a\_b"


def test_epochs_and_counts_and_spelled_numbers():
    assert [latex.epochs(n) for n in (1, 2, 50)] == ["1 epoch", "2 epochs", "50 epochs"]
    assert latex.epochs([1, 2]) == "2 epochs"
    assert [latex.spelled(n) for n in (0, 10, 20, 21)] == ["zero", "ten", "twenty", "21"]
    assert latex.count([1, 2, 3]) == "three"


def test_yesno_and_than():
    assert (latex.yesno(True), latex.yesno(False)) == ("yes", "no")
    assert latex.than(Difference(Decimal("0.01"))) == "higher than"
    assert latex.than(Difference(Decimal("-0.01"))) == "lower than"
    assert latex.than(Difference(Decimal("0"))) == "the same as"


def test_differences_of_printed_numbers():
    assert latex.accuracy_difference(0.97928, 0.97894, 2) == Difference(Decimal("0.04"))
    assert latex.loss_difference(0.12345, 0.12335, 4) == Difference(Decimal("0.0001"))
    assert latex.loss_difference(0.12344, 0.12336, 4).same
    assert latex.points(Decimal("-0.435"), 2) == "0.44" and latex.points(Difference(Decimal("0.5")), 1) == "0.5"
    assert latex.percent(0.87745, 2) == r"87.75\,\%" and latex.percent(Decimal("0.5"), 0) == r"50\,\%"
    assert latex.fixed(-0.00004, 4) == "0.0000" and latex.fixed(-0.5, 1) == r"\ensuremath{-}0.5"


def test_as_tex_keeps_latex_and_escapes_the_rest():
    class Markup(str):
        def __html__(self):
            return r"\emph{m}"

    assert latex.as_tex(Tex(r"\x")) == r"\x" and type(latex.as_tex(Tex(r"\x"))) is Tex
    assert latex.as_tex(Markup("ignored")) == r"\emph{m}"
    assert latex.as_tex(3) == "3" and latex.as_tex("50%") == r"50\%"
    assert latex.escape_latex("a\n\n b\tc") == "a b c"
    assert latex.tt("a_b") == r"\texttt{a\_b}"


def test_filters_that_make_words():
    assert latex.than(latex.Difference(Decimal("0.01"))) == "higher than"
    assert latex.than(latex.Difference(Decimal("-0.01"))) == "lower than"
    assert latex.than(latex.Difference(Decimal("0.00"))) == "the same as"
    assert [latex.epochs(n) for n in (1, 2)] == ["1 epoch", "2 epochs"]
    assert latex.listing([1]) == "1" and latex.listing([1, 2]) == "1 and 2" and latex.listing([1, 2, 3]) == "1, 2 and 3"
    assert latex.listing(["a_b", latex.Tex(r"\x")]) == r"a\_b and \x"
    assert latex.commas(["a", "b", "c"]) == "a, b, c"
    assert [latex.plural(n, "run", "runs") for n in (0, 1, 2)] == ["runs", "run", "runs"]
    assert latex.plural([1], "its", "their") == "its"
    assert [latex.spelled(n) for n in (0, 10, 20, 21)] == ["zero", "ten", "twenty", "21"]
    assert [latex.count(n) for n in (9, 10)] == ["nine", "10"]
    with pytest.raises(PipelineError, match="filter than expects a Difference"):
        latex.than(0.5)


def test_numbers_round_half_up_from_their_decimal_value():
    # The binary doubles nearest 0.87745 and 0.92135 lie below and above the half: both round up.
    assert latex.percent(0.87745, 2) == r"87.75\,\%" and latex.percent(0.92135, 2) == r"92.14\,\%"
    assert latex.fixed(2.675, 2) == "2.68" and latex.fixed(0.00005, 4) == "0.0001"
    assert latex.fixed(-0.00004, 4) == "0.0000"  # no negative zero
    assert latex.diff_pp(0.9792759051186017, 0.9789422135161606, 2) == Decimal("0.04")
    assert latex.points(Decimal("-0.43"), 2) == "0.43"
    assert latex.num(1 / (2 * 0.01 * 0.001)) == "50000"


def test_counts_are_words_up_to_nine_and_paths_break_after_slashes_only():
    assert [latex.count(n) for n in (0, 3, 9, 10, 15)] == ["zero", "three", "nine", "10", "15"]
    assert latex.path("src/mnist_report/x.py") == r"\texttt{src/\allowbreak{}mnist\_report/\allowbreak{}x.py}"


def test_escape_latex_handles_every_special_character_once():
    assert latex.escape_latex("\\&%$#_{}~^") == (r"\textbackslash{}\&\%\$\#\_\{\}\textasciitilde{}"
                                                  r"\textasciicircum{}")
    assert latex.escape_latex("two\n\nlines") == "two lines"  # a blank line would end a paragraph


def test_a_run_name_may_break_between_any_two_characters_and_after_a_slash_first():
    assert latex.run("a_b") == r"\texttt{a\penalty5000{}\_\penalty5000{}b}"
    assert latex.run("m/x") == r"\texttt{m/\allowbreak{}x}"
    assert latex.run("z") == r"\texttt{z}"
    with pytest.raises(PipelineError, match="filter run expects a string"):
        latex.run(3)
