"""compare/revisions.py: the digest of report.tex that a revision's dvc.lock records, read from the lock's text."""

from __future__ import annotations

from mnist_report.compare.revisions import locked_digest
from support.yaml_files import yaml_text


def test_locked_digest_reads_the_report_out():
    lock = {"schema": "2.0", "stages": {
        "report": {"cmd": "python -m mnist_report.report",
                   "outs": [{"path": "report/build/report.tex", "hash": "md5", "md5": "0123abcd", "size": 10}]},
        "pdf": {"cmd": "python -m mnist_report.pdf", "deps": [{"path": "report/build/report.tex", "md5": "ffff"}],
                "outs": [{"path": "report/build/report.pdf", "md5": "eeee"}]}}}
    assert locked_digest(yaml_text(lock)) == "0123abcd"
    del lock["stages"]["report"]
    assert locked_digest(yaml_text(lock)) is None
    assert locked_digest("::: not yaml") is None
