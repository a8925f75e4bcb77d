"""The commands that make and serve the site: `publisher build`, `publisher run` (the
service: keep the site current and serve it) and `publisher serve` (serve it as built)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.builder.site import build
from publisher.cli import options
from publisher.cli.options import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from publisher.model.read import PlansUnreadableError, first_error
from publisher.plans import report
from publisher.plans.errors import count
from publisher.plans.folder import no_plans_folder
from publisher.plans.load import paused_gc

if TYPE_CHECKING:
    from publisher.cli.options import Commands
    from publisher.service.signup_pages import Signups
    from publisher.settings import Settings


def add_build(commands: Commands) -> None:
    command = commands.add_parser(
        "build",
        help="build the static site: notices, feeds, calendars and JSON",
        description="Build the static site from the plans, atomically: the new site replaces "
        "the old one in one step, and a failed build leaves the old one as it was. A plan "
        "file with errors is reported and left out; the others are still published.",
        parents=[
            options.plans(),
            options.today("build as if on this day"),
            options.base_url(
                "the site's public address, for links in feeds and calendars "
                "(default: the base_url setting, PUBLISHER_BASE_URL)"
            ),
            options.settings(),
        ],
    )
    command.add_argument("--out", type=Path, default=Path("feeds"), help="default: feeds")
    command.set_defaults(run=run_build)


def add_run(commands: Commands) -> None:
    command = commands.add_parser(
        "run",
        help="the service: keep the site current, announce changes, serve it",
        description="Serve the site and keep it current: look at the plans every minute (git "
        "pull when the plans folder is a clone with a remote; at once on a signed push to "
        "POST /hooks/plans), rebuild when they changed, run the notify pass every five "
        "minutes. A second 'publisher run' on the same database serves the web and stands by. "
        "SIGTERM or Ctrl+C finish the send in progress, then stop.",
        parents=[options.listen(), options.plans(), options.site(), options.settings()],
    )
    command.set_defaults(run=run_service)


def add_serve(commands: Commands) -> None:
    command = commands.add_parser(
        "serve",
        help="serve the built site, with filtered feeds and the subscribe page",
        description="Serve the site built in --site, with ETags and 304s, compression and "
        "CORS for feeds; feeds for any mix of places, themes and funding (/feeds?place=leeds"
        "&theme=mental-health&format=ics), the subscribe page (/subscribe), an embeddable "
        "list (/embed) and /healthz. Web only: 'publisher run' also keeps the site current. "
        "With DATABASE_URL set to the database of 'publisher run', it takes email sign-ups "
        "too; their emails wait in the outbox for that scheduler to send. "
        "SIGTERM or Ctrl+C stop it gracefully.",
        # Without a plans folder it still serves the built site; it loads its settings
        # itself, after seeing there is a site to serve.
        parents=[
            options.listen(),
            options.site(),
            options.plans(must_exist=False),
            options.base_url(
                "the site's public address, for links in filtered feeds and the subscribe "
                "page (default: the base_url setting when it is set, else the address it "
                "listens on)"
            ),
        ],
    )
    command.set_defaults(run=run_serve)


def _progress(done: int, total: int, what: str) -> None:
    end = "\n" if done == total else ""
    print(f"\r{what}: {done} of {total}", end=end, file=sys.stderr, flush=True)


def run_build(args: argparse.Namespace) -> int:
    # The command ends when the build does (cli.entry), so the cycle collector is paused
    # until then: it would only walk, again and again, what the build reads from its caches
    # (history, manifest), all of it alive: a third of a second at 20,000 opportunities.
    with paused_gc():
        return _build(args)


def _build(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    progress = _progress if sys.stderr.isatty() else None
    try:
        built = build(
            args.plans,
            args.out,
            today=args.today or options.today_in_london(),
            base_url=options.with_slash(args.base_url or settings.base_url),
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
    for file, day in built.held:
        first = first_error([p for p in built.problems if p.file == file])
        where = f"{file} line {first.line}: {first.message}" if first else file
        print(
            f"publisher build: {where} Its newest version has errors, so the site still "
            f"shows its version of {day:%-d %B %Y}. Run 'publisher check {file}'.",
            file=sys.stderr,
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
    return EXIT_PROBLEMS if built.skipped or built.held else EXIT_OK


def run_service(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
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


def _signups(settings: Settings, origins: dict[str, str]) -> Signups | None:
    """Email sign-ups for `publisher serve`: on when DATABASE_URL is set (the database the
    scheduler of `publisher run` uses, which sends what they queue), else off, said so.
    Raises DatabaseError when the database cannot be opened."""
    if origins.get("database_url", "default") == "default":
        print(
            "publisher serve: DATABASE_URL is not set, so email sign-ups are not taken here "
            "(their pages say so and point to the feeds). Set it to the database of "
            "'publisher run' to take them.",
            file=sys.stderr,
        )
        return None
    from publisher.delivery.database import connect, create_or_upgrade  # noqa: PLC0415
    from publisher.service.signup_pages import Signups  # noqa: PLC0415

    engine = connect(settings.database_url)
    create_or_upgrade(engine)
    return Signups(engine, settings)


def run_serve(args: argparse.Namespace) -> int:
    if not (args.site / "index.html").is_file():
        print(
            f"publisher serve: there is no built site at '{args.site}'; "
            f"run 'publisher build --out {args.site}' first.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    found = options.load_settings("serve")
    if found is None:
        return EXIT_USAGE
    settings, origins = found
    base_url = args.base_url or (settings.base_url if origins["base_url"] != "default" else None)
    missing = no_plans_folder(args.plans)
    if missing:
        print(
            f"publisher serve: {missing}, so only the built site is served: no filtered "
            "feeds, subscribe page or embed.",
            file=sys.stderr,
        )
    from publisher.delivery.database import DatabaseError  # noqa: PLC0415
    from publisher.service import web  # noqa: PLC0415
    from publisher.service.limits import Limits  # noqa: PLC0415

    try:
        alerts = _signups(settings, origins)
    except DatabaseError as err:
        print(f"publisher serve: {err}", file=sys.stderr)
        return EXIT_PROBLEMS
    plans = None if missing else args.plans
    try:
        web.serve(
            args.site, plans, args.host, args.port, Limits.of(settings), base_url,
            signups=alerts,
        )  # fmt: skip
    except OSError as err:
        print(
            f"publisher serve: cannot listen on {args.host}:{args.port}: {err.strerror or err}",
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    return EXIT_OK
