"""A notify pass with nothing changed since the last one reads nothing and only sends what is
queued (notify_state.py), and still misses nothing: a reminder that falls due, a changed
plan, a new channel or a new sign-up each make the pass read the plans again. Real plans, a
real SMTP server and HTTP receiver on loopback, SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine

from publisher.changes.diff import canonical, version, version_of
from publisher.delivery import signups
from publisher.plans.model import Opportunity
from tests.changes.gitplans import BASE_OPPORTUNITY
from tests.delivery.receivers import (  # noqa: F401 (fixtures, found by pytest by name)
    HttpReceiver,
    SmtpServer,
    http_receiver_fixture,
    smtp_server_fixture,
    start_smtp_server_fixture,
)
from tests.delivery.test_notify import World, at
from tests.model.test_read_once import Reads

BULLETIN = "bulletin@leeds-cvs.org.uk"


@pytest.fixture
def world(
    tmp_path: Path, database: Engine, smtp_server: SmtpServer, http_receiver: HttpReceiver
) -> Iterator[World]:
    yield World(tmp_path, database, smtp_server, http_receiver)


def test_a_pass_with_nothing_changed_parses_nothing_and_only_retries_what_failed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.run("2026-06-01T10:00")
    world.first["value"] = {"total": 90000}
    world.smtp.stop()
    changed = world.run("2026-06-02T10:00")
    assert not changed.unchanged and [a.event for a in changed.announcements] == ["changed"]
    assert changed.dispatch is not None and changed.dispatch.retried == 1  # the bulletin
    hooks = len(world.hook.requests)
    world.smtp.start()
    reads = Reads(world.plans, monkeypatch)
    again = world.run("2026-06-02T12:00")  # after the backoff
    # Not a file of the plans folder parsed: not the plan, places, themes or channels.
    assert {path.name: n for path, n in reads.parsed.items() if n} == {}
    assert again.unchanged and again.announcements == [] and again.queued == []
    assert again.problems == changed.problems and again.held == changed.held
    # What failed is still retried, every pass: the bulletin's email arrives now, once.
    assert again.dispatch is not None and again.dispatch.sent == 1
    assert [m["Subject"] for m in world.mail_to(BULLETIN)] == [
        "Changed: Social prescribing link workers in Leeds"
    ]
    assert len(world.hook.requests) == hooks
    assert world.run("2026-06-02T12:05").unchanged
    assert len(world.smtp.messages) == 1 and len(world.hook.requests) == hooks


def test_a_held_plan_file_is_still_reported_by_a_pass_that_reads_nothing(world: World) -> None:
    world.run("2026-06-01T10:00")
    world.first["status"] = "nonsense"
    held = world.run("2026-06-01T10:05")
    assert held.held and any(p.file.endswith("leeds-city-council.yaml") for p in held.problems)
    again = world.run("2026-06-01T10:10")
    assert again.unchanged
    assert (again.held, again.problems) == (held.held, held.problems)


def test_a_changed_plan_file_is_announced_after_passes_that_read_nothing(world: World) -> None:
    world.run("2026-06-01T10:00")
    assert world.run("2026-06-01T10:05").unchanged
    world.first["value"] = {"total": 90000}
    report = world.run("2026-06-01T10:10")
    assert not report.unchanged and [a.event for a in report.announcements] == ["changed"]
    assert [m["Subject"] for m in world.mail_to(BULLETIN)] == [
        "Changed: Social prescribing link workers in Leeds"
    ]


def test_a_reminder_that_falls_due_later_the_same_day_is_sent(world: World) -> None:
    world.first["dates"]["tender_opens"] = "2027-03-15"  # 8 weeks before: 18 January
    world.run("2027-01-01T09:00")
    assert not world.run("2027-01-18T07:00").unchanged  # a new day: the plans are read
    quiet = world.run("2027-01-18T07:59")
    assert quiet.unchanged and world.mail_to(BULLETIN) == []
    due = world.run("2027-01-18T08:00")  # the bulletin's digest time, when reminders go
    assert not due.unchanged
    [eight] = world.mail_to(BULLETIN)
    assert eight["Subject"] == (
        "Reminder: Tender opens on 15 March 2027: Social prescribing link workers in Leeds"
    )
    assert world.run("2027-01-18T08:05").unchanged
    assert len(world.mail_to(BULLETIN)) == 1


def test_a_channel_added_between_passes_is_welcomed(world: World) -> None:
    world.run("2026-06-01T10:00")
    assert world.run("2026-06-01T10:05").unchanged
    path = world.plans / "channels" / "leeds-cvs.yaml"
    data = yaml.safe_load(path.read_text())
    data["channels"].append(
        {"id": "newcomers", "kind": "email", "to": ["new@leeds-cvs.org.uk"],
         "filter": {"places": ["leeds"]}, "reminders": [], "closing_reminders": [],
         "event_reminders": []}
    )  # fmt: skip
    path.write_text(yaml.safe_dump(data))
    report = world.run("2026-06-01T10:10")
    assert not report.unchanged
    assert [item.key.split("|")[:2] for item in report.queued] == [
        ["leeds-cvs/newcomers", "welcome"]
    ]
    assert len(world.mail_to("new@leeds-cvs.org.uk")) == 1
    assert world.run("2026-06-01T10:15").unchanged
    assert len(world.mail_to("new@leeds-cvs.org.uk")) == 1


def test_a_sign_up_confirmed_between_passes_is_welcomed(world: World) -> None:
    world.run("2026-06-01T10:00")
    assert world.run("2026-06-01T10:05").unchanged
    now = at("2026-06-01T10:06")
    with world.engine.begin() as conn:
        asked = signups.ask(
            conn, "jo@example.org", {"place": ["leeds"]}, "immediate", now, dt.timedelta(hours=72)
        )
        assert signups.confirm(conn, asked.signup.uid, now) is not None
    report = world.run("2026-06-01T10:10")
    assert not report.unchanged
    assert [item.key.split("|")[1] for item in report.queued] == ["welcome"]
    assert len(world.mail_to("jo@example.org")) == 1
    assert world.run("2026-06-01T10:15").unchanged


def test_a_daily_digest_goes_at_its_time_after_passes_that_read_nothing(world: World) -> None:
    world.run("2026-06-01T10:00")
    world.first["value"] = {"total": 90000}
    assert world.run("2026-06-01T12:00").waiting == 1  # for the daily digest, at 08:00
    assert not world.run("2026-06-02T07:00").unchanged  # a new day
    assert world.run("2026-06-02T07:59").unchanged
    assert world.mail_to("weekly@leeds-cvs.org.uk") == []
    assert not world.run("2026-06-02T08:00").unchanged
    [digest] = world.mail_to("weekly@leeds-cvs.org.uk")
    assert "1 change" in digest["Subject"]
    assert world.run("2026-06-02T08:05").unchanged


def test_a_pass_keys_each_opportunity_by_the_version_diff_gives_it() -> None:
    """The pass hashes each opportunity's canonical text once, for its version and its
    content (`diff.version_of`): the version is the one `diff.version` gives (outbox keys and
    releases use it)."""
    item = Opportunity.model_validate(BASE_OPPORTUNITY)
    assert version_of(canonical(item)) == version(item)
