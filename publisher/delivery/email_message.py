"""Composing an email from an outbox payload: a message whose every header is safe (an address is
one address, no line break is smuggled in), in quoted-printable UTF-8 parts."""

from __future__ import annotations

import quopri
import random
import re
import sys
import unicodedata
from datetime import datetime
from email.headerregistry import Address, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import SMTP, Policy
from email.utils import format_datetime
from typing import Any, cast
from urllib.parse import urlsplit

# A pragmatic addr-spec: the dot-atom form every real mailbox uses. Quoted local parts and
# address literals are legal but are also where injection tricks hide, so we refuse them.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDR_SPEC = re.compile(rf"(?P<local>{_ATOM}(?:\.{_ATOM})*)@(?P<domain>{_LABEL}(?:\.{_LABEL})+)")
_NAME_ADDR = re.compile(r"(?P<name>[^<>]*)<(?P<addr>[^<>]*)>")
_LIST_ID = re.compile(rf"(?P<phrase>[^<>]*)<(?P<label>{_LABEL}(?:\.{_LABEL})*)>")
_MESSAGE_ID = re.compile(r"<[!-;=?-~]+@[!-;=?-~]+>")  # printable ASCII without <, > or space
_MEDIA_TYPE = re.compile(r"text/[A-Za-z0-9][A-Za-z0-9.+-]*")
_CONTROL = ("Cc", "Zl", "Zp")  # control characters, and the Unicode line and paragraph breaks


class UnsafeMessageError(ValueError):
    """A payload that cannot be turned into a safe message; the text says why, in plain words."""


def one_line(value: str) -> str:
    """Control characters (CR, LF, TAB, NUL, U+2028...) become spaces; runs of spaces one."""
    cleaned = "".join(" " if unicodedata.category(ch) in _CONTROL else ch for ch in value)
    return " ".join(cleaned.split())


def checked_address(value: object, role: str) -> Address:
    """One mailbox, as `someone@example.org` or `Name <someone@example.org>`; else refused."""
    if not isinstance(value, str) or any(unicodedata.category(c) in _CONTROL for c in value):
        raise UnsafeMessageError(f"{role} {value!r} is not a single email address")
    name, spec = "", value.strip()
    named = _NAME_ADDR.fullmatch(spec)
    if named:
        name, spec = one_line(named["name"]).strip('"'), named["addr"].strip()
    local, _, domain = spec.rpartition("@")
    try:
        # International domain names go out in their ASCII (IDNA) form.
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise UnsafeMessageError(f"{role} {value!r} is not a single email address") from None
    if not _ADDR_SPEC.fullmatch(f"{local}@{domain}"):
        raise UnsafeMessageError(f"{role} {value!r} is not a single email address")
    return Address(display_name=name, username=local, domain=domain)


def _list_id(value: object) -> str:
    text = one_line(value) if isinstance(value, str) else ""
    match = _LIST_ID.fullmatch(text)
    if not match:
        raise UnsafeMessageError(
            f"the list id {value!r} is not of the form 'Name <label.example>' (RFC 2919)"
        )
    phrase = match["phrase"].strip()
    if phrase and re.search(r'[()<>@,;:\\".\[\]]', phrase):
        phrase = '"' + phrase.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{phrase} <{match['label']}>" if phrase else f"<{match['label']}>"


def _text(payload: dict[str, Any], field: str, *, required: bool = True) -> str | None:
    value = payload.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise UnsafeMessageError(f"the message's {field} is missing or is not text")
    return value


class _AsWritten(UnstructuredHeader):
    """A header written on one line exactly as given: List-Unsubscribe. RFC 2369 makes it
    a list of addresses in angle brackets, where encoded words (RFC 2047) are not allowed,
    and mail programs look for the `<https://...>` as it is; the email package would fold
    a long one into encoded words (`=?utf-8?q?=3Chttps=3A//...?=`), hiding the address
    from their unsubscribe buttons. Its value is checked printable ASCII, no longer than a
    line may be (_checked_headers)."""

    # The registry makes the header's class from this and BaseHeader (which has `name`).
    def fold(self, *, policy: Policy) -> str:
        return f"{self.name}: {self}{policy.linesep}"  # type: ignore[attr-defined]


