"""The bytes SmtpSender sends (email_message.message_bytes, written straight) are exactly the
bytes smtplib's send_message writes for build_message's message: the old path, kept as the
reference. Every kind of payload the publisher sends, and hostile ones."""

from __future__ import annotations

import random
import re
import smtplib
import string
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest

from publisher.delivery.email_message import (
    UnsafeMessageError,
    _fold,
    _own_header,
    build_message,
    message_bytes,
)

NOW = datetime(2026, 11, 30, 8, 0, 5, tzinfo=UTC)
FROM = "Forward plan publisher <publisher@example.org>"
CALENDAR = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:PUBLISH\r\n"
    "BEGIN:VEVENT\r\nUID:event-1@example.org\r\nSUMMARY:Marché – home care\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)
LONG_URL = "https://plans.example.org/signup/manage?token=" + "Ab9-_" * 60
TEXT = (
    "Bench opportunity 1 for groups — Café in Leeds, £2 million over 3 years.\n"
    "From the council: money for groups that bring people together each week.\n"
    f"Manage your alerts: {LONG_URL}\n"
    ".a line that starts with a dot\n"
    "tabs\tand trailing spaces   \n"
    "= signs = and ==========================================================\n"
    + "A very long line of words without any break at all " * 30
    + "\n\nÉmilie's group in Hebden Bridge: 日本語 too 🙂\r\nold line ends\rhere\n"
)


def payload(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "to": ["s1@example.org"],
        "subject": "Forward plans: 3 new opportunities, week of 30 November 2026",
        "text": TEXT,
        "html": "".join(f"<p>{line}</p>\n" for line in TEXT.splitlines())
        + f'<a href="{LONG_URL}">Manage</a>\n',
        "message_id": "<0123456789abcdef0123456789abcdef@plans.example.org>",
        "list_id": "Forward plans <signup-0123456789abcdef.plans.example.org>",
        "settings_url": LONG_URL,
        "unsubscribe_url": "https://plans.example.org/signup/unsubscribe?token=" + "z" * 150,
    }
    item.update(changes)
    return item


class Capture(smtplib.SMTP):
    """smtplib's own send_message, stopped where it hands the bytes to sendmail."""

    def __init__(self) -> None:
        super().__init__()  # no host: nothing is connected
        self.ehlo_resp = b"as if greeted"  # send_message greets first otherwise
        self.got: tuple[str, list[str], bytes] | None = None

    def sendmail(self, from_addr: str, to_addrs: Any, msg: Any, *args: Any, **kw: Any) -> Any:
        self.got = (from_addr, list(to_addrs), msg)
        return {}


def old_path(item: dict[str, Any], mail_from: str, date: datetime, boundaries: list[str]) -> Any:
    """What SmtpSender sent before: build_message, then send_message with the envelope read
    back from the headers; the multiparts given the boundaries the new path chose."""
    message = build_message(item, mail_from, date)
    parts = [message] + [p for p in message.walk() if p is not message]
    for part in (p for p in parts if p.is_multipart()):
        part.set_boundary(boundaries.pop(0))
    sender = message["From"].addresses[0].addr_spec
    recipients = [address.addr_spec for address in message["To"].addresses]
    capture = Capture()
    capture.send_message(message, sender, recipients)
    return capture.got


def same_as_old(item: dict[str, Any], mail_from: str = FROM, date: datetime = NOW) -> bytes:
    data, sender, recipients = message_bytes(item, mail_from, date)
    boundaries = re.findall(rb'boundary="([^"]+)"', data)
    assert (sender, recipients, data) == old_path(
        item, mail_from, date, [b.decode("ascii") for b in boundaries]
    )
    return data


CASES: dict[str, dict[str, Any]] = {
    "digest": {},
    "text only": {"html": None},
    "no links": {"settings_url": None, "unsubscribe_url": None},
    "settings link only": {"unsubscribe_url": None},
    "calendar attachment": {
        "attachments": [
            {"filename": "event.ics", "content_type": "text/calendar", "text": CALENDAR}
        ]
    },
    "attachment, text only": {
        "html": None,
        "attachments": [
            {"filename": "Évènement été.ics", "content_type": "text/calendar", "text": CALENDAR}
        ],
    },
    "non-ASCII names and subject": {
        "to": [
            "Zoë Ångström-Øberg <zoe@example.org>",
            '"O\'Brien, Seán" <sean@xn--caf-dma.example>',
        ],
        "subject": "Nouvelles opportunités — « Café » à Leeds: " + "très long sujet " * 8,
        "list_id": "Forward plans — Café <signup-0123456789abcdef.plans.example.org>",
    },
    "long ASCII subject and name": {
        "to": ["A very long display name for a subscriber of these alerts indeed <s2@example.org>"],
        "subject": "Forward plans: " + "a long subject without non-ASCII words " * 6,
    },
    "international domain": {"to": ["someone@café.example"]},
    "encoded-word lookalikes": {"subject": "=?utf-8?q?not=20encoded?= and =?x?", "text": "=?x?=\n"},
    "empty text": {"text": "", "html": ""},
    "From lines": {"text": "From here\nFrom there\n>From\n", "html": "From <b>x</b>\n"},
}


@pytest.mark.parametrize("changes", CASES.values(), ids=CASES.keys())
def test_bytes_are_those_smtplib_wrote_for_the_built_message(changes: dict[str, Any]) -> None:
    data = same_as_old(payload(**changes))
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    assert data.isascii()


