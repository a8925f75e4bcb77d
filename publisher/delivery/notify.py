"""One notify pass: compare the plans with what was last published, queue the announcements,
reminders and digests that are due, record the new snapshot in the same transaction (so
nothing is lost), then dispatch the outbox. `publisher notify` and the scheduler run this.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, and_, select, update

from publisher.changes.diff import Kind, canonical, compare, version_of
from publisher.changes.wording import sentence
from publisher.delivery import (
    bounces,
    channels,
    messages,
    notify_state,
    outbox,
    recipients,
    reminders,
    signup_digests,
    signup_mail,
    signups,
    snapshot,
    welcome,
)
from publisher.delivery.channels import Subscriber
from publisher.delivery.chat_sender import chat_senders
from publisher.delivery.database import connect, create_or_upgrade, digest_entries, insert_new
from publisher.delivery.database import outbox as outbox_table
from publisher.delivery.email import email_sender
from publisher.delivery.outcome import Sender
from publisher.delivery.webhook import WebhookSender
from publisher.model.changelog import site_names
from publisher.model.from_plan import view_in
from publisher.model.read import load_site
from publisher.model.views import (
    DATE_LABELS,
    CommissionerView,
    OpportunityView,
    SiteData,
)
from publisher.plans.dates import LONDON, MONTHS
from publisher.plans.errors import Problem
from publisher.plans.model import GRANT_FUNDING, EmailChannel, Opportunity
from publisher.plans.reference_files import read_reference_files
from publisher.settings import Settings

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class Announcement:
    """A change that matters to one opportunity, to tell every channel that wants it."""

    view: OpportunityView
    event: str  # new | changed | cancelled | withdrawn | returned
    version: str
    lines: list[str]


@dataclass
class NotifyReport:
    first_run: bool = False
    announcements: list[Announcement] = field(default_factory=list)
    queued: list[outbox.NewItem] = field(default_factory=list)
    waiting: int = 0  # entries put aside for daily or weekly digests
    problems: list[Problem] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # plan files left out: nothing announced
    dispatch: outbox.DispatchReport | None = None
    mail: str = ""  # where mail goes, in words
    # The plans are not (yet) the ones the served site was built from: nothing new was
    # announced or recorded this pass, only what was already queued was sent.
    unpublished: bool = False
    bounces: bounces.BounceReport | None = None  # the bounce mailbox read, when one is set
    # The plans, channels and sign-ups are as the last full pass found them, and no
    # reminder or digest has fallen due since: nothing was read, only the outbox was sent
    # (the problems and held files are those that pass found).
    unchanged: bool = False


def _announcements(
    site: SiteData,
    stored: dict[str, snapshot.Published],
    current: dict[str, OpportunityView],
    versions: dict[str, str],
) -> Iterator[Announcement]:
    """`versions`: each current opportunity's version, as written (`_written`)."""
    names = site_names(site)
    for uid in sorted(stored.keys() | current.keys()):
        before, view = stored.get(uid), current.get(uid)
        if view is not None and (before is None or before.withdrawn_at is not None):
            yield Announcement(view, "new" if before is None else "returned", versions[uid], [])
            continue
        if before is None or before.withdrawn_at is not None:
            continue
        if view is not None and before.version == versions[uid]:
            continue  # the same content: nothing to compare
        old = _model(before.content)
        if old is None:
            continue
        if view is None:
            gone = _view(site, uid, old)
            changes = [c for c in compare(old, None) if c.is_news]
            if changes:
                yield Announcement(gone, "withdrawn", f"{before.version}-withdrawn", [])
            continue
        news = [c for c in compare(old, _as_written(view)) if c.is_news]
        if news:
            grant = view.item.funding in GRANT_FUNDING
            cancelled = any(c.kind is Kind.CANCELLED for c in news)
            yield Announcement(
                view,
                "cancelled" if cancelled else "changed",
                versions[uid],
                [sentence(c, grant, names) for c in news],
            )


def _as_written(view: OpportunityView) -> Opportunity:
    """The entry as its plan file wrote it: an example plan's dates move to today as it is
    read (plans/examples.py), and that move is not news, so it is neither compared nor
    recorded; reminders count from the moved dates, the ones the site shows."""
    return view.written or view.item


def _written(current: dict[str, OpportunityView]) -> dict[str, str]:
    """Each opportunity as written (`_as_written`), as `diff.canonical` text: made once a
    pass, for its version and, when that changed, its content."""
    return {uid: canonical(_as_written(view)) for uid, view in current.items()}


def _model(content: dict[str, Any]) -> Opportunity | None:
    try:
        return Opportunity.model_validate(content)
    except ValueError:
        return None


