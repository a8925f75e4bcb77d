"""Email delivery: a safe message from an outbox payload, sent by SMTP or written to a Maildir."""

from __future__ import annotations

import errno
import mailbox
import quopri
import re
import smtplib
import socket
import ssl
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from publisher.delivery.deadline import BoundedSMTP, BoundedSMTPS, Deadline, Resolver
from publisher.delivery.outcome import Outcome, Sender

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
_SMTP_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class UnsafeMessageError(ValueError):
    """A payload that cannot be turned into a safe message; the text says why, in plain words."""


class EmailSender(Sender, Protocol):
    """A Sender of email that can say in one line where mail goes, for the log."""

    def describe(self) -> str: ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _one_line(value: str) -> str:
    """Control characters (CR, LF, TAB, NUL, U+2028...) become spaces; runs of spaces one."""
    cleaned = "".join(" " if unicodedata.category(ch) in _CONTROL else ch for ch in value)
    return " ".join(cleaned.split())


def _address(value: object, role: str) -> Address:
    """One mailbox, as `someone@example.org` or `Name <someone@example.org>`; else refused."""
    if not isinstance(value, str) or any(unicodedata.category(c) in _CONTROL for c in value):
        raise UnsafeMessageError(f"{role} {value!r} is not a single email address")
    name, spec = "", value.strip()
    named = _NAME_ADDR.fullmatch(spec)
    if named:
        name, spec = _one_line(named["name"]).strip('"'), named["addr"].strip()
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
    text = _one_line(value) if isinstance(value, str) else ""
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


_POLICY = SMTP.clone(header_factory=_Headers())


def build_message(payload: dict[str, Any], mail_from: str, date: datetime) -> EmailMessage:
    """The message for one outbox item. Raises UnsafeMessageError, naming the bad value, when a
    value could break the headers (an address that is not one address, a malformed id)."""
    message = EmailMessage(policy=_POLICY)
    recipients = payload.get("to")
    if not isinstance(recipients, list) or not recipients:
        raise UnsafeMessageError("the message has no recipients")
    message_id = _text(payload, "message_id") or ""
    if not _MESSAGE_ID.fullmatch(message_id):
        raise UnsafeMessageError(f"the message id {message_id!r} is not of the form <id@domain>")
    message["From"] = _address(mail_from, "the sender address (PUBLISHER_MAIL_FROM)")
    message["To"] = [_address(to, "the recipient") for to in recipients]
    message["Subject"] = _one_line(_text(payload, "subject") or "")
    message["Date"] = date  # the Date header takes a datetime: no formatting and parsing back
    message["Message-ID"] = message_id
    message["List-Id"] = _list_id(payload.get("list_id"))
    settings_url = _text(payload, "settings_url", required=False)
    if settings_url is not None:
        scheme = urlsplit(settings_url).scheme
        if scheme not in ("http", "https") or not re.fullmatch(r"[!-;=?-~]+", settings_url):
            raise UnsafeMessageError(f"the settings page {settings_url!r} is not a web address")
        message["List-Unsubscribe"] = f"<{settings_url}>"
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
    part = EmailMessage(policy=_POLICY)
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"{parameters}'
    part["Content-Transfer-Encoding"] = "quoted-printable"
    lines = text.encode("utf-8").splitlines()
    part.set_payload(quopri.encodestring(b"\n".join(lines) + b"\n").decode("ascii"))
    return part


def _multipart(subtype: str, parts: list[EmailMessage]) -> EmailMessage:
    container = EmailMessage(policy=_POLICY)
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
    filename = _one_line(filename).replace("/", "-").replace("\\", "-").strip(". ") or "file"
    if not isinstance(media_type, str) or not _MEDIA_TYPE.fullmatch(media_type):
        raise UnsafeMessageError(f"the attachment {filename} has an unusable type {media_type!r}")
    subtype = media_type.split("/", 1)[1].lower()
    part = _part(text, subtype, '; method="PUBLISH"' if subtype == "calendar" else "")
    # add_header quotes the name, or encodes it (RFC 2231) when it is not ASCII.
    part.add_header("Content-Disposition", "attachment", filename=filename)
    return part


def _envelope(message: EmailMessage) -> tuple[str, list[str]]:
    sender = message["From"].addresses[0].addr_spec
    return sender, [address.addr_spec for address in message["To"].addresses]


