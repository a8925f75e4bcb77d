"""The bounce mailbox (PUBLISHER_BOUNCE_MAILBOX): bounces that come back after the mail
server accepted a message, read once each, and the sign-ups whose address failed for good
suspended, as a 5xx from the mail server suspends them (signup_mail.Guard).

A bounce is a delivery status notification (RFC 3464: multipart/report with a
message/delivery-status part) or one of the older plain-text shapes mail servers still
send (Exim's "Mail delivery failed", qmail's "failure notice", X-Failed-Recipients).
Only a permanent failure (5.x.x) suspends an address: delays (4.x.x), auto-replies, read
receipts and anything else are left alone. A bounce is matched to a sign-up by the
Message-ID of the returned message (every message the publisher sends has one, kept with
it in the outbox), else by the address that failed.

The mailbox is a Maildir folder (the format Postfix, Exim and Dovecot deliver into) or a
folder on an IMAP server. Each unread message is read once: afterwards it is marked seen
(in a Maildir, moved to cur/ with the flag S), as a mail program does when a person reads
it; nothing is ever deleted. Messages that cannot be read are skipped with a log line and
tried again next time."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import email
import email.header
import email.policy
import imaplib
import logging
import os
import quopri
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import Connection, Engine, select

from publisher.delivery import signups
from publisher.delivery.database import outbox
from publisher.plans.errors import count

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


@dataclass
class BounceReport:
    """What one read of the bounce mailbox did: counts only (never an address)."""

    mailbox: str = ""  # the mailbox in words
    read: int = 0  # messages read (each is marked so it is read once)
    suspended: int = 0  # sign-ups suspended after a permanent failure
    delays: int = 0  # delays (4.x.x) and other temporary failures: left alone
    other: int = 0  # not a bounce: auto-replies, read receipts, people's mail
    unmatched: int = 0  # permanent failures of an address that is no sign-up
    skipped: int = 0  # messages that could not be read: tried again next time
    problem: str = ""  # the mailbox itself could not be read, and why

    def counts(self) -> dict[str, int]:
        return {
            "read": self.read,
            "suspended": self.suspended,
            "delays": self.delays,
            "not_bounces": self.other,
            "unmatched": self.unmatched,
            "skipped": self.skipped,
        }

    def words(self) -> str:
        """One line for the notify report and the log."""
        if self.problem:
            return f"The bounce mailbox could not be read: {self.problem}."
        said = (
            f"Bounce mailbox: {count(self.read, 'message')} read: "
            f"{count(self.suspended, 'address', 'addresses')} suspended after a permanent "
            f"failure, {count(self.delays, 'delay')} left alone, "
            f"{count(self.other, 'message that is', 'messages that are')} not a bounce"
        )
        if self.unmatched:
            said += f", {count(self.unmatched, 'bounce')} for addresses that are not sign-ups"
        if self.skipped:
            said += f", {count(self.skipped, 'message')} that could not be read, skipped"
        return said + "."


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


# --- the mailbox ---------------------------------------------------------------------------


@dataclass
class MaildirBox:
    """A Maildir folder: messages in new/, and those in cur/ not yet seen."""

    folder: Path
    describe: str = field(init=False)

    def __post_init__(self) -> None:
        self.describe = f"the Maildir folder {self.folder}"

    def problem(self) -> str:
        missing = [s for s in ("new", "cur") if not (self.folder / s).is_dir()]
        if missing:
            return (
                f"{self.folder} is not a Maildir folder (it has no {' or '.join(missing)}/ "
                "folder); set PUBLISHER_BOUNCE_MAILBOX to the folder your mail server "
                "delivers bounces into"
            )
        return ""

    def unread(self) -> Iterator[tuple[str, bytes | None]]:
        """Each unread message's name (sub-folder/file) and bytes (None: unreadable)."""
        for sub in ("new", "cur"):
            try:
                names = sorted(os.listdir(self.folder / sub))
            except OSError as error:
                log.warning("Cannot list %s/%s: %s", self.folder, sub, error.strerror or error)
                continue
            for name in names:
                if name.startswith("."):
                    continue
                if sub == "cur" and "S" in _flags(name):
                    continue
                path = self.folder / sub / name
                try:
                    data = path.read_bytes()
                except FileNotFoundError:
                    continue  # moved or read meanwhile
                except OSError as error:
                    log.warning(
                        "Skipped %s in the bounce mailbox: it cannot be read (%s).",
                        f"{sub}/{name}", error.strerror or error,
                    )  # fmt: skip
                    data = None
                yield f"{sub}/{name}", data

    def done(self, name: str) -> None:
        """Mark the message read: moved to cur/ with the seen flag, as mail programs do."""
        sub, _, file = name.partition("/")
        base, _, info = file.partition(":2,")
        if not info and ":" in file:
            base = file.split(":", 1)[0]
        flags = "".join(sorted(set(info) | {"S"}))
        os.replace(self.folder / sub / file, self.folder / "cur" / f"{base}:2,{flags}")