def test_again_and_again_with_the_kept_folds_and_other_dates() -> None:
    """Headers kept from an earlier message are those this one would fold itself; many
    boundaries, other days and zones."""
    for n in range(60):
        date = NOW + timedelta(seconds=n * 3601)
        if n % 3 == 0:
            date = date.astimezone(timezone(timedelta(hours=1)))
        item = payload(
            to=[f"s{n}@example.org"],
            message_id=f"<{n:032x}@plans.example.org>",
            unsubscribe_url=f"https://plans.example.org/u?t={'x' * n}",
        )
        same_as_old(item, date=date)
        same_as_old(item, mail_from="alerts@example.org", date=date)
        # Within the same second (the Date header kept), and in the next.
        same_as_old(item, date=date.replace(microsecond=(n * 7919) % 1_000_000))
        same_as_old(item, date=date + timedelta(microseconds=999_999))


def test_what_it_reads_as() -> None:
    """Parsed back, the message says what the payload said, in its parts and headers."""
    item = payload(**CASES["non-ASCII names and subject"])
    parsed = message_from_bytes(message_bytes(item, FROM, NOW)[0], policy=default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == " ".join(item["subject"].split())
    assert parsed["To"].addresses[0].display_name == "Zoë Ångström-Øberg"
    assert parsed["List-Unsubscribe"] == f"<{item['unsubscribe_url']}>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed.get_content_type() == "multipart/alternative"
    plain = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    assert plain.get_content().splitlines() == TEXT.splitlines(), "From lines as written"
    assert LONG_URL in html.get_content()


@pytest.mark.parametrize(
    "changes",
    [{"to": ["x@example.org\r\nBcc: y@example.org"]}, {"message_id": "nope"}, {"to": []},
     {"settings_url": "javascript:alert(1)"}, {"attachments": "x"}],
)  # fmt: skip
def test_refuses_what_build_message_refuses(changes: dict[str, Any]) -> None:
    with pytest.raises(UnsafeMessageError) as old:
        build_message(payload(**changes), FROM, NOW)
    with pytest.raises(UnsafeMessageError) as new:
        message_bytes(payload(**changes), FROM, NOW)
    assert str(new.value) == str(old.value)


def test_plain_headers_written_as_they_are_are_what_folding_makes() -> None:
    """The recipient's own headers written without folding (a bare address, a message id, a
    list id, when plain and short enough) are exactly what the email package folds them to;
    at and around the line's length, with every character the shortcut allows."""
    rng = random.Random(20)
    allowed = string.ascii_letters + string.digits + "._+-" * 4 + "@<> "
    checked = 0
    BARE = str.maketrans("", "", "<> @")  # noqa: N806 (a message id as build_message takes it)
    for n in range(3000):
        word = "".join(rng.choice(allowed) for _ in range(rng.randrange(1, 40)))
        other = "".join(rng.choice(allowed) for _ in range(rng.randrange(1, 40)))
        local = "".join(c for c in word if c.isalnum() or c in "_+-") or "a"  # a dot-atom
        for name, value in (
            ("Message-ID", f"<x{word.translate(BARE)}@x{other.translate(BARE)}>"),
            ("Message-ID", f"<{local}@{local[::-1]}.example>"),
            ("List-Id", f"{word} {other}"),
            ("List-Id", f"{word} <{other}.example.org>" + "x" * (n % 40)),
            ("List-Id", f"<{other}.{word}>"),
            ("To", [Address(username=f"{local}.{local[::-1]}", domain=f"{local}.example")]),
        ):
            assert _own_header(name, value) == _fold(name, value), (name, value)
            checked += 1
    assert checked == 18000


def test_a_long_unsubscribe_address_is_written_as_it_is_on_one_line() -> None:
    """A sign-up's one-click address is about 175 characters. Mail programs find it in
    List-Unsubscribe as `<https://...>` (RFC 2369, RFC 8058); folded into encoded words
    (`=?utf-8?q?=3Chttps=3A//...?=`) their unsubscribe buttons would not see it."""
    url = "https://plans.example.org/subscribe/unsubscribe?token=" + "Ab0-_" * 40
    sent = message_bytes(payload(unsubscribe_url=url), FROM, NOW)[0]
    assert f"\r\nList-Unsubscribe: <{url}>\r\n".encode("ascii") in sent
    assert b"=?" not in sent.split(b"\r\n\r\n")[0].split(b"List-Unsubscribe:")[1]
    built = build_message(payload(unsubscribe_url=url), FROM, NOW)
    assert f"List-Unsubscribe: <{url}>\r\n".encode("ascii") in built.as_bytes()
    too_long = "https://plans.example.org/u?t=" + "x" * 1000
    with pytest.raises(UnsafeMessageError, match="too long"):
        message_bytes(payload(unsubscribe_url=too_long), FROM, NOW)


def test_lines_starting_from_reach_readers_as_written() -> None:
    """A body line starting "From " is encoded (=46rom), so neither the generator nor a mail
    store quotes it as ">From "; quoted-printable's lines stay within 76 characters, at every
    length around the limit."""
    for extra in range(55, 85):
        line = "From April the service moves " + "é" * (extra % 3) + "x" * extra
        text = f"{line}\nFrom here\nnot From\n>From there\n"
        item = payload(text=text, html=f"<p>{line}</p>\nFrom <b>x</b>\n")
        data = same_as_old(item)
        parsed = message_from_bytes(data, policy=default)
        assert isinstance(parsed, EmailMessage)
        plain = parsed.get_body(preferencelist=("plain",))
        html = parsed.get_body(preferencelist=("html",))
        assert plain is not None and html is not None
        assert plain.get_content().splitlines() == text.splitlines()
        assert html.get_content().splitlines()[1] == "From <b>x</b>"
        body = data.split(b"\r\n\r\n", 1)[1]
        assert not re.search(rb"^From ", body, re.MULTILINE)
        assert len(re.findall(rb"^>From ", body, re.MULTILINE)) == 1, "the one written so"
        assert max(len(one) for one in body.split(b"\r\n")) <= 76
