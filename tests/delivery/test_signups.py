"""Email sign-ups in the state database, on SQLite and PostgreSQL: asked for, confirmed,
limited per address, suspended after a permanent refusal, left, exported, forgotten and
removed when never confirmed; the upgrade from today's database keeps every row."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, select

from publisher.delivery import outbox, signup_mail, signup_tokens, signups
from publisher.delivery.database import SCHEMA_VERSION, connect, create_or_upgrade
from publisher.delivery.database import outbox as outbox_table
from publisher.delivery.outcome import Outcome, Result
from publisher.delivery.signup_tokens import BadTokenError, Signer
from publisher.settings import Settings
from tests.delivery.receivers import (  # noqa: F401 (fixtures, found by pytest by name)
    SmtpServer,
    smtp_server_fixture,
    start_smtp_server_fixture,
)
from tests.test_deploy import fresh_postgresql

T0 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
WINDOW = dt.timedelta(hours=72)
LEEDS = {"place": ["leeds"], "theme": [], "funding": []}
ROOT = Path(__file__).resolve().parents[2]


def plain(message: Any) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    text: str = part.get_content()
    return text


def ask(engine: Engine, address: str, now: dt.datetime = T0, **choice: Any) -> signups.Asked:
    with engine.begin() as conn:
        return signups.ask(conn, address, choice or LEEDS, "immediate", now, WINDOW)


def test_a_new_address_is_kept_unconfirmed_and_sent_one_confirmation(database: Engine) -> None:
    asked = ask(database, "Jo@Example.org")
    assert asked.send == "confirm"
    assert asked.signup.state is signups.SignupState.UNCONFIRMED
    assert asked.signup.address == "jo@example.org"
    # However often the form is sent within the window: nothing more.
    for minutes in range(1, 30):
        assert ask(database, "jo@example.org", T0 + dt.timedelta(minutes=minutes)).send is None
    again = ask(database, "jo@example.org", T0 + WINDOW + dt.timedelta(minutes=1), theme=["carers"])
    assert again.send == "confirm" and again.signup.choice["theme"] == ["carers"]


def test_confirmed_addresses_get_their_link_once_a_window_and_keep_their_choice(
    database: Engine,
) -> None:
    uid = ask(database, "jo@example.org").signup.uid
    with database.begin() as conn:
        assert signups.confirm(conn, uid, T0) is not None
    later = T0 + WINDOW + dt.timedelta(hours=1)
    asked = ask(database, "jo@example.org", later, theme=["carers"])
    assert asked.send == "link" and asked.signup.choice == LEEDS
    assert ask(database, "jo@example.org", later + dt.timedelta(minutes=5)).send is None


def test_leaving_and_forgetting_keep_nothing(database: Engine) -> None:
    signup = ask(database, "jo@example.org").signup
    item = outbox.NewItem(f"{signup.channel}|confirm|1", signup.channel, "email", {"to": ["x"]})
    with database.begin() as conn:
        outbox.enqueue(conn, [item], T0)
        assert signups.export(conn, "JO@example.org") is not None
        assert signups.forget(conn, "jo@example.org")
        assert signups.export(conn, "jo@example.org") is None
        assert conn.scalars(select(outbox_table.c.key)).all() == []
        assert not signups.forget(conn, "jo@example.org")


def test_unconfirmed_sign_ups_are_removed_after_the_set_time(database: Engine) -> None:
    ask(database, "old@example.org")
    kept = ask(database, "new@example.org", T0 + dt.timedelta(hours=70)).signup
    with database.begin() as conn:
        assert signups.purge_unconfirmed(conn, T0 + dt.timedelta(hours=73), WINDOW) == 1
        assert signups.counts(conn) == {"unconfirmed": 1, "confirmed": 0, "suspended": 0}
        assert signups.find(conn, kept.uid) is not None


def test_tokens_are_refused_when_forged_for_something_else_or_expired() -> None:
    signer = Signer("a key for the tests")
    token = signer.make(signup_tokens.MANAGE, "abc", T0)
    day = dt.timedelta(days=1)
    assert signer.check(token, signup_tokens.MANAGE, T0 + day, day) == "abc"
    with pytest.raises(BadTokenError, match="expired"):
        signer.check(token, signup_tokens.MANAGE, T0 + 2 * day, day)
    with pytest.raises(BadTokenError, match="not one of ours"):
        signer.check(token, signup_tokens.UNSUBSCRIBE, T0, day)
    with pytest.raises(BadTokenError, match="not one of ours"):
        Signer("another key").check(token, signup_tokens.MANAGE, T0, day)
    body, _, mac = token.partition(".")
    with pytest.raises(BadTokenError):
        signer.check(body[:-2] + "xx." + mac, signup_tokens.MANAGE, T0, day)


def test_the_key_made_for_links_is_kept_in_the_database(database: Engine) -> None:
    first = signup_tokens.signer(database, None, T0)
    assert signup_tokens.signer(database, None, T0) == first
    assert signup_tokens.signer(database, "configured key", T0) == Signer("configured key")


def test_a_permanent_refusal_suspends_the_address_and_never_names_it(
    database: Engine, smtp_server: SmtpServer
) -> None:
    from publisher.delivery.email import SmtpSender  # noqa: PLC0415

    signup = ask(database, "gone@example.org").signup
    smtp_server.handler.refuse_recipients["gone@example.org"] = "550 No such user"
    settings = Settings()
    links = signup_mail.Links(settings.base_url, Signer("k"), T0)
    item = signup_mail.sign_up_email(
        signups.Asked(signup, "confirm"), settings, links, "opportunities in Leeds"
    )
    guard = signup_mail.Guard(
        SmtpSender(smtp_server.url(), "publisher@example.org"), database, lambda: T0
    )
    outcome = guard.send(item.key, item.payload)
    guard.close()
    assert outcome.result is Result.FAILED
    assert "gone@example.org" not in outcome.reason and "suspended" in outcome.reason
    with database.connect() as conn:
        found = signups.find(conn, signup.uid)
    assert found is not None and found.state is signups.SignupState.SUSPENDED
    # A suspended address is sent nothing, and the form sends it nothing.
    assert guard.send(item.key, item.payload) == Outcome.failed(
        "not sent: the sign-up is suspended"
    )
    assert ask(database, "gone@example.org", T0 + 2 * WINDOW).send is None


def _database_py_at_head() -> Any:
    """publisher/delivery/database.py as last committed before sign-ups (schema version 4)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout

    commits = git("log", "--format=%H", "--", "publisher/delivery/database.py").split()
    texts = (git("show", f"{commit}:publisher/delivery/database.py") for commit in commits)
    text = next(text for text in texts if "signups = Table(" not in text)
    spec = importlib.util.spec_from_loader("old_database", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    exec(compile(text, "old_database.py", "exec"), module.__dict__)
    sys.modules.pop("old_database", None)
    return module


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_database_made_before_sign_ups_is_upgraded_keeping_every_row(
    dialect: str, tmp_path: Path
) -> None:
    old = _database_py_at_head()
    assert old.SCHEMA_VERSION == 4
    with ExitStack() as stack:
        if dialect == "sqlite":
            url = f"sqlite:///{tmp_path / 'old.db'}"
        else:
            url = stack.enter_context(fresh_postgresql(f"publisher_signups_{os.getpid()}"))
        engine = old.connect(url)
        old.create_or_upgrade(engine)
        with engine.begin() as conn:
            conn.execute(old.outbox.insert().values(
                key="leeds-cvs/bulletin|a|new|1", channel="leeds-cvs/bulletin", kind="email",
                payload='{"to": ["a@example.org"]}', state="sent", attempts=1,
                next_attempt_at=T0, last_error="", created_at=T0, sent_at=T0,
            ))  # fmt: skip
            conn.execute(old.channel_state.insert().values(
                channel="leeds-cvs/bulletin", filter="{}", since=T0
            ))  # fmt: skip
        engine.dispose()
        engine = connect(url)
        before = _rows(engine)
        assert "signups" not in before
        assert create_or_upgrade(engine) == SCHEMA_VERSION == 6
        after = _rows(engine)
        for table, rows in before.items():
            assert after[table] == rows, table
        ask(engine, "jo@example.org")
        with engine.connect() as conn:
            assert signups.counts(conn)["unconfirmed"] == 1
        engine.dispose()


def _rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    found = MetaData()
    found.reflect(engine)
    with engine.connect() as conn:
        return {
            table.name: [
                tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key))
            ]
            for table in found.sorted_tables
            if table.name != "schema_version"
        }