def _flags(name: str) -> str:
    return name.rpartition(":2,")[2] if ":2," in name else ""


IMAP_SCHEMES = ("imaps", "imap+starttls", "imap")


class ImapBox:
    """A folder on an IMAP server (imaps://user@host/Folder): its unseen messages, each
    marked seen (\\Seen) once read, as a mail program marks what a person opens. The
    password is PUBLISHER_BOUNCE_PASSWORD, from the environment."""

    def __init__(
        self,
        url: str,
        password: str | None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30,
    ) -> None:
        parts = urlsplit(url)
        self.scheme = parts.scheme
        self.host = parts.hostname or ""
        self.port = parts.port or (993 if self.scheme == "imaps" else 143)
        self.user = unquote(parts.username or "")
        self.folder = unquote(parts.path.strip("/")) or "INBOX"
        self.password = password
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.timeout = timeout
        self.describe = f"the IMAP folder {self.folder} at {self.host}:{self.port}"
        self.connection: imaplib.IMAP4 | None = None

    def problem(self) -> str:
        """Connect, log in and open the folder; what went wrong, in words ('' if nothing)."""
        if self.user and not self.password:
            return f"{self.describe}: PUBLISHER_BOUNCE_PASSWORD is not set"
        try:
            if self.scheme == "imaps":
                connection: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    self.host, self.port, ssl_context=self.ssl_context, timeout=self.timeout
                )
            else:
                connection = imaplib.IMAP4(self.host, self.port, timeout=self.timeout)
                if self.scheme == "imap+starttls":
                    connection.starttls(ssl_context=self.ssl_context)
            self.connection = connection
            if self.user:
                connection.login(self.user, self.password or "")
            status, said = connection.select(_quoted(self.folder))
            if status != "OK":
                return f"{self.describe}: there is no such folder ({_said(said)})"
        except imaplib.IMAP4.error as error:
            return f"{self.describe}: the server said no: {_plain(error)}"
        except ssl.SSLError as error:
            return f"{self.describe}: the secure connection failed: {error.reason or error}"
        except OSError as error:
            return f"{self.describe}: cannot connect: {error.strerror or error}"
        return ""

    def unread(self) -> Iterator[tuple[str, bytes | None]]:
        connection = self.connection
        assert connection is not None, "problem() opens the connection"
        status, found = connection.uid("SEARCH", "UNSEEN")
        if status != "OK":
            raise imaplib.IMAP4.error(f"searching for unseen messages failed ({_said(found)})")
        for uid in (found[0] or b"").split():
            name = uid.decode("ascii")
            status, got = connection.uid("FETCH", name, "(BODY.PEEK[])")
            data = next((part[1] for part in got if isinstance(part, tuple)), None)
            if status != "OK" or not isinstance(data, bytes):
                log.warning("Skipped message %s in the bounce mailbox: the server sent no "
                            "message for it.", name)  # fmt: skip
                data = None
            yield name, data

    def done(self, name: str) -> None:
        assert self.connection is not None
        status, said = self.connection.uid("STORE", name, "+FLAGS", "(\\Seen)")
        if status != "OK":
            raise OSError(f"the server would not mark it seen ({_said(said)})")

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                self.connection.logout()
            self.connection = None


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _said(data: list[Any]) -> str:
    first = data[0] if data else b""
    return first.decode("utf-8", "replace") if isinstance(first, bytes) else str(first)


def _plain(error: Exception) -> str:
    text = str(error)
    return text[2:-1] if text.startswith(("b'", 'b"')) else text


Box = MaildirBox | ImapBox


def mailbox(setting: str, password: str | None = None) -> Box:
    if urlsplit(setting).scheme in IMAP_SCHEMES:
        return ImapBox(setting, password)
    return MaildirBox(Path(setting).expanduser())


