"""The bounce mailbox itself: a Maildir folder (the format Postfix, Exim and Dovecot
deliver into) or a folder on an IMAP server. Each unread message is listed once; marking it
done flags it seen (in a Maildir, moved to cur/ with the flag S), as a mail program does
when a person reads it. Nothing is ever deleted."""

from __future__ import annotations

import contextlib
import imaplib
import logging
import os
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

log = logging.getLogger("publisher")

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
            return f"{self.describe}: the server said no: {plain(error)}"
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


def plain(error: Exception) -> str:
    text = str(error)
    return text[2:-1] if text.startswith(("b'", 'b"')) else text


Box = MaildirBox | ImapBox


def mailbox(setting: str, password: str | None = None) -> Box:
    if urlsplit(setting).scheme in IMAP_SCHEMES:
        return ImapBox(setting, password)
    return MaildirBox(Path(setting).expanduser())
