"""The commands about the plan files themselves: `publisher check`, `publisher diff` (what
the public will see change) and `publisher schema` (the JSON Schema for editors)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.cli import options
from publisher.cli.options import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from publisher.plans import report
from publisher.plans.check import UsageError, check
from publisher.plans.schema import write_all

if TYPE_CHECKING:
    from publisher.cli.options import Commands
    from publisher.settings import Settings


def add_check(commands: Commands) -> None:
    command = commands.add_parser(
        "check",
        help="check plan and channel files, and say plainly what is wrong",
        description="Check plan, channel, places and themes files. Exit 0 when there are no "
        "errors (warnings allowed), 1 when there are errors, 2 when the command is wrong.",
        parents=[
            options.today("check as if on this day (notice periods depend on it)"),
            options.settings(),
        ],
    )
    command.add_argument(
        "paths",
        nargs="*",
        type=Path,
        default=[Path("plans")],
        metavar="PATH",
        help="files or folders (default: plans)",
    )
    command.add_argument(
        "--strict",
        action="store_true",
        help="count warnings (such as a gap without a reason) as errors",
    )
    command.add_argument(
        "--format",
        choices=sorted(report.FORMATS),
        default="text",
        help="text for people, github for pull-request annotations, json for tools",
    )
    command.set_defaults(run=run_check)


def add_diff(commands: Commands) -> None:
    command = commands.add_parser(
        "diff",
        help="what the public will see change between two versions of the plans",
        description="Compare the plans at BASE with HEAD (default: the files as they are now) "
        "and say in plain English what the public will see change: new, changed and "
        "withdrawn opportunities, grouped by commissioner, with new warnings from the "
        "check. Markdown is ready to post as a pull-request comment. Exit 0, or 1 when "
        "HEAD has errors (a file with errors would be left out of the site).",
        parents=[
            options.plans(),
            options.today("check as if on this day"),
            options.base_url(
                "the site's public address, for links to notices "
                "(default: the base_url setting, PUBLISHER_BASE_URL)"
            ),
            options.settings(),
        ],
    )
    command.add_argument(
        "base", metavar="BASE", help="a git revision: origin/main, a tag, a commit"
    )
    command.add_argument(
        "head", metavar="HEAD", nargs="?", default=None, help="default: the working tree"
    )
    command.add_argument("--format", choices=["markdown", "text", "json"], default="markdown")
    command.set_defaults(run=run_diff)


def add_schema(commands: Commands) -> None:
    command = commands.add_parser(
        "schema",
        help="write the JSON Schema of the file formats, for editors",
        description="Write plan.schema.json, channel.schema.json, places.schema.json and "
        "themes.schema.json. Plan files point at them with a first line like "
        "'# yaml-language-server: $schema=schema/plan.schema.json'.",
    )
    command.add_argument(
        "--out",
        type=Path,
        default=Path("plans/schema"),
        help="folder to write into (default: plans/schema)",
    )
    command.set_defaults(run=run_schema)


def _colour(stream: object) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return bool(getattr(stream, "isatty", lambda: False)())


def run_check(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    try:
        result = check(
            args.paths,
            args.today or options.today_in_london(),
            allow_private_webhooks=settings.allow_private_webhooks,
        )
    except UsageError as err:
        print(f"publisher check: {err}", file=sys.stderr)
        return EXIT_USAGE
    if args.strict:
        result = result.strict()
    if args.format == "text":
        sys.stdout.write(report.text(result, colour=_colour(sys.stdout)))
    else:
        sys.stdout.write(report.FORMATS[args.format](result))
    return EXIT_PROBLEMS if result.count(report.Severity.ERROR) else EXIT_OK


def run_diff(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    from publisher.changes import preview  # noqa: PLC0415

    base_url = options.with_slash(args.base_url or settings.base_url)
    try:
        result = preview.preview(
            args.plans, args.base, args.head, args.today or options.today_in_london(), base_url
        )
    except UsageError as err:
        print(f"publisher diff: {err}", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.write(preview.FORMATS[args.format](result))
    return EXIT_PROBLEMS if result.errors else EXIT_OK


def run_schema(args: argparse.Namespace) -> int:
    try:
        written = write_all(args.out)
    except OSError as err:
        print(
            f"publisher schema: cannot write to {args.out}: {err.strerror or err}", file=sys.stderr
        )
        return EXIT_PROBLEMS
    for path in written:
        print(f"wrote {path}")
    return EXIT_OK
