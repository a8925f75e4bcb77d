"""The one HMAC-SHA256 helper that signs our webhooks and checks signatures we are sent."""

from __future__ import annotations

import hashlib
import hmac

from publisher.delivery.signing import matches, sign, signer, verify

SECRET = "s3cret-ünïcode"
MESSAGE = b'1700000000.{"event":"published"}'


def test_sign_is_the_standard_hex_hmac_sha256() -> None:
    # The receivers' documented check (and GitHub's) computes exactly this.
    expected = hmac.new(SECRET.encode("utf-8"), MESSAGE, hashlib.sha256).hexdigest()
    assert sign(SECRET, MESSAGE) == expected
    assert len(expected) == 64


def test_verify_accepts_the_signature_as_text_or_bytes() -> None:
    signature = sign(SECRET, MESSAGE)
    assert verify(SECRET, MESSAGE, signature)
    assert verify(SECRET, MESSAGE, signature.encode("ascii"))


def test_verify_refuses_a_wrong_signature() -> None:
    signature = sign(SECRET, MESSAGE)
    flipped = ("0" if signature[-1] != "0" else "1") + signature[1:]
    assert not verify(SECRET, MESSAGE, flipped)
    assert not verify(SECRET, MESSAGE, signature[:-1])  # too short
    assert not verify(SECRET, MESSAGE, signature.upper())  # hex is compared as written
    assert not verify(SECRET, MESSAGE, "")
    assert not verify(SECRET, MESSAGE + b" ", signature)  # the message changed


def test_verify_refuses_a_signature_made_with_another_secret() -> None:
    assert not verify(SECRET, MESSAGE, sign("another secret", MESSAGE))
    assert not verify("another secret", MESSAGE, sign(SECRET, MESSAGE))


def test_verify_refuses_non_ascii_instead_of_raising() -> None:
    # hmac.compare_digest raises TypeError on text that is not ASCII; a header may hold any.
    assert not verify(SECRET, MESSAGE, "é" * 64)
    assert not matches(sign(SECRET, MESSAGE), "é".encode("latin-1") * 64)


def test_signer_fed_in_pieces_signs_as_sign_does() -> None:
    mac = signer(SECRET)
    for piece in (MESSAGE[:5], MESSAGE[5:20], MESSAGE[20:]):
        mac.update(piece)
    assert mac.hexdigest() == sign(SECRET, MESSAGE)
    assert matches(sign(SECRET, MESSAGE), mac.hexdigest())
