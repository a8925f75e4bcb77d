"""The `publisher` command: parses arguments, calls the core, prints results plainly."""

# argparse, not click or typer: it is in the standard library (no dependency to add, pin
# and keep up with), its parent parsers give each shared option one definition, and every
# command's help, exit codes and messages are already pinned by tests against it. Click
# would mean rewriting all of that for decorators we do not need.
#
# Each command lives with its group (plans.py: check, diff, schema; site.py: build, run,
# serve; delivery.py: notify, outbox; settings.py) and imports what only it needs (git
# previews, the database, the web stack) when it runs, so `publisher check` and
# `publisher build` start fast. What the commands share is in options.py.

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable, Sequence

from publisher.cli import delivery, options, pipeline, plans, publish, settings, site, spreadsheet
from publisher.cli.options import EXIT_OK, EXIT_USAGE
from publisher.cli.subscribers import add_subscribers
from publisher.plans.folder import no_plans_folder

__all__ = ["entry", "main", "parser"]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("forward-plan-publisher")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def parser() -> argparse.ArgumentParser:
    """Every command, in the order `publisher --help` lists them."""
    top = argparse.ArgumentParser(
        prog="publisher",
        description="Publish forward procurement plans as plain-English notices and feeds.",
    )
    top.add_argument("--version", action="version", version=f"publisher {_version()}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    plans.add_check(commands)
    site.add_build(commands)
    plans.add_diff(commands)
    delivery.add_notify(commands)
    delivery.add_outbox(commands)
    add_subscribers(commands)
    site.add_run(commands)
    site.add_serve(commands)
    publish.add_publish(commands)
    settings.add_settings(commands)
    plans.add_schema(commands)
    spreadsheet.add_import(commands)
    spreadsheet.add_export(commands)
    pipeline.add_pipeline(commands)
    return top


def _ready(args: argparse.Namespace) -> bool:
    """What the command's parent parsers ask for before it runs: a plans folder that is
    there, then settings that load. False, with the reason printed, when one is missing."""
    if getattr(args, "plans_must_exist", False):
        missing = no_plans_folder(args.plans)
        if missing:
            print(f"publisher {args.command}: {missing}.", file=sys.stderr)
            return False
    if getattr(args, "loads_settings", False):
        found = options.load_settings(args.command)
        if found is None:
            return False
        args.settings, args.origins = found
    return True


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.run
    try:
        if not _ready(args):
            return EXIT_USAGE
        return command(args)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


# Commands that are done when they return, with nothing left to shut down: the process
# ends at once instead of freeing what it read one object at a time (a third of a second
# after building 20,000 opportunities).
DONE_AT_RETURN = frozenset({"check", "build", "diff", "schema", "settings"})
# Of those, the commands that pause the cycle collector to their end (site.run_build): it
# is not started again only to walk, once, all that is about to be dropped (0.2 s after a
# build that rendered a plan file, at 20,000 opportunities).
PAUSED_TO_THE_END = frozenset({"build"})


def entry() -> None:
    """The `publisher` command."""
    command = sys.argv[1] if len(sys.argv) > 1 else None
    if command in PAUSED_TO_THE_END:
        gc.disable()
    code = main()
    if command in DONE_AT_RETURN:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (BrokenPipeError, ValueError):
            pass
        os._exit(code)
    sys.exit(code)