def _view(site: SiteData, uid: str, item: Opportunity) -> OpportunityView:
    """A view of an opportunity no longer in the plans, to announce its withdrawal."""
    commissioner_id = uid.split("/", 1)[0]
    commissioner = next((c for c in site.commissioners if c.id == commissioner_id), None)
    return view_in(site, commissioner or CommissionerView.gone(commissioner_id), item)


def _existing(conn: Connection, keys: set[str], split: bool = False) -> set[str]:
    """Keys already queued or put aside, so their messages are not composed again; with
    `split`, also those already split into an item per address (recipients.py)."""
    found: set[str] = set()
    ordered = sorted(keys)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        found.update(conn.scalars(select(outbox_table.c.key).where(outbox_table.c.key.in_(chunk))))
        found.update(
            conn.scalars(select(digest_entries.c.key).where(digest_entries.c.key.in_(chunk)))
        )
    for key in ordered if split else ():
        low, high = recipients.split_range(key)
        column = outbox_table.c.key
        if key not in found and conn.scalar(select(column).where(column > low, column < high)):
            found.add(key)
    return found


def _route(
    conn: Connection,
    site: SiteData,
    subscriber: Subscriber,
    made: list[messages.Entry],
    now: dt.datetime,
    report: NotifyReport,
) -> None:
    """Queue each entry at once (immediate channels) or put it aside for the next digest."""
    if subscriber.channel.cadence == "immediate":
        for one in made:
            found = messages.message(site, subscriber, [one], digest=False)
            report.queued.append(
                outbox.NewItem(one.key, subscriber.uid, subscriber.kind,
                               messages.payload(subscriber, found, one.key, site.base_url))
            )  # fmt: skip
        return
    due = channels.next_digest(subscriber, now)
    if not made:
        return
    rows = [
        {"key": one.key, "channel": subscriber.uid, "due_at": due, "created_at": now,
         "payload": json.dumps(one.to_json(), sort_keys=True, ensure_ascii=False)}
        for one in made
    ]  # fmt: skip
    conn.execute(insert_new(conn, digest_entries), rows)
    report.waiting += len(rows)


def _digests(
    conn: Connection,
    site: SiteData,
    subscriber: Subscriber,
    now: dt.datetime,
    report: NotifyReport,
    made: _Entries,
) -> None:
    """The channel's digest, when entries put aside for it have come due."""
    waiting = conn.execute(
        select(digest_entries)
        .where(and_(digest_entries.c.channel == subscriber.uid, digest_entries.c.digest.is_(None),
                    digest_entries.c.due_at <= now))
        .order_by(digest_entries.c.id)
    ).all()  # fmt: skip
    if not waiting:
        return
    due = max(row.due_at for row in waiting)
    key = f"{subscriber.uid}|digest|{due.isoformat()}"
    waited = [messages.Entry.from_json(json.loads(row.payload)) for row in waiting]
    day = due.astimezone(LONDON).date()
    period = f"{day.day} {MONTHS[day.month - 1]} {day.year}"
    closing = _closing_soon(site, subscriber, {one.uid for one in waited}, made)
    found = messages.message(site, subscriber, waited, digest=True, period=period, closing=closing)
    report.queued.append(
        outbox.NewItem(key, subscriber.uid, subscriber.kind,
                       messages.payload(subscriber, found, key, site.base_url))
    )  # fmt: skip
    conn.execute(
        update(digest_entries)
        .where(digest_entries.c.id.in_([row.id for row in waiting]))
        .values(digest=key)
    )


def _welcome(site: SiteData, due: welcome.Welcome, entries: _Entries, report: NotifyReport) -> None:
    """A channel's welcome goes at once, whatever its cadence: it starts the channel off."""
    subscriber = due.subscriber
    shown = due.views[: welcome.MOST]
    made = [entries.maker(view, due.key, "welcome", [])() for view in shown]
    found = messages.message(
        site, subscriber, made, digest=False, kind="welcome", widened=due.widened,
        more=len(due.views) - len(shown),
    )  # fmt: skip
    report.queued.append(
        outbox.NewItem(due.key, subscriber.uid, subscriber.kind,
                       messages.payload(subscriber, found, due.key, site.base_url))
    )  # fmt: skip


def _closing_soon(
    site: SiteData, subscriber: Subscriber, told: set[str], made: _Entries
) -> list[messages.Entry]:
    """A digest's last list: what is open and closes within the channel's `closing_soon`,
    soonest first, leaving out what the digest already tells of. Each entry is made once a
    pass, however many digests list it."""
    within = subscriber.channel.closing_soon
    if within is None:
        return []
    days = channels.offset(within).days
    found = [
        v
        for v in site.opportunities
        if v.is_open and v.closes is not None and v.days_left is not None
        and v.days_left <= days and v.uid not in told and channels.wants(subscriber, v)
    ]  # fmt: skip
    label = DATE_LABELS["tender_closes"]
    return [
        made.maker(
            v, "", "closing", [messages.reminder_line(label[1 if v.is_grant else 0], v.closes)]
        )()
        for v in sorted(found, key=OpportunityView.sort_key)
    ]


