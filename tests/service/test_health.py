"""Who sees /healthz's details: the rule as a function over a table of callers (no
connection is made to any of these addresses)."""

from __future__ import annotations

import pytest

from publisher.service.health import may_see_details

TOKEN = "push-secret"
BEARER = (b"authorization", b"Bearer push-secret")


@pytest.mark.parametrize(
    ("client", "headers", "sees"),
    [
        ("127.0.0.1", [], True),
        ("127.0.0.53", [], True),
        ("::1", [], True),
        ("::ffff:127.0.0.1", [], True),
        ("203.0.113.7", [], False),
        ("10.0.0.2", [], False),  # private is not local
        ("2001:db8::1", [], False),
        (None, [], False),
        ("/run/publisher.sock", [], False),
        # A proxy on this machine: whoever it forwards for is not local.
        ("127.0.0.1", [(b"x-forwarded-for", b"203.0.113.7")], False),
        ("127.0.0.1", [(b"X-Real-IP", b"203.0.113.7")], False),
        ("127.0.0.1", [(b"forwarded", b"for=203.0.113.7")], False),
        # The hook secret as a bearer token, from anywhere.
        ("203.0.113.7", [BEARER], True),
        ("203.0.113.7", [(b"authorization", b"bearer push-secret")], True),
        ("127.0.0.1", [(b"x-forwarded-for", b"203.0.113.7"), BEARER], True),
        ("203.0.113.7", [(b"authorization", b"Bearer push-secre")], False),
        ("203.0.113.7", [(b"authorization", b"Basic cHVzaC1zZWNyZXQ=")], False),
        ("203.0.113.7", [(b"authorization", "Bearer pûsh".encode())], False),
    ],
)
def test_who_sees_the_details(
    client: str | None, headers: list[tuple[bytes, bytes]], sees: bool
) -> None:
    assert may_see_details(client, headers, TOKEN) is sees


def test_no_token_set_means_no_bearer_access() -> None:
    assert may_see_details("203.0.113.7", [(b"authorization", b"Bearer ")], None) is False
    assert may_see_details("203.0.113.7", [(b"authorization", b"Bearer ")], "") is False
