"""Chat channels in a real notify pass: a Slack, a Teams and a Discord channel hear of a
new opportunity and a change in their tool's format, a chat channel added later is
welcomed, and a daily digest reaches all three; each receiver keeps its tool's rules."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import Engine

from publisher.delivery import notify
from publisher.delivery.chat_sender import ChatSender
from publisher.settings import Settings
from tests.changes.gitplans import BASE_OPPORTUNITY, EXAMPLES
from tests.delivery.chat_receivers import ChatReceiver, make

LONDON = ZoneInfo("Europe/London")
KINDS = ("slack", "teams", "discord")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON).astimezone(UTC)


class ChatWorld:
    def __init__(self, root: Path, engine: Engine, receivers: dict[str, ChatReceiver]) -> None:
        self.plans = root / "plans"
        (self.plans / "channels").mkdir(parents=True)
        for name in ("places.yaml", "themes.yaml"):
            shutil.copy(EXAMPLES / name, self.plans / name)
        self.engine, self.receivers = engine, receivers
        self.opportunities: list[dict[str, Any]] = [copy.deepcopy(BASE_OPPORTUNITY)]
        self.settings = Settings(
            database_url=f"sqlite:///{root / 'unused.db'}",
            base_url="https://plans.example.org/",
            allow_private_webhooks=True,
            maildir=root / "mail",
        )
        self.environ = {f"{kind.upper()}_URL": r.url() for kind, r in receivers.items()}
        self.channels: list[dict[str, Any]] = [
            {"id": kind, "kind": kind, "url_env": f"{kind.upper()}_URL",
             "reminders": [], "closing_reminders": [], "event_reminders": []}
            for kind in KINDS
        ]  # fmt: skip

    def run(self, when: str) -> notify.NotifyReport:
        plan = {
            "schema": 1,
            "commissioner": {"id": "leeds-city-council", "name": "Leeds City Council",
                             "kind": "council"},
            "opportunities": self.opportunities,
        }  # fmt: skip
        (self.plans / "leeds-city-council.yaml").write_text(yaml.safe_dump(plan, sort_keys=False))
        channels = {
            "schema": 1,
            "organisation": {"id": "leeds-cvs", "name": "Leeds CVS", "kind": "cvs"},
            "channels": self.channels,
        }
        (self.plans / "channels" / "leeds-cvs.yaml").write_text(yaml.safe_dump(channels))
        moment = at(when)
        return notify.run_pass(
            self.plans,
            self.settings,
            lambda: moment,
            engine=self.engine,
            send={
                kind: lambda kind=kind: ChatSender(  # type: ignore[misc]
                    kind, allow_private=True, environ=self.environ, timeout=5
                )
                for kind in KINDS
            },
        )

    def taken(self, kind: str) -> list[str]:
        """What each message the tool took says, as its JSON text."""
        return [json.dumps(body, ensure_ascii=False) for body in self.receivers[kind].accepted]


@pytest.fixture
def world(tmp_path: Path, database: Engine) -> Iterator[ChatWorld]:
    receivers = {kind: make(kind) for kind in KINDS}
    for receiver in receivers.values():
        receiver.start()
    yield ChatWorld(tmp_path, database, receivers)
    for receiver in receivers.values():
        receiver.stop()


def test_chat_channels_hear_news_welcomes_and_digests_in_their_own_format(
    world: ChatWorld,
) -> None:
    first = world.run("2026-06-01T10:00")
    assert first.first_run
    world.opportunities.append(
        {**BASE_OPPORTUNITY, "id": "carers", "title": "Grants for carers' groups",
         "places": ["harehills"], "funding": "grant", "route": "open-grant-round",
         "dates": {"tender_opens": "2026-12-01"}}
    )  # fmt: skip
    world.opportunities[0]["dates"]["tender_closes"] = "2027-07-31"
    report = world.run("2026-06-02T10:00")
    assert report.dispatch is not None and report.dispatch.failed == 0
    for kind in KINDS:
        said = world.taken(kind)
        assert len(said) == 2, kind
        assert any("Grants for carers' groups" in text for text in said), kind
        assert any("moved later" in text for text in said), kind
    # A Slack channel added now is welcomed with what is open and coming up for it.
    world.channels.append(
        {"id": "new-slack", "kind": "slack", "url_env": "SLACK_URL", "cadence": "daily"}
    )
    welcomed = world.run("2026-06-03T10:00")
    assert welcomed.dispatch is not None and welcomed.dispatch.failed == 0
    slack = world.taken("slack")
    assert len(slack) == 3
    assert "Grants for carers' groups" in slack[-1] and "Social prescribing" in slack[-1]
    # The daily channels' digest: a change waits for the channel's time, then goes as one.
    for channel in world.channels:
        channel["cadence"] = "daily"
    world.opportunities[1]["dates"]["tender_opens"] = "2026-12-15"
    before = {kind: len(world.taken(kind)) for kind in KINDS}
    world.run("2026-06-04T07:00")
    assert {kind: len(world.taken(kind)) for kind in KINDS} == before  # waiting for 08:00
    world.run("2026-06-04T08:30")
    for kind in KINDS:
        # One digest each (Slack has two daily channels now: one digest for each).
        new = world.taken(kind)[before[kind] :]
        assert len(new) == (2 if kind == "slack" else 1), kind
        assert all("Grants for carers' groups" in text and "4 June 2026" in text for text in new)
