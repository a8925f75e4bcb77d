"""The bounce mailbox: real Maildir folders holding bounces in the shapes mail servers send
(RFC 3464 reports from Postfix and Gmail, Exim's and qmail's plain-text ones, delays,
auto-replies, read receipts, garbage), read once each on SQLite and PostgreSQL; and a
suspended address sent nothing more by a real notify pass through a real SMTP server."""

from __future__ import annotations

import base64
import datetime as dt
import mailbox
import shutil
from email import message_from_string
from email.message import EmailMessage, Message
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest
from sqlalchemy import Engine

from publisher.delivery import (
    bounce_box,
    bounce_parse,
    bounces,
    notify,
    notify_report,
    outbox,
    signups,
)
from publisher.plans.dates import LONDON
from publisher.settings import Settings, SettingsError, load_settings
from tests.delivery.imap_server import (  # noqa: F401 (fixtures, found by pytest by name)
    PASSWORD,
    ImapServer,
    imap_server_fixture,
)
from tests.delivery.receivers import (  # noqa: F401 (fixtures, found by pytest by name)
    SmtpServer,
    TlsFiles,
    smtp_server_fixture,
    start_smtp_server_fixture,
    tls_files_fixture,
)
from tests.formats.examples import ROOT

T0 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
WINDOW = dt.timedelta(hours=72)
LEEDS = {"place": ["leeds"], "theme": [], "funding": []}
OURS = "alerts@plans.example.org"
USER_AT = "bounces@"


# --- bounces as mail servers write them ------------------------------------------------------


def original(to: str, message_id: str = "<abc123@plans.example.org>") -> EmailMessage:
    sent = EmailMessage()
    sent["From"] = f"Alerts <{OURS}>"
    sent["To"] = to
    sent["Subject"] = "New: Lunch clubs in Harehills"
    sent["Message-ID"] = message_id
    sent.set_content("A new opportunity in Leeds.")
    return sent


def status_part(*recipients: tuple[str, str, str, str]) -> Message:
    """A message/delivery-status part: the per-message block, then one per recipient
    (address, action, status, diagnostic)."""
    blocks = ["Reporting-MTA: dns; mx.example.net\nArrival-Date: Mon, 7 Dec 2026 09:00:00 +0000"]
    for address, action, status, diagnostic in recipients:
        block = f"Final-Recipient: rfc822; {address}\nAction: {action}\nStatus: {status}"
        if diagnostic:
            block += f"\nDiagnostic-Code: smtp; {diagnostic}"
        blocks.append(block)
    # Parsed, as a mail program reads it: the part is a list of field blocks.
    return message_from_string("Content-Type: message/delivery-status\n\n" + "\n\n".join(blocks))


