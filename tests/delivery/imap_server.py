"""A real IMAP server on loopback for the bounce mailbox tests: Dovecot (Debian's
dovecot-imapd, installed by `make tools`), started in the foreground with its own
configuration in a temporary folder, one user, plain IMAP with STARTTLS and IMAP over TLS.

Test modules import the fixture by its `*_fixture` name, as with receivers.py."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.delivery.receivers import HOST, TlsFiles, free_port

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "bounces", "imap-test-password"
START_SECONDS = 20


@dataclass
class ImapServer:
    port: int  # IMAP, with STARTTLS
    tls_port: int  # IMAP over TLS
    mail: Path  # the user's Maildir, as Dovecot keeps it

    def url(self, scheme: str = "imaps", folder: str = "INBOX") -> str:
        port = self.tls_port if scheme == "imaps" else self.port
        return f"{scheme}://{USER}@{HOST}:{port}/{folder}"

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4(HOST, self.port, timeout=10)
        client.login(USER, PASSWORD)
        return client

    def append(self, *messages: bytes, folder: str = "INBOX") -> None:
        """Deliver messages into the folder through IMAP, as a mail server's delivery does."""
        client = self.client()
        try:
            for message in messages:
                status, said = client.append(folder, None, None, message)
                assert status == "OK", said
        finally:
            client.logout()

    def flags(self, folder: str = "INBOX") -> list[str]:
        """Each message's flags, in order: what a mail program would show."""
        client = self.client()
        try:
            client.select(folder, readonly=True)
            status, found = client.fetch("1:*", "(FLAGS)")
            assert status == "OK", found
            return [
                item.decode().split("FLAGS (", 1)[1].split(")", 1)[0]
                for item in found
                if isinstance(item, bytes)
            ]
        finally:
            client.logout()


def _users() -> tuple[str, str, str, int, int]:
    """Login user, internal user and group, and the mail user's uid and gid. Run as root,
    Dovecot wants its own unprivileged users (made by the package); as anyone else, it runs
    every process as that user."""
    if os.getuid() != 0:
        me = pwd.getpwuid(os.getuid())
        return me.pw_name, me.pw_name, _group(me.pw_gid), me.pw_uid, me.pw_gid
    dovecot = pwd.getpwnam("dovecot")
    return "dovenull", "dovecot", _group(dovecot.pw_gid), dovecot.pw_uid, dovecot.pw_gid


def _group(gid: int) -> str:
    import grp  # noqa: PLC0415

    return grp.getgrgid(gid).gr_name


@pytest.fixture(name="imap_server")
def imap_server_fixture(tls_files: TlsFiles) -> Iterator[ImapServer]:
    if not Path(DOVECOT).exists():
        pytest.fail(
            f"{DOVECOT} is missing: run 'make tools' to install Debian's dovecot-imapd",
            pytrace=False,
        )
    # Short, so Dovecot's sockets fit in a socket's path.
    folder = Path(tempfile.mkdtemp(prefix="dv"))
    try:
        folder.chmod(0o755)
        login, internal, group, uid, gid = _users()
        mail = folder / "mail"
        mail.mkdir()
        (folder / "run").mkdir()
        (folder / "state").mkdir()
        if os.getuid() == 0:
            os.chown(mail, uid, gid)
        (folder / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{mail}\n")
        port, tls_port = free_port(), free_port()
        config = folder / "dovecot.conf"
        config.write_text(f"""
protocols = imap
listen = {HOST}
base_dir = {folder}/run
state_dir = {folder}/state
instance_name = publisher-test-{port}
default_login_user = {login}
default_internal_user = {internal}
default_internal_group = {group}
first_valid_uid = {min(uid, 500)}
first_valid_gid = 0
ssl = yes
ssl_cert = <{tls_files.cert}
ssl_key = <{tls_files.key}
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {folder}/dovecot.log
mail_location = maildir:{mail}/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {folder}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {tls_port}
    ssl = yes
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
""")
        process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + START_SECONDS
            while True:
                try:
                    with socket.create_connection((HOST, port), timeout=1):
                        break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        logged = folder / "dovecot.log"
                        log = logged.read_text() if logged.exists() else "(no log)"
                        pytest.fail(f"Dovecot did not start: {log}", pytrace=False)
                    time.sleep(0.05)
            yield ImapServer(port, tls_port, mail / "Maildir")
        finally:
            process.terminate()
            try:
                process.wait(timeout=START_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