class _Headers(HeaderRegistry):
    """The stdlib's header registry, but making each header class once instead of per
    header: building a message spent a sixth of its time making classes."""

    def __init__(self) -> None:
        super().__init__()
        self.map_to_type("list-unsubscribe", cast("type[BaseHeader]", _AsWritten))
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        made = self._made.get(name)
        if made is None:
            made = self._made[name] = super().__getitem__(name)
        return made


POLICY = SMTP.clone(header_factory=_Headers())


def build_message(payload: dict[str, Any], mail_from: str, date: datetime) -> EmailMessage:
    """The message for one outbox item. Raises UnsafeMessageError, naming the bad value, when a
    value could break the headers (an address that is not one address, a malformed id)."""
    message = EmailMessage(policy=POLICY)
    headers, _, _ = _checked_headers(payload, mail_from, date)
    for name, value in headers:
        message[name] = value

    # The MIME tree is assembled from parts with fixed headers rather than with set_content
    # and add_attachment, which parse every header again as they go: three times slower.
    body = _part(_text(payload, "text") or "", "plain")
    html = _text(payload, "html", required=False)
    if html is not None:
        body = _multipart("alternative", [body, _part(html, "html")])
    attachments = _attachments(payload)
    if attachments:
        body = _multipart("mixed", [body, *(_attachment(item) for item in attachments)])
    for name, value in body.items():
        message[name] = value
    message.set_payload(body.get_payload())
    return message


def _attachments(payload: dict[str, Any]) -> list[Any]:
    attachments = payload.get("attachments") or []
    if not isinstance(attachments, list):
        raise UnsafeMessageError("the message's attachments are not a list")
    return attachments


def _checked_headers(
    payload: dict[str, Any], mail_from: str, date: datetime
) -> tuple[list[tuple[str, Any]], Address, list[Address]]:
    """The message's own headers, in order, as values to set; its sender; its recipients."""
    recipients = payload.get("to")
    if not isinstance(recipients, list) or not recipients:
        raise UnsafeMessageError("the message has no recipients")
    if payload.get("each"):
        # Members never see each other's addresses: an item for many is split first.
        raise UnsafeMessageError("a message for many addresses must go to each on its own")
    message_id = _text(payload, "message_id") or ""
    if not _MESSAGE_ID.fullmatch(message_id):
        raise UnsafeMessageError(f"the message id {message_id!r} is not of the form <id@domain>")
    sender = _sender(mail_from)
    to = [checked_address(to, "the recipient") for to in recipients]
    headers: list[tuple[str, Any]] = [
        ("From", sender),
        ("To", to),
        ("Subject", one_line(_text(payload, "subject") or "")),
        ("Date", date),  # the Date header takes a datetime: no formatting and parsing back
        ("Message-ID", message_id),
        ("List-Id", _list_id(payload.get("list_id"))),
    ]
    settings_url = _text(payload, "settings_url", required=False)
    unsubscribe_url = _text(payload, "unsubscribe_url", required=False)
    if settings_url is not None:
        scheme = urlsplit(settings_url).scheme
        if scheme not in ("http", "https") or not _URL.fullmatch(settings_url):
            raise UnsafeMessageError(f"the settings page {settings_url!r} is not a web address")
        if unsubscribe_url is None:
            headers.append(("List-Unsubscribe", f"<{settings_url}>"))
    if unsubscribe_url is not None:
        # RFC 8058: a mail program's own unsubscribe button POSTs to this address, and the
        # address alone unsubscribes (it carries a signed token), in one click.
        if urlsplit(unsubscribe_url).scheme not in ("http", "https") or not _URL.fullmatch(
            unsubscribe_url
        ):
            raise UnsafeMessageError(
                f"the unsubscribe address {unsubscribe_url!r} is not a web address"
            )
        headers.append(("List-Unsubscribe", f"<{unsubscribe_url}>"))
        headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    for name, value in headers:
        if name == "List-Unsubscribe" and len(name) + 2 + len(value) > _LONGEST_LINE:
            raise UnsafeMessageError(f"the address {value} is too long for a mail header")
    # RFC 3834: tells mail servers and out-of-office replies that a program sent this.
    headers.append(("Auto-Submitted", "auto-generated"))
    headers.append(("MIME-Version", "1.0"))
    return headers, sender, to


