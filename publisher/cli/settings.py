"""`publisher settings`: every setting in effect and where it came from."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from publisher.cli import options
from publisher.cli.options import EXIT_OK

if TYPE_CHECKING:
    from publisher.cli.options import Commands


def add_settings(commands: Commands) -> None:
    command = commands.add_parser(
        "settings",
        help="show each setting's value and where it came from",
        description="Show every setting in effect (from the environment, then publisher.toml "
        "or the file PUBLISHER_CONFIG names, then the defaults) and where each came from. "
        "Passwords and secrets are never shown. Exit 2 when a setting is wrong.",
        parents=[options.text_or_json(), options.settings()],
    )
    command.set_defaults(run=run_settings)


def run_settings(args: argparse.Namespace) -> int:
    from publisher.settings import describe  # noqa: PLC0415

    rows = describe(args.settings, args.origins)
    if args.format == "json":
        sys.stdout.write(
            json.dumps(
                [{"variable": v, "value": shown, "from": origin} for v, shown, origin in rows],
                indent=2,
            )
            + "\n"
        )
        return EXIT_OK
    width = max(len(variable) for variable, _, _ in rows)
    for variable, shown, origin in rows:
        where = "the default" if origin == "default" else f"from {origin}"
        print(f"{variable:<{width}}  {shown}  ({where})")
    return EXIT_OK
