"""Reading one message from the bounce mailbox: is it a bounce, did the address fail for
good, and which message and addresses it is about.

A bounce is a delivery status notification (RFC 3464: multipart/report with a
message/delivery-status part) or one of the older plain-text shapes mail servers still
send (Exim's "Mail delivery failed", qmail's "failure notice", X-Failed-Recipients).
Only a permanent failure (5.x.x) counts: delays (4.x.x), auto-replies, read receipts and
anything else are not bounces that suspend (bounces.py acts on what this reads)."""

from __future__ import annotations

import base64
import email
import email.header
import email.policy
import logging
import quopri
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr

log = logging.getLogger("publisher")

PERMANENT_STATUS = re.compile(r"^\s*5\.\d{1,3}\.\d{1,3}")
TEMPORARY_STATUS = re.compile(r"^\s*4\.\d{1,3}\.\d{1,3}")
ENHANCED_CODE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
SMTP_PERMANENT = re.compile(r"(?<![\d.])5\d\d(?:[ -]|$)", re.MULTILINE)
ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
MESSAGE_ID = re.compile(r"<[^<>\s@]+@[^<>\s]+>")

# The senders and subjects of bounces that are not RFC 3464 reports.
BOUNCE_SENDERS = ("mailer-daemon", "postmaster", "mail delivery subsystem", "mail delivery system")
BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery status notification|delivery (has )?fail|mail delivery failed|"
    r"returned mail|failure notice|could not be delivered|non[- ]?delivery|returned to sender",
    re.IGNORECASE,
)
# Words that mean the failure is for good, and words that mean the server still tries.
PERMANENT_WORDS = re.compile(
    r"permanent (error|failure|fatal)|this is a permanent|i've given up|giving up|"
    r"user unknown|unknown user|no such (user|mailbox|recipient|address)|does not exist|"
    r"doesn't exist|mailbox (unavailable|not found|disabled)|address rejected|"
    r"recipient (address )?rejected|account (has been )?disabled|not a valid (mailbox|recipient)",
    re.IGNORECASE,
)
TEMPORARY_WORDS = re.compile(
    r"\bdelayed\b|will (continue to |keep )?(retry|try|attempt)|temporar(y|ily)|"
    r"not yet been delivered|still trying|deferred|delivery delay",
    re.IGNORECASE,
)
# Where a plain bounce's copy of the returned message starts: Exim's, qmail's, Postfix's
# and Sendmail's markers, or the copy's first header lines.
COPY_STARTS = re.compile(
    r"^[ \t]*-+[^\n]*(copy of the message|below this line|original message|returned message|"
    r"message headers|undelivered message)[^\n]*$"
    r"|^(Return-Path|Received|Message-ID|From|To|Subject|Date):[ \t]",
    re.IGNORECASE | re.MULTILINE,
)
AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response)|out of (the )?office|away from|on holiday|"
    r"on vacation|autoreply)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Bounce:
    """What a message in the bounce mailbox says. `permanent`: the addresses in
    `recipients` failed for good; else it is a delay. `message_ids` are those of the
    returned message(s)."""

    permanent: bool
    recipients: tuple[str, ...]
    message_ids: tuple[str, ...]
    status: str  # "5.1.1", or "" when the bounce gives none
    diagnostic: str  # the mail server's own words, one line, no addresses


# --- reading one message -------------------------------------------------------------------