def _timed_out(error: BaseException) -> bool:
    # smtplib turns a read that timed out into SMTPServerDisconnected; the cause says which.
    return isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError)


def _code_reason(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {_one_line(words)}".strip()


class SmtpSender:
    """Sends through one SMTP connection, opened at the first message and reused until close().

    `url` is SMTP_URL: smtp://host:port, smtp+starttls://user:password@host:587 or
    smtps://user:password@host:465, with the user and password percent-encoded.
    """

    def __init__(
        self,
        url: str,
        mail_from: str,
        timeout: float = 30,
        clock: Callable[[], datetime] = _utc_now,
        ssl_context: ssl.SSLContext | None = None,
        resolve: Resolver = socket.getaddrinfo,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in _SMTP_PORTS or not parts.hostname:
            raise ValueError(
                "SMTP_URL must look like smtp://host:25, smtp+starttls://user:password@host:587"
                " or smtps://user:password@host:465"
            )
        try:
            self.port = parts.port or _SMTP_PORTS[parts.scheme]
        except ValueError:
            raise ValueError("the port in SMTP_URL is not a number from 1 to 65535") from None
        _address(mail_from, "PUBLISHER_MAIL_FROM")  # a bad setting shows at start-up
        self.host = parts.hostname
        self.scheme = parts.scheme
        self.user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password or "")
        self.mail_from = mail_from
        self.timeout = timeout
        self.clock = clock
        self.ssl_context = ssl_context or ssl.create_default_context()
        self._connection: smtplib.SMTP | None = None
        self._deadline = Deadline()
        self.resolve = resolve  # tests stand in for DNS, which they never ask

    @property
    def where(self) -> str:
        return f"the mail server at {self.host}:{self.port}"

    def describe(self) -> str:
        security = {"smtp": "", "smtp+starttls": " using STARTTLS", "smtps": " over TLS"}
        login = f", logging in as {self.user}" if self.user else ""
        return f"Mail is sent through {self.where}{security[self.scheme]}{login}"

    def _connect(self) -> smtplib.SMTP:
        connection: smtplib.SMTP
        if self.scheme == "smtps":
            connection = BoundedSMTPS(
                self.host,
                self.port,
                deadline=self._deadline,
                resolve=self.resolve,
                timeout=self.timeout,
                context=self.ssl_context,
            )
        else:
            connection = BoundedSMTP(
                self.host,
                self.port,
                deadline=self._deadline,
                resolve=self.resolve,
                timeout=self.timeout,
            )
        try:
            connection.ehlo()
            if self.scheme == "smtp+starttls":
                connection.starttls(context=self.ssl_context)
                connection.ehlo()
            if self.user:
                connection.login(self.user, self._password)
        except BaseException:
            connection.close()
            raise
        return connection

    def send(self, key: str, payload: dict[str, Any]) -> Outcome:
        try:
            message = build_message(payload, self.mail_from, self.clock())
        except UnsafeMessageError as problem:
            return Outcome.failed(str(problem))
        sender, recipients = _envelope(message)
        reused = self._connection is not None
        # Connecting, the greeting, logging in and every command of this message, together.
        self._deadline.start(self.timeout)
        try:
            try:
                refused = self._send_once(message, sender, recipients)
            except smtplib.SMTPServerDisconnected as error:
                self._drop()
                if not reused or _timed_out(error):
                    raise
                # The server closed an idle connection since the last message: once more.
                refused = self._send_once(message, sender, recipients)
        except Exception as error:  # every fault becomes an Outcome; see _outcome
            return self._outcome(error)
        if refused:
            named = "; ".join(f"{to} ({_code_reason(*reply)})" for to, reply in refused.items())
            return Outcome.sent(f"sent, but {self.where} refused {named}")
        return Outcome.sent()

    def _send_once(
        self, message: EmailMessage, sender: str, recipients: list[str]
    ) -> dict[str, tuple[int, bytes]]:
        if self._connection is None:
            self._connection = self._connect()
        return self._connection.send_message(message, sender, recipients)

    def _outcome(self, error: Exception) -> Outcome:
        """Plain words for what went wrong, and whether trying later could help."""
        if isinstance(error, smtplib.SMTPAuthenticationError | smtplib.SMTPNotSupportedError):
            self._drop()  # the same connection would get the same answer
        if isinstance(error, smtplib.SMTPAuthenticationError):
            return Outcome.failed(
                f"{self.where} did not accept the user name and password in SMTP_URL"
                f" ({_code_reason(error.smtp_code, error.smtp_error)})"
            )
        if isinstance(error, smtplib.SMTPNotSupportedError):
            return Outcome.failed(f"{self.where} does not offer what SMTP_URL asks for: {error}")
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            replies = error.recipients.items()
            named = "; ".join(f"{to} ({_code_reason(*reply)})" for to, reply in replies)
            if all(code >= 500 for code, _ in error.recipients.values()):
                return Outcome.failed(f"{self.where} refused every recipient: {named}")
            return Outcome.retry(f"{self.where} turned recipients away for now: {named}")
        if isinstance(error, smtplib.SMTPResponseException):
            reply = _code_reason(error.smtp_code, error.smtp_error)
            if error.smtp_code == 421 or not isinstance(
                error, smtplib.SMTPSenderRefused | smtplib.SMTPDataError
            ):
                self._drop()  # the session is in an unknown state, or the server is closing it
            if error.smtp_code >= 500:
                return Outcome.failed(f"{self.where} refused the message: {reply}")
            return Outcome.retry(f"{self.where} asked to try again later: {reply}")
        self._drop()
        if _timed_out(error):
            return Outcome.retry(f"{self.where} did not answer within {self.timeout:g} seconds")
        if isinstance(error, smtplib.SMTPServerDisconnected):
            return Outcome.retry(f"{self.where} closed the connection: {error}")
        if isinstance(error, ssl.SSLError | ssl.CertificateError):
            return Outcome.retry(f"could not make a secure connection to {self.where}: {error}")
        if isinstance(error, ConnectionRefusedError):
            return Outcome.retry(f"{self.where} did not answer: connection refused")
        if isinstance(error, socket.gaierror):
            return Outcome.retry(f"{self.where} could not be found: {error.strerror}")
        if isinstance(error, OSError | smtplib.SMTPException):
            return Outcome.retry(f"{self.where} could not be reached: {error}")
        raise error

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        self._deadline.start(self.timeout)
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()  # a server already gone needs no goodbye


class MaildirSender:
    """Writes each message as one file in a Maildir folder: the default without SMTP_URL."""

    def __init__(
        self, folder: Path, mail_from: str, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        _address(mail_from, "PUBLISHER_MAIL_FROM")
        self.folder = folder
        self.mail_from = mail_from
        self.clock = clock

    def describe(self) -> str:
        return (
            f"No SMTP_URL is set, so mail is written to the folder {self.folder}/"
            " (open it with any mail program that reads Maildir)"
        )

    def send(self, key: str, payload: dict[str, Any]) -> Outcome:
        try:
            message = build_message(payload, self.mail_from, self.clock())
        except UnsafeMessageError as problem:
            return Outcome.failed(str(problem))
        # Maildir files end lines with LF, as mail programs that read them expect.
        data = message.as_bytes(policy=_POLICY.clone(linesep="\n"))
        try:
            # The folders are made here, not by mailbox (which would race the other
            # channels' threads making them at the same moment and fail).
            for part in ("tmp", "new", "cur"):
                (self.folder / part).mkdir(mode=0o700, parents=True, exist_ok=True)
            mailbox.Maildir(self.folder, create=False).add(data)
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                return Outcome.retry(f"the disk holding the folder {self.folder}/ is full")
            reason = error.strerror or str(error)
            return Outcome.retry(f"could not write mail to the folder {self.folder}/: {reason}")
        return Outcome.sent()

    def close(self) -> None:
        pass


def email_sender(
    smtp_url: str | None, maildir: Path, mail_from: str, *, timeout: float = 30
) -> EmailSender:
    """SMTP when SMTP_URL is set, otherwise the Maildir folder. Raises ValueError, in plain
    words, for an SMTP_URL or PUBLISHER_MAIL_FROM that cannot work, so start-up can report it."""
    if smtp_url and smtp_url.strip():
        return SmtpSender(smtp_url.strip(), mail_from, timeout=timeout)
    return MaildirSender(maildir, mail_from)
