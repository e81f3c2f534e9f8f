"""One error type for every refusal the pipeline makes, and the wrapper that turns it into one line."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable


class PipelineError(Exception):
    """A refusal with a message that names the culprit and what was expected."""


def one_line_errors(main: Callable[..., int | None]) -> Callable[..., int]:
    """Runs a stage's ``main``; a :class:`PipelineError` becomes one line on stderr and exit code 1."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs) -> int:
        try:
            return main(*args, **kwargs) or 0
        except PipelineError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            return 130

    return wrapper
