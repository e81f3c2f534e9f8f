"""compare/markup.py on small hand-written LaTeX: how places are counted, how a changed number and word are marked, which figures changed and how their captions and images are marked."""

from __future__ import annotations

import re
from mnist_report.compare.markup import (
    CHANGED_FIGURE,
    NEW_FIGURE,
    count_places,
    figure_changes,
    figure_key,
    mark_figures,
    run_latexdiff,
)
from mnist_report.compare.revisions import Side
from support.diff_marks import MARK, body, needs_latexdiff


def test_count_places_counts_a_replacement_once():
    tex = (r"\DIFaddbegin \DIFadd{x}\DIFaddend \begin{document}"
           "A \\DIFdelbegin \\DIFdel{0.05 }\\DIFdelend \\DIFaddbegin \\DIFadd{0.06 }\\DIFaddend and "
           "B \\DIFdelbeginFL \\DIFdelFL{1}\\DIFdelendFL \\DIFaddbeginFL \\DIFaddFL{2}\\DIFaddendFL, "
           "C \\DIFaddbegin \\DIFadd{new words}\\DIFaddend, D \\DIFdelbegin \\DIFdel{gone}\\DIFdelend.\n"
           "E \\DIFaddbegin \\DIFadd{first}\\DIFaddend \\DIFdelbegin \\DIFdel{then}\\DIFdelend")
    # two replacements, one insertion, one deletion, an insertion then a deletion (two places);
    # the preamble's \DIFaddbegin does not count
    assert count_places(tex) == 6
    assert count_places(r"\begin{document} nothing changed \end{document}") == 0


@needs_latexdiff
def test_latexdiff_marks_a_changed_number_and_word(tmp_path):
    old = ("\\documentclass{article}\n\\begin{document}\n\\section*{A}\nThe loss is 0.2500 at the end; training stopped earlier than before.\n"
           "\\section*{B}\nUntouched text.\n\\end{document}\n")
    new = old.replace("0.2500", "0.2130").replace("earlier", "later")
    diff = run_latexdiff(old, new, tmp_path)
    assert re.search(r"\\DIFdel\{0\.2500 ?\}", diff) and re.search(r"\\DIFadd\{0\.2130 ?\}", diff), diff
    assert re.search(r"\\DIFdel\{earlier ?\}", diff) and re.search(r"\\DIFadd\{later ?\}", diff), diff
    assert count_places(diff) == 2
    assert not MARK.search(body(diff).split("\\section*{B}")[1])
    same = run_latexdiff(new, new, tmp_path)
    assert count_places(same) == 0 and not MARK.search(body(same))


def test_figure_changes_compare_bytes():
    old = Side("HEAD", "a" * 40, "", {"a.png": b"1", "b.png": b"2", "gone.png": b"3"})
    new = Side("workspace", None, "", {"a.png": b"1", "b.png": b"2!", "c.png": b"4"})
    assert figure_changes(old, new) == {"b.png": CHANGED_FIGURE, "c.png": NEW_FIGURE}
    assert figure_changes(new, new) == {}
    assert figure_key("b.png", ["b.png"]) == "b.png"
    assert figure_key("b", ["b.png"]) == "b.png"
    assert figure_key("sub/b", ["b.png"]) is None


def test_mark_figures_marks_caption_and_shows_both_images():
    tex = ("\\documentclass{article}\n\\begin{document}\n"
           "\\begin{figure}\n\\includegraphics[width=0.66\\linewidth]{2b_loss.png}\n\\caption{Loss.}\n\\end{figure}\n"
           "\\begin{figure}\n\\includegraphics[width=0.66\\linewidth]{3b_loss.png}\n\\caption{Other.}\n\\end{figure}\n"
           "\\begin{figure}\n\\includegraphics{new}\n\\end{figure}\n\\end{document}\n")
    marked_tex, marked = mark_figures(tex, {"2b_loss.png": CHANGED_FIGURE, "new.png": NEW_FIGURE, "unused.png": CHANGED_FIGURE},
                                      "../figures-old", "HEAD (abc1234)", "my_exp")
    assert marked == {"2b_loss.png": CHANGED_FIGURE, "new.png": NEW_FIGURE}
    assert "\\DIFfigurepair{../figures-old/2b_loss.png}{2b_loss.png}\n\\caption{\\DIFfigurechanged{}Loss.}" in marked_tex
    assert "\\includegraphics[width=0.66\\linewidth]{3b_loss.png}\n\\caption{Other.}" in marked_tex  # unchanged
    assert "\\includegraphics{new}\\par{\\centering\\DIFfigurenew{}\\par}" in marked_tex  # no caption: below the image
    preamble = marked_tex.split("\\begin{document}")[0]
    assert "before: HEAD (abc1234)" in preamble and "after: my\\_exp" in preamble
