"""``python -m mnist_report.check [params.yaml]``: checks params.yaml as every stage does, and as the
figures stage draws it, before DVC reads it.

DVC reads params.yaml before any stage runs, and some files it rejects or mishandles with its own
message, or none: a run name with a ``.`` (``runs.a.b`` is a key path to DVC), a run key YAML reads as
a number (``123:``), YAML whose aliases expand to millions of nodes (``dvc status`` hangs). This check
reads the file as DVC does (schema.parse_yaml) without expanding aliases, and gives the one line a
stage would give: ``error: <key>: <what was expected>`` and exit 1, or ``params.yaml: ok`` and exit 0.
``bash bootstrap.sh report`` runs it before ``dvc repro``. It writes nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mnist_report.common.errors import one_line_errors
from mnist_report.config.params import load_checked
from mnist_report.config.schema import PARAMS_FILE
from mnist_report.plotting.render import check_drawable


@one_line_errors
def main(argv: Sequence[str] | None = None) -> int:
    """Checks params.yaml as the stages do; one line either way."""
    parser = argparse.ArgumentParser(prog="python -m mnist_report.check", description=main.__doc__)
    parser.add_argument("params", nargs="?", default=str(PARAMS_FILE), help=f"the file to check (default {PARAMS_FILE})")
    arguments = parser.parse_args(argv)
    params = load_checked(arguments.params, mathtext=True)  # the figures stage's check, labels' mathematics included
    check_drawable(params.figures)
    print(f"{arguments.params}: ok ({len(params.runs)} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
