"""`publisher pipeline`: what a commissioner's Procurement Act pipeline notice (UK1) would
list, from its plan, and what the plan does not yet say of each contract; or, with
`--format ocds`, those contracts as an OCDS release package."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.cli import options
from publisher.cli.options import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE

if TYPE_CHECKING:
    from publisher.cli.options import Commands
    from publisher.settings import Settings


def add_pipeline(commands: Commands) -> None:
    command = commands.add_parser(
        "pipeline",
        help="what a Procurement Act pipeline notice (UK1) would list, from a plan",
        description="List the contracts of £2 million or more that a commissioner's plan "
        "puts out to tender in the 18 months from 1 April of a year: what its pipeline "
        "notice (UK1) under the Procurement Act 2023 would contain, and what the plan does "
        "not yet say of each. With --format ocds, write them as an OCDS release package "
        "(Find a Tender's UK profile). Nothing is sent to Find a Tender. Exit 0 when the "
        "listing is made, 1 when the plans cannot be read or the file not written, 2 when "
        "the commissioner or the year is wrong.",
        parents=[
            options.plans(),
            options.settings(),
            options.today("list as if on this day (it chooses the default year)"),
            options.base_url("the site's address, for links to notices (default: setting)"),
        ],
    )
    command.add_argument(
        "--commissioner", required=True, metavar="ID", help="whose plan: plans/ID.yaml"
    )
    command.add_argument(
        "--year",
        type=int,
        default=None,
        help="the financial year from 1 April of this year (default: the next notice due)",
    )
    command.add_argument("--format", choices=["text", "ocds"], default="text")
    command.add_argument(
        "--out", type=Path, default=None, metavar="FILE", help="write to FILE, not the screen"
    )
    command.set_defaults(run=run_pipeline)


def run_pipeline(args: argparse.Namespace) -> int:
    from publisher.formats import ocds, pipeline  # noqa: PLC0415
    from publisher.model.read import PlansUnreadableError, load_site  # noqa: PLC0415

    settings: Settings = args.settings
    today = args.today or options.today_in_london()
    year = args.year if args.year is not None else pipeline.default_year(today)
    try:
        pipeline.check_year(year, today)
        site, _ = load_site(
            args.plans, today, options.with_slash(args.base_url or settings.base_url)
        )
    except pipeline.PipelineError as err:
        print(f"publisher pipeline: {err}", file=sys.stderr)
        return EXIT_USAGE
    except PlansUnreadableError as err:
        print(f"publisher pipeline: {err}", file=sys.stderr)
        return EXIT_PROBLEMS
    problem = ocds.use_prefix(site, settings.ocid_prefix)
    if problem and args.format == "ocds":
        print(f"publisher pipeline: {problem}.", file=sys.stderr)
        return EXIT_USAGE
    try:
        listed = pipeline.listing(site, args.commissioner, year)
    except pipeline.PipelineError as err:
        print(f"publisher pipeline: {err}", file=sys.stderr)
        return EXIT_USAGE
    if args.format == "ocds":
        if not listed.entries:
            print(
                f"publisher pipeline: {listed.commissioner.name} has no contract to list for "
                f"the year from 1 April {year}, and an OCDS package must hold at least one "
                "release, so none was written. Run without --format ocds to see why.",
                file=sys.stderr,
            )
            return EXIT_PROBLEMS
        out = json.dumps(pipeline.package(site, listed), ensure_ascii=False, indent=2) + "\n"
    else:
        out = pipeline.text(listed)
    if args.out is None:
        sys.stdout.write(out)
        return EXIT_OK
    try:
        args.out.write_text(out, encoding="utf-8")
    except OSError as err:
        print(
            f"publisher pipeline: could not write '{args.out}': {err.strerror or err}.",
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    print(f"Wrote {args.out}.")
    return EXIT_OK
