"""The commands about what is sent: `publisher notify` (one pass of announcements,
reminders and digests) and `publisher outbox` (what was sent, what waits, what failed)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import TYPE_CHECKING

from publisher.cli import options
from publisher.cli.options import EXIT_OK, EXIT_PROBLEMS
from publisher.model.read import PlansUnreadableError

if TYPE_CHECKING:
    from publisher.cli.options import Commands
    from publisher.settings import Settings


def add_notify(commands: Commands) -> None:
    command = commands.add_parser(
        "notify",
        help="one pass: announce changes, send reminders and digests that are due",
        description="Compare the plans with what was last published, queue every announcement, "
        "reminder and digest that is due for the channels in plans/channels/, record the new "
        "snapshot, and send what is queued. For cron or a scheduled job; the service runs the "
        "same pass. Settings come from the environment (DATABASE_URL, SMTP_URL, ...).",
        parents=[options.plans(), options.settings()],
    )
    command.add_argument(
        "--dry-run", action="store_true", help="say what would be sent; record and send nothing"
    )
    command.add_argument(
        "--now",
        type=options.moment,
        default=None,
        metavar="YYYY-MM-DDTHH:MM",
        help="run as if at this London time (for trying out reminders and digests)",
    )
    command.set_defaults(run=run_notify)


def add_outbox(commands: Commands) -> None:
    command = commands.add_parser(
        "outbox",
        help="what has been sent, what is waiting, what failed and why",
        description="List the outbox: queued, sending, sent and failed messages, with reasons. "
        "--retry puts failed messages back in the queue.",
        parents=[options.text_or_json(), options.settings()],
    )
    command.add_argument("--state", choices=["queued", "sending", "sent", "failed"], default=None)
    command.add_argument("--limit", type=int, default=50, help="default: 50 (0: all)")
    command.add_argument(
        "--retry",
        nargs="*",
        metavar="KEY",
        default=None,
        help="queue failed messages again: these keys, or every failed one",
    )
    command.set_defaults(run=run_outbox)


def run_notify(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
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
    settings: Settings = args.settings
    from publisher.delivery import notify_report, outbox, signups  # noqa: PLC0415
    from publisher.delivery.database import DatabaseError, connect, create_or_upgrade  # noqa: PLC0415

    try:
        engine = connect(settings.database_url)
        create_or_upgrade(engine)
        now = dt.datetime.now(dt.UTC)
        with engine.begin() as conn:
            if args.retry is not None:
                queued = outbox.retry_failed(conn, args.retry or None, now)
                print(f"Queued {queued} failed {'message' if queued == 1 else 'messages'} again.")
                return EXIT_OK
            rows = outbox.list_items(conn, args.state, args.limit or None)
            waiting = outbox.backlog(conn)
            people, suspended = signups.counts(conn), signups.suspended(conn)
    except DatabaseError as err:
        print(f"publisher outbox: {err}", file=sys.stderr)
        return EXIT_PROBLEMS
    render = notify_report.outbox_json if args.format == "json" else notify_report.outbox_text
    sys.stdout.write(render(rows, waiting, people, suspended))
    return EXIT_OK