def parse(raw: bytes) -> Bounce | None:
    """What the message says, or None when it is no bounce (an auto-reply, a read
    receipt, a person's mail, or garbage)."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    if message.get_content_type() == "multipart/report":
        report = _delivery_status(message)
        if report is not None:
            return report
        kind = message.get_param("report-type")
        if isinstance(kind, str) and kind.lower() not in ("", "delivery-status"):
            return None  # a read receipt (disposition-notification) or a feedback report
    return _plain_bounce(message)


def _auto_reply(message: Message) -> bool:
    auto = str(message.get("Auto-Submitted", "")).lower()
    if auto.startswith("auto-replied"):
        return True
    if message.get("X-Autoreply") or message.get("X-Autorespond"):
        return True
    if str(message.get("Precedence", "")).lower() == "auto_reply":
        return True
    return bool(AUTO_REPLY_SUBJECT.match(_header(message, "Subject")))


def _header(message: Message, name: str) -> str:
    value = message.get(name)
    if value is None:
        return ""
    try:
        return str(email.header.make_header(email.header.decode_header(str(value))))
    except (ValueError, LookupError, UnicodeDecodeError):
        return str(value)


def _parts(message: Message) -> Iterator[Message]:
    """The message's parts, without going inside returned messages (message/rfc822)."""
    yield message
    if message.get_content_maintype() == "message":
        return
    if message.is_multipart():
        payload = message.get_payload()
        if isinstance(payload, list):
            for part in payload:
                if isinstance(part, Message):
                    yield from _parts(part)


def _status_blocks(part: Message) -> list[Message]:
    """The field blocks of a message/delivery-status part: the per-message block, then
    one per recipient."""
    payload = part.get_payload()
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if isinstance(payload, list):
        if encoding not in ("base64", "quoted-printable"):
            return [block for block in payload if isinstance(block, Message)]
        # Encoded (Exchange and some services do): the parser took the encoded text for
        # field blocks. Put it back together and decode it.
        payload = "".join(b.as_string() if isinstance(b, Message) else str(b) for b in payload)
    text = payload if isinstance(payload, str) else ""
    if encoding == "base64":
        try:
            text = base64.b64decode("".join(text.split())).decode("utf-8", "replace")
        except ValueError:
            text = ""
    elif encoding == "quoted-printable":
        text = quopri.decodestring(text.encode("ascii", "replace")).decode("utf-8", "replace")
    blocks = re.split(r"\r?\n\s*\r?\n", text.strip())
    return [HeaderParser().parsestr(block.strip() + "\n") for block in blocks if block.strip()]


def _address_field(value: str | None) -> str:
    """The address of a Final-Recipient or Original-Recipient field ('rfc822; jo@x')."""
    if not value:
        return ""
    kind, _, address = str(value).partition(";")
    if not address:
        address = kind
    elif kind.strip().lower() not in ("rfc822", "utf-8"):
        return ""
    found = parseaddr(address.strip())[1] or address.strip()
    return found.lower() if ADDRESS.fullmatch(found) else ""


def _delivery_status(message: Message) -> Bounce | None:
    """An RFC 3464 report's verdict; None when the report has no delivery-status part."""
    parts = [
        p
        for p in _parts(message)
        if p.get_content_type() in ("message/delivery-status", "message/global-delivery-status")
    ]
    if not parts:
        return None
    failed: list[str] = []
    statuses: list[str] = []
    diagnostics: list[str] = []
    for part in parts:
        for block in _status_blocks(part):
            recipient = _address_field(block.get("Final-Recipient")) or _address_field(
                block.get("Original-Recipient")
            )
            action = str(block.get("Action", "")).strip().lower()
            status = str(block.get("Status", "")).strip()
            diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
            if not recipient and not action:
                continue  # the per-message block
            smtp_code = diagnostic.partition(";")[2].strip() if ";" in diagnostic else diagnostic
            permanent = action == "failed" and (
                bool(PERMANENT_STATUS.match(status))
                or (not status and bool(SMTP_PERMANENT.match(smtp_code)))
            )
            if permanent and recipient:
                failed.append(recipient)
                code = ENHANCED_CODE.search(status)
                statuses.append(code[0] if code else "")
                diagnostics.append(smtp_code)
    return Bounce(
        permanent=bool(failed),
        recipients=tuple(dict.fromkeys(failed)),
        message_ids=_returned_ids(message),
        status=next((s for s in statuses if s), ""),
        diagnostic=_without_addresses(next((d for d in diagnostics if d), "")),
    )


