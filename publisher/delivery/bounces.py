"""The bounce mailbox (PUBLISHER_BOUNCE_MAILBOX): bounces that come back after the mail
server accepted a message, read once each, and the sign-ups whose address failed for good
suspended, as a 5xx from the mail server suspends them (signup_mail.Guard).

What a message says is read by bounce_parse.py: only a permanent failure (5.x.x) suspends
an address; delays (4.x.x), auto-replies, read receipts and anything else are left alone.
A bounce is matched to a sign-up by the Message-ID of the returned message (every message
the publisher sends has one, kept with it in the outbox), else by the address that failed.

The mailbox (bounce_box.py) is a Maildir folder or a folder on an IMAP server. Each unread
message is read once, then marked seen; nothing is ever deleted. Messages that cannot be
read are skipped with a log line and tried again next time."""

from __future__ import annotations

import datetime as dt
import imaplib
import logging
import re
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select

from publisher.delivery import signups
from publisher.delivery.bounce_box import Box, ImapBox, mailbox, plain
from publisher.delivery.bounce_parse import Bounce, parse
from publisher.delivery.database import outbox
from publisher.plans.errors import count

log = logging.getLogger("publisher")


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
        report.problem = f"{box.describe}: the connection broke: {plain(error)}"
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
            name, getattr(error, "strerror", None) or plain(error),
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
