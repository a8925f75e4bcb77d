"""The `publisher` command: parses arguments, calls the core, prints results plainly."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.build.site import build
from publisher.model.read import PlansUnreadableError
from publisher.plans import report
from publisher.plans.check import UsageError, check
from publisher.plans.dates import LONDON
from publisher.plans.errors import count
from publisher.plans.schema import write_all

if TYPE_CHECKING:
    from publisher.settings import Settings

# Each command imports what only it needs (git previews, the database, the web stack) when
# it runs, so `publisher check` and `publisher build` start fast.

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("forward-plan-publisher")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def today_in_london() -> dt.date:
    return dt.datetime.now(LONDON).date()


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a day like 2027-03-14") from None


def _moment(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a time like 2027-03-14T08:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=LONDON)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="publisher",
        description="Publish forward procurement plans as plain-English notices and feeds.",
    )
    parser.add_argument("--version", action="version", version=f"publisher {_version()}")
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
        default=None,
        help="the site's public address, for links in feeds and calendars "
        "(default: the base_url setting, PUBLISHER_BASE_URL)",
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
        default=None,
        help="the site's public address, for links to notices "
        "(default: the base_url setting, PUBLISHER_BASE_URL)",
    )
    diff_cmd.add_argument(
        "--today", type=_date, default=None, metavar="YYYY-MM-DD", help="check as if on this day"
    )

    notify_cmd = commands.add_parser(
        "notify",
        help="one pass: announce changes, send reminders and digests that are due",
        description="Compare the plans with what was last published, queue every announcement, "
        "reminder and digest that is due for the channels in plans/channels/, record the new "
        "snapshot, and send what is queued. For cron or a scheduled job; the service runs the "
        "same pass. Settings come from the environment (DATABASE_URL, SMTP_URL, ...).",
    )
    notify_cmd.add_argument("--plans", type=Path, default=Path("plans"), help="default: plans")
    notify_cmd.add_argument(
        "--dry-run", action="store_true", help="say what would be sent; record and send nothing"
    )
    notify_cmd.add_argument(
        "--now",
        type=_moment,
        default=None,
        metavar="YYYY-MM-DDTHH:MM",
        help="run as if at this London time (for trying out reminders and digests)",
    )

    outbox_cmd = commands.add_parser(
        "outbox",
        help="what has been sent, what is waiting, what failed and why",
        description="List the outbox: queued, sending, sent and failed messages, with reasons. "
        "--retry puts failed messages back in the queue.",
    )
    outbox_cmd.add_argument(
        "--state", choices=["queued", "sending", "sent", "failed"], default=None
    )
    outbox_cmd.add_argument("--limit", type=int, default=50, help="default: 50 (0: all)")
    outbox_cmd.add_argument(
        "--retry",
        nargs="*",
        metavar="KEY",
        default=None,
        help="queue failed messages again: these keys, or every failed one",
    )
    outbox_cmd.add_argument("--format", choices=["text", "json"], default="text")

    run_cmd = commands.add_parser(
        "run",
        help="the service: keep the site current, announce changes, serve it",
        description="Serve the site and keep it current: look at the plans every minute (git "
        "pull when the plans folder is a clone with a remote; at once on a signed push to "
        "POST /hooks/plans), rebuild when they changed, run the notify pass every five "
        "minutes. A second 'publisher run' on the same database serves the web and stands by. "
        "SIGTERM or Ctrl+C finish the send in progress, then stop.",
    )
    run_cmd.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    run_cmd.add_argument("--port", type=int, default=8000, help="default: 8000")
    run_cmd.add_argument("--plans", type=Path, default=Path("plans"), help="default: plans")
    run_cmd.add_argument("--site", type=Path, default=Path("feeds"), help="default: feeds")

    serve_cmd = commands.add_parser(
        "serve",
        help="serve the built site, with filtered feeds and the subscribe page",
        description="Serve the site built in --site, with ETags and 304s, compression and "
        "CORS for feeds; feeds for any mix of places, themes and funding (/feeds?place=leeds"
        "&theme=mental-health&format=ics), the subscribe page (/subscribe), an embeddable "
        "list (/embed) and /healthz. Web only: 'publisher run' also keeps the site current. "
        "SIGTERM or Ctrl+C stop it gracefully.",
    )
    serve_cmd.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000, help="default: 8000")
    serve_cmd.add_argument("--site", type=Path, default=Path("feeds"), help="default: feeds")
    serve_cmd.add_argument("--plans", type=Path, default=Path("plans"), help="default: plans")
    serve_cmd.add_argument(
        "--base-url",
        default=None,
        help="the site's public address, for links in filtered feeds and the subscribe page "
        "(default: the base_url setting when it is set, else the address it listens on)",
    )

    settings_cmd = commands.add_parser(
        "settings",
        help="show each setting's value and where it came from",
        description="Show every setting in effect (from the environment, then publisher.toml "
        "or the file PUBLISHER_CONFIG names, then the defaults) and where each came from. "
        "Passwords and secrets are never shown. Exit 2 when a setting is wrong.",
    )
    settings_cmd.add_argument("--format", choices=["text", "json"], default="text")

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
    settings = _settings("check")
    if settings is None:
        return EXIT_USAGE
    try:
        result = check(
            args.paths,
            args.today or today_in_london(),
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


def _progress(done: int, total: int, what: str) -> None:
    end = "\n" if done == total else ""
    print(f"\r{what}: {done} of {total}", end=end, file=sys.stderr, flush=True)


def run_build(args: argparse.Namespace) -> int:
    if not args.plans.is_dir():
        print(f"publisher build: there is no plans folder at '{args.plans}'.", file=sys.stderr)
        return EXIT_USAGE
    settings = _settings("build")
    if settings is None:
        return EXIT_USAGE
    progress = _progress if sys.stderr.isatty() else None
    try:
        built = build(
            args.plans,
            args.out,
            today=args.today or today_in_london(),
            base_url=_base_url(args.base_url or settings.base_url),
            progress=progress,
            ocid_prefix=settings.ocid_prefix,
        )
    except PlansUnreadableError as err:  # BuildError is one
        print(f"publisher build: {err}", file=sys.stderr)
        return EXIT_PROBLEMS
    except OSError as err:
        where = f" (at {err.filename})" if err.filename else ""
        print(
            f"publisher build: could not write the site to '{args.out}'{where}: "
            f"{err.strerror or err}. The site that was there is unchanged.",
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    if built.history_note:
        print(
            f"Note: {built.history_note}. Notices show no first publication dates or changes "
            "from git (a plan's own first_published still counts)."
            if "no history" in built.history_note
            else f"Note: {built.history_note}."
        )
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
    settings = _settings("diff")
    if settings is None:
        return EXIT_USAGE
    from publisher.changes import preview  # noqa: PLC0415

    base_url = _base_url(args.base_url or settings.base_url)
    try:
        result = preview.preview(
            args.plans, args.base, args.head, args.today or today_in_london(), base_url
        )
    except UsageError as err:
        print(f"publisher diff: {err}", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.write(preview.FORMATS[args.format](result))
    return EXIT_PROBLEMS if result.errors else EXIT_OK


def _base_url(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _settings(command: str) -> Settings | None:
    found = _settings_and_origins(command)
    return found[0] if found else None


def _settings_and_origins(command: str) -> tuple[Settings, dict[str, str]] | None:
    """Every command's settings come from here (publisher/settings.py): the environment, then
    the settings file, then the defaults. None, with the problems printed, when one is wrong."""
    from publisher.settings import SettingsError, load_settings_and_origins  # noqa: PLC0415

    try:
        return load_settings_and_origins()
    except SettingsError as err:
        print(f"publisher {command}: {err}", file=sys.stderr)
        return None


def run_settings(args: argparse.Namespace) -> int:
    found = _settings_and_origins("settings")
    if found is None:
        return EXIT_USAGE
    from publisher.settings import describe  # noqa: PLC0415

    rows = describe(*found)
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


def run_notify(args: argparse.Namespace) -> int:
    if not args.plans.is_dir():
        print(f"publisher notify: there is no plans folder at '{args.plans}'.", file=sys.stderr)
        return EXIT_USAGE
    settings = _settings("notify")
    if settings is None:
        return EXIT_USAGE
    from publisher.delivery import notify, notify_report  # noqa: PLC0415
    from publisher.delivery.database import DatabaseError  # noqa: PLC0415

    fixed = args.now.astimezone(dt.UTC) if args.now else None
    clock = (lambda: fixed) if fixed else (lambda: dt.datetime.now(dt.UTC))
    try:
        result = notify.run_pass(args.plans, settings, clock, dry_run=args.dry_run)
    except (PlansUnreadableError, DatabaseError, ValueError) as err:
        print(f"publisher notify: {err}", file=sys.stderr)
        return EXIT_PROBLEMS
    sys.stdout.write(notify_report.text(result, dry_run=args.dry_run))
    return EXIT_OK


def run_outbox(args: argparse.Namespace) -> int:
    settings = _settings("outbox")
    if settings is None:
        return EXIT_USAGE
    from publisher.delivery import notify_report, outbox  # noqa: PLC0415
    from publisher.delivery.database import DatabaseError, connect, create_or_upgrade  # noqa: PLC0415

    try:
        engine = connect(settings.database_url)
        create_or_upgrade(engine)
        now = dt.datetime.now(dt.UTC)
        with engine.begin() as conn:
            if args.retry is not None:
                count_ = outbox.retry_failed(conn, args.retry or None, now)
                print(f"Queued {count_} failed {'message' if count_ == 1 else 'messages'} again.")
                return EXIT_OK
            rows = outbox.list_items(conn, args.state, args.limit or None)
            waiting = outbox.backlog(conn)
    except DatabaseError as err:
        print(f"publisher outbox: {err}", file=sys.stderr)
        return EXIT_PROBLEMS
    render = notify_report.outbox_json if args.format == "json" else notify_report.outbox_text
    sys.stdout.write(render(rows, waiting))
    return EXIT_OK


def run_service(args: argparse.Namespace) -> int:
    if not args.plans.is_dir():
        print(f"publisher run: there is no plans folder at '{args.plans}'.", file=sys.stderr)
        return EXIT_USAGE
    settings = _settings("run")
    if settings is None:
        return EXIT_USAGE
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every job run
    from publisher.delivery.database import DatabaseError  # noqa: PLC0415
    from publisher.service import run as service_run  # noqa: PLC0415

    try:
        service_run.run(args.plans, args.site, args.host, args.port, settings)
    except DatabaseError as err:
        print(f"publisher run: {err}", file=sys.stderr)
        return EXIT_PROBLEMS
    except OSError as err:
        print(
            f"publisher run: cannot listen on {args.host}:{args.port}: {err.strerror or err}",
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    return EXIT_OK


def run_serve(args: argparse.Namespace) -> int:
    if not (args.site / "index.html").is_file():
        print(
            f"publisher serve: there is no built site at '{args.site}'; "
            f"run 'publisher build --out {args.site}' first.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    found = _settings_and_origins("serve")
    if found is None:
        return EXIT_USAGE
    settings, origins = found
    base_url = args.base_url or (settings.base_url if origins["base_url"] != "default" else None)
    plans = args.plans if args.plans.is_dir() else None
    if plans is None:
        print(
            f"publisher serve: there is no plans folder at '{args.plans}', so only the built "
            "site is served: no filtered feeds, subscribe page or embed.",
            file=sys.stderr,
        )
    from publisher.service import web  # noqa: PLC0415
    from publisher.service.limits import Limits  # noqa: PLC0415

    try:
        web.serve(args.site, plans, args.host, args.port, Limits.of(settings), base_url)
    except OSError as err:
        print(
            f"publisher serve: cannot listen on {args.host}:{args.port}: {err.strerror or err}",
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    return EXIT_OK


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
        "notify": run_notify,
        "outbox": run_outbox,
        "run": run_service,
        "serve": run_serve,
        "schema": run_schema,
        "settings": run_settings,
    }
    try:
        return commands[args.command](args)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


# Commands that are done when they return, with nothing left to shut down: the process
# ends at once instead of freeing what it read one object at a time (a third of a second
# after building 20,000 opportunities).
DONE_AT_RETURN = frozenset({"check", "build", "diff", "schema", "settings"})


def entry() -> None:
    """The `publisher` command."""
    code = main()
    if len(sys.argv) > 1 and sys.argv[1] in DONE_AT_RETURN:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (BrokenPipeError, ValueError):
            pass
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