def _returned_ids(message: Message) -> tuple[str, ...]:
    """The Message-IDs of the returned message: from an attached message/rfc822 or
    text/rfc822-headers part, or, in plain bounces, quoted in the text."""
    found: list[str] = []
    for part in message.walk():
        kind = part.get_content_type()
        if kind in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message) and inner.get("Message-ID"):
                found.append(str(inner["Message-ID"]))
        elif kind in ("text/rfc822-headers", "message/global-headers"):
            text = _text(part)
            headers = HeaderParser().parsestr(text)
            if headers.get("Message-ID"):
                found.append(str(headers["Message-ID"]))
    if not found:
        for part in message.walk():
            if part.get_content_maintype() == "text":
                for line in _text(part).splitlines():
                    if line.strip().lower().startswith("message-id:"):
                        found += MESSAGE_ID.findall(line)
    own = str(message.get("Message-ID", "")).strip()
    return tuple(
        dict.fromkeys(
            i.strip() for i in found if MESSAGE_ID.fullmatch(i.strip()) and i.strip() != own
        )
    )


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        charset = part.get_content_charset() or "utf-8"
        try:
            return payload.decode(charset, "replace")
        except LookupError:
            return payload.decode("utf-8", "replace")
    raw = part.get_payload()
    return raw if isinstance(raw, str) else ""


def _plain_bounce(message: Message) -> Bounce | None:
    """The older shapes: a message from the mail system (MAILER-DAEMON, postmaster, an
    empty return path, X-Failed-Recipients, a subject like "Undelivered Mail") whose words
    say the failure is permanent. Anything less clear is not acted on."""
    sender = parseaddr(_header(message, "From"))
    sender_words = f"{sender[0]} {sender[1]}".lower()
    return_path = str(message.get("Return-Path", "")).strip()
    failed_header = [
        address.lower()
        for _, address in getaddresses([str(v) for v in message.get_all("X-Failed-Recipients", [])])
        if ADDRESS.fullmatch(address)
    ]
    subject = _header(message, "Subject")
    from_system = any(name in sender_words for name in BOUNCE_SENDERS) or return_path == "<>"
    if _auto_reply(message) and not (failed_header or from_system):
        return None  # an out-of-office reply (bounces say auto-replied too, so not before)
    if not (failed_header or from_system or BOUNCE_SUBJECT.search(subject)):
        return None
    body = _before_copy(
        "\n".join(
            _text(p) for p in _parts(message) if p.get_content_type() in ("text/plain", "text/html")
        )
    )
    said = f"{subject}\n{body}"
    if TEMPORARY_WORDS.search(said) or re.match(r"\s*warning", subject, re.IGNORECASE):
        return Bounce(False, (), _returned_ids(message), "", "")
    codes = [m for m in ENHANCED_CODE.finditer(body)]
    permanent_code = next((m[0] for m in codes if m[1] == "5"), "")
    if any(m[1] == "4" for m in codes) and not permanent_code:
        return Bounce(False, (), _returned_ids(message), "", "")
    permanent = bool(failed_header) or bool(PERMANENT_WORDS.search(said)) or bool(permanent_code)
    if not permanent:
        return None
    recipients = failed_header or [a.lower() for a in ADDRESS.findall(body)]
    diagnostic = next(
        (
            " ".join(line.split())
            for line in body.splitlines()
            if SMTP_PERMANENT.search(line.strip())
        ),
        "",
    )
    return Bounce(
        permanent=True,
        recipients=tuple(dict.fromkeys(recipients)),
        message_ids=_returned_ids(message),
        status=permanent_code,
        diagnostic=_without_addresses(diagnostic),
    )


def _before_copy(body: str) -> str:
    """The mail system's own words: the text before the copy of the returned message that
    plain bounces quote (whose addresses and words are the message's, not the bounce's)."""
    found = COPY_STARTS.search(body)
    return body[: found.start()] if found else body


def _without_addresses(text: str) -> str:
    return ADDRESS.sub("the address", " ".join(text.split()))[:200]
