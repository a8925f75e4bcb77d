"""`publisher notify` end to end: real plans, a real SMTP server and a real HTTP receiver on
loopback, and the outbox on SQLite and PostgreSQL. Time is a fixed clock per pass."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from icalendar import Calendar
from sqlalchemy import Engine, select

from publisher.delivery import notify, outbox
from publisher.delivery.database import outbox as outbox_table
from publisher.delivery.webhook import WebhookSender, verify
from publisher.settings import Settings
from tests.changes.gitplans import BASE_OPPORTUNITY, EXAMPLES
from tests.delivery.receivers import (  # noqa: F401 (fixtures, found by pytest by name)
    HttpReceiver,
    SmtpServer,
    http_receiver_fixture,
    smtp_server_fixture,
    start_smtp_server_fixture,
)

LONDON = ZoneInfo("Europe/London")
SECRET = "s3cret-for-tests"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON).astimezone(UTC)


class World:
    """A plans folder with one plan and three channels, and the pass to run over it."""

    def __init__(self, root: Path, engine: Engine, smtp: SmtpServer, hook: HttpReceiver) -> None:
        self.plans = root / "plans"
        (self.plans / "channels").mkdir(parents=True)
        for name in ("places.yaml", "themes.yaml"):
            shutil.copy(EXAMPLES / name, self.plans / name)
        self.engine, self.smtp, self.hook = engine, smtp, hook
        self.opportunities: list[dict[str, Any]] = [copy.deepcopy(BASE_OPPORTUNITY)]
        self.settings = Settings(
            database_url=f"sqlite:///{root / 'unused.db'}",  # the engine is given
            smtp_url=smtp.url(),
            base_url="https://plans.example.org/",
            allow_private_webhooks=True,
            maildir=root / "mail",
        )
        channels = {
            "schema": 1,
            "organisation": {"id": "leeds-cvs", "name": "Leeds CVS", "kind": "cvs"},
            "channels": [
                {"id": "bulletin", "kind": "email", "to": ["bulletin@leeds-cvs.org.uk"],
                 "filter": {"places": ["harehills"]}, "reminders": ["8w", "2w"],
                 "closing_reminders": [], "event_reminders": []},
                {"id": "site", "kind": "webhook", "url": hook.url(), "secret_env": "TEST_SECRET",
                 "filter": {"places": ["leeds"]}, "reminders": [], "closing_reminders": [],
                 "event_reminders": []},
                {"id": "weekly", "kind": "email", "to": ["weekly@leeds-cvs.org.uk"],
                 "cadence": "daily", "digest_time": "08:00", "reminders": [],
                 "closing_reminders": [], "event_reminders": []},
                {"id": "wakefield", "kind": "email", "to": ["wakefield@leeds-cvs.org.uk"],
                 "filter": {"places": ["wakefield"]}, "reminders": [], "closing_reminders": [],
                 "event_reminders": []},
            ],
        }  # fmt: skip
        (self.plans / "channels" / "leeds-cvs.yaml").write_text(yaml.safe_dump(channels))
        self.write()

    @property
    def first(self) -> dict[str, Any]:
        return self.opportunities[0]

    def write(self) -> None:
        plan = {
            "schema": 1,
            "commissioner": {
                "id": "leeds-city-council",
                "name": "Leeds City Council",
                "kind": "council",
            },
            "opportunities": self.opportunities,
        }
        (self.plans / "leeds-city-council.yaml").write_text(yaml.safe_dump(plan, sort_keys=False))

    def run(self, when: str, dry_run: bool = False) -> notify.NotifyReport:
        self.write()
        moment = at(when)
        return notify.run_pass(
            self.plans,
            self.settings,
            lambda: moment,
            dry_run=dry_run,
            engine=self.engine,
            send={
                "email": notify.senders(self.settings)["email"],
                "webhook": lambda: WebhookSender(
                    allow_private=True, environ={"TEST_SECRET": SECRET}, timeout=5
                ),
            },
        )

    def mail_to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.smtp.messages if address in str(m["To"])]

    def hooks(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.hook.requests]


@pytest.fixture
def world(
    tmp_path: Path, database: Engine, smtp_server: SmtpServer, http_receiver: HttpReceiver
) -> Iterator[World]:
    yield World(tmp_path, database, smtp_server, http_receiver)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_the_first_pass_records_and_announces_nothing_then_changes_are_announced(
    world: World,
) -> None:
    first = world.run("2026-06-01T10:00")
    assert first.first_run and first.announcements == []
    assert world.smtp.messages == [] and world.hook.requests == []
    # A new opportunity, a date that moved, and a wording edit (not news).
    world.opportunities.append(
        {**BASE_OPPORTUNITY, "id": "carers", "title": "Grants for carers' groups",
         "places": ["harehills"], "funding": "grant", "route": "open-grant-round",
         "dates": {"tender_opens": "2026-12-01", "engagement": [
             {"title": "Drop-in", "start": "2026-07-01T10:00"}]}}
    )  # fmt: skip
    world.first["dates"]["tender_closes"] = "2027-07-31"
    world.first["summary"] = "Link workers help people find groups near them."
    report = world.run("2026-06-02T10:00")
    assert sorted(a.event for a in report.announcements) == ["changed", "new"]
    bulletin = world.mail_to("bulletin@leeds-cvs.org.uk")
    # Harehills is in Leeds: a Harehills channel hears of Leeds-wide opportunities too.
    assert sorted(m["Subject"] for m in bulletin) == [
        "Changed: Social prescribing link workers in Leeds",
        "New opportunity: Grants for carers' groups",
    ]
    changed = next(m for m in bulletin if m["Subject"].startswith("Changed"))
    body = text_of(changed)
    assert "The closing date for bids has moved later" in body
    assert "Details updated" not in body  # wording edits are not news
    assert (
        "https://plans.example.org/opportunities/leeds-city-council/social-prescribing.html" in body
    )
    assert changed["List-Id"] and changed["Message-ID"]
    new = next(m for m in bulletin if m["Subject"].startswith("New"))
    [ics] = [p for p in new.iter_attachments() if p.get_content_type() == "text/calendar"]
    events = Calendar.from_ical(ics.get_content()).walk("VEVENT")
    assert any("Drop-in" in str(e["SUMMARY"]) for e in events)
    assert world.mail_to("wakefield@leeds-cvs.org.uk") == []  # filtered out
    # The webhook: signed, with the outbox key as its idempotency key.
    assert len(world.hook.requests) == 2
    for request in world.hook.requests:
        stamp = request.headers["x-publisher-timestamp"]
        assert verify(SECRET, stamp, request.body, request.headers["x-publisher-signature"],
                      datetime.fromtimestamp(int(stamp), UTC))  # fmt: skip
        body_json = json.loads(request.body)
        assert body_json["version"] == 1 and body_json["id"] == request.headers["idempotency-key"]
        for entry in body_json["entries"]:  # JSON version 1, as docs/webhooks.md promises
            assert "days_left" in entry["opportunity"]
    # Run again: nothing new, nothing sent twice.
    again = world.run("2026-06-02T11:00")
    assert again.announcements == [] and again.queued == []
    assert len(world.mail_to("bulletin@leeds-cvs.org.uk")) == 2 and len(world.hook.requests) == 2


def test_withdrawn_cancelled_and_a_broken_file_held(world: World) -> None:
    world.opportunities.append({**BASE_OPPORTUNITY, "id": "gone", "title": "Soon gone"})
    world.run("2026-06-01T10:00")
    world.opportunities.pop()
    world.first["status"] = "cancelled"
    report = world.run("2026-06-02T10:00")
    assert sorted(a.event for a in report.announcements) == ["cancelled", "withdrawn"]
    subjects = sorted(m["Subject"] for m in world.mail_to("bulletin@leeds-cvs.org.uk"))
    assert subjects == [
        "Cancelled: Social prescribing link workers in Leeds",
        "Withdrawn: Soon gone",
    ]
    # A plan file with errors: its opportunities are neither announced nor withdrawn.
    world.first["status"] = "nonsense"
    held = world.run("2026-06-03T10:00")
    assert held.held and held.announcements == []
    # only the daily digest of yesterday's news, which fell due this morning
    assert [i.key for i in held.queued] == ["leeds-cvs/weekly|digest|2026-06-03T07:00:00+00:00"]


def test_a_daily_digest_groups_what_waited_and_goes_at_its_time(world: World) -> None:
    world.run("2026-06-01T10:00")
    world.opportunities.append(
        {**BASE_OPPORTUNITY, "id": "wakefield-one", "title": "Wakefield lunch clubs",
         "places": ["wakefield"]}
    )  # fmt: skip
    world.first["dates"]["tender_opens"] = "2027-04"
    report = world.run("2026-06-01T12:00")
    assert report.waiting == 2 and world.mail_to("weekly@leeds-cvs.org.uk") == []
    world.run("2026-06-02T07:59")
    assert world.mail_to("weekly@leeds-cvs.org.uk") == []
    world.run("2026-06-02T08:00")
    [digest] = world.mail_to("weekly@leeds-cvs.org.uk")
    assert " ".join(digest["Subject"].split()) == (
        "1 new opportunity and 1 change in NHS and council funding plans (2 June 2026)"
    )
    body = text_of(digest)
    assert body.index("== Leeds ==") < body.index("== Wakefield District ==")
    world.run("2026-06-03T08:00")
    assert len(world.mail_to("weekly@leeds-cvs.org.uk")) == 1  # nothing new: no digest


def test_reminders_on_their_dates_and_once_after_downtime(world: World) -> None:
    world.first["dates"]["tender_opens"] = "2027-03-15"
    world.run("2027-01-01T09:00")  # 8 weeks before is 18 January
    assert world.mail_to("bulletin@leeds-cvs.org.uk") == []
    world.run("2027-01-18T07:59")
    assert world.mail_to("bulletin@leeds-cvs.org.uk") == []
    world.run("2027-01-18T08:00")
    [eight] = world.mail_to("bulletin@leeds-cvs.org.uk")
    assert eight["Subject"] == (
        "Reminder: Tender opens on 15 March 2027: Social prescribing link workers in Leeds"
    )
    world.run("2027-01-19T08:00")
    assert len(world.mail_to("bulletin@leeds-cvs.org.uk")) == 1
    # Down from before the 2-week reminder until after it: sent once when back.
    world.run("2027-03-05T12:00")
    world.run("2027-03-05T12:05")
    reminders = world.mail_to("bulletin@leeds-cvs.org.uk")
    assert [m["Subject"][:22] for m in reminders] == ["Reminder: Tender opens"] * 2
    world.run("2027-03-16T08:00")  # the day has passed: no more reminders
    assert len(world.mail_to("bulletin@leeds-cvs.org.uk")) == 2


def test_a_reminder_before_market_engagement_closes(world: World) -> None:
    """The last day to take part in market engagement (a UK2 notice's closing date) is
    counted back from as a closing date is: `closing_reminders`, one week by default."""
    channels = world.plans / "channels" / "leeds-cvs.yaml"
    written = yaml.safe_load(channels.read_text())
    written["channels"][0]["closing_reminders"] = ["1w"]
    channels.write_text(yaml.safe_dump(written))
    world.first["dates"]["engagement_closes"] = "2027-02-12"
    world.first["dates"]["tender_opens"] = "2027-06-01"  # its reminders come after
    world.run("2027-01-01T09:00")
    world.run("2027-02-05T07:59")
    assert world.mail_to("bulletin@leeds-cvs.org.uk") == []
    world.run("2027-02-05T08:00")
    [reminder] = world.mail_to("bulletin@leeds-cvs.org.uk")
    assert reminder["Subject"] == (
        "Reminder: Market engagement closes on 12 February 2027: "
        "Social prescribing link workers in Leeds"
    )
    world.run("2027-02-13T08:00")  # the day has passed: nothing more
    assert len(world.mail_to("bulletin@leeds-cvs.org.uk")) == 1


def test_a_dry_run_records_and_sends_nothing(world: World) -> None:
    world.run("2026-06-01T10:00")
    world.first["value"] = {"total": 90000}
    report = world.run("2026-06-02T10:00", dry_run=True)
    assert report.queued and report.dispatch is None
    assert world.smtp.messages == [] and world.hook.requests == []
    with world.engine.connect() as conn:
        assert conn.execute(select(outbox_table)).all() == []
    real = world.run("2026-06-02T10:00")
    assert [a.event for a in real.announcements] == ["changed"]


def test_the_smtp_server_down_then_up_delivers_once_later(world: World) -> None:
    world.run("2026-06-01T10:00")
    world.first["value"] = {"total": 90000}
    world.smtp.stop()
    report = world.run("2026-06-02T10:00")
    assert report.dispatch is not None and report.dispatch.retried >= 1
    with world.engine.connect() as conn:
        waiting = outbox.list_items(conn, "queued")
    assert [row.channel for row in waiting] == ["leeds-cvs/bulletin"]
    assert "did not answer" in waiting[0].last_error
    world.smtp.start()
    world.run("2026-06-02T12:00")  # after the backoff
    assert len(world.mail_to("bulletin@leeds-cvs.org.uk")) == 1
    world.run("2026-06-02T18:00")
    assert len(world.mail_to("bulletin@leeds-cvs.org.uk")) == 1


def test_a_malicious_title_cannot_inject_headers_and_is_escaped(world: World) -> None:
    world.run("2026-06-01T10:00")
    # A new line is allowed in text (a carriage return is refused by check, issue 14).
    world.opportunities.append(
        {**BASE_OPPORTUNITY, "id": "evil",
         "title": "Free money\nBcc: victim@example.org <script>alert(1)</script>"}
    )  # fmt: skip
    world.run("2026-06-02T10:00")
    [message] = [m for m in world.mail_to("bulletin@") if "Free money" in m["Subject"]]
    assert message["Bcc"] is None
    assert all("victim" not in str(to) for m in world.smtp.messages for to in m.get_all("To", []))
    html = message.get_body(("html",))
    assert html is not None
    content = str(html.get_content())
    assert "<script>" not in content and "&lt;script&gt;" in content


class _Killed(BaseException):
    """The process dying right after a send, before the outbox records it."""


def test_killed_between_sending_and_recording_resends_with_the_same_key(world: World) -> None:
    world.run("2026-06-01T10:00")
    world.first["value"] = {"total": 90000}

    class DiesAfterSending:
        def __init__(self) -> None:
            self.real = WebhookSender(
                allow_private=True, environ={"TEST_SECRET": SECRET}, timeout=5
            )

        def send(self, key: str, payload: dict[str, Any]) -> Any:
            self.real.send(key, payload)
            raise _Killed

        def close(self) -> None:
            self.real.close()

    moment = at("2026-06-02T10:00")
    world.write()
    with pytest.raises(_Killed):
        notify.run_pass(world.plans, world.settings, lambda: moment, engine=world.engine,
                        send={"email": notify.senders(world.settings)["email"],
                              "webhook": DiesAfterSending})  # fmt: skip
    assert len(world.hook.requests) == 1
    world.run("2026-06-02T10:05")  # restarted, but the dead process's claim still holds
    assert len(world.hook.requests) == 1
    world.run("2026-06-02T10:30")  # its claim has run out: sent again
    keys = [r.headers["idempotency-key"] for r in world.hook.requests]
    assert len(keys) == 2 and keys[0] == keys[1]
    world.run("2026-06-02T11:30")
    assert len(world.hook.requests) == 2


def test_a_weekly_digest_goes_on_its_day_at_its_time(world: World) -> None:
    channels = world.plans / "channels" / "leeds-cvs.yaml"
    data = yaml.safe_load(channels.read_text())
    data["channels"][2].update(
        {"cadence": "weekly", "digest_day": "tuesday", "digest_time": "09:30"}
    )
    channels.write_text(yaml.safe_dump(data))
    world.run("2026-06-01T10:00")  # a Monday
    world.first["value"] = {"total": 90000}
    world.run("2026-06-01T11:00")
    world.run("2026-06-02T09:29")
    assert world.mail_to("weekly@leeds-cvs.org.uk") == []
    world.run("2026-06-02T09:30")  # Tuesday, 09:30 London (08:30 UTC in summer)
    [digest] = world.mail_to("weekly@leeds-cvs.org.uk")
    assert digest["Subject"] == "1 change in NHS and council funding plans (2 June 2026)"
    world.run("2026-06-09T09:30")  # nothing new: no empty digest the next week
    assert len(world.mail_to("weekly@leeds-cvs.org.uk")) == 1


def test_nothing_new_is_announced_until_the_site_with_it_is_published(world: World) -> None:
    """The service says whether the plans on disk are those of the served site; while
    they are not (the build failed, or has not run yet), a pass only sends what was
    queued before, and records nothing, so the change is announced by a later pass."""
    world.run("2026-06-01T10:00")
    world.opportunities.append({**BASE_OPPORTUNITY, "id": "carers", "title": "Carers' grants"})
    world.write()
    moment = at("2026-06-02T10:00")
    published = False

    def run() -> notify.NotifyReport:
        return notify.run_pass(
            world.plans, world.settings, lambda: moment, engine=world.engine,
            send={"email": notify.senders(world.settings)["email"]},
            published=lambda: published,
        )  # fmt: skip

    held = run()
    assert held.unpublished and held.announcements == [] and held.queued == []
    assert world.smtp.messages == []
    published = True
    told = run()
    assert not told.unpublished
    assert [a.event for a in told.announcements] == ["new"]
    assert [m["Subject"] for m in world.mail_to("bulletin@leeds-cvs.org.uk")] == [
        "New opportunity: Carers' grants"
    ]
