"""Every setting the publisher reads, from its environment or an optional publisher.toml,
checked and documented in one place. Over 400 lines on purpose: the Settings class is the
one list of settings, each with its description and check, from which the docs' table and
the start-up messages are made, and splitting it would split that list."""

from __future__ import annotations

import difflib
import json
import os
import re
import sys
import tomllib
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

SMTP_SCHEMES = ("smtp", "smtp+starttls", "smtps")
BOUNCE_SCHEMES = ("imaps", "imap+starttls", "imap")  # or a Maildir folder's path
# An OCDS ocid prefix as the OCDS helpdesk issues them; the default is shaped like one but is
# not registered (docs/ocds.md).
OCID_PREFIX_PATTERN = re.compile(r"ocds-[a-z0-9]{6}")
DEFAULT_OCID_PREFIX = "ocds-fpp000"
# The publisher's own look (publisher/text/brand.py): the defaults of the branding settings.
DEFAULT_SITE_NAME = "Local funding plans"
DEFAULT_TAGLINE = (
    "Money that councils and the NHS plan to spend with charities and community groups"
)
DEFAULT_HEADER_COLOUR = "#0b0c0c"
DEFAULT_LINK_COLOUR = "#1d4e89"
COLOUR_PATTERN = re.compile(r"#[0-9a-fA-F]{6}")
MIN_CONTRAST = 4.5  # WCAG 2.2 AA, for text of any size


# An S3 bucket's name (AWS's rules, less the rarely used ones); publisher publish's --to.
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def bucket_address_problem(text: str) -> str | None:
    """What is wrong with an s3://BUCKET/PREFIX address, in plain words (None: nothing)."""
    scheme, _, rest = text.partition("://")
    bucket = rest.split("/", 1)[0]
    if scheme == "s3" and BUCKET_NAME.fullmatch(bucket) and ".." not in bucket:
        return None
    return (
        f"{text!r} is not a bucket address we can use; write it like s3://my-bucket or "
        "s3://my-bucket/site (a bucket's name is 3 to 63 lower-case letters, digits, dots "
        "and hyphens)"
    )


def ocid_prefix_problem(prefix: str) -> str | None:
    """What is wrong with an ocid prefix a build is given, in plain words (None: nothing)."""
    if OCID_PREFIX_PATTERN.fullmatch(prefix):
        return None
    return (
        f"the OCDS ocid prefix '{prefix}' should be 'ocds-' and six lower-case letters or "
        "digits, as the OCDS helpdesk issues them (set PUBLISHER_OCID_PREFIX)"
    )


# Never shown, not even in part.
SECRETS = frozenset({"hook_secret", "secret_key", "bounce_password"})
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")

CONFIG_VARIABLE = "PUBLISHER_CONFIG"  # where the settings file is
DEFAULT_CONFIG = Path("publisher.toml")  # read when it exists and PUBLISHER_CONFIG is unset


def _server_address(value: str) -> SplitResult:
    """A server's address split into its parts; empty parts when its port is not a number."""
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 (reading it checks it: a port that is not a number raises)
    except ValueError:
        return urlsplit("")
    return parts


class SettingsError(Exception):
    """A setting is wrong; the message names the variable and says what would be right."""


