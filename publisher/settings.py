"""Every setting the publisher reads from its environment, checked and documented in one place."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

SMTP_SCHEMES = ("smtp", "smtp+starttls", "smtps")
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")


class SettingsError(Exception):
    """A setting is wrong; the message names the variable and says what would be right."""


class Settings(BaseSettings):
    """The publisher's settings. Build them with `load_settings`, which reads the environment."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid", validate_by_name=True)

    database_url: str = Field(
        "sqlite:///publisher.db",
        validation_alias="DATABASE_URL",
        description="Where the outbox and the published snapshot live: a SQLite file "
        "(sqlite:///publisher.db, relative to the current folder) or a PostgreSQL "
        "database (postgresql://user:password@host:5432/name).",
        repr=False,
    )
    smtp_url: str | None = Field(
        None,
        validation_alias="SMTP_URL",
        description="The mail server for email channels: smtp://host:port, "
        "smtp+starttls://user:password@host:587 or smtps://user:password@host:465. "
        "Unset, mail is written to a local Maildir (see PUBLISHER_MAILDIR) instead of sent.",
        repr=False,
    )
    mail_from: str = Field(
        "Forward plan publisher <publisher@publisher.localhost>",
        validation_alias="PUBLISHER_MAIL_FROM",
        description="The From address of every email, with an optional display name.",
    )
    base_url: str = Field(
        "http://localhost:8000/",
        validation_alias="PUBLISHER_BASE_URL",
        description="Where the public site is served; links in emails and webhooks start "
        "with it. A missing final slash is added.",
    )
    allow_private_webhooks: bool = Field(
        False,
        validation_alias="PUBLISHER_ALLOW_PRIVATE_WEBHOOKS",
        description="Let webhooks go to private and loopback addresses (for tests and "
        "closed networks); off, they may only go to the public internet.",
    )
    maildir: Path = Field(
        Path("mail"),
        validation_alias="PUBLISHER_MAILDIR",
        description="The Maildir folder mail is written to when SMTP_URL is unset.",
    )
    webhook_timeout: float = Field(
        10.0,
        gt=0,
        validation_alias="PUBLISHER_WEBHOOK_TIMEOUT",
        description="Seconds to wait for a webhook receiver before trying again later.",
    )
    hook_secret: str | None = Field(
        None,
        validation_alias="PUBLISHER_HOOK_SECRET",
        description="The secret of the plans repository's push webhook (POST /hooks/plans, "
        "signed like GitHub's X-Hub-Signature-256). Unset, the hook is off and the plans "
        "are looked at every minute instead.",
        repr=False,
    )
    max_attempts: int = Field(
        8,
        ge=1,
        validation_alias="PUBLISHER_MAX_ATTEMPTS",
        description="How many times an email or webhook is tried before it is parked as "
        "failed and shown by `publisher outbox`.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings reads the environment itself so that callers (tests, the CLI) can
        # hand it a mapping; a settings file (publisher.toml) would be added here, after it.
        return (init_settings,)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if scheme not in DATABASE_SCHEMES or not value.partition("://")[2]:
            raise ValueError(
                f"{mask_password(value)!r} is not a database we can use; write "
                "sqlite:///publisher.db or postgresql://user:password@host:5432/name"
            )
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        try:
            parts.port  # noqa: B018 (reading it checks it: a port that is not a number raises)
        except ValueError:
            parts = urlsplit("")
        if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
            raise ValueError(
                f"{mask_password(value)!r} is not a mail server address; write it like "
                "smtp+starttls://user:password@mail.example.org:587"
            )
        return value

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str) -> str:
        address = parseaddr(value)[1]
        if "@" not in address or address.startswith("@") or address.endswith("@"):
            raise ValueError(
                f"{value!r} is not a mail address; write it like "
                "Forward plan publisher <publisher@example.org>"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"{value!r} is not a web address; write it like https://plans.example.org/"
            )
        return value if value.endswith("/") else value + "/"


# What each variable should look like, for values pydantic itself turns down (a word where
# a number goes, a number out of range); our validators above write their own messages.
_EXPECTED = {
    "PUBLISHER_ALLOW_PRIVATE_WEBHOOKS": "yes or no; write true or false",
    "PUBLISHER_WEBHOOK_TIMEOUT": "a number of seconds above 0; write it like 10",
    "PUBLISHER_MAX_ATTEMPTS": "a whole number of tries, 1 or more; write it like 8",
    "PUBLISHER_MAILDIR": "a folder; write it like mail or /var/mail/publisher",
}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings from `environ` (the process environment when None). An empty variable
    counts as unset. Raises SettingsError naming every variable that is wrong."""
    source = os.environ if environ is None else environ
    names = {field.validation_alias for field in Settings.model_fields.values()}
    given: dict[str, Any] = {
        name: source[name] for name in sorted(map(str, names)) if source.get(name)
    }
    try:
        return Settings(**given)
    except ValidationError as error:
        raise SettingsError(
            "\n".join(_plain(problem, given) for problem in error.errors())
        ) from None


def _plain(problem: Any, given: Mapping[str, str]) -> str:
    name = str(problem["loc"][0]) if problem["loc"] else "settings"
    if problem["type"] == "value_error":
        return f"{name}: {problem['ctx']['error']}"
    value = mask_password(given.get(name, ""))
    return f"{name}: {value!r} is not {_EXPECTED.get(name, 'a value we understand')}"


_PASSWORD = re.compile(r"(?P<head>://[^/@:]*:)[^/]*(?P<tail>@)")


def mask_password(url: str) -> str:
    """The URL with any password in it replaced by ***, for messages and logs."""
    return _PASSWORD.sub(r"\g<head>***\g<tail>", url)