def dsn(
    *recipients: tuple[str, str, str, str],
    returned: Message | None = None,
    headers_only: bool = False,
    subject: str = "Undelivered Mail Returned to Sender",
) -> bytes:
    """An RFC 3464 report as Postfix (the headers returned) or Gmail (the whole message)
    sends it."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "MAILER-DAEMON@mx.example.net (Mail Delivery System)"
    report["To"] = OURS
    report["Subject"] = subject
    report["Auto-Submitted"] = "auto-replied"  # RFC 3464 reports say so too
    report.attach(MIMEText("This is the mail system at host mx.example.net.\n\n"
                           "I'm sorry to have to inform you that your message could not\n"
                           "be delivered to one or more recipients.\n"))  # fmt: skip
    report.attach(status_part(*recipients))
    if returned is not None:
        if headers_only:
            head = MIMEText("", "rfc822-headers")
            head.set_payload(
                "".join(f"{k}: {v}\n" for k, v in returned.items())
            )  # only the headers come back
            report.attach(head)
        else:
            report.attach(MIMEMessage(returned))
    return report.as_bytes()


def exim_failure(address: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Mail Delivery System <Mailer-Daemon@mail.example.net>"
    message["To"] = OURS
    message["Subject"] = "Mail delivery failed: returning message to sender"
    message["X-Failed-Recipients"] = address
    message["Auto-Submitted"] = "auto-replied"
    message.set_content(
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        f"  {address}\n    SMTP error from remote mail server after RCPT TO:<{address}>:\n"
        f"    550 5.1.1 <{address}>: Recipient address rejected: User unknown\n\n"
        "------ This is a copy of the message, including all the headers. ------\n\n"
        f"From: {OURS}\nTo: {address}\nSubject: New: Lunch clubs\n"
    )
    return message.as_bytes()


def qmail_failure(address: str) -> bytes:
    message = EmailMessage()
    message["From"] = "MAILER-DAEMON@mail.example.net"
    message["To"] = OURS
    message["Subject"] = "failure notice"
    message.set_content(
        "Hi. This is the qmail-send program at mail.example.net.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        f"<{address}>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"
        "--- Below this line is a copy of the message.\n"
    )
    return message.as_bytes()


def exim_delay(address: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Mail Delivery System <Mailer-Daemon@mail.example.net>"
    message["To"] = OURS
    message["Subject"] = "Warning: message 1kXyZ-000123-AB delayed 24 hours"
    message.set_content(
        "This message was created automatically by mail delivery software.\n"
        "A message that you sent has not yet been delivered to one or more of its\n"
        f"recipients after more than 24 hours on the queue.\n\n  {address}\n"
        "    host mx.example.com: 451 4.3.0 Mailbox temporarily unavailable\n\n"
        "No action is required on your part. Delivery attempts will continue for some time.\n"
    )
    return message.as_bytes()


def out_of_office(address: str) -> bytes:
    message = EmailMessage()
    message["From"] = address
    message["To"] = OURS
    message["Subject"] = "Automatic reply: New: Lunch clubs in Harehills"
    message["Auto-Submitted"] = "auto-replied"
    message.set_content("I am away until Monday. This address does not exist for a week.")
    return message.as_bytes()


def read_receipt(address: str) -> bytes:
    report = MIMEMultipart("report", report_type="disposition-notification")
    report["From"] = address
    report["To"] = OURS
    report["Subject"] = "Read: New: Lunch clubs"
    report.attach(MIMEText("Your message was displayed."))
    report.attach(message_from_string(
        "Content-Type: message/disposition-notification\n\n"
        f"Final-Recipient: rfc822; {address}\n"
        "Disposition: manual-action/MDN-sent-manually; displayed\n"
    ))  # fmt: skip
    return report.as_bytes()


# --- reading one message -----------------------------------------------------------------------


def test_rfc_3464_reports_say_which_addresses_failed_for_good() -> None:
    postfix = bounce_parse.parse(
        dsn(("jo@example.org", "failed", "5.1.1",
             "550 5.1.1 <jo@example.org>: Recipient address rejected: User unknown"),
            returned=original("jo@example.org"), headers_only=True)
    )  # fmt: skip
    assert postfix is not None and postfix.permanent
    assert postfix.recipients == ("jo@example.org",)
    assert postfix.message_ids == ("<abc123@plans.example.org>",)
    assert postfix.status == "5.1.1" and "jo@example.org" not in postfix.diagnostic
    gmail = bounce_parse.parse(
        dsn(("Sam@Example.org", "failed", "5.2.1", "550-5.2.1 The email account that you "
             "tried to reach is disabled."), returned=original("sam@example.org", "<x9@h>"),
            subject="Delivery Status Notification (Failure)")
    )  # fmt: skip
    assert gmail is not None and gmail.permanent and gmail.recipients == ("sam@example.org",)
    assert gmail.message_ids == ("<x9@h>",)


def exchange_failure(address: str) -> bytes:
    """Exchange Online's report, whose delivery-status part is base64-encoded, as it sends
    it (the email package will not write a message/* part encoded, so written out here)."""
    status = (
        "Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com\r\n\r\n"
        f"Final-Recipient: rfc822;{address}\r\nAction: failed\r\nStatus: 5.1.10\r\n"
        "Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient "
        "not found by SMTP address lookup\r\n"
    )
    encoded = base64.encodebytes(status.encode()).decode().replace("\n", "\r\n")
    return (
        "From: Microsoft Outlook <postmaster@outlook.com>\r\nTo: alerts@plans.example.org\r\n"
        "Subject: Undeliverable: New: Lunch clubs\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        "Delivery has failed to these recipients or groups.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{encoded}"
        "--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <ex1@plans.example.org>\r\nTo: {address}\r\n\r\n--b1--\r\n"
    ).encode()


def test_an_encoded_delivery_status_is_decoded() -> None:
    found = bounce_parse.parse(exchange_failure("jo@example.org"))
    assert found is not None and found.permanent and found.recipients == ("jo@example.org",)
    assert found.status == "5.1.10" and found.message_ids == ("<ex1@plans.example.org>",)


def test_delays_and_mixed_reports_suspend_only_the_permanent_failures() -> None:
    delay = bounce_parse.parse(dsn(("jo@example.org", "delayed", "4.4.7", "451 try again later")))
    assert delay is not None and not delay.permanent and delay.recipients == ()
    # A failure whose status is 4.x.x is temporary, whatever the action says.
    odd = bounce_parse.parse(dsn(("jo@example.org", "failed", "4.2.2", "452 mailbox full")))
    assert odd is not None and not odd.permanent
    mixed = bounce_parse.parse(
        dsn(("jo@example.org", "delayed", "4.4.1", ""), ("sam@example.org", "failed", "5.1.2", ""))
    )
    assert mixed is not None and mixed.permanent and mixed.recipients == ("sam@example.org",)


def test_the_plain_text_shapes_of_exim_and_qmail_are_read() -> None:
    exim = bounce_parse.parse(exim_failure("jo@example.org"))
    assert exim is not None and exim.permanent and exim.recipients == ("jo@example.org",)
    assert exim.status == "5.1.1" and "550" in exim.diagnostic
    assert "jo@example.org" not in exim.diagnostic
    qmail = bounce_parse.parse(qmail_failure("sam@example.org"))
    assert qmail is not None and qmail.permanent and "sam@example.org" in qmail.recipients


def test_what_a_plain_bounce_quotes_of_the_returned_message_is_not_taken_for_its_own() -> None:
    """The copy of the alert names other addresses (a commissioner's contact, who may have
    signed up too) and its own words ("delayed"): only the failed address counts."""
    qmail = qmail_failure("jo@example.org").replace(
        b"--- Below this line is a copy of the message.\n",
        b"--- Below this line is a copy of the message.\n\n"
        b"Return-Path: <alerts@plans.example.org>\nTo: jo@example.org\n"
        b"Message-ID: <quoted-id@plans.example.org>\n\nThe round is delayed "
        b"a month. Ask kim@example.org, or write to grants@example.org.\n",
    )
    found = bounce_parse.parse(qmail)
    assert found is not None and found.permanent
    assert found.recipients == ("jo@example.org",)
    assert found.message_ids == ("<quoted-id@plans.example.org>",)


def test_delays_auto_replies_receipts_and_peoples_mail_suspend_no_one() -> None:
    warning = bounce_parse.parse(exim_delay("jo@example.org"))
    assert warning is not None and not warning.permanent
    assert bounce_parse.parse(out_of_office("jo@example.org")) is None
    assert bounce_parse.parse(read_receipt("jo@example.org")) is None
    person = EmailMessage()
    person["From"] = "jo@example.org"
    person["Subject"] = "Re: New: Lunch clubs"
    person.set_content("Thanks! Does this user unknown thing mean I am off the list?")
    assert bounce_parse.parse(person.as_bytes()) is None
    assert bounce_parse.parse(b"\x00\xff\xfe garbage \r\n\r\n\x80") is None
    assert bounce_parse.parse(b"") is None


# --- the mailbox, on both databases ------------------------------------------------------------


def confirmed(engine: Engine, address: str) -> signups.Signup:
    with engine.begin() as conn:
        signup = signups.ask(conn, address, LEEDS, "immediate", T0, WINDOW).signup
        assert signups.confirm(conn, signup.uid, T0) is not None
    return signup


def state_of(engine: Engine, uid: str) -> signups.SignupState:
    with engine.connect() as conn:
        found = signups.find(conn, uid)
    assert found is not None
    return found.state


def maildir(folder: Path, *messages: bytes) -> mailbox.Maildir:
    box = mailbox.Maildir(folder, create=True)
    for message in messages:
        box.add(mailbox.MaildirMessage(message))
    return box


def files(folder: Path) -> dict[str, list[str]]:
    return {sub: sorted(p.name for p in (folder / sub).iterdir()) for sub in ("new", "cur")}


def test_each_bounce_is_read_once_and_only_permanent_failures_suspend(
    database: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    jo, sam, kim, lee = (
        confirmed(database, f"{name}@example.org") for name in ("jo", "sam", "kim", "lee")
    )
    folder = tmp_path / "bounces"
    maildir(
        folder,
        dsn(("jo@example.org", "failed", "5.1.1", "550 5.1.1 User unknown"),
            returned=original("jo@example.org"), headers_only=True),
        exim_failure("SAM@example.org"),
        exim_delay("kim@example.org"),
        dsn(("kim@example.org", "delayed", "4.4.7", "")),
        out_of_office("lee@example.org"),
        read_receipt("lee@example.org"),
        qmail_failure("nobody@example.org"),  # not a sign-up (a channel's address, say)
        b"\x00\xff garbage that is no message at all \x80",
    )  # fmt: skip
    # A file that cannot be read (here: a folder where a message should be) is skipped.
    (folder / "new" / "1700000000.broken.host").mkdir()
    caplog.set_level("INFO", logger="publisher")

    report = bounces.read(database, str(folder), T0)

    assert report is not None and report.problem == ""
    assert report.counts() == {"read": 8, "suspended": 2, "delays": 2, "not_bounces": 3,
                               "unmatched": 1, "skipped": 1}  # fmt: skip
    assert state_of(database, jo.uid) is signups.SignupState.SUSPENDED
    assert state_of(database, sam.uid) is signups.SignupState.SUSPENDED
    assert state_of(database, kim.uid) is signups.SignupState.CONFIRMED
    assert state_of(database, lee.uid) is signups.SignupState.CONFIRMED
    # Read once: every message moved to cur/ and marked seen; nothing deleted; the
    # unreadable one left where it was, for next time.
    after = files(folder)
    assert after["new"] == ["1700000000.broken.host"]
    assert len(after["cur"]) == 8 and all(name.endswith(":2,S") for name in after["cur"])
    assert "cannot be read" in caplog.text
    assert "@example.org" not in caplog.text  # logs name no address
    again = bounces.read(database, str(folder), T0 + dt.timedelta(minutes=5))
    assert again is not None and again.read == 0 and again.skipped == 1
    # What `publisher outbox` says: the suspension and why, never the address.
    with database.connect() as conn:
        shown = notify_report.outbox_text([], outbox.backlog(conn), signups.counts(conn),
                                          signups.suspended(conn))  # fmt: skip
        assert bounces.suspended_after_bounces(conn) == 2
    assert f"suspended signup/{jo.uid}: the mail server sent a bounce" in shown
    assert "5.1.1" in shown and "@example.org" not in shown
    assert "2 suspended." in shown


def test_a_bounce_is_matched_by_the_returned_message_id_before_the_address(
    database: Engine, tmp_path: Path
) -> None:
    """Mail forwarded elsewhere bounces from the address it was forwarded to: the
    Message-ID of the returned message still says which sign-up it was."""
    jo = confirmed(database, "jo@example.org")
    item = outbox.NewItem(f"{jo.channel}|welcome|1", signups.OUTBOX_CHANNEL, "email",
                          {"to": [jo.address], "subject": "Welcome",
                           "message_id": "<welcome-jo@plans.example.org>"})  # fmt: skip
    with database.begin() as conn:
        outbox.enqueue(conn, [item], T0)
    folder = tmp_path / "bounces"
    returned = original("jo@example.org", "<welcome-jo@plans.example.org>")
    maildir(folder, dsn(("jo.smith@elsewhere.example", "failed", "5.1.1", "550 no such user"),
                        returned=returned))  # fmt: skip
    report = bounces.read(database, str(folder), T0)
    assert report is not None and report.suspended == 1
    assert state_of(database, jo.uid) is signups.SignupState.SUSPENDED


def test_messages_a_mail_program_has_listed_but_no_one_read_are_read_too(
    database: Engine, tmp_path: Path
) -> None:
    jo = confirmed(database, "jo@example.org")
    folder = tmp_path / "bounces"
    box = maildir(folder)
    listed = mailbox.MaildirMessage(exim_failure("jo@example.org"))
    listed.set_subdir("cur")  # seen by a mail program's listing, not opened (no S flag)
    box.add(listed)
    read_already = mailbox.MaildirMessage(exim_failure("jo@example.org"))
    read_already.set_subdir("cur")
    read_already.add_flag("S")
    box.add(read_already)
    report = bounces.read(database, str(folder), T0)
    assert report is not None and report.read == 1 and report.suspended == 1
    assert state_of(database, jo.uid) is signups.SignupState.SUSPENDED
    assert len(files(folder)["cur"]) == 2  # nothing deleted


def test_a_missing_mailbox_is_said_plainly_and_nothing_breaks(
    database: Engine, tmp_path: Path
) -> None:
    report = bounces.read(database, str(tmp_path / "nowhere"), T0)
    assert report is not None and "is not a Maildir folder" in report.problem
    assert "could not be read" in report.words()
    assert bounces.read(database, None, T0) is None


def test_the_setting_takes_a_folder_or_an_imap_address_without_its_password() -> None:
    settings = load_settings({"PUBLISHER_BOUNCE_MAILBOX": "/var/mail/bounces"})
    assert settings.bounce_mailbox == "/var/mail/bounces"
    imap = load_settings({"PUBLISHER_BOUNCE_MAILBOX": "imaps://bounces@mail.example.org/INBOX",
                          "PUBLISHER_BOUNCE_PASSWORD": "hunter2"})  # fmt: skip
    assert imap.bounce_password == "hunter2" and "hunter2" not in repr(imap)
    with pytest.raises(SettingsError, match="PUBLISHER_BOUNCE_MAILBOX") as raised:
        load_settings({"PUBLISHER_BOUNCE_MAILBOX": "imaps://bounces:hunter2@mail.example.org"})
    assert "hunter2" not in str(raised.value) and "PUBLISHER_BOUNCE_PASSWORD" in str(raised.value)
    for wrong in ("pop3://mail.example.org", "imaps://bounces@mail.example.org:99x/INBOX"):
        with pytest.raises(SettingsError, match="neither a folder nor an IMAP"):
            load_settings({"PUBLISHER_BOUNCE_MAILBOX": wrong})


# --- an IMAP mailbox, on a real IMAP server (Dovecot) ------------------------------------------


@pytest.mark.parametrize("scheme", ["imaps", "imap+starttls", "imap"])
def test_an_imap_bounce_folder_is_read_once_and_nothing_is_deleted(
    database: Engine, imap_server: ImapServer, tls_files: TlsFiles, scheme: str
) -> None:
    jo, kim = confirmed(database, "jo@example.org"), confirmed(database, "kim@example.org")
    imap_server.append(
        dsn(("jo@example.org", "failed", "5.1.1", "550 5.1.1 User unknown"),
            returned=original("jo@example.org"), headers_only=True),
        exim_delay("kim@example.org"),
        out_of_office("kim@example.org"),
    )  # fmt: skip
    url = imap_server.url(scheme)
    if scheme == "imap":  # as the notify pass opens it, from the two settings
        report = bounces.read(database, url, T0, PASSWORD)
    else:  # trusting the test's own certificate
        box = bounce_box.ImapBox(url, PASSWORD, ssl_context=tls_files.client_context())
        report = bounces.read(database, url, T0, box=box)
    assert report is not None
    assert report.problem == "", report.problem
    assert report.counts() == {"read": 3, "suspended": 1, "delays": 1, "not_bounces": 1,
                               "unmatched": 0, "skipped": 0}  # fmt: skip
    assert state_of(database, jo.uid) is signups.SignupState.SUSPENDED
    assert state_of(database, kim.uid) is signups.SignupState.CONFIRMED
    # Marked seen, as a mail program marks what a person opens; nothing deleted.
    assert [r"\Seen" in flags for flags in imap_server.flags()] == [True, True, True]
    again = bounces.read(database, url, T0, PASSWORD, box=bounce_box.ImapBox(
        url, PASSWORD, ssl_context=tls_files.client_context()))  # fmt: skip
    assert again is not None and again.read == 0 and again.problem == ""


def test_imap_messages_someone_has_read_are_left_and_a_wrong_password_is_said_plainly(
    database: Engine, imap_server: ImapServer, caplog: pytest.LogCaptureFixture
) -> None:
    jo = confirmed(database, "jo@example.org")
    client = imap_server.client()
    client.append("INBOX", "(\\Seen)", None, exim_failure("jo@example.org"))
    client.logout()
    url = imap_server.url("imap")
    report = bounces.read(database, url, T0, PASSWORD)
    assert report is not None and report.read == 0
    assert state_of(database, jo.uid) is signups.SignupState.CONFIRMED
    wrong = bounces.read(database, url, T0, "not-the-password")
    assert wrong is not None and "the server said no" in wrong.problem
    assert "not-the-password" not in wrong.problem + caplog.text
    unset = bounces.read(database, url, T0, None)
    assert unset is not None and "PUBLISHER_BOUNCE_PASSWORD is not set" in unset.problem
    nobody = bounces.read(database, f"imap://{USER_AT}127.0.0.1:1/INBOX", T0, PASSWORD)
    assert nobody is not None and "cannot connect" in nobody.problem


# --- a real notify pass ------------------------------------------------------------------------


def test_an_address_suspended_by_a_bounce_gets_nothing_more_from_a_notify_pass(
    database: Engine, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    plans = tmp_path / "plans"
    shutil.copytree(ROOT / "plans", plans, ignore=shutil.ignore_patterns("channels"))
    folder = tmp_path / "bounces"
    maildir(folder)
    settings = Settings(smtp_url=smtp_server.url(), mail_from=OURS,
                        bounce_mailbox=str(folder))  # fmt: skip
    sunday = dt.datetime(2026, 11, 29, 10, 0, tzinfo=LONDON).astimezone(dt.UTC)

    def run(moment: dt.datetime) -> notify.NotifyReport:
        return notify.run_pass(plans, settings, lambda: moment, engine=database)

    run(sunday)  # the first pass records what there is
    jo, sam = confirmed(database, "jo@example.org"), confirmed(database, "sam@example.org")
    run(sunday + dt.timedelta(minutes=5))
    welcomes = {m["To"]: m for m in smtp_server.messages}
    assert set(welcomes) == {"jo@example.org", "sam@example.org"}
    # Jo's mailbox is gone: the receiving server accepted the welcome, then bounced it.
    maildir(folder, dsn(("jo@example.org", "failed", "5.1.1", "550 5.1.1 User unknown"),
                        returned=welcomes["jo@example.org"], headers_only=True))  # fmt: skip
    (plans / "test-borough.yaml").write_text(
        "schema: 1\ncommissioner:\n  id: test-borough\n  name: Test Borough Council\n"
        "  kind: council\n  website: https://example.org/tb\n"
        "  contact: {name: Grants, email: grants@example.org}\nopportunities:\n"
        "  - id: lunch-clubs\n    title: Lunch clubs in Harehills\n    summary: >-\n"
        "      Grants for groups.\n    status: planning\n    places: [harehills]\n"
        "    themes: [loneliness]\n    funding: grant\n    route: open-grant-round\n"
        "    value: {total: 40000}\n    unknown:\n      tender_opens: Not set.\n"
        "      service_starts: Not set.\n      duration: Not set.\n",
        encoding="utf-8",
    )
    report = run(sunday + dt.timedelta(minutes=10))
    assert report.bounces is not None and report.bounces.suspended == 1
    said = notify_report.text(report)
    assert "1 address suspended after a permanent failure" in said
    assert "jo@example.org" not in said
    news = smtp_server.messages[2:]
    assert [m["To"] for m in news] == ["sam@example.org"]
    assert "Lunch clubs in Harehills" in news[0]["Subject"]
    run(sunday + dt.timedelta(minutes=15))
    assert len(smtp_server.messages) == 3  # and nothing later either
    assert state_of(database, jo.uid) is signups.SignupState.SUSPENDED
    assert state_of(database, sam.uid) is signups.SignupState.CONFIRMED


def test_publisher_notify_reads_the_bounce_mailbox_and_publisher_outbox_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from publisher import cli  # noqa: PLC0415
    from publisher.delivery.database import connect, create_or_upgrade  # noqa: PLC0415

    plans = tmp_path / "plans"
    shutil.copytree(ROOT / "plans", plans, ignore=shutil.ignore_patterns("channels"))
    folder = tmp_path / "bounces"
    maildir(folder, exim_failure("jo@example.org"))
    url = f"sqlite:///{tmp_path / 'publisher.db'}"
    for name in ("PUBLISHER_CONFIG", "SMTP_URL", "PUBLISHER_BOUNCE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PUBLISHER_MAILDIR", str(tmp_path / "sent"))
    monkeypatch.setenv("PUBLISHER_BOUNCE_MAILBOX", str(folder))
    engine = connect(url)
    create_or_upgrade(engine)
    jo = confirmed(engine, "jo@example.org")
    engine.dispose()

    assert cli.main(["notify", "--plans", str(plans)]) == 0
    said = capsys.readouterr().out
    assert "Bounce mailbox: 1 message read: 1 address suspended after a permanent failure" in said
    assert cli.main(["outbox"]) == 0
    shown = capsys.readouterr().out
    assert f"suspended signup/{jo.uid}: the mail server sent a bounce" in shown
    assert "@example.org" not in said + shown
    assert cli.main(["notify", "--plans", str(plans)]) == 0  # read once: nothing new
    assert "Bounce mailbox: 0 messages read" in capsys.readouterr().out
