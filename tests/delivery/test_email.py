"""Email delivery against a real SMTP server (aiosmtpd) and a real Maildir folder."""

from __future__ import annotations

import errno
import mailbox
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import icalendar
import pytest

from publisher.delivery.email import MaildirSender, SmtpSender, email_sender
from publisher.delivery.email_message import build_message
from publisher.delivery.outcome import Outcome, Result
from tests.delivery.receivers import (  # noqa: F401 (fixtures, found by pytest by name)
    HOST,
    SmtpServer,
    TlsFiles,
    TricklingPeer,
    free_port,
    smtp_server_fixture,
    start_smtp_server_fixture,
    start_trickling_peer_fixture,
    tls_files_fixture,
    trickling_smtp,
)

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
FROM = "Forward plan publisher <publisher@example.org>"
CALENDAR = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:PUBLISH\r\n"
    "BEGIN:VEVENT\r\nUID:event-1@example.org\r\nDTSTAMP:20261123T093000Z\r\n"
    "DTSTART;VALUE=DATE:20270115\r\nSUMMARY:Market event: home care\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)


def payload(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "to": ["bulletin-editor@example.org"],
        "subject": "New opportunity: Home care in Leeds",
        "text": "Leeds City Council plans to buy home care.\nTender opens in March 2027 – £2m.\n",
        "html": "<p>Leeds City Council plans to buy home care.</p>",
        "message_id": "<abc123@forward-plan-publisher>",
        "list_id": "Leeds CVS bulletin <bulletin.leeds-cvs.publisher>",
        "settings_url": "https://publisher.example.org/channels/leeds-cvs/bulletin",
        "attachments": [
            {"filename": "event.ics", "content_type": "text/calendar", "text": CALENDAR}
        ],
    }
    item.update(changes)
    return item


@pytest.fixture
def connect() -> Iterator[Callable[..., SmtpSender]]:
    """SmtpSenders with a fixed clock, closed after the test."""
    senders: list[SmtpSender] = []

    def make(url: str, **options: Any) -> SmtpSender:
        sender = SmtpSender(url, FROM, clock=lambda: NOW, **options)
        senders.append(sender)
        return sender

    yield make
    for sender in senders:
        sender.close()


def test_a_message_arrives_with_text_html_and_calendar(smtp_server: SmtpServer, connect) -> None:
    outcome = connect(smtp_server.url()).send("key-1", payload())

    assert outcome.result is Result.SENT
    [received] = smtp_server.handler.received
    assert received.mail_from == "publisher@example.org"
    assert received.rcpt_tos == ["bulletin-editor@example.org"]
    message = received.message
    assert message["Message-ID"] == "<abc123@forward-plan-publisher>"
    assert message["List-Id"] == "Leeds CVS bulletin <bulletin.leeds-cvs.publisher>"
    assert message["List-Unsubscribe"] == (
        "<https://publisher.example.org/channels/leeds-cvs/bulletin>"
    )
    assert message["From"] == FROM
    assert message["To"] == "bulletin-editor@example.org"
    assert message["Date"].datetime == NOW
    plain = message.get_body(("plain",))
    rich = message.get_body(("html",))
    assert isinstance(plain, EmailMessage) and isinstance(rich, EmailMessage)
    assert "£2m" in plain.get_content()
    assert rich.get_content().strip() == "<p>Leeds City Council plans to buy home care.</p>"
    [attachment] = message.iter_attachments()
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "PUBLISH"
    assert attachment.get_content_charset() == "utf-8"
    assert attachment.get_filename() == "event.ics"
    calendar = icalendar.Calendar.from_ical(attachment.get_content())
    assert [event["SUMMARY"] for event in calendar.walk("VEVENT")] == ["Market event: home care"]


def test_a_resent_item_keeps_its_message_id(smtp_server: SmtpServer, connect) -> None:
    sender = connect(smtp_server.url())
    sender.send("key-1", payload())
    sender.send("key-1", payload())

    assert [m["Message-ID"] for m in smtp_server.messages] == [
        "<abc123@forward-plan-publisher>"
    ] * 2


