"""Sending email: over SMTP, one connection reused across a pass, or written to a Maildir
folder; each fault an Outcome in plain words. The message itself is made in email_message.py."""

from __future__ import annotations

import errno
import mailbox
import smtplib
import socket
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from publisher.delivery.deadline import BoundedSMTP, BoundedSMTPS, Deadline, Resolver
from publisher.delivery.email_message import (
    POLICY,
    UnsafeMessageError,
    build_message,
    checked_address,
    message_bytes,
    one_line,
)
from publisher.delivery.outcome import Outcome, Sender

_SMTP_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class EmailSender(Sender, Protocol):
    """A Sender of email that can say in one line where mail goes, for the log."""

    def describe(self) -> str: ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _timed_out(error: BaseException) -> bool:
    # smtplib turns a read that timed out into SMTPServerDisconnected; the cause says which.
    return isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError)


def _code_reason(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {one_line(words)}".strip()


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
        checked_address(mail_from, "PUBLISHER_MAIL_FROM")  # a bad setting shows at start-up
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
            # The bytes smtplib's send_message would write for build_message's message,
            # written straight (email_message.message_bytes): the email package's
            # generator was most of a send's CPU time.
            message, sender, recipients = message_bytes(payload, self.mail_from, self.clock())
        except UnsafeMessageError as problem:
            return Outcome.failed(str(problem))
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
        self, message: bytes, sender: str, recipients: list[str]
    ) -> dict[str, tuple[int, bytes]]:
        if self._connection is None:
            self._connection = self._connect()
        return self._connection.sendmail(sender, recipients, message)

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
        checked_address(mail_from, "PUBLISHER_MAIL_FROM")
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
        data = message.as_bytes(policy=POLICY.clone(linesep="\n"))
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
