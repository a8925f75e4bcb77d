"""`publisher notify` and `publisher outbox` as a person runs them: on the example plans,
with the embedded defaults (SQLite, mail to a Maildir folder)."""

from __future__ import annotations

import json
import mailbox
from pathlib import Path

import pytest

from publisher import cli
from tests.formats.examples import ROOT


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'publisher.db'}")
    monkeypatch.setenv("PUBLISHER_MAILDIR", str(tmp_path / "mail"))
    monkeypatch.delenv("SMTP_URL", raising=False)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_notify_on_the_examples_then_the_outbox(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plans = str(ROOT / "plans")
    code, out, err = run(capsys, "notify", "--plans", plans, "--now", "2026-11-23T09:00")
    assert code == 0, err
    assert "mail is written to the folder" in out
    assert "First run" in out and "Queued 0 messages" in out  # no backlog on a first run
    # A week later, the reminders that fell due in that week go out.
    code, out, _ = run(capsys, "notify", "--plans", plans, "--now", "2026-11-30T09:00")
    assert code == 0 and "No changes that matter" in out
    mail = mailbox.Maildir(env / "mail", create=False)
    subjects = sorted(" ".join(str(m["Subject"]).split()) for m in mail)
    assert any(s.startswith("Reminder: ") for s in subjects)  # immediate channels
    assert "1 reminder in Leeds (24 November 2026)" in subjects  # a digest
    # The example channels' webhooks go to example.org: refused, never sent, and said why.
    code, out, _ = run(capsys, "outbox", "--state", "failed")
    assert code == 0 and "reserved example name" in out
    code, out, _ = run(capsys, "outbox", "--format", "json")
    data = json.loads(out)
    assert data["backlog"]["sent"] == len(subjects)
    assert {item["state"] for item in data["items"]} <= {"sent", "failed"}
    code, out, _ = run(capsys, "notify", "--plans", plans, "--now", "2026-11-30T09:05")
    assert "No changes that matter" in out and "Queued 0 messages" in out
    code, out, _ = run(capsys, "outbox", "--retry")
    assert code == 0 and out.startswith("Queued ") and "failed messages again" in out


def test_a_dry_run_sends_nothing(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "notify", "--plans", str(ROOT / "plans"), "--dry-run", "--now", "2026-11-23T09:00"
    )
    assert code == 0 and "Would send" in out and "Dry run" in out
    assert not (env / "mail").exists() or not list(mailbox.Maildir(env / "mail"))


def test_wrong_settings_are_named(env: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", "mysql://nope")
    code, _, err = run(capsys, "outbox")
    assert code == 2 and "DATABASE_URL" in err
    monkeypatch.setenv("DATABASE_URL", "postgresql://someone:hunter2@127.0.0.1:1/none")
    code, _, err = run(capsys, "outbox")
    assert code == 1 and "hunter2" not in err and "127.0.0.1" in err