# --- acting on bounces ---------------------------------------------------------------------


def read(
    engine: Engine,
    setting: str | None,
    now: dt.datetime,
    password: str | None = None,
    *,
    box: Box | None = None,
) -> BounceReport | None:
    """Read every unread message in the bounce mailbox (`setting`: a Maildir folder or an
    IMAP folder's address; `password` for IMAP) once, and suspend the sign-ups whose
    address failed for good. None when no bounce mailbox is set."""
    if not setting and box is None:
        return None
    box = box or mailbox(str(setting), password)
    report = BounceReport(mailbox=box.describe)
    try:
        report.problem = box.problem()
        if not report.problem:
            _read_all(engine, box, report, now)
    except (imaplib.IMAP4.error, OSError) as error:  # the connection broke: next pass
        report.problem = f"{box.describe}: the connection broke: {_plain(error)}"
    finally:
        if isinstance(box, ImapBox):
            box.close()
    if report.problem:
        log.warning("The bounce mailbox could not be read: %s.", report.problem)
    return report


def _read_all(engine: Engine, box: Box, report: BounceReport, now: dt.datetime) -> None:
    for name, data in box.unread():
        if data is None:
            report.skipped += 1
            continue
        try:
            bounce = parse(data)
        except Exception as error:  # a message no parser can make sense of: skipped
            log.warning(
                "Skipped %s in the bounce mailbox: it is not a message we can read (%s).",
                name, type(error).__name__,
            )  # fmt: skip
            report.skipped += 1
            _mark(box, name)
            continue
        _act(engine, bounce, report, now)
        report.read += 1
        _mark(box, name)


def _mark(box: Box, name: str) -> None:
    try:
        box.done(name)
    except FileNotFoundError:
        pass  # someone else moved it meanwhile
    except (imaplib.IMAP4.abort, ConnectionError):
        raise  # the connection is gone: the pass stops reading
    except (imaplib.IMAP4.error, OSError) as error:
        log.warning(
            "Could not mark %s in the bounce mailbox as read (%s): it will be read again.",
            name, getattr(error, "strerror", None) or _plain(error),
        )  # fmt: skip


def _act(engine: Engine, bounce: Bounce | None, report: BounceReport, now: dt.datetime) -> None:
    if bounce is None:
        report.other += 1
        log.info("Left a message in the bounce mailbox alone: it is not a bounce.")
        return
    if not bounce.permanent:
        report.delays += 1
        return
    with engine.begin() as conn:
        found = _signups_of(conn, bounce)
        if not found:
            report.unmatched += 1
            return
        for signup in found:
            if signup.state is signups.SignupState.SUSPENDED:
                continue
            said = " ".join(x for x in (bounce.status, bounce.diagnostic) if x) or "no reason given"
            reason = (
                f"the mail server sent a bounce: a permanent failure ({said}); the address "
                "is suspended: nothing more is sent to it"
            )
            reason = re.sub(re.escape(signup.address), "the address", reason, flags=re.IGNORECASE)
            signups.suspend(conn, signup.uid, reason, now)
            report.suspended += 1
            log.info("Suspended %s after a bounce (%s).", signup.channel, bounce.status or "5xx")


def _signups_of(conn: Connection, bounce: Bounce) -> list[signups.Signup]:
    """The sign-ups a permanent bounce is about: by the returned message's Message-ID
    (its outbox item), else by the address that failed."""
    found: dict[str, signups.Signup] = {}
    for message_id in bounce.message_ids:
        keys = conn.scalars(
            select(outbox.c.key)
            .where(
                outbox.c.key.startswith(signups.PREFIX, autoescape=True),
                outbox.c.payload.contains(f'"message_id": "{message_id}"', autoescape=True),
            )
            .limit(1)
        ).all()
        for key in keys:
            one = signups.find(conn, key.removeprefix(signups.PREFIX).partition("|")[0])
            if one is not None:
                found[one.uid] = one
    if found:
        return list(found.values())
    for address in bounce.recipients:
        one = signups.by_address(conn, address)
        if one is not None:
            found[one.uid] = one
    return list(found.values())


def suspended_after_bounces(conn: Connection) -> int:
    """How many sign-ups are suspended because of a bounce (for /healthz)."""
    return sum(1 for _, reason in signups.suspended(conn) if "sent a bounce" in reason)