def test_a_plan_title_cannot_add_headers(smtp_server: SmtpServer, connect) -> None:
    subject = "Title\r\nBcc: victim@example.org\r\n\r\n<script>alert(1)</script>"
    outcome = connect(smtp_server.url()).send("key-1", payload(subject=subject))

    assert outcome.result is Result.SENT
    [received] = smtp_server.handler.received
    assert received.rcpt_tos == ["bulletin-editor@example.org"]
    assert received.message["Bcc"] is None
    assert received.message.get_all("Subject") == [
        "Title Bcc: victim@example.org <script>alert(1)</script>"
    ]
    assert b"\nBcc:" not in received.raw
    # The HTML part is carried as the composer gave it (escaping is the composer's job).
    rich = received.message.get_body(("html",))
    assert isinstance(rich, EmailMessage)
    assert rich.get_content().strip() == "<p>Leeds City Council plans to buy home care.</p>"


def test_a_list_id_with_line_breaks_stays_one_header() -> None:
    message = build_message(payload(list_id="Leeds CVS\r\nBcc: x@example.org <a.b>"), FROM, NOW)

    parsed = message_from_bytes(message.as_bytes(), policy=default)
    assert parsed["Bcc"] is None
    assert parsed["List-Id"] == '"Leeds CVS Bcc: x@example.org" <a.b>'


@pytest.mark.parametrize(
    "address",
    [
        "one@example.org, two@example.org",
        "editor@example.org\r\nBcc: victim@example.org",
        "editor@example.org\nX-Injected: yes",
        "not an address",
        "editor@",
        '"quoted"@example.org',
    ],
)
def test_an_address_that_is_not_one_address_fails_naming_it(
    smtp_server: SmtpServer, connect, address: str
) -> None:
    outcome = connect(smtp_server.url()).send("key-1", payload(to=[address]))

    assert outcome.result is Result.FAILED
    assert repr(address) in outcome.reason
    assert "is not a single email address" in outcome.reason
    assert smtp_server.connections == 0  # refused before any connection


def test_fifty_messages_share_one_connection(smtp_server: SmtpServer, connect) -> None:
    sender = connect(smtp_server.url())
    outcomes = [
        sender.send(f"key-{n}", payload(message_id=f"<m{n}@forward-plan-publisher>"))
        for n in range(50)
    ]

    assert {outcome.result for outcome in outcomes} == {Result.SENT}
    assert len(smtp_server.messages) == 50
    assert smtp_server.connections == 1


def test_a_mail_server_that_is_down_means_retry_then_sent_once_it_is_up(
    start_smtp_server: Callable[..., SmtpServer], connect
) -> None:
    port = free_port()
    sender = connect(f"smtp://{HOST}:{port}")

    down = sender.send("key-1", payload())
    assert down.result is Result.RETRY
    assert down.reason == f"the mail server at {HOST}:{port} did not answer: connection refused"

    server = start_smtp_server(port)
    assert sender.send("key-1", payload()).result is Result.SENT
    assert len(server.messages) == 1


def test_a_dropped_connection_is_opened_again_once(smtp_server: SmtpServer, connect) -> None:
    sender = connect(smtp_server.url())
    assert sender.send("key-1", payload()).result is Result.SENT
    smtp_server.stop()  # closes the connection the sender holds
    smtp_server.start()

    assert sender.send("key-2", payload()).result is Result.SENT
    assert len(smtp_server.messages) == 2
    assert smtp_server.connections == 2


def test_a_server_that_never_answers_means_retry_after_the_timeout(connect) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does) but never greets
        silent.bind((HOST, 0))
        silent.listen()
        port = silent.getsockname()[1]
        outcome = connect(f"smtp://{HOST}:{port}", timeout=0.5).send("key-1", payload())

    assert outcome.result is Result.RETRY
    assert outcome.reason == f"the mail server at {HOST}:{port} did not answer within 0.5 seconds"


@pytest.mark.parametrize("at", ["greeting", "EHLO", "MAIL", "RCPT", "."])
def test_a_server_that_trickles_an_answer_is_cut_off_at_the_timeout(
    start_trickling_peer: Callable[..., TricklingPeer], connect, at: str
) -> None:
    # A byte every 0.2 seconds: no read waits anywhere near the timeout, so a timeout per
    # read would wait for ever; the whole message must be over once 1 second has passed.
    peer = start_trickling_peer(trickling_smtp(at), gap=0.2)
    sender = connect(f"smtp://{HOST}:{peer.port}", timeout=1)
    outcomes: list[Outcome] = []
    sending = threading.Thread(target=lambda: outcomes.append(sender.send("key-1", payload())))
    sending.start()
    sending.join(10)  # ten times the timeout: only a sender that never gives up takes this long

    assert not sending.is_alive(), f"the sender was still reading after 10 seconds ({at})"
    where = f"the mail server at {HOST}:{peer.port}"
    assert outcomes == [Outcome.retry(f"{where} did not answer within 1 seconds")]
    assert peer.closed.wait(10)  # and it hung up


