"""mnist/sources.py: which data sources the download stage takes (an http(s) mirror URL), on values
written out by hand. (Fetching from servers, pickles and wheels: tests/unit/test_download.py.)"""

from __future__ import annotations

import pytest

from mnist_report.mnist.sources import is_mirror_url

LONGEST = "https://a.example/" + "m" * (2000 - len("https://a.example/"))


@pytest.mark.parametrize(("source", "mirror"), [
    ("http://a.example/", True), ("https://a.example:8080/m/", True), (LONGEST, True),
    (LONGEST + "m", False),                     # 2001 characters
    ("https://a.example/a b", False),           # a space
    ("https://a.example/\x7f", False),          # not printable
    ("https://\u00e9.example/", False),          # not ASCII
    ("https://a.example/?q", False), ("https://a.example/a?", False),  # a query, even empty
    ("https://a.example/#f", False), ("https://a.example/#", False),   # a fragment, even empty
    ("ftp://a.example/", False), ("https:///m", False), ("https://a.example:99999/", False),
])
def test_a_mirror_url_is_http_or_https_to_a_host_in_printable_ascii_without_space_query_or_fragment(source, mirror):
    assert is_mirror_url(source) is mirror
