"""Authors are keyed hashes; placeholder authors are nobody."""

from __future__ import annotations

import pytest

from miner.collect.pseudonyms import Pseudonymizer


@pytest.mark.parametrize("name", ["[deleted]", "[removed]", "[redacted]", "[unknown]", "", None])
def test_placeholder_authors_are_not_an_author(name):
    # the dev data has every author "[redacted]": hashed, 3,826 documents looked like one author
    p = Pseudonymizer(b"k")
    assert p.author(name) is None
    assert p.scrub({"author": name}) == {"author": name}


def test_a_real_author_gets_a_stable_keyed_hash():
    p = Pseudonymizer(b"k")
    assert p.author("Quiet_Heron") == p.author("quiet_heron") != Pseudonymizer(b"other").author("quiet_heron")
    assert p.author("quiet_heron").startswith("a_")
