"""``python -m mnist_report.plots_page``: builds the offline HTML template of ``dvc plots show``
(:mod:`mnist_report.plotting.page`); ``bash bootstrap.sh setup`` runs it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mnist_report.common.errors import one_line_errors
from mnist_report.plotting.page import NPM_CACHE, PACKAGES, TEMPLATE_PATH, build, up_to_date


@one_line_errors
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mnist_report.plots_page",
                                     description="Build the offline HTML template of `dvc plots show`.")
    parser.add_argument("--cache", type=Path, default=NPM_CACHE, help=f"npm tarballs (default {NPM_CACHE})")
    parser.add_argument("--output", type=Path, default=TEMPLATE_PATH, help=f"default {TEMPLATE_PATH}")
    parser.add_argument("--up-to-date", action="store_true",
                        help="build nothing: exit 0 if the output inlines the pinned versions, else 1")
    args = parser.parse_args(argv)
    if args.up_to_date:
        return 0 if up_to_date(args.output) else 1
    path = build(args.cache, args.output)
    print(f"plots page template: {path} ({', '.join(f'{p.name} {p.version}' for p in PACKAGES)} inlined)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
