"""What the commands share: the options several of them take (as argparse parent parsers),
how a command's settings are loaded, the exit codes, and the reading of days and times."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.plans.dates import LONDON

if TYPE_CHECKING:
    from typing import TypeAlias

    from publisher.settings import Settings

    # What add_subparsers() returns: each command module adds its commands to it.
    Commands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def _parent() -> argparse.ArgumentParser:
    # A parent lends its options to the commands that list it; it never parses on its own,
    # and -h belongs to each command.
    return argparse.ArgumentParser(add_help=False)


def plans(*, must_exist: bool = True) -> argparse.ArgumentParser:
    """--plans; when the folder must exist, main() refuses to run the command without it
    (`publisher serve` can do without one, and says so itself)."""
    parent = _parent()
    parent.add_argument("--plans", type=Path, default=Path("plans"), help="default: plans")
    parent.set_defaults(plans_must_exist=must_exist)
    return parent


def today(help_text: str) -> argparse.ArgumentParser:
    """--today: the day a command acts as if it were (notice periods depend on it)."""
    parent = _parent()
    parent.add_argument("--today", type=day, default=None, metavar="YYYY-MM-DD", help=help_text)
    return parent


def base_url(help_text: str) -> argparse.ArgumentParser:
    """--base-url: the site's public address; what it is used for differs by command."""
    parent = _parent()
    parent.add_argument("--base-url", default=None, help=help_text)
    return parent


def text_or_json() -> argparse.ArgumentParser:
    """--format for the commands that print either a table for people or JSON for tools."""
    parent = _parent()
    parent.add_argument("--format", choices=["text", "json"], default="text")
    return parent


def listen() -> argparse.ArgumentParser:
    """--host and --port, for the commands that serve the site."""
    parent = _parent()
    parent.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    parent.add_argument("--port", type=int, default=8000, help="default: 8000")
    return parent


def site() -> argparse.ArgumentParser:
    """--site: the built site a command serves."""
    parent = _parent()
    parent.add_argument("--site", type=Path, default=Path("feeds"), help="default: feeds")
    return parent


def settings() -> argparse.ArgumentParser:
    """No option: marks a command whose settings main() loads before running it, so a
    wrong setting stops every such command the same way (exit 2, the problems printed)."""
    parent = _parent()
    parent.set_defaults(loads_settings=True)
    return parent


def load_settings(command: str) -> tuple[Settings, dict[str, str]] | None:
    """The settings and where each came from (publisher/settings.py: the environment, then
    the settings file, then the defaults). None, with the problems printed, when one is
    wrong."""
    # Imported when a command runs: `publisher schema` and `--help` need no settings.
    from publisher.settings import SettingsError, load_settings_and_origins  # noqa: PLC0415
    from publisher.text import templates  # noqa: PLC0415
    from publisher.text.brand import Brand  # noqa: PLC0415

    try:
        found = load_settings_and_origins()
    except SettingsError as err:
        print(f"publisher {command}: {err}", file=sys.stderr)
        return None
    # The deployment's templates, in front of the package's, and its name and colours, for
    # the whole command (forked build workers inherit them).
    templates.configure(found[0].templates, Brand.of(found[0]))
    return found


def today_in_london() -> dt.date:
    return dt.datetime.now(LONDON).date()


def day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a day like 2027-03-14") from None


def moment(text: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a time like 2027-03-14T08:00") from None
    return when if when.tzinfo else when.replace(tzinfo=LONDON)


def with_slash(url: str) -> str:
    """A base URL ending in /, so relative links join under it rather than beside it."""
    return url if url.endswith("/") else url + "/"