class Settings(BaseSettings):
    """The publisher's settings. Build them with `load_settings`, which reads the environment
    and the settings file. docs/configuration.md is written from these fields
    (`markdown_table`): a new setting is documented by its description here."""

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
        description="Seconds a webhook may take in all (looking up the name, connecting, "
        "sending, and the receiver's whole answer) before it is tried again later.",
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

    ocid_prefix: str = Field(
        DEFAULT_OCID_PREFIX,
        validation_alias="PUBLISHER_OCID_PREFIX",
        description="The prefix of every OCDS ocid the site publishes: 'ocds-' and six "
        "lower-case letters or digits, registered with the OCDS helpdesk. The default is a "
        "placeholder, not a registered prefix (docs/ocds.md).",
    )
    max_body_bytes: int = Field(
        1_048_576,
        ge=1,
        validation_alias="PUBLISHER_MAX_BODY_BYTES",
        description="The largest request body the web server accepts, in bytes (a push "
        "webhook's is a few kilobytes); larger ones are answered 413 before they are read.",
    )
    max_header_bytes: int = Field(
        32_768,
        ge=1_024,
        validation_alias="PUBLISHER_MAX_HEADER_BYTES",
        description="The most bytes a request's line and headers may take; more is "
        "answered 431 and the connection closed.",
    )
    header_timeout: float = Field(
        10.0,
        gt=0,
        validation_alias="PUBLISHER_HEADER_TIMEOUT",
        description="Seconds a client has to send a request's line and headers, from "
        "connecting or from the request's first byte; a client that stalls is answered 408 "
        "and disconnected.",
    )
    body_timeout: float = Field(
        30.0,
        gt=0,
        validation_alias="PUBLISHER_BODY_TIMEOUT",
        description="Seconds a client has to send a request's body once its headers are in; "
        "a client that stalls is answered 408 and disconnected.",
    )
    max_connections: int = Field(
        500,
        ge=1,
        validation_alias="PUBLISHER_MAX_CONNECTIONS",
        description="The most connections the web server keeps open at once. One more takes "
        "the place of the connection that has waited longest without a request being "
        "handled, or, when every one is busy, is answered 503 and closed. Keep it well "
        "under the process's open-file limit (ulimit -n).",
    )
    templates: Path = Field(
        Path("templates"),
        validate_default=False,  # the default is used only when it is there
        validation_alias="PUBLISHER_TEMPLATES",
        description="A folder of your own templates, looked in before the publisher's: a "
        "copy of one of publisher/templates/ under the same name (base.html for the "
        "site's name and footer, email/message.html) is used in its place. The default, "
        "templates in the current folder, is used only when it is there; a folder you name "
        "must be there. templates/README.md says what is safe to change.",
    )

    site_name: str = Field(
        DEFAULT_SITE_NAME,
        min_length=1,
        max_length=80,
        validation_alias="PUBLISHER_SITE_NAME",
        description="The site's name: at the top of every page, in each page's title, on "
        "the embeddable list and in emails.",
    )
    tagline: str = Field(
        DEFAULT_TAGLINE,
        max_length=200,
        validation_alias="PUBLISHER_TAGLINE",
        description="The line under the site's name at the top of every page.",
    )
    logo: str | None = Field(
        None,
        validation_alias="PUBLISHER_LOGO",
        description="A logo before the site's name: a file in your templates folder's "
        "static/ folder, written static/logo.png (the site is served with a policy that "
        "lets pages show only its own images). It is shown 2.5rem high; the site's name "
        "stays beside it as text.",
    )
    header_colour: str = Field(
        DEFAULT_HEADER_COLOUR,
        validation_alias="PUBLISHER_HEADER_COLOUR",
        description="The colour behind the header, as #rrggbb. The header's words are "
        "white, so it must be dark enough for them to be read (a contrast of 4.5:1).",
    )
    link_colour: str = Field(
        DEFAULT_LINK_COLOUR,
        validation_alias="PUBLISHER_LINK_COLOUR",
        description="The colour of links and of the line above the footer, as #rrggbb; dark "
        "enough to read on white (a contrast of 4.5:1).",
    )
    footer_links: dict[str, str] = Field(
        {},
        validation_alias="PUBLISHER_FOOTER_LINKS",
        description="Links at the foot of every page, such as About us or Privacy: in "
        'publisher.toml a table (footer_links = {"About us" = "https://example.org/about"}), '
        'in the environment the same as JSON ({"About us": "https://example.org/about"}).',
    )
    contact: str | None = Field(
        None,
        validation_alias="PUBLISHER_CONTACT",
        description="Who to ask about the site, shown at the foot of every page: an email "
        "address or a web address.",
    )
    publish_to: str | None = Field(
        None,
        validation_alias="PUBLISHER_PUBLISH_TO",
        description="Where `publisher run` uploads the site after each build, and where "
        "`publisher publish` uploads it when not told: S3-compatible object storage, "
        "s3://bucket or s3://bucket/folder (docs/operations.md). Credentials and the "
        "storage's address come from the standard AWS variables (AWS_ACCESS_KEY_ID, "
        "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, AWS_ENDPOINT_URL). Unset, the site is only "
        "served from this machine.",
    )

    secret_key: str | None = Field(
        None,
        validation_alias="PUBLISHER_SECRET_KEY",
        description="The key that signs the links in email alerts (confirm, change, "
        "unsubscribe) and the sign-up forms. Unset, the publisher makes one and keeps it in "
        "the database. Make one with: openssl rand -hex 32. Changing it makes every link "
        "already sent stop working.",
        repr=False,
    )
    privacy_url: str | None = Field(
        None,
        validation_alias="PUBLISHER_PRIVACY_URL",
        description="Your privacy notice for email alerts, linked from the sign-up form and "
        "every alert email. Unset, the web app shows /privacy from the template "
        "privacy.html (copy it into your templates folder and make it yours).",
    )
    unconfirmed_hours: int = Field(
        72,
        ge=1,
        validation_alias="PUBLISHER_UNCONFIRMED_HOURS",
        description="How long a sign-up for email alerts waits to be confirmed: its "
        "confirmation link works this long, the form sends that address nothing more "
        "meanwhile, and after it the sign-up is removed.",
    )
    signups_per_hour: int = Field(
        10,
        ge=1,
        validation_alias="PUBLISHER_SIGNUPS_PER_HOUR",
        description="How many sign-up forms one client (one IP address) may send an hour; "
        "more are refused with a page saying when to try again.",
    )
    bounce_mailbox: str | None = Field(
        None,
        validation_alias="PUBLISHER_BOUNCE_MAILBOX",
        description="Where bounces arrive: a Maildir folder your mail server delivers into "
        "(the folder with cur/, new/ and tmp/, as Postfix, Exim and Dovecot make), or an "
        "IMAP folder, imaps://user@mail.example.org/Bounces (imap+starttls:// on port 143; "
        "imap:// without encryption, for a server on this machine), its password in "
        "PUBLISHER_BOUNCE_PASSWORD. Each notify pass reads the new bounces once (marking "
        "them seen, deleting nothing) and suspends email sign-ups whose address failed for "
        "good. Unset, only a mail server's 5xx refusal suspends an address.",
    )
    bounce_password: str | None = Field(
        None,
        validation_alias="PUBLISHER_BOUNCE_PASSWORD",
        description="The password of the IMAP bounce mailbox (PUBLISHER_BOUNCE_MAILBOX). A "
        "secret: set it in the environment, not in a file kept in git.",
        repr=False,
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
        # load_settings reads the environment and the settings file itself, so that callers
        # (tests, the CLI) can hand it a mapping and every message can say where a value
        # came from.
        return (init_settings,)

    @field_validator("templates")
    @classmethod
    def _templates(cls, value: Path) -> Path:
        # Only a folder someone named is checked: the default may well not be there.
        if not value.is_dir():
            raise ValueError(
                f"there is no folder '{value}' for your own templates; make it, or leave the "
                "setting out to use the publisher's own templates"
            )
        return value

    @field_validator("header_colour", "link_colour")
    @classmethod
    def _colour(cls, value: str, info: ValidationInfo) -> str:
        if not COLOUR_PATTERN.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a colour we can use; write it as # and six hex digits, "
                "like #1d4e89"
            )
        # The header's words are white on it; links are on white.
        ratio = contrast(value, "#ffffff")
        if ratio < MIN_CONTRAST:
            header = info.field_name == "header_colour"
            against = "the header's white words" if header else "a white page"
            raise ValueError(
                f"{value} is too light to read against {against}: the contrast is "
                f"{ratio:.1f}:1 and it needs {MIN_CONTRAST}:1; choose a darker colour"
            )
        return value.lower()

    @field_validator("footer_links", mode="before")
    @classmethod
    def _footer_links_text(cls, value: Any) -> Any:
        # From the environment the links come as JSON text.
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise ValueError(
                    f"{value!r} is not a list of links we can read; write it like "
                    '{"About us": "https://example.org/about"}'
                ) from None
        return value

    @field_validator("footer_links")
    @classmethod
    def _footer_links(cls, value: dict[str, str]) -> dict[str, str]:
        for words, address in value.items():
            if not words.strip() or not _is_link(address, mail=True):
                raise ValueError(
                    f"the link {words!r} goes to {address!r}, which is not a web address; "
                    "write it like https://example.org/about (or mailto:hello@example.org)"
                )
        return value

    @field_validator("logo")
    @classmethod
    def _logo(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if re.fullmatch(r"static/[A-Za-z0-9_./-]+", value) and ".." not in value:
            return value
        raise ValueError(
            f"{value!r} is not a logo we can show; put the file in your templates folder's "
            "static/ folder and write static/logo.png (pages may show only the site's own "
            "images)"
        )

    @field_validator("privacy_url")
    @classmethod
    def _privacy_url(cls, value: str | None) -> str | None:
        if value is None or _is_link(value, mail=False):
            return value
        raise ValueError(
            f"{value!r} is not a web address; write it like https://example.org/privacy"
        )

    @field_validator("bounce_mailbox")
    @classmethod
    def _bounce_mailbox(cls, value: str | None) -> str | None:
        if value is None or "://" not in value:
            return value
        parts = _server_address(value)
        if parts.scheme not in BOUNCE_SCHEMES or not parts.hostname:
            raise ValueError(
                f"{mask_password(value)!r} is neither a folder nor an IMAP folder's address; "
                "write a Maildir folder like /var/mail/bounces, or "
                "imaps://bounces@mail.example.org/INBOX"
            )
        if parts.password is not None:
            raise ValueError(
                f"{mask_password(value)!r} has a password in it; put the password in "
                "PUBLISHER_BOUNCE_PASSWORD, in the environment, and leave it out of the address"
            )
        return value

    @field_validator("contact")
    @classmethod
    def _contact(cls, value: str | None) -> str | None:
        if value is None or _is_link(value, mail=False):
            return value
        address = parseaddr(value)[1]
        if address == value and re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            return value
        raise ValueError(
            f"{value!r} is neither an email address nor a web address; write it like "
            "hello@example.org or https://example.org/contact"
        )

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
        parts = _server_address(value)
        if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
            raise ValueError(
                f"{mask_password(value)!r} is not a mail server address; write it like "
                "smtp+starttls://user:password@mail.example.org:587"
            )
        return value

    @field_validator("publish_to")
    @classmethod
    def _publish_to(cls, value: str | None) -> str | None:
        problem = None if value is None else bucket_address_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("ocid_prefix")
    @classmethod
    def _ocid_prefix(cls, value: str) -> str:
        if not OCID_PREFIX_PATTERN.fullmatch(value):
            raise ValueError(
                f"the OCDS ocid prefix {value!r} should be 'ocds-' and six lower-case letters "
                "or digits, as the OCDS helpdesk issues them; write it like ocds-a1b2c3"
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
    "PUBLISHER_MAX_BODY_BYTES": "a whole number of bytes, 1 or more; write it like 1048576",
    "PUBLISHER_MAX_HEADER_BYTES": "a whole number of bytes, 1024 or more; write it like 32768",
    "PUBLISHER_HEADER_TIMEOUT": "a number of seconds above 0; write it like 10",
    "PUBLISHER_BODY_TIMEOUT": "a number of seconds above 0; write it like 30",
    "PUBLISHER_MAX_CONNECTIONS": "a whole number of connections, 1 or more; write it like 500",
    "PUBLISHER_TEMPLATES": "a folder; write it like templates or /etc/publisher/templates",
    "PUBLISHER_SITE_NAME": "a name of 1 to 80 characters; write it like Leeds funding plans",
    "PUBLISHER_TAGLINE": "a line of up to 200 characters",
    "PUBLISHER_FOOTER_LINKS": 'a list of links; write it like {"About us": "https://example.org/about"}',
    "PUBLISHER_UNCONFIRMED_HOURS": "a whole number of hours, 1 or more; write it like 72",
    "PUBLISHER_SIGNUPS_PER_HOUR": "a whole number, 1 or more; write it like 10",
}


def _is_link(value: str, mail: bool) -> bool:
    parts = urlsplit(value)
    if mail and parts.scheme == "mailto":
        return "@" in parts.path
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def contrast(one: str, other: str) -> float:
    """The WCAG contrast ratio of two #rrggbb colours, 1 to 21."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def variables() -> dict[str, str]:
    """Each setting's field name (its key in publisher.toml) -> its environment variable."""
    return {name: str(field.validation_alias) for name, field in Settings.model_fields.items()}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings from `environ` (the process environment when None) and the settings file:
    $PUBLISHER_CONFIG, else ./publisher.toml when there is one. A variable set in the
    environment wins over the file; an empty value counts as unset. Raises SettingsError
    naming every setting that is wrong (for one from the file: its key and the file)."""
    return load_settings_and_origins(environ)[0]


def load_settings_and_origins(
    environ: Mapping[str, str] | None = None,
) -> tuple[Settings, dict[str, str]]:
    """`load_settings`, and where each setting's value came from, by field name: "the
    environment", "<key> in <settings file>", or "default"."""
    source = os.environ if environ is None else environ
    names = variables()
    given: dict[str, Any] = {}
    origin: dict[str, str] = {}  # variable -> how a message names where the value came from
    problems: list[str] = []
    path, named = _config_path(source)
    if path is not None:
        values, problems = _read_config(path, named, names)
        for key, value in values.items():
            given[names[key]] = value
            origin[names[key]] = f"{key} in {path}"
    for variable in sorted(names.values()):
        if source.get(variable):
            given[variable] = source[variable]
            origin[variable] = variable
    try:
        settings = Settings(**given)
    except ValidationError as error:
        problems += [_plain(problem, given, origin) for problem in error.errors()]
    if problems:
        raise SettingsError("\n".join(problems))
    by_variable = {variable: key for key, variable in names.items()}
    origins = {key: "default" for key in names}
    for variable, where in origin.items():
        origins[by_variable[variable]] = "the environment" if where == variable else where
    return settings, origins


def describe(settings: Settings, origins: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """Each setting as (environment variable, value as it may be shown, where it came from),
    for `publisher settings`. Passwords in addresses are masked; secrets are not shown."""
    rows = []
    for key, variable in variables().items():
        value = getattr(settings, key)
        if value is None:
            shown = "unset"
        elif key in SECRETS:
            shown = "set (hidden)"
        elif isinstance(value, bool):
            shown = str(value).lower()
        elif key == "templates" and not value.is_dir():
            shown = f"{value} (not there: only the publisher's own templates are used)"
        elif isinstance(value, str):
            shown = mask_password(value)
        else:
            shown = str(value)
        rows.append((variable, shown, origins.get(key, "default")))
    return rows


def _config_path(source: Mapping[str, str]) -> tuple[Path | None, bool]:
    """The settings file to read, and whether PUBLISHER_CONFIG named it."""
    if source.get(CONFIG_VARIABLE):
        return Path(source[CONFIG_VARIABLE]), True
    return (DEFAULT_CONFIG, False) if DEFAULT_CONFIG.is_file() else (None, False)


def _read_config(
    path: Path, named: bool, names: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """The settings in a publisher.toml, by field name, and what is wrong with the file."""
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except FileNotFoundError:
        return {}, [f"{CONFIG_VARIABLE}: there is no settings file at '{path}'"]
    except OSError as error:
        who = f"{CONFIG_VARIABLE}: " if named else ""
        return {}, [f"{who}cannot read the settings file '{path}': {error.strerror or error}"]
    except UnicodeDecodeError:
        return {}, [f"{path}: the settings file is not UTF-8 text; save it as UTF-8"]
    except tomllib.TOMLDecodeError as error:
        return {}, [f"{path}: the settings file is not TOML we can read: {error}"]
    values: dict[str, Any] = {}
    problems: list[str] = []
    by_variable = {variable: key for key, variable in names.items()}
    for key, value in data.items():
        if key in names:
            if value != "":
                values[key] = value
            continue
        # DATABASE_URL or Database_Url for database_url; else the nearest spelling.
        right = key.lower() if key.lower() in names else by_variable.get(key)
        if right is None:
            close = difflib.get_close_matches(key.lower(), list(names), n=1)
            right = close[0] if close else None
        hint = (
            f"did you mean {right}?"
            if right
            else "the settings are listed in docs/configuration.md"
        )
        problems.append(f"{key} in {path}: this is not a setting we know; {hint}")
    return values, problems


def _plain(problem: Any, given: Mapping[str, Any], origin: Mapping[str, str]) -> str:
    name = str(problem["loc"][0]) if problem["loc"] else "settings"
    where = origin.get(name, name)
    if problem["type"] == "value_error":
        return f"{where}: {problem['ctx']['error']}"
    value = _show(given.get(name, ""))
    if problem["type"] == "string_type":
        return f"{where}: {value} is not text; put it in quotes"
    return f"{where}: {value} is not {_EXPECTED.get(name, 'a value we understand')}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(mask_password(value))
    if isinstance(value, bool):  # as TOML writes it
        return str(value).lower()
    return repr(value)


def mask_password(url: str) -> str:
    """The URL with any password in it replaced by ***, for messages and logs. A password
    may hold any character, '/' and '@' too: everything between the user's name and the last
    '@' is hidden (which may hide more than the password, never less)."""
    scheme, separator, rest = url.partition("://")
    at = rest.rfind("@")
    if not separator or at < 0 or ":" not in rest[:at]:
        return url
    user = rest[:at].partition(":")[0]
    return f"{scheme}://{user}:***{rest[at:]}"


# --- docs/configuration.md ---------------------------------------------------------------

TABLE_START = "<!-- settings table: written by `make docs` from publisher/settings.py -->"
TABLE_END = "<!-- end of settings table -->"


def markdown_table() -> str:
    """Every setting as a Markdown table: variable, publisher.toml key, default, description."""
    rows = [
        "| environment variable | `publisher.toml` key | default | what it does |",
        "|---|---|---|---|",
    ]
    for key, field in Settings.model_fields.items():
        description = (field.description or "").replace("|", "\\|")
        rows.append(
            f"| `{field.validation_alias}` | `{key}` | {_default(field.default)} | {description} |"
        )
    return "\n".join(rows) + "\n"


def _default(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    return f"`{value}`"


def with_table(document: str) -> str:
    """`document` with the text between the table's markers replaced by `markdown_table()`."""
    head, start, rest = document.partition(TABLE_START)
    _, end, tail = rest.partition(TABLE_END)
    if not start or not end:
        raise ValueError(f"the document has no {TABLE_START} ... {TABLE_END} markers")
    return f"{head}{TABLE_START}\n\n{markdown_table()}\n{TABLE_END}{tail}"


if __name__ == "__main__":
    # python -m publisher.settings docs/configuration.md: rewrite the table in place.
    for name in sys.argv[1:]:
        target = Path(name)
        target.write_text(with_table(target.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"wrote the settings table in {target}")
