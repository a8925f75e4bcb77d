"""`publisher subscribers`: what is kept about an email address that signed up for alerts
on the web app (`export`), and deleting all of it (`forget`): a person's right of access
and right to erasure, answered from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from publisher.cli import options
from publisher.cli.options import EXIT_OK, EXIT_PROBLEMS

if TYPE_CHECKING:
    from publisher.cli.options import Commands
    from publisher.settings import Settings


def add_subscribers(commands: Commands) -> None:
    command = commands.add_parser(
        "subscribers",
        help="export or forget what is kept about an address signed up for email alerts",
        description="Email alerts people signed up for on the web app: `export ADDRESS` prints "
        "everything kept about the address as JSON; `forget ADDRESS` deletes all of it, and "
        "stops every email to it.",
        parents=[options.settings()],
    )
    command.add_argument("action", choices=["export", "forget"])
    command.add_argument("address", metavar="ADDRESS")
    command.set_defaults(run=run_subscribers)


def run_subscribers(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    from publisher.delivery import signups  # noqa: PLC0415
    from publisher.delivery.database import DatabaseError, connect, create_or_upgrade  # noqa: PLC0415

    try:
        engine = connect(settings.database_url)
        create_or_upgrade(engine)
        with engine.begin() as conn:
            if args.action == "export":
                found = signups.export(conn, args.address)
            else:
                found = {"forgotten": signups.forget(conn, args.address)}
        engine.dispose()
    except DatabaseError as err:
        print(f"publisher subscribers: {err}", file=sys.stderr)
        return EXIT_PROBLEMS
    if found is None or found.get("forgotten") is False:
        print(
            "publisher subscribers: nothing is kept about that address (no one signed up"
            " with it, or it was removed already).",
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    if args.action == "export":
        sys.stdout.write(json.dumps(found, indent=2, ensure_ascii=False) + "\n")
    else:
        print("Deleted everything kept about that address; no more emails go to it.")
    return EXIT_OK