def test_a_name_lookup_that_hangs_means_retry_after_the_timeout(connect) -> None:
    # A resolver stands in for a DNS server that never answers (tests never ask DNS).
    answered = threading.Event()

    def hangs(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        answered.wait(10)
        return socket.getaddrinfo(HOST, free_port(), *args, **kwargs)

    sender = connect("smtp://mail.test:25", timeout=0.5, resolve=hangs)
    outcome = sender.send("key-1", payload())
    answered.set()

    assert outcome == Outcome.retry(
        "the mail server at mail.test:25 did not answer within 0.5 seconds"
    )


def test_a_permanent_refusal_fails(smtp_server: SmtpServer, connect) -> None:
    smtp_server.handler.data_reply = "550 5.7.1 Message rejected as spam"
    outcome = connect(smtp_server.url()).send("key-1", payload())

    assert outcome.result is Result.FAILED
    assert "550 5.7.1 Message rejected as spam" in outcome.reason


def test_a_temporary_refusal_means_retry(smtp_server: SmtpServer, connect) -> None:
    smtp_server.handler.data_reply = "451 4.3.0 Try again later"
    outcome = connect(smtp_server.url()).send("key-1", payload())

    assert outcome.result is Result.RETRY
    assert "451 4.3.0 Try again later" in outcome.reason


def test_every_recipient_refused_fails_naming_them(smtp_server: SmtpServer, connect) -> None:
    smtp_server.handler.refuse_recipients["gone@example.org"] = "550 5.1.1 No such user"
    outcome = connect(smtp_server.url()).send("key-1", payload(to=["gone@example.org"]))

    assert outcome.result is Result.FAILED
    assert "gone@example.org (550 5.1.1 No such user)" in outcome.reason


def test_some_recipients_refused_is_sent_naming_them(smtp_server: SmtpServer, connect) -> None:
    smtp_server.handler.refuse_recipients["gone@example.org"] = "550 5.1.1 No such user"
    to = ["gone@example.org", "editor@example.org"]
    outcome = connect(smtp_server.url()).send("key-1", payload(to=to))

    assert outcome.result is Result.SENT
    assert "gone@example.org (550 5.1.1 No such user)" in outcome.reason
    assert smtp_server.handler.received[0].rcpt_tos == ["editor@example.org"]


# The fixture's server allows AUTH without TLS on purpose; aiosmtpd rightly warns of it.
PLAIN_AUTH = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@PLAIN_AUTH
def test_login_with_a_percent_encoded_password(
    start_smtp_server: Callable[..., SmtpServer], connect
) -> None:
    server = start_smtp_server(login=("publisher", "s3cret p@ss:/"))
    outcome = connect(server.url("publisher", "s3cret%20p%40ss%3A%2F")).send("key-1", payload())

    assert outcome.result is Result.SENT
    assert len(server.messages) == 1


@PLAIN_AUTH
def test_a_wrong_password_fails(start_smtp_server: Callable[..., SmtpServer], connect) -> None:
    server = start_smtp_server(login=("publisher", "right"))
    outcome = connect(server.url("publisher", "wrong")).send("key-1", payload())

    assert outcome.result is Result.FAILED
    assert "did not accept the user name and password in SMTP_URL" in outcome.reason
    assert "wrong" not in outcome.reason
    assert server.messages == []


def test_starttls_then_login(
    start_smtp_server: Callable[..., SmtpServer], tls_files: TlsFiles, connect
) -> None:
    server = start_smtp_server(login=("publisher", "secret"), tls=tls_files)
    url = server.url("publisher", "secret")
    assert url.startswith("smtp+starttls://")
    sender = connect(url, ssl_context=tls_files.client_context())

    assert sender.send("key-1", payload()).result is Result.SENT
    assert sender.send("key-2", payload()).result is Result.SENT
    assert len(server.messages) == 2
    assert server.connections == 1


def test_implicit_tls(
    start_smtp_server: Callable[..., SmtpServer], tls_files: TlsFiles, connect
) -> None:
    server = start_smtp_server(tls=tls_files, implicit_tls=True)
    url = server.url()
    assert url.startswith("smtps://")

    assert connect(url, ssl_context=tls_files.client_context()).send("k", payload()).result == (
        Result.SENT
    )
    assert len(server.messages) == 1


def test_starttls_asked_of_a_server_without_it_fails(smtp_server: SmtpServer, connect) -> None:
    outcome = connect(smtp_server.url().replace("smtp://", "smtp+starttls://")).send("k", payload())

    assert outcome.result is Result.FAILED
    assert "does not offer what SMTP_URL asks for" in outcome.reason
    assert smtp_server.messages == []  # nothing is sent in the clear instead


def test_an_untrusted_certificate_means_retry(
    start_smtp_server: Callable[..., SmtpServer], tls_files: TlsFiles, connect
) -> None:
    server = start_smtp_server(tls=tls_files)
    outcome = connect(server.url()).send("key-1", payload())  # the system's trusted CAs only

    assert outcome.result is Result.RETRY
    assert outcome.reason.startswith(
        f"could not make a secure connection to the mail server at {HOST}"
    )
    assert server.messages == []


def test_without_smtp_url_mail_goes_to_a_maildir(tmp_path: Path) -> None:
    sender = email_sender(None, tmp_path / "mail", FROM)

    assert isinstance(sender, MaildirSender)
    assert sender.describe() == (
        f"No SMTP_URL is set, so mail is written to the folder {tmp_path / 'mail'}/"
        " (open it with any mail program that reads Maildir)"
    )
    assert sender.send("key-1", payload()).result is Result.SENT
    [stored] = mailbox.Maildir(tmp_path / "mail", create=False).values()
    parsed = message_from_bytes(stored.as_bytes(), policy=default)
    assert parsed["Message-ID"] == "<abc123@forward-plan-publisher>"
    assert parsed["Subject"] == "New opportunity: Home care in Leeds"
    [file] = (tmp_path / "mail" / "new").iterdir()
    assert b"\r\n" not in file.read_bytes()


def test_with_smtp_url_mail_goes_by_smtp(tmp_path: Path) -> None:
    sender = email_sender("smtp+starttls://me%40example.org:pw@mail.example.org", tmp_path, FROM)

    assert isinstance(sender, SmtpSender)
    assert sender.describe() == (
        "Mail is sent through the mail server at mail.example.org:587 using STARTTLS,"
        " logging in as me@example.org"
    )


@pytest.mark.parametrize("url", ["http://mail.example.org", "smtp://", "smtp://host:99999"])
def test_an_unusable_smtp_url_is_reported_at_start(tmp_path: Path, url: str) -> None:
    with pytest.raises(ValueError, match="SMTP_URL"):
        email_sender(url, tmp_path, FROM)


def test_an_unusable_sender_address_is_reported_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="MAIL_FROM"):
        email_sender(None, tmp_path, "publisher@example.org\r\nBcc: x@example.org")


