"""What the commands share is said once and behaves the same in each: the --plans folder
check and its words, the settings check after it, and the options several commands take."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from publisher.cli import main, parser

# Each command that needs a plans folder, with the arguments it needs besides --plans.
NEEDS_PLANS = {"build": [], "diff": ["main"], "notify": [], "run": ["--port", "1"]}


@pytest.mark.parametrize("command", sorted(NEEDS_PLANS))
def test_every_command_refuses_a_missing_plans_folder_in_the_same_words(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere"
    assert main([command, "--plans", str(missing), *NEEDS_PLANS[command]]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"publisher {command}: there is no plans folder at '{missing}'.\n"
    assert captured.out == ""
    assert not missing.exists()


@pytest.mark.parametrize("command", sorted(NEEDS_PLANS))
def test_a_missing_plans_folder_is_said_before_a_wrong_setting(
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PUBLISHER_BASE_URL", "ftp://not-a-web-address")
    missing = tmp_path / "nowhere"
    assert main([command, "--plans", str(missing), *NEEDS_PLANS[command]]) == 2
    assert capsys.readouterr().err.startswith(f"publisher {command}: there is no plans folder")
    (tmp_path / "plans").mkdir()
    assert main([command, "--plans", str(tmp_path / "plans"), *NEEDS_PLANS[command]]) == 2
    assert capsys.readouterr().err.startswith(f"publisher {command}: PUBLISHER_BASE_URL: ")


def test_serve_without_a_plans_folder_still_uses_the_same_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>x</title>")
    missing = tmp_path / "nowhere"
    # A port already listened on: serve stops after its warning instead of serving.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        assert main(["serve", "--site", str(site), "--plans", str(missing), "--port", port]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        f"publisher serve: there is no plans folder at '{missing}', so only the built site is "
        "served: no filtered feeds, subscribe page or embed.\n"
    )
    assert f"publisher serve: cannot listen on 127.0.0.1:{port}: " in err


def test_shared_options_have_one_default_in_every_command() -> None:
    for command, extra in [*NEEDS_PLANS.items(), ("serve", [])]:
        assert parser().parse_args([command, *extra]).plans == Path("plans"), command
    for command in ("check", "build", "diff"):
        args = parser().parse_args(
            [command, "--today", "2027-03-14", *NEEDS_PLANS.get(command, [])]
        )
        assert str(args.today) == "2027-03-14", command
    for command in ("outbox", "settings"):
        assert parser().parse_args([command]).format == "text"
        assert parser().parse_args([command, "--format", "json"]).format == "json"
    for command in ("run", "serve"):
        args = parser().parse_args([command])
        assert (args.host, args.port, args.site) == ("127.0.0.1", 8000, Path("feeds"))


def test_a_day_that_is_not_a_day_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        parser().parse_args(["build", "--today", "tomorrow"])
    assert stopped.value.code == 2
    assert "argument --today: 'tomorrow' is not a day like 2027-03-14" in capsys.readouterr().err
