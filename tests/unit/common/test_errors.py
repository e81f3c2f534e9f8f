"""common/errors.py: a stage's ``main`` under ``one_line_errors`` ends with exit code 0, or with one
``error:`` line on stderr and the exit code a shell expects (1 for a refusal, 130 for SIGINT, 143 for
SIGTERM), after its ``finally`` blocks ran."""

from __future__ import annotations

import os
import signal

import pytest

from mnist_report.common.errors import PipelineError, one_line_errors


def test_a_main_that_returns_nothing_exits_0_and_a_code_it_returns_is_kept(capsys):
    assert one_line_errors(lambda: None)() == 0
    assert one_line_errors(lambda: 3)() == 3
    assert capsys.readouterr().err == ""


def test_a_refusal_is_one_error_line_and_exit_code_1(capsys):
    @one_line_errors
    def main(argv):
        raise PipelineError(f"runs.binary.epochs = {argv[0]}: expected an integer >= 1")

    assert main(["0"]) == 1
    assert capsys.readouterr().err == "error: runs.binary.epochs = 0: expected an integer >= 1\n"


def test_sigint_and_sigterm_end_with_one_line_and_128_plus_the_signal_after_the_finally_blocks(capsys):
    cleaned = []

    def interrupted_by(signum):
        @one_line_errors
        def main():
            try:
                if signum == signal.SIGINT:
                    raise KeyboardInterrupt  # what Python raises for SIGINT
                os.kill(os.getpid(), signum)
            finally:
                cleaned.append(signum)
        return main

    assert interrupted_by(signal.SIGINT)() == 128 + 2
    assert capsys.readouterr().err == "error: interrupted (SIGINT) before the stage finished; run it again\n"
    assert interrupted_by(signal.SIGTERM)() == 128 + 15
    assert capsys.readouterr().err == "error: terminated (SIGTERM) before the stage finished; run it again\n"
    assert cleaned == [signal.SIGINT, signal.SIGTERM]


def test_the_sigterm_handler_before_the_stage_is_back_after_it():
    before = signal.getsignal(signal.SIGTERM)
    assert one_line_errors(lambda: signal.getsignal(signal.SIGTERM) is not before and 5)() == 5
    assert signal.getsignal(signal.SIGTERM) is before


def test_an_error_that_is_no_refusal_is_not_hidden():
    # A bug is a traceback, not a one-line refusal: only PipelineError is the stage's own word.
    with pytest.raises(ZeroDivisionError):
        one_line_errors(lambda: 1 / 0)()
