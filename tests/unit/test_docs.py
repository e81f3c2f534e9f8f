"""The README is a front door and every page it links is there: README.md at most 150 lines, and each
relative link of README.md and docs/*.md names a file of the repository."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from support.paths import REPO
from support.workflows import documents

#: The README's length: what the project is, the two commands, the stages, the everyday commands,
#: the comparison loop, the layout and the links; the rest is in docs/.
README_MAX_LINES = 150
#: A Markdown link or image, ``[text](target)`` or ``[text](target "title")``: the target.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def relative_links(text: str) -> list[str]:
    """Returns the targets of the Markdown links of ``text`` that are no URL or anchor, each without
    its ``#anchor``, code spans and blocks left out."""
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    prose = re.sub(r"`[^`\n]*`", "", prose)
    targets = [target.split("#", 1)[0] for target in LINK.findall(prose)]
    return [target for target in targets if target and not re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", target)]


def test_the_readme_is_at_most_150_lines():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail to docs/"


def test_every_relative_link_of_the_readme_and_docs_names_an_existing_file():
    assert {name for name, _ in documents()} >= {"README.md", "docs/architecture.md", "docs/workflows.md"}
    broken = [f"{name}: {target}" for name, text in documents() for target in relative_links(text)
              if not (REPO / PurePosixPath(name).parent / target).exists()]
    assert not broken, "links to no file:\n" + "\n".join(broken)


def test_relative_links_finds_files_and_leaves_out_urls_anchors_and_code():
    text = ("See [setup](docs/setup.md), [a part](docs/pipeline.md#runs), [DVC](https://dvc.org), "
            "[up](#stages), ![figure](report/figures/2b_loss.png \"Figure 1\") and `[not](a-link.md)`.\n"
            "```sh\n[neither](in-a-block.md)\n```\n")
    assert relative_links(text) == ["docs/setup.md", "docs/pipeline.md", "report/figures/2b_loss.png"]