def test_channels_writing_a_new_maildir_at_once_all_deliver(tmp_path: Path) -> None:
    """Each channel sends in its own thread: the first messages of a pass reach a Maildir
    that does not exist yet at the same moment, and none of them may be turned back."""
    for attempt in range(20):
        folder = tmp_path / f"mail-{attempt}"
        start = threading.Barrier(8)

        def send(number: int, folder: Path = folder, start: threading.Barrier = start) -> Result:
            sender = MaildirSender(folder, FROM)
            start.wait()
            return sender.send(f"key-{number}", payload()).result

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(send, range(8)))
        assert results == [Result.SENT] * 8
        assert len(mailbox.Maildir(folder, create=False)) == 8


def test_a_folder_that_cannot_be_written_means_retry(tmp_path: Path) -> None:
    blocked = tmp_path / "mail"
    blocked.write_text("a file where the Maildir folder should be")
    outcome = MaildirSender(blocked, FROM).send("key-1", payload())

    assert outcome.result is Result.RETRY
    assert outcome.reason.startswith(f"could not write mail to the folder {blocked}/")


def test_a_full_disk_means_retry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(self: mailbox.Maildir, message: object) -> str:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(mailbox.Maildir, "add", full)  # a real full disk is not at hand
    outcome = MaildirSender(tmp_path / "mail", FROM).send("key-1", payload())

    assert outcome.result is Result.RETRY
    assert outcome.reason == f"the disk holding the folder {tmp_path / 'mail'}/ is full"