_URL = re.compile(r"[!-;=?-~]+")
_LONGEST_LINE = 998  # characters on a line of a message, before its CRLF (RFC 5322)
_SENDERS: dict[str, Address] = {}


def _sender(mail_from: str) -> Address:
    """The checked sender address; the same setting is checked once."""
    found = _SENDERS.get(mail_from)
    if found is None:
        found = checked_address(mail_from, "the sender address (PUBLISHER_MAIL_FROM)")
        if len(_SENDERS) < 16:
            _SENDERS[mail_from] = found
    return found


def _part(text: str, subtype: str, parameters: str = "") -> EmailMessage:
    """A UTF-8 text part in quoted-printable: 7-bit clean, so any server takes it unchanged."""
    part = EmailMessage(policy=POLICY)
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"{parameters}'
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(_quoted_printable(text).decode("ascii"))
    return part


def _quoted_printable(text: str) -> bytes:
    """`text` as UTF-8 in quoted-printable, LF line ends. A line starting "From " is written
    "=46rom " (any character may be encoded, RFC 2045 6.7): left as it is, the generator, and
    many a mail store after it, would make it ">From " (mbox's quoting), which readers then
    see: "From April the service moves..." is a common line in a notice."""
    lines = text.encode("utf-8").splitlines()
    encoded = quopri.encodestring(b"\n".join(lines) + b"\n")
    return _FROM_WHOLE_LINE.sub(_from_encoded, encoded)


def _from_encoded(found: re.Match[bytes]) -> bytes:
    line = found.group(0)
    if len(line) + 2 <= _QP_LINE:
        return b"=46" + line[1:]
    return b"=46rom=\n" + line[4:]  # kept within the line length by a soft line break


def _multipart(subtype: str, parts: list[EmailMessage]) -> EmailMessage:
    container = EmailMessage(policy=POLICY)
    container["Content-Type"] = f"multipart/{subtype}"
    for part in parts:
        container.attach(part)
    return container


def _attachment(attachment: object) -> EmailMessage:
    if not isinstance(attachment, dict):
        raise UnsafeMessageError("an attachment is not described by a name, a type and a text")
    filename, media_type, text = (attachment.get(k) for k in ("filename", "content_type", "text"))
    if not isinstance(filename, str) or not isinstance(text, str):
        raise UnsafeMessageError("an attachment is missing its file name or its text")
    # A name only, never a path, and nothing that could break the header it goes in.
    filename = one_line(filename).replace("/", "-").replace("\\", "-").strip(". ") or "file"
    if not isinstance(media_type, str) or not _MEDIA_TYPE.fullmatch(media_type):
        raise UnsafeMessageError(f"the attachment {filename} has an unusable type {media_type!r}")
    subtype = media_type.split("/", 1)[1].lower()
    part = _part(text, subtype, '; method="PUBLISH"' if subtype == "calendar" else "")
    # add_header quotes the name, or encodes it (RFC 2231) when it is not ASCII.
    part.add_header("Content-Disposition", "attachment", filename=filename)
    return part


