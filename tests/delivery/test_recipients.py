"""Members' addresses: a channel's addresses from a file and an environment variable outside
git, each sent its own message, so no message shows another member's address; a file that
cannot be read holds the messages back, with the reason, until it can. Real notify passes
over the example plans, a real SMTP server on loopback, SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine

from publisher.delivery import notify, outbox
from publisher.delivery.recipients import RecipientsError, Source, read
from publisher.plans.channel_addresses import check
from publisher.plans.model import EmailChannel
from publisher.settings import Settings
from tests.changes.gitplans import EXAMPLES
from tests.delivery.receivers import (  # noqa: F401 (fixtures, found by pytest by name)
    SmtpServer,
    smtp_server_fixture,
    start_smtp_server_fixture,
)

BASE = "https://plans.example.org/"
START = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)
FILE_MEMBERS = [f"group{n}@members{n % 7}.org.uk" for n in range(200)]
ENV_MEMBERS = [f"chair{n}@village-hall{n}.org.uk" for n in range(100)]


def channels(to_file: Path) -> dict[str, Any]:
    return {
        "schema": 1,
        "organisation": {"id": "leeds-cvs", "name": "Leeds CVS"},
        "channels": [
            {"id": "members", "kind": "email", "to_file": str(to_file),
             "to_env": "LEEDS_CVS_MEMBERS", "filter": {"places": ["leeds"]}},
        ],
    }  # fmt: skip


class Publisher:
    def __init__(self, root: Path, engine: Engine, smtp: SmtpServer) -> None:
        self.plans = root / "plans"
        shutil.copytree(EXAMPLES, self.plans)
        self.engine, self.smtp = engine, smtp
        self.settings = Settings(smtp_url=smtp.url(), base_url=BASE, maildir=root / "mail")
        self.list = root / "private" / "members.txt"

    def run(self, at: datetime) -> notify.NotifyReport:
        return notify.run_pass(
            self.plans, self.settings, partial(lambda moment: moment, at), engine=self.engine,
            send={"email": notify.senders(self.settings)["email"]},
        )  # fmt: skip

    def add_channel(self) -> None:
        (self.plans / "channels" / "leeds-cvs.yaml").write_text(yaml.safe_dump(channels(self.list)))


@pytest.fixture
def publisher(
    tmp_path: Path, database: Engine, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> Publisher:
    monkeypatch.setenv(
        "LEEDS_CVS_MEMBERS", ", ".join(ENV_MEMBERS[:50]) + "\n" + " ".join(ENV_MEMBERS[50:])
    )
    return Publisher(tmp_path, database, smtp_server)


def test_300_members_each_get_their_own_message_and_see_no_one_else(
    publisher: Publisher,
) -> None:
    publisher.list.parent.mkdir()
    publisher.list.write_text(
        "# Leeds CVS members, kept on the server, not in git\n"
        + "".join(f"{address}\n" for address in FILE_MEMBERS)
        + "\n# the same address again, spelt differently: still one message\n"
        + "GROUP1@members1.org.uk\n"
    )
    publisher.run(START)
    publisher.add_channel()
    publisher.run(START + timedelta(hours=1))
    members = set(FILE_MEMBERS + ENV_MEMBERS)
    received = publisher.smtp.handler.received
    assert sorted(r.rcpt_tos[0].lower() for r in received) == sorted(members)
    for one in received:
        assert len(one.rcpt_tos) == 1
        headers = one.raw.split(b"\r\n\r\n", 1)[0].decode().lower()
        shown = {member for member in members if member in headers}
        assert shown == {one.rcpt_tos[0].lower()}, headers
        assert sum(member in one.raw.decode().lower() for member in members) == 1
        assert one.message["Subject"].startswith("Welcome: ")
    ids = {one.message["Message-ID"] for one in received}
    assert len(ids) == len(members)
    # Nothing twice: the next passes send nothing more.
    publisher.run(START + timedelta(hours=2))
    publisher.run(START + timedelta(hours=3))
    assert len(publisher.smtp.handler.received) == len(members)


def test_a_missing_address_file_holds_the_messages_back_until_it_is_there(
    publisher: Publisher,
) -> None:
    publisher.run(START)
    publisher.add_channel()
    report = publisher.run(START + timedelta(hours=1))
    assert publisher.smtp.messages == []
    assert report.dispatch is not None
    [note] = report.dispatch.notes["leeds-cvs/members"]
    assert f"the address file {publisher.list} (to_file) cannot be read" in note
    with publisher.engine.connect() as conn:
        [waiting] = outbox.list_items(conn)
    assert waiting.state.value == "queued" and "cannot be read" in waiting.last_error
    publisher.list.parent.mkdir()
    publisher.list.write_text("one@members.org.uk\n")
    publisher.run(START + timedelta(hours=5))
    assert sorted(str(m["To"]) for m in publisher.smtp.messages) == sorted(
        ["one@members.org.uk", *ENV_MEMBERS]
    )


def test_addresses_are_read_with_plain_reasons(tmp_path: Path) -> None:
    listed = tmp_path / "members.txt"
    listed.write_text("a@example.org\n\nnot-an-address  # a note\n")
    with pytest.raises(RecipientsError, match=rf"line 3 of {listed}: 'not-an-address'"):
        read(Source((), str(listed)))
    with pytest.raises(RecipientsError, match="the environment variable MEMBERS"):
        read(Source((), to_env="MEMBERS"), environ={})
    assert read(Source(("list@example.org",), to_env="M"), environ={"M": "b@x.org;c@y.org"}) == [
        "list@example.org", "b@x.org", "c@y.org",
    ]  # fmt: skip


def test_the_checker_reads_the_file_and_variable_where_they_are(tmp_path: Path) -> None:
    listed = tmp_path / "members.txt"
    listed.write_text("a@example.org  # the chair\nnobody\n")
    channel = EmailChannel.model_validate(
        {"id": "members", "kind": "email", "to_file": str(listed), "to_env": "MEMBERS"}
    )
    found = check(channel, ("channels", 0), environ={"MEMBERS": "b@example.org, c-at-example"})
    assert [(f.code, f.message) for f in found] == [
        ("bad-address", f"Line 2 of {listed}: 'nobody' is not an email address."),
        (
            "bad-address",
            "The variable MEMBERS holds 'c-at-example', which is not an email address.",
        ),
    ]
    # In a pull request's check neither is there: nothing to say.
    missing = channel.model_copy(update={"to_file": str(tmp_path / "elsewhere.txt")})
    assert check(missing, ("channels", 0), environ={}) == []