def test_export_forget_and_the_outbox_report_never_name_the_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from publisher import cli  # noqa: PLC0415

    url = f"sqlite:///{tmp_path / 'publisher.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("PUBLISHER_CONFIG", raising=False)
    engine = connect(url)
    create_or_upgrade(engine)
    kept = ask(engine, "jo@example.org").signup
    gone = ask(engine, "gone@example.org").signup
    item = outbox.NewItem(f"{kept.channel}|confirm|1", kept.channel, "email",
                          {"to": ["jo@example.org"], "subject": "Confirm"})  # fmt: skip
    with engine.begin() as conn:
        outbox.enqueue(conn, [item], T0)
        signups.suspend(conn, gone.uid, "the mail server refused it (550)", T0)
    engine.dispose()

    assert cli.main(["outbox"]) == 0
    shown = capsys.readouterr().out
    assert "Email sign-ups: 0 confirmed, 1 waiting to confirm, 1 suspended." in shown
    assert f"suspended signup/{gone.uid}: the mail server refused it (550)" in shown
    assert "@example.org" not in shown
    assert cli.main(["outbox", "--format", "json"]) == 0
    assert "@example.org" not in capsys.readouterr().out

    assert cli.main(["subscribers", "export", "JO@example.org"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["address"] == "jo@example.org"
    assert [e["subject"] for e in exported["emails"]] == ["Confirm"]
    assert cli.main(["subscribers", "forget", "jo@example.org"]) == 0
    assert "Deleted everything" in capsys.readouterr().out
    assert cli.main(["subscribers", "export", "jo@example.org"]) == 1
    assert "nothing is kept about that address" in capsys.readouterr().err


def test_a_weekly_sign_up_gets_a_welcome_then_one_digest_grouped_by_place(
    database: Engine, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    import shutil  # noqa: PLC0415

    from publisher.delivery import notify  # noqa: PLC0415
    from publisher.plans.dates import LONDON  # noqa: PLC0415

    plans = tmp_path / "plans"
    shutil.copytree(ROOT / "plans", plans, ignore=shutil.ignore_patterns("channels"))
    settings = Settings(smtp_url=smtp_server.url(), mail_from="alerts@example.org")
    sunday = dt.datetime(2026, 11, 29, 10, 0, tzinfo=LONDON).astimezone(dt.UTC)
    monday = dt.datetime(2026, 11, 30, 8, 0, tzinfo=LONDON).astimezone(dt.UTC)

    def run(moment: dt.datetime) -> None:
        notify.run_pass(plans, settings, lambda: moment, engine=database)

    run(sunday - dt.timedelta(hours=2))  # the first pass records what there is
    with database.begin() as conn:
        uid = signups.ask(conn, "jo@example.org", LEEDS, "weekly", sunday, WINDOW).signup.uid
        signups.confirm(conn, uid, sunday)
    run(sunday - dt.timedelta(hours=1))
    (welcome,) = smtp_server.messages  # what is open and coming up in Leeds
    listed = plain(welcome)
    assert "Open now" in listed or "Coming up" in listed
    assert "Calderdale Council" not in listed and "Leeds" in listed
    (plans / "test-borough.yaml").write_text(
        "schema: 1\ncommissioner:\n  id: test-borough\n  name: Test Borough Council\n"
        "  kind: council\n  website: https://example.org/tb\n"
        "  contact: {name: Grants, email: grants@example.org}\nopportunities:\n"
        + "".join(
            f"  - id: {slug}\n    title: {title}\n    summary: >-\n      Grants for groups.\n"
            f"    status: planning\n    places: [{place}]\n    themes: [loneliness]\n"
            "    funding: grant\n    route: open-grant-round\n    value: {total: 40000}\n"
            "    unknown:\n      tender_opens: Not set.\n      service_starts: Not set.\n"
            "      duration: Not set.\n"
            for slug, title, place in (
                ("lunch-clubs", "Lunch clubs in Harehills", "harehills"),
                ("gardens", "Community gardens in Calderdale", "calderdale"),
            )
        ),
        encoding="utf-8",
    )
    run(sunday)
    assert len(smtp_server.messages) == 1  # weekly: it waits for Monday
    run(monday)
    run(monday + dt.timedelta(minutes=5))
    (digest,) = smtp_server.messages[1:]
    body = plain(digest)
    assert "Lunch clubs in Harehills" in body and "Calderdale" not in body
    assert "== Harehills ==" in body  # grouped by place, as channels' digests are
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_notify_report_names_no_subscriber() -> None:
    from publisher.delivery import notify, notify_report  # noqa: PLC0415

    item = outbox.NewItem("signup/abc|confirm|1", "signup", "email",
                          {"to": ["jo@example.org"], "subject": "Confirm"})  # fmt: skip
    shown = notify_report.text(notify.NotifyReport(queued=[item]))
    assert "email a subscriber: Confirm" in shown and "jo@" not in shown