# Writing a message straight to bytes. What `smtplib.SMTP.send_message` sends for the message
# build_message makes (the email package's generator, with its policy), byte for byte
# (tests/delivery/test_email.py compares the two), but without making a message object and
# without parsing and folding again the headers every message has in common: the generator
# took most of a send's CPU time. Every header is still folded by the email package's own
# policy; those that repeat from message to message (sender, subject, date, the parts'
# types) are folded once and kept.
_CRLF = b"\r\n"
_FROM_LINE = re.compile(rb"^From ", re.MULTILINE)  # the generator's fcre, for bytes
_FROM_WHOLE_LINE = re.compile(rb"^From .*$", re.MULTILINE)
_QP_LINE = 76  # the longest line quoted-printable allows (RFC 2045 6.7), soft break and all
_FOLDED: dict[tuple[str, str], bytes] = {}
_FOLDED_MAX = 4096
# The shape of every boundary the generator makes: 15 "=", the 19 digits of a random
# number below sys.maxsize, "==" (email.generator._make_boundary).
_BOUNDARY_DIGITS = len(repr(sys.maxsize - 1))
_BOUNDARY_SHAPE = "=" * 15 + "0" * _BOUNDARY_DIGITS + "=="


def _fold(name: str, value: Any, key: str | None = None) -> bytes:
    """One header as the generator writes it (BytesGenerator._write_headers), kept by `key`
    when given: the same name and key always fold the same way."""
    if key is not None:
        found = _FOLDED.get((name, key))
        if found is not None:
            return found
    stored_name, stored = POLICY.header_store_parse(name, value)
    folded = POLICY.fold_binary(stored_name, stored)
    if key is not None:
        if len(_FOLDED) >= _FOLDED_MAX:
            _FOLDED.clear()
        _FOLDED[(name, key)] = folded
    return folded


# Values the email package writes back as they are, when they fit on the line: a bare
# address, a message id, a list id, of letters, digits and . _ + - (no quotes, comments,
# encoded words, spaces but one between a list id's words).
_WORD = r"[A-Za-z0-9._+-]+"
_PLAIN = {
    "To": re.compile(rf"{_WORD}@{_WORD}"),
    "Message-ID": re.compile(rf"<{_WORD}@{_WORD}>"),
    "List-Id": re.compile(rf"(?:{_WORD} )*<{_WORD}>"),
}
_LINE = POLICY.max_line_length or 78  # where the email package folds (78 for SMTP)


def _own_header(name: str, value: Any) -> bytes:
    """A header each recipient has of its own: the plain ones (a bare address, a message
    id, a list id) written as they are, which is what folding them makes
    (tests/delivery/test_email_bytes.py checks it); any other folded."""
    text = None
    if name == "To" and len(value) == 1 and not value[0].display_name:
        text = value[0].addr_spec
    elif name in _PLAIN and isinstance(value, str):
        text = value
    plain = _PLAIN.get(name)
    if text is not None and plain and len(name) + 2 + len(text) <= _LINE and plain.fullmatch(text):
        return f"{name}: {text}\r\n".encode("ascii")
    return _fold(name, value)


def _header_key(name: str, value: Any) -> str | None:
    """What a header's folding depends on, for one repeated across messages; None for the
    ones each recipient has of its own (not worth keeping)."""
    if name in ("To", "Message-ID", "List-Id", "List-Unsubscribe"):
        return None
    if isinstance(value, datetime):
        # What the Date header is made of (to the second, in the date's own zone), so a
        # second's messages share it.
        return format_datetime(value)
    if isinstance(value, Address):
        return repr(value)
    return value if isinstance(value, str) else None


def _qp_body(text: str) -> bytes:
    """A text part's body as _part encodes it and the generator writes it (no line starts
    "From ", which the generator would quote), CRLF."""
    return _quoted_printable(text).replace(b"\n", _CRLF)


def _leaf_bytes(headers: list[bytes], body: bytes) -> bytes:
    return b"".join(headers) + _CRLF + body


