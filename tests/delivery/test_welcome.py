"""A channel added to a running publisher is welcomed: one message listing exactly what is
open and coming up that its filter takes, then only what changes, never anything twice; a
filter that widens brings one catch-up message with what the wider filter adds. The real
notify pass over the example plans, a real SMTP server on loopback, SQLite and PostgreSQL."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine

from publisher.delivery import channels, notify, welcome
from publisher.delivery.welcome import UPCOMING
from publisher.model.read import load_site
from publisher.settings import Settings
from tests.changes.gitplans import EXAMPLES
from tests.delivery.receivers import (  # noqa: F401 (fixtures, found by pytest by name)
    SmtpServer,
    smtp_server_fixture,
    start_smtp_server_fixture,
)

BASE = "https://plans.example.org/"
START = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)  # a Monday
MEMBERS = "members@leeds-cvs.org.uk"


def channel_file(places: list[str]) -> dict[str, Any]:
    return {
        "schema": 1,
        "organisation": {"id": "leeds-cvs", "name": "Leeds CVS", "website": "https://leeds-cvs.org.uk"},
        "channels": [
            {"id": "members", "kind": "email", "to": [MEMBERS], "cadence": "weekly",
             "digest_day": "thursday", "filter": {"places": places}},
        ],
    }  # fmt: skip


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def notice_links(text: str) -> set[str]:
    return set(re.findall(r"https://plans\.example\.org/opportunities/\S+\.html", text))


def expected(plans: Path, places: list[str], without: tuple[str, ...] = ()) -> set[str]:
    """The notices of what is open or coming up in these places (and not in `without`),
    read from the site model as a list page would show it."""
    site, _ = load_site(plans, START.date(), BASE)
    chosen: set[str] = set()
    for view in site.opportunities:
        if view.state not in UPCOMING or not view.is_current:
            continue
        if view.reach & set(places) and not view.reach & set(without):
            chosen.add(site.link(view.url))
    return chosen


def test_a_new_channel_is_welcomed_once_with_what_is_open_and_coming(
    tmp_path: Path, database: Engine, smtp_server: SmtpServer
) -> None:
    plans = tmp_path / "plans"
    shutil.copytree(EXAMPLES, plans)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        smtp_url=smtp_server.url(),
        base_url=BASE,
        maildir=tmp_path / "mail",
    )

    def run(at: datetime) -> notify.NotifyReport:
        return notify.run_pass(
            plans, settings, lambda: at, engine=database,
            send={"email": notify.senders(settings)["email"]},
        )  # fmt: skip

    def to_members() -> list[EmailMessage]:
        return [m for m in smtp_server.messages if MEMBERS in str(m["To"])]

    assert run(START).first_run
    sent_before = len(smtp_server.messages)
    (plans / "channels" / "leeds-cvs.yaml").write_text(yaml.safe_dump(channel_file(["leeds"])))
    run(START + timedelta(hours=1))
    [welcome] = to_members()
    leeds = expected(plans, ["leeds"])
    assert len(leeds) > 5
    assert notice_links(text_of(welcome)) == leeds
    assert welcome["Subject"] == f"Welcome: {len(leeds)} opportunities open or coming up in Leeds"
    # Nothing else went to anyone: the other channels had nothing new.
    assert len(smtp_server.messages) == sent_before + 1

    # The next passes tell it nothing again: only a reminder that fell due after the
    # welcome, in Thursday's digest.
    for hours in (2, 3, 24 * 3 - 4):
        run(START + timedelta(hours=hours))
    assert to_members() == [welcome]
    run(START + timedelta(days=3))
    [_, digest] = to_members()
    assert digest["Subject"] == "1 reminder in Leeds (10 December 2026)"
    assert "New opportunity" not in text_of(digest)

    # Wider: Wakefield too. One message with Wakefield's, none of Leeds's again.
    (plans / "channels" / "leeds-cvs.yaml").write_text(
        yaml.safe_dump(channel_file(["leeds", "wakefield"]))
    )
    run(START + timedelta(days=4))
    [_, _, wider] = to_members()
    wakefield = expected(plans, ["wakefield"], without=("leeds",))
    assert wakefield and notice_links(text_of(wider)) == wakefield
    subject = " ".join(str(wider["Subject"]).split())
    assert (
        subject
        == f"{len(wakefield)} more opportunities open or coming up in Leeds and Wakefield District"
    )
    run(START + timedelta(days=4, hours=1))
    assert len(to_members()) == 3

    # Narrowed back: nothing to say.
    (plans / "channels" / "leeds-cvs.yaml").write_text(yaml.safe_dump(channel_file(["leeds"])))
    run(START + timedelta(days=4, hours=2))
    assert len(to_members()) == 3


def test_channels_there_at_the_first_run_are_not_welcomed(
    tmp_path: Path, database: Engine, smtp_server: SmtpServer
) -> None:
    plans = tmp_path / "plans"
    shutil.copytree(EXAMPLES, plans)
    (plans / "channels" / "leeds-cvs.yaml").write_text(yaml.safe_dump(channel_file(["leeds"])))
    settings = Settings(smtp_url=smtp_server.url(), base_url=BASE, maildir=tmp_path / "mail")
    for moment in (START, START + timedelta(hours=1)):
        notify.run_pass(
            plans, settings, partial(lambda at: at, moment), engine=database,
            send={"email": notify.senders(settings)["email"]},
        )  # fmt: skip
    assert smtp_server.messages == []
    subscribers, _ = channels.load_channels(plans)
    assert any(s.uid == "leeds-cvs/members" for s in subscribers)


def test_a_long_welcome_lists_the_first_and_sends_readers_to_the_site_for_the_rest(
    tmp_path: Path, database: Engine, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(welcome, "MOST", 3)
    plans = tmp_path / "plans"
    shutil.copytree(EXAMPLES, plans)
    settings = Settings(smtp_url=smtp_server.url(), base_url=BASE, maildir=tmp_path / "mail")
    send = {"email": notify.senders(settings)["email"]}
    notify.run_pass(plans, settings, partial(lambda at: at, START), engine=database, send=send)
    (plans / "channels" / "leeds-cvs.yaml").write_text(yaml.safe_dump(channel_file(["leeds"])))
    later = START + timedelta(hours=1)
    notify.run_pass(plans, settings, partial(lambda at: at, later), engine=database, send=send)
    [message] = smtp_server.messages
    leeds = expected(plans, ["leeds"])
    assert len(notice_links(text_of(message))) == 3
    assert f"And {len(leeds) - 3} more opportunities: every one is on the site" in text_of(message)
    assert message["Subject"] == f"Welcome: {len(leeds)} opportunities open or coming up in Leeds"
