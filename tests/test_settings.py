"""Settings from the environment and publisher.toml: defaults, every variable, plain messages
for bad values, and docs/configuration.md kept true."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from publisher.settings import (
    Settings,
    SettingsError,
    load_settings,
    markdown_table,
    mask_password,
    variables,
    with_table,
)

CONFIGURATION = Path(__file__).parents[1] / "docs" / "configuration.md"
PUBLISHER = Path(sys.executable).parent / "publisher"


def test_defaults_when_nothing_is_set() -> None:
    settings = load_settings({})
    assert settings == Settings(
        database_url="sqlite:///publisher.db",
        smtp_url=None,
        mail_from="Forward plan publisher <publisher@publisher.localhost>",
        base_url="http://localhost:8000/",
        allow_private_webhooks=False,
        maildir=Path("mail"),
        webhook_timeout=10,
        max_attempts=8,
        ocid_prefix="ocds-fpp000",
    )


def test_every_variable_is_read() -> None:
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql://publisher:secret@db:5432/publisher",
            "SMTP_URL": "smtp+starttls://publisher:secret@mail.example.org:587",
            "PUBLISHER_MAIL_FROM": "Plans <plans@example.org>",
            "PUBLISHER_BASE_URL": "https://plans.example.org/west-yorkshire",
            "PUBLISHER_ALLOW_PRIVATE_WEBHOOKS": "true",
            "PUBLISHER_MAILDIR": "/var/mail/publisher",
            "PUBLISHER_WEBHOOK_TIMEOUT": "2.5",
            "PUBLISHER_MAX_ATTEMPTS": "3",
            "PUBLISHER_OCID_PREFIX": "ocds-a1b2c3",
            "UNRELATED": "ignored",
        }
    )
    assert settings.database_url == "postgresql://publisher:secret@db:5432/publisher"
    assert settings.smtp_url == "smtp+starttls://publisher:secret@mail.example.org:587"
    assert settings.mail_from == "Plans <plans@example.org>"
    assert settings.base_url == "https://plans.example.org/west-yorkshire/"  # slash added
    assert settings.allow_private_webhooks is True
    assert settings.maildir == Path("/var/mail/publisher")
    assert settings.webhook_timeout == 2.5
    assert settings.max_attempts == 3
    assert settings.ocid_prefix == "ocds-a1b2c3"


@pytest.mark.parametrize(
    "url", ["smtp://localhost:1025", "smtps://u:p@mail.example.org:465", "smtp://mail.example.org"]
)
def test_each_form_of_mail_server_address_is_accepted(url: str) -> None:
    assert load_settings({"SMTP_URL": url}).smtp_url == url


def test_an_empty_variable_counts_as_unset() -> None:
    assert load_settings({"SMTP_URL": "", "PUBLISHER_MAX_ATTEMPTS": ""}).smtp_url is None


def test_the_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISHER_MAX_ATTEMPTS", "5")
    assert load_settings().max_attempts == 5


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "SMTP_URL",
            "smtp:/x",
            "SMTP_URL: 'smtp:/x' is not a mail server address; "
            "write it like smtp+starttls://user:password@mail.example.org:587",
        ),
        ("SMTP_URL", "http://mail.example.org", "SMTP_URL: 'http://mail.example.org' is not"),
        (
            "SMTP_URL",
            "smtp://mail.example.org:25x",
            "SMTP_URL: 'smtp://mail.example.org:25x' is not",
        ),
        ("DATABASE_URL", "mysql://localhost/x", "DATABASE_URL: 'mysql://localhost/x' is not a"),
        ("PUBLISHER_MAIL_FROM", "publisher", "PUBLISHER_MAIL_FROM: 'publisher' is not a mail"),
        (
            "PUBLISHER_BASE_URL",
            "plans.example.org",
            "PUBLISHER_BASE_URL: 'plans.example.org' is not a web address; "
            "write it like https://plans.example.org/",
        ),
        (
            "PUBLISHER_ALLOW_PRIVATE_WEBHOOKS",
            "perhaps",
            "PUBLISHER_ALLOW_PRIVATE_WEBHOOKS: 'perhaps' is not yes or no; write true or false",
        ),
        ("PUBLISHER_WEBHOOK_TIMEOUT", "ten", "PUBLISHER_WEBHOOK_TIMEOUT: 'ten' is not a number"),
        ("PUBLISHER_WEBHOOK_TIMEOUT", "0", "PUBLISHER_WEBHOOK_TIMEOUT: '0' is not a number"),
        ("PUBLISHER_MAX_ATTEMPTS", "0", "PUBLISHER_MAX_ATTEMPTS: '0' is not a whole number"),
        ("PUBLISHER_MAX_ATTEMPTS", "2.5", "PUBLISHER_MAX_ATTEMPTS: '2.5' is not a whole number"),
    ],
)
def test_a_bad_value_is_named_and_explained(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({name: value})
    assert str(raised.value).startswith(message)


def test_every_bad_variable_is_named_at_once() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({"PUBLISHER_MAX_ATTEMPTS": "many", "PUBLISHER_BASE_URL": "x"})
    lines = str(raised.value).splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "PUBLISHER_BASE_URL",
        "PUBLISHER_MAX_ATTEMPTS",
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SMTP_URL", "smtpx://publisher:hunter2@mail.example.org:587"),
        ("SMTP_URL", "smtp+starttls://publisher:hun@ter2@:587"),
        ("DATABASE_URL", "mysql://publisher:hunter2@db/publisher"),
    ],
)
def test_a_password_is_never_shown(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({name: value})
    assert "hunter2" not in str(raised.value)
    assert "ter2" not in str(raised.value)
    assert "publisher:***@" in str(raised.value)


def test_settings_do_not_show_passwords_when_printed() -> None:
    settings = load_settings(
        {
            "SMTP_URL": "smtps://publisher:hunter2@mail.example.org:465",
            "DATABASE_URL": "postgresql://publisher:hunter2@db/publisher",
        }
    )
    assert "hunter2" not in repr(settings)


def test_mask_password_leaves_addresses_without_one_alone() -> None:
    assert mask_password("smtp://mail.example.org:25") == "smtp://mail.example.org:25"
    assert mask_password("sqlite:///state/publisher.db") == "sqlite:///state/publisher.db"
    assert mask_password("postgres://me:pw@db/x") == "postgres://me:***@db/x"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://publisher:hunter2@db:5432/publisher",
        "postgresql://publisher:hun/ter2@db/publisher",  # '/' in the password
        "smtps://publisher:hun@ter2@mail.example.org:465",  # '@' in the password
        "smtp+starttls://publisher:hun:ter2@mail.example.org:587",  # ':' in the password
    ],
)
def test_publisher_settings_never_prints_a_password_or_secret(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "DATABASE_URL" if url.startswith("postgresql") else "SMTP_URL"
    monkeypatch.chdir(tmp_path)
    for shown in ("text", "json"):
        done = subprocess.run(
            [str(PUBLISHER), "settings", "--format", shown],
            env={"PATH": os.environ["PATH"], name: url, "PUBLISHER_HOOK_SECRET": "s3cret-hook"},
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "ter2" not in done.stdout and "hunter" not in done.stdout
        assert "s3cret" not in done.stdout
        assert "publisher:***@" in done.stdout


def test_publisher_settings_says_where_each_value_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "publisher.toml").write_text(
        'base_url = "https://plans.example.net/"\nmaildir = "from-file"\n', encoding="utf-8"
    )
    done = subprocess.run(
        [str(PUBLISHER), "settings", "--format", "json"],
        env={"PATH": os.environ["PATH"], "PUBLISHER_MAILDIR": "from-environment"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    rows = {row["variable"]: row for row in json.loads(done.stdout)}
    assert set(rows) == set(variables().values())
    assert rows["PUBLISHER_BASE_URL"] == {
        "variable": "PUBLISHER_BASE_URL",
        "value": "https://plans.example.net/",
        "from": "base_url in publisher.toml",
    }
    assert rows["PUBLISHER_MAILDIR"]["value"] == "from-environment"
    assert rows["PUBLISHER_MAILDIR"]["from"] == "the environment"
    assert rows["DATABASE_URL"]["from"] == "default"
    text = subprocess.run(
        [str(PUBLISHER), "settings"], env={"PATH": os.environ["PATH"]},
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert re.search(r"^PUBLISHER_BASE_URL +https://plans\.example\.net/ +\(from base_url in "
                     r"publisher\.toml\)$", text, re.M)  # fmt: skip
    assert re.search(r"^DATABASE_URL +sqlite:///publisher\.db +\(the default\)$", text, re.M)


def test_a_wrong_setting_stops_publisher_settings_with_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(PUBLISHER), "settings"],
        env={"PATH": os.environ["PATH"], "PUBLISHER_OCID_PREFIX": "OCDS-1"},
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert "PUBLISHER_OCID_PREFIX" in done.stderr and "ocds-a1b2c3" in done.stderr


def test_publisher_version() -> None:
    done = subprocess.run([str(PUBLISHER), "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"publisher {version('forward-plan-publisher')}"


# --- publisher.toml -------------------------------------------------------------------------


def _config(tmp_path: Path, text: str, name: str = "publisher.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_settings_come_from_the_file_that_publisher_config_names(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        'database_url = "postgresql://publisher@db/publisher"\n'
        'smtp_url = "smtp://mailpit:1025"\n'
        "allow_private_webhooks = true\n"
        "webhook_timeout = 2.5\n"
        "max_attempts = 3\n"
        'maildir = "/var/mail/publisher"\n'
        'mail_from = "Plans <plans@example.org>"\n'
        'base_url = "https://plans.example.org"\n'
        'hook_secret = "push-secret"\n',
        "settings.toml",
    )
    settings = load_settings({"PUBLISHER_CONFIG": str(path)})
    assert settings.database_url == "postgresql://publisher@db/publisher"
    assert settings.smtp_url == "smtp://mailpit:1025"
    assert settings.allow_private_webhooks is True
    assert settings.webhook_timeout == 2.5
    assert settings.max_attempts == 3
    assert settings.maildir == Path("/var/mail/publisher")
    assert settings.mail_from == "Plans <plans@example.org>"
    assert settings.base_url == "https://plans.example.org/"
    assert settings.hook_secret == "push-secret"


def test_publisher_toml_in_the_current_folder_is_read_when_it_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings({}).max_attempts == 8  # no file: the defaults
    _config(tmp_path, "max_attempts = 4\n")
    assert load_settings({}).max_attempts == 4


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    path = _config(tmp_path, "max_attempts = 4\nwebhook_timeout = 3\n")
    settings = load_settings(
        {
            "PUBLISHER_CONFIG": str(path),
            "PUBLISHER_MAX_ATTEMPTS": "6",
            "PUBLISHER_WEBHOOK_TIMEOUT": "",
        }
    )
    assert settings.max_attempts == 6
    assert settings.webhook_timeout == 3  # an empty variable is unset: the file's value stands


def test_an_empty_value_in_the_file_counts_as_unset(tmp_path: Path) -> None:
    path = _config(tmp_path, 'smtp_url = ""\n')
    assert load_settings({"PUBLISHER_CONFIG": str(path)}).smtp_url is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'database_url = "mysql://localhost/x"\n',
            "database_url in {file}: 'mysql://localhost/x' is not a database we can use",
        ),
        ("max_attempts = 0\n", "max_attempts in {file}: 0 is not a whole number of tries"),
        (
            'allow_private_webhooks = "perhaps"\n',
            "allow_private_webhooks in {file}: 'perhaps' is not yes or no",
        ),
        ("smtp_url = 25\n", "smtp_url in {file}: 25 is not text; put it in quotes"),
        (
            'databse_url = "sqlite:///x.db"\n',
            "databse_url in {file}: this is not a setting we know; did you mean database_url?",
        ),
        (
            'DATABASE_URL = "sqlite:///x.db"\n',
            "DATABASE_URL in {file}: this is not a setting we know; did you mean database_url?",
        ),
        (
            "favourite_food = 1\n",
            "favourite_food in {file}: this is not a setting we know; the settings are "
            "listed in docs/configuration.md",
        ),
        (
            'colour = "#2d4a22"\n',
            "colour in {file}: this is not a setting we know; did you mean link_colour?",
        ),
        (
            "max_attempts 3\n",
            "{file}: the settings file is not TOML we can read: Expected '=' after a key "
            "in a key/value pair (at line 1, column 14)",
        ),
    ],
)
def test_a_bad_setting_in_the_file_names_the_key_and_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _config(tmp_path, text)
    with pytest.raises(SettingsError) as raised:
        load_settings({"PUBLISHER_CONFIG": str(path)})
    assert str(raised.value).startswith(message.format(file=path))


def test_a_settings_file_that_is_not_there_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({"PUBLISHER_CONFIG": str(tmp_path / "nowhere.toml")})
    assert str(raised.value) == (
        f"PUBLISHER_CONFIG: there is no settings file at '{tmp_path / 'nowhere.toml'}'"
    )


def test_a_settings_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "publisher.toml"
    path.write_bytes('mail_from = "Caf\xe9 <a@example.org>"\n'.encode("latin-1"))
    with pytest.raises(SettingsError) as raised:
        load_settings({"PUBLISHER_CONFIG": str(path)})
    assert str(raised.value) == f"{path}: the settings file is not UTF-8 text; save it as UTF-8"


def test_problems_in_the_file_and_the_environment_are_named_together(tmp_path: Path) -> None:
    path = _config(tmp_path, 'colour = 1\nbase_url = "nowhere"\n')
    with pytest.raises(SettingsError) as raised:
        load_settings({"PUBLISHER_CONFIG": str(path), "PUBLISHER_MAX_ATTEMPTS": "many"})
    lines = str(raised.value).splitlines()
    assert [line.split(":")[0] for line in lines] == [
        f"colour in {path}",
        f"base_url in {path}",
        "PUBLISHER_MAX_ATTEMPTS",
    ]


def test_a_password_in_the_file_is_never_shown(tmp_path: Path) -> None:
    path = _config(tmp_path, 'smtp_url = "smtpx://publisher:hunter2@mail.example.org:587"\n')
    with pytest.raises(SettingsError) as raised:
        load_settings({"PUBLISHER_CONFIG": str(path)})
    assert "hunter2" not in str(raised.value) and "publisher:***@" in str(raised.value)


# --- docs/configuration.md ----------------------------------------------------------------


def test_docs_configuration_lists_every_setting_as_the_model_says() -> None:
    document = CONFIGURATION.read_text(encoding="utf-8")
    assert with_table(document) == document, (
        "docs/configuration.md is stale: run 'make docs' after changing publisher/settings.py"
    )
    for key, variable in variables().items():
        assert f"| `{variable}` | `{key}` |" in document


def test_the_table_shows_defaults_plainly() -> None:
    table = markdown_table()
    assert "| `PUBLISHER_MAX_ATTEMPTS` | `max_attempts` | `8` |" in table
    assert "| `PUBLISHER_WEBHOOK_TIMEOUT` | `webhook_timeout` | `10` |" in table
    assert "| `SMTP_URL` | `smtp_url` | unset |" in table
    assert "| `PUBLISHER_ALLOW_PRIVATE_WEBHOOKS` | `allow_private_webhooks` | `false` |" in table


def test_with_table_needs_the_markers() -> None:
    with pytest.raises(ValueError, match="markers"):
        with_table("# Configuration\n")
