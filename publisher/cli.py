"""The `publisher` command: parses arguments, calls the core, prints results plainly."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from publisher.changes import preview
from publisher.plans import report
from publisher.plans.check import UsageError, check
from publisher.plans.errors import count
from publisher.plans.schema import write_all
from publisher.render.site import BuildError, build

LONDON = ZoneInfo("Europe/London")
DEFAULT_BASE_URL = "http://localhost:8000/"
EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def today_in_london() -> dt.date:
    return dt.datetime.now(LONDON).date()


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a day like 2027-03-14") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="publisher",
        description="Publish forward procurement plans as plain-English notices and feeds.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check_cmd = commands.add_parser(
        "check",
        help="check plan and channel files, and say plainly what is wrong",
        description="Check plan, channel, places and themes files. Exit 0 when there are no "
        "errors (warnings allowed), 1 when there are errors, 2 when the command is wrong.",
    )
    check_cmd.add_argument(
        "paths",
        nargs="*",
        type=Path,
        default=[Path("plans")],
        metavar="PATH",
        help="files or folders (default: plans)",
    )
    check_cmd.add_argument(
        "--strict",
        action="store_true",
        help="count warnings (such as a gap without a reason) as errors",
    )
    check_cmd.add_argument(
        "--format",
        choices=sorted(report.FORMATS),
        default="text",
        help="text for people, github for pull-request annotations, json for tools",
    )
    check_cmd.add_argument(
        "--today",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="check as if on this day (notice periods depend on it)",
    )

    build_cmd = commands.add_parser(
        "build",
        help="build the static site: notices, feeds, calendars and JSON",
        description="Build the static site from the plans, atomically: the new site replaces "
        "the old one in one step, and a failed build leaves the old one as it was. A plan "
        "file with errors is reported and left out; the others are still published.",
    )
    build_cmd.add_argument("--plans", type=Path, default=Path("plans"), help="default: plans")
    build_cmd.add_argument("--out", type=Path, default=Path("feeds"), help="default: feeds")
    build_cmd.add_argument(
        "--base-url",
        default=os.environ.get("PUBLISHER_BASE_URL", DEFAULT_BASE_URL),
        help="the site's public address, for links in feeds and calendars "
        f"(default: $PUBLISHER_BASE_URL or {DEFAULT_BASE_URL})",
    )
    build_cmd.add_argument(
        "--today", type=_date, default=None, metavar="YYYY-MM-DD", help="build as if on this day"
    )

    diff_cmd = commands.add_parser(
        "diff",
        help="what the public will see change between two versions of the plans",
        description="Compare the plans at BASE with HEAD (default: the files as they are now) "
        "and say in plain English what the public will see change: new, changed and "
        "withdrawn opportunities, grouped by commissioner, with new warnings from the "
        "check. Markdown is ready to post as a pull-request comment. Exit 0, or 1 when "
        "HEAD has errors (a file with errors would be left out of the site).",
    )
    diff_cmd.add_argument(
        "base", metavar="BASE", help="a git revision: origin/main, a tag, a commit"
    )
    diff_cmd.add_argument(
        "head", metavar="HEAD", nargs="?", default=None, help="default: the working tree"
    )
    diff_cmd.add_argument("--plans", type=Path, default=Path("plans"), help="default: plans")
    diff_cmd.add_argument("--format", choices=["markdown", "text", "json"], default="markdown")
    diff_cmd.add_argument(
        "--base-url",
        default=os.environ.get("PUBLISHER_BASE_URL", DEFAULT_BASE_URL),
        help="the site's public address, for links to notices",
    )
    diff_cmd.add_argument(
        "--today", type=_date, default=None, metavar="YYYY-MM-DD", help="check as if on this day"
    )

    schema_cmd = commands.add_parser(
        "schema",
        help="write the JSON Schema of the file formats, for editors",
        description="Write plan.schema.json, channel.schema.json, places.schema.json and "
        "themes.schema.json. Plan files point at them with a first line like "
        "'# yaml-language-server: $schema=schema/plan.schema.json'.",
    )
    schema_cmd.add_argument(
        "--out",
        type=Path,
        default=Path("plans/schema"),
        help="folder to write into (default: plans/schema)",
    )
    return parser


def _colour(stream: object) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return bool(getattr(stream, "isatty", lambda: False)())


def run_check(args: argparse.Namespace) -> int:
    try:
        result = check(args.paths, args.today or today_in_london())
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


def _progress(done: int, total: int, what: str) -> None:
    end = "\n" if done == total else ""
    print(f"\r{what}: {done} of {total}", end=end, file=sys.stderr, flush=True)


def run_build(args: argparse.Namespace) -> int:
    if not args.plans.is_dir():
        print(f"publisher build: there is no plans folder at '{args.plans}'.", file=sys.stderr)
        return EXIT_USAGE
    progress = _progress if sys.stderr.isatty() else None
    try:
        built = build(
            args.plans,
            args.out,
            today=args.today or today_in_london(),
            base_url=args.base_url,
            progress=progress,
        )
    except BuildError as err:
        print(f"publisher build: {err}", file=sys.stderr)
        return EXIT_PROBLEMS
    except OSError as err:
        print(
            f"publisher build: could not write the site to '{args.out}': "
            f"{err.strerror or err}. The site that was there is unchanged.",
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    for skipped in built.skipped:
        errors = sum(
            1 for p in built.problems if p.file == skipped and p.severity is report.Severity.ERROR
        )
        print(
            f"Left out {skipped}: it has {count(errors, 'error')}. "
            f"Run 'publisher check {skipped}' to see them."
        )
    print(
        f"Built {count(built.files, 'file')} for "
        f"{count(built.opportunities, 'opportunity', 'opportunities')} into {args.out}/."
    )
    return EXIT_PROBLEMS if built.skipped else EXIT_OK


def run_diff(args: argparse.Namespace) -> int:
    if not args.plans.is_dir():
        print(f"publisher diff: there is no plans folder at '{args.plans}'.", file=sys.stderr)
        return EXIT_USAGE
    base_url = args.base_url if args.base_url.endswith("/") else args.base_url + "/"
    try:
        result = preview.preview(
            args.plans, args.base, args.head, args.today or today_in_london(), base_url
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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    commands = {
        "check": run_check,
        "build": run_build,
        "diff": run_diff,
        "schema": run_schema,
    }
    try:
        return commands[args.command](args)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
