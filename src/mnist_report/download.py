"""Stage ``download``: obtains the four MNIST IDX files from the first source of ``params.yaml``
(``data.sources``) that serves them, verifies them and writes ``data/mnist/``
(:mod:`mnist_report.mnist.sources`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mnist_report.common.errors import one_line_errors
from mnist_report.config.params import load_checked
from mnist_report.mnist.data import MNIST_DIR
from mnist_report.mnist.sources import obtain, write_directory


@one_line_errors
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", default=str(MNIST_DIR))
    args = parser.parse_args(argv)
    data = load_checked(args.params).data
    source, files = obtain(data.sources, timeout=data.timeout_seconds)
    write_directory(Path(args.out), files)
    print(f"download: MNIST served by {source}; {len(files)} files verified against their sha256, written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