def senders(settings: Settings) -> dict[str, Callable[[], Sender]]:
    return {
        "email": lambda: email_sender(settings.smtp_url, settings.maildir, settings.mail_from),
        "webhook": lambda: WebhookSender(
            timeout=settings.webhook_timeout, allow_private=settings.allow_private_webhooks
        ),
        **chat_senders(settings.webhook_timeout, settings.allow_private_webhooks),
    }


def run_pass(
    plans: Path,
    settings: Settings,
    clock: Clock,
    *,
    dry_run: bool = False,
    engine: Engine | None = None,
    send: dict[str, Callable[[], Sender]] | None = None,
    stop: threading.Event | None = None,
    published: Callable[[], bool] | None = None,
) -> NotifyReport:
    """Compare, queue, record and dispatch. With `dry_run`, nothing is recorded or sent:
    the report says what would be. With `published` (the service), changes are announced
    only when it says the plans on disk are those the served site was built from, both
    before and after they are read: a message never links to a notice not yet published.
    Otherwise the pass only sends what was queued before, and says so in the report."""
    now = clock()
    engine = engine or connect(settings.database_url)
    create_or_upgrade(engine)
    # Bounces first: an address that failed for good is sent nothing more this pass.
    bounced = (
        None if dry_run
        else bounces.read(engine, settings.bounce_mailbox, now, settings.bounce_password)
    )  # fmt: skip
    if published is not None and not published():
        return _dispatch_only(engine, settings, clock, send, stop, bounced)
    today = now.astimezone(LONDON).date()
    # What the pass reads, before it reads it: a change made while it reads makes the next
    # pass read again (recorded after, it could hide that change for good).
    with engine.connect() as conn:
        inputs, raws = notify_state.inputs(conn, plans, today, settings.base_url)
        last = None if dry_run else notify_state.load(conn)
        unchanged = (
            last is not None and last.inputs == inputs and (last.wake is None or now < last.wake)
        )
    if last is not None and unchanged:
        return _unchanged(engine, settings, clock, send, stop, last, bounced)
    # Places, themes and channel files are read once, for the site and the channels alike.
    # Each from the bytes read for `inputs`: every file is read once a pass, and the digest
    # recorded is of what was read.
    files = read_reference_files(plans, raws)
    # Each plan file read again only when it changed.
    site, problems = load_site(plans, today, settings.base_url, files=files, reuse=True, raws=raws)
    if published is not None and not published():  # changed while they were read
        return _dispatch_only(engine, settings, clock, send, stop, bounced)
    subscribers, channel_problems = channels.load_channels(plans, files)
    links = signup_mail.Links(settings.base_url, signup_mail.signer(engine, settings, now), now)
    report = NotifyReport(problems=problems + channel_problems, held=[*site.skipped, *site.held])
    report.bounces = bounced
    report.mail = email_sender(settings.smtp_url, settings.maildir, settings.mail_from).describe()
    current = {v.uid: v for v in site.opportunities if v.withdrawn is None}
    written = _written(current)
    versions = {uid: version_of(text) for uid, text in written.items()}
    with engine.connect() as conn:
        transaction = conn.begin()
        # Email sign-ups from the web app: confirmed ones are channels like the others.
        signups.purge_unconfirmed(conn, now, dt.timedelta(hours=settings.unconfirmed_hours))
        subscribers = [*subscribers, *signup_mail.subscribers(conn, settings, links)]
        stored = snapshot.load_published(conn)
        report.first_run = not stored
        present = {c.id for c in site.commissioners}
        # A plan file left out for errors says nothing about its opportunities: they are
        # neither announced nor withdrawn until it is fixed.
        held = {
            uid: p
            for uid, p in stored.items()
            if site.skipped and p.commissioner not in present and p.withdrawn_at is None
        }
        if not report.first_run:
            report.announcements = [
                a for a in _announcements(site, stored, current, versions) if a.view.uid not in held
            ]
        since = {
            uid: stored[uid].published_at
            for uid in current
            if uid in stored and stored[uid].withdrawn_at is None
        }
        entries = _Entries(site)
        wake = reminders.Wake()
        plan = welcome.plan(conn, site, subscribers, now, first_run=report.first_run)
        for subscriber in subscribers:
            # What its welcome lists this pass is not announced or reminded of as well.
            listed = plan.listed(subscriber.uid)
            candidates: list[tuple[str, Callable[[], messages.Entry]]] = []
            for a in report.announcements:
                if a.view.uid not in listed and channels.wants(subscriber, a.view):
                    key = f"{subscriber.uid}|{a.view.uid}|{a.event}|{a.version}"
                    candidates.append((key, entries.maker(a.view, key, a.event, a.lines)))
            joined = plan.since.get(subscriber.uid)
            for due in reminders.due(site, subscriber, now, since, joined, wake):
                if due.view.uid in listed:
                    continue
                candidates.append(
                    (
                        due.key,
                        entries.maker(due.view, due.key, "reminder", [due.line], due.reminder),
                    )
                )
            split = (
                isinstance(subscriber.channel, EmailChannel)
                and recipients.Source.of(subscriber.channel).each
            )
            known = _existing(conn, {key for key, _ in candidates}, split)
            made = [make() for key, make in candidates if key not in known]
            _route(conn, site, subscriber, made, now, report)
            if subscriber.channel.cadence != "immediate" and not signup_digests.is_signup(
                subscriber
            ):
                _digests(conn, site, subscriber, now, report, entries)
        # Sign-ups' digests all at once: each distinct one composed once (signup_digests.py).
        report.queued += signup_digests.queue(
            conn, site, subscribers, now, lambda s, told: _closing_soon(site, s, told, entries)
        )
        for greeting in plan.welcomes:
            _welcome(site, greeting, entries, report)
        report.queued = signup_mail.pooled(report.queued)
        outbox.enqueue(conn, report.queued, now)
        record: dict[str, tuple[str, dict[str, Any], dt.date | None]] = {}
        for uid, view in current.items():
            before = stored.get(uid)
            same = before is not None and before.version == versions[uid]
            content = before.content if before is not None and same else _content(written[uid])
            record[uid] = (versions[uid], content, view.first_seen)
        record.update({uid: (p.version, p.content, p.first_published) for uid, p in held.items()})
        snapshot.record(conn, record, now, "working tree", stored)
        digest = notify_state.next_digest(conn, {s.uid for s in subscribers}, now)
        if digest is not None:
            wake.note(digest)
        found = notify_state.State(inputs, wake.at, report.problems, report.held)
        notify_state.save(conn, found, now)
        if dry_run:
            transaction.rollback()
            return report
        transaction.commit()
    report.dispatch = _send_queued(engine, settings, clock, send, stop)
    return report