def _text_leaf(text: str, subtype: str) -> tuple[list[bytes], bytes]:
    content_type = f'text/{subtype}; charset="utf-8"'
    headers = [
        _fold("Content-Type", content_type, content_type),
        _fold("Content-Transfer-Encoding", "quoted-printable", "quoted-printable"),
    ]
    return headers, _qp_body(text)


def _part_leaf(part: EmailMessage) -> tuple[list[bytes], bytes]:
    """A part made by _attachment, written as the generator writes it."""
    headers = [POLICY.fold_binary(name, value) for name, value in part.raw_items()]
    payload = part.get_payload()
    assert isinstance(payload, str)
    body = _FROM_LINE.sub(b">From ", payload.encode("ascii"))
    return headers, b"\r\n".join(re.split(rb"\r\n|\r|\n", body))


def _boundary(text: bytes) -> str:
    token = random.randrange(sys.maxsize)
    boundary = "=" * 15 + f"{token:0{_BOUNDARY_DIGITS}d}" + "=="
    found, counter = boundary, 0
    # Looked for as the generator does, only when it is in the text at all (it never is in
    # quoted-printable text, where "=" is written "=3D"): compiling a pattern a message cost.
    while b"--" + found.encode("ascii") in text and re.search(
        b"^--" + re.escape(found.encode("ascii")) + b"(--)?$", text, re.MULTILINE
    ):
        found = f"{boundary}.{counter}"
        counter += 1
    return found


def _multipart_bytes(subtype: str, texts: list[bytes]) -> tuple[list[bytes], bytes]:
    """A multipart's Content-Type header and body, from its parts written out, as the
    generator's _handle_multipart writes them (no preamble, no epilogue)."""
    boundary = _boundary(_CRLF.join(texts))
    value = f'multipart/{subtype}; boundary="{boundary}"'
    if len(boundary) == len(_BOUNDARY_SHAPE):
        # Every boundary of this shape folds alike: folded once with a stand-in.
        shape = _fold("Content-Type", value.replace(boundary, _BOUNDARY_SHAPE), subtype)
        header = shape.replace(_BOUNDARY_SHAPE.encode("ascii"), boundary.encode("ascii"))
    else:
        header = _fold("Content-Type", value)
    line = b"--" + boundary.encode("ascii")
    body = line + _CRLF + (_CRLF + line + _CRLF).join(texts) + _CRLF + line + b"--" + _CRLF
    return [header], body


def message_bytes(
    payload: dict[str, Any], mail_from: str, date: datetime
) -> tuple[bytes, str, list[str]]:
    """The message for one outbox item as SMTP sends it (CRLF line ends, before the SMTP
    dot-stuffing), with its envelope sender and recipients: the same bytes as
    build_message's message as `smtplib.SMTP.send_message` writes it. Raises
    UnsafeMessageError as build_message does."""
    headers, sender, to = _checked_headers(payload, mail_from, date)
    text = _text(payload, "text") or ""
    html = _text(payload, "html", required=False)
    attachments = _attachments(payload)
    made: list[Any] = [_attachment(item) for item in attachments]  # checked before writing
    top_headers, body = _text_leaf(text, "plain")
    if html is not None:
        html_headers, html_body = _text_leaf(html, "html")
        top_headers, body = _multipart_bytes(
            "alternative",
            [_leaf_bytes(top_headers, body), _leaf_bytes(html_headers, html_body)],
        )
    if made:
        texts = [_leaf_bytes(top_headers, body)]
        texts += [_leaf_bytes(*_part_leaf(part)) for part in made]
        top_headers, body = _multipart_bytes("mixed", texts)
    own = [
        _own_header(name, value) if key is None else _fold(name, value, key)
        for name, value, key in ((n, v, _header_key(n, v)) for n, v in headers)
    ]
    return (
        b"".join(own) + b"".join(top_headers) + _CRLF + body,
        sender.addr_spec,
        [address.addr_spec for address in to],
    )
