"""The build's digests: a digest taken after a prefix hashed once is the digest of the
whole, and the parts' boundaries count."""

from __future__ import annotations

from publisher.formats.base import digest, digest_after


def test_a_digest_after_a_prefix_is_the_digest_of_all_its_parts() -> None:
    after = digest_after(b"base", "site")
    assert after(b"key", "after 1 of 2026-12-08") == digest(
        b"base", "site", b"key", "after 1 of 2026-12-08"
    )
    assert after() == digest(b"base", "site")
    # the prefix is hashed once and copied: one call does not change the next
    assert after("a") == after("a") != after("b")
    # where one part ends and the next begins is part of what is digested
    assert digest("ab", "c") != digest("a", "bc")
    assert after("x", "y") != after("xy")