def _send_queued(
    engine: Engine,
    settings: Settings,
    clock: Clock,
    send: dict[str, Callable[[], Sender]] | None,
    stop: threading.Event | None,
) -> outbox.DispatchReport:
    """Send and retry what the outbox holds, each email sign-up's state checked first."""
    return outbox.dispatch(
        engine, signup_mail.guarded(send or senders(settings), engine, clock), clock,
        max_attempts=settings.max_attempts, stop=stop,
    )  # fmt: skip


def _unchanged(
    engine: Engine,
    settings: Settings,
    clock: Clock,
    send: dict[str, Callable[[], Sender]] | None,
    stop: threading.Event | None,
    last: notify_state.State,
    bounced: bounces.BounceReport | None,
) -> NotifyReport:
    """A pass that finds what the last full pass found: it only sends what is queued."""
    report = NotifyReport(problems=last.problems, held=last.held, unchanged=True, bounces=bounced)
    report.mail = email_sender(settings.smtp_url, settings.maildir, settings.mail_from).describe()
    with engine.begin() as conn:
        signups.purge_unconfirmed(conn, clock(), dt.timedelta(hours=settings.unconfirmed_hours))
    report.dispatch = _send_queued(engine, settings, clock, send, stop)
    return report


def _dispatch_only(
    engine: Engine,
    settings: Settings,
    clock: Clock,
    send: dict[str, Callable[[], Sender]] | None,
    stop: threading.Event | None,
    bounced: bounces.BounceReport | None = None,
) -> NotifyReport:
    """A pass that announces nothing new: the plans are not yet published as they are."""
    report = NotifyReport(unpublished=True, bounces=bounced)
    report.dispatch = _send_queued(engine, settings, clock, send, stop)
    return report


class _Entries:
    """Entries for this pass. What an entry says (its calendar, record, headline) is the
    same for every channel that is told, so it is made once and only the key differs."""

    def __init__(self, site: SiteData) -> None:
        self.site = site
        self.made: dict[tuple[str, str, tuple[str, ...], str], messages.Entry] = {}

    def maker(
        self,
        view: OpportunityView,
        key: str,
        event: str,
        lines: list[str],
        reminder: dict[str, Any] | None = None,
    ) -> Callable[[], messages.Entry]:
        def make() -> messages.Entry:
            said = (view.uid, event, tuple(lines), json.dumps(reminder, sort_keys=True))
            if said not in self.made:
                self.made[said] = messages.entry(self.site, view, "", event, lines, reminder)
            return replace(self.made[said], key=key)

        return make


def _content(text: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(text)
    return value
