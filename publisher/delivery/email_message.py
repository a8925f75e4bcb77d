"""Composing an email from an outbox payload: a message whose every header is safe (an address is
one address, no line break is smuggled in), in quoted-printable UTF-8 parts."""

from __future__ import annotations

import quopri
import re
import unicodedata
from datetime import datetime
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any
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


class _Headers(HeaderRegistry):
    """The stdlib's header registry, but making each header class once instead of per
    header: building a message spent a sixth of its time making classes."""

    def __init__(self) -> None:
        super().__init__()
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
    recipients = payload.get("to")
    if not isinstance(recipients, list) or not recipients:
        raise UnsafeMessageError("the message has no recipients")
    if payload.get("each"):
        # Members never see each other's addresses: an item for many is split first.
        raise UnsafeMessageError("a message for many addresses must go to each on its own")
    message_id = _text(payload, "message_id") or ""
    if not _MESSAGE_ID.fullmatch(message_id):
        raise UnsafeMessageError(f"the message id {message_id!r} is not of the form <id@domain>")
    message["From"] = checked_address(mail_from, "the sender address (PUBLISHER_MAIL_FROM)")
    message["To"] = [checked_address(to, "the recipient") for to in recipients]
    message["Subject"] = one_line(_text(payload, "subject") or "")
    message["Date"] = date  # the Date header takes a datetime: no formatting and parsing back
    message["Message-ID"] = message_id
    message["List-Id"] = _list_id(payload.get("list_id"))
    settings_url = _text(payload, "settings_url", required=False)
    if settings_url is not None:
        scheme = urlsplit(settings_url).scheme
        if scheme not in ("http", "https") or not re.fullmatch(r"[!-;=?-~]+", settings_url):
            raise UnsafeMessageError(f"the settings page {settings_url!r} is not a web address")
        message["List-Unsubscribe"] = f"<{settings_url}>"
    unsubscribe_url = _text(payload, "unsubscribe_url", required=False)
    if unsubscribe_url is not None:
        # RFC 8058: a mail program's own unsubscribe button POSTs to this address, and the
        # address alone unsubscribes (it carries a signed token), in one click.
        if urlsplit(unsubscribe_url).scheme not in ("http", "https") or not re.fullmatch(
            r"[!-;=?-~]+", unsubscribe_url
        ):
            raise UnsafeMessageError(
                f"the unsubscribe address {unsubscribe_url!r} is not a web address"
            )
        del message["List-Unsubscribe"]
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # RFC 3834: tells mail servers and out-of-office replies that a program sent this.
    message["Auto-Submitted"] = "auto-generated"
    message["MIME-Version"] = "1.0"

    # The MIME tree is assembled from parts with fixed headers rather than with set_content
    # and add_attachment, which parse every header again as they go: three times slower.
    body = _part(_text(payload, "text") or "", "plain")
    html = _text(payload, "html", required=False)
    if html is not None:
        body = _multipart("alternative", [body, _part(html, "html")])
    attachments = payload.get("attachments") or []
    if not isinstance(attachments, list):
        raise UnsafeMessageError("the message's attachments are not a list")
    if attachments:
        body = _multipart("mixed", [body, *(_attachment(item) for item in attachments)])
    for name, value in body.items():
        message[name] = value
    message.set_payload(body.get_payload())
    return message


def _part(text: str, subtype: str, parameters: str = "") -> EmailMessage:
    """A UTF-8 text part in quoted-printable: 7-bit clean, so any server takes it unchanged."""
    part = EmailMessage(policy=POLICY)
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"{parameters}'
    part["Content-Transfer-Encoding"] = "quoted-printable"
    lines = text.encode("utf-8").splitlines()
    part.set_payload(quopri.encodestring(b"\n".join(lines) + b"\n").decode("ascii"))
    return part


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
