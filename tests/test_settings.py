"""Settings from the environment: defaults, every variable, and plain messages for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.settings import Settings, SettingsError, load_settings, mask_password


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
