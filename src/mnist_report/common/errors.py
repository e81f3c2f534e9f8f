"""One error type for every refusal the pipeline makes, and the wrapper that turns it into one line."""

from __future__ import annotations

import functools
import signal
import sys
import threading
from collections.abc import Callable


class PipelineError(Exception):
    """A refusal with a message that names the culprit and what was expected."""


class Terminated(BaseException):
    """SIGTERM arrived: raised in the main thread so that ``finally`` blocks remove temporary files."""


def _raise_terminated(signum, frame):
    raise Terminated()


def one_line_errors(main: Callable[..., int | None]) -> Callable[..., int]:
    """Runs a stage's ``main``: a :class:`PipelineError` becomes one ``error:`` line on stderr and exit
    code 1; SIGINT (Ctrl-C) and SIGTERM end it with one line and 130 / 143, after the atomic writes
    under way have removed their temporary files, so that nothing half-written is left behind."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs) -> int:
        # Python's default for SIGTERM ends the process at once, skipping every finally block.
        in_main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
        try:
            return main(*args, **kwargs) or 0
        except PipelineError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("error: interrupted (SIGINT) before the stage finished; run it again", file=sys.stderr)
            return 130
        except Terminated:
            print("error: terminated (SIGTERM) before the stage finished; run it again", file=sys.stderr)
            return 143
        finally:
            if in_main_thread:
                signal.signal(signal.SIGTERM, previous)

    return wrapper
