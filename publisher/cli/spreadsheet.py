"""The commands for people who keep their plan in a spreadsheet: `publisher import` (a
pipeline spreadsheet into a plan file) and `publisher export` (plans back out as one)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.cli import options
from publisher.cli.options import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE

if TYPE_CHECKING:
    from publisher.cli.options import Commands
    from publisher.plans.sheet_plan import Imported


def add_import(commands: Commands) -> None:
    command = commands.add_parser(
        "import",
        help="make or update a plan file from a pipeline spreadsheet (.xlsx or .csv)",
        description="Read a procurement pipeline or contracts register (Excel .xlsx or CSV) "
        "and write its rows into a plan file. Columns are recognised by their headings; "
        "when they cannot be, the command shows a mapping file to write. Rows update the "
        "opportunity with the same Id (or, without an Id column, the same title); fields "
        "the spreadsheet has no column for are kept. What cannot be placed is kept in a "
        "notes block at the end of the plan. Exit 0 when every row was read, 1 when some "
        "could not be (the plan is still written) or the file cannot be imported, 2 when "
        "the command is wrong.",
        parents=[options.today("check dates as if on this day")],
    )
    command.add_argument("file", type=Path, metavar="FILE", help="the spreadsheet")
    command.add_argument(
        "--commissioner", default=None, metavar="ID", help="whose plan: plans/ID.yaml"
    )
    command.add_argument(
        "--out", type=Path, default=None, metavar="PLAN", help="the plan file to write"
    )
    command.add_argument("--plans", type=Path, default=Path("plans"), help="default: plans")
    command.add_argument(
        "--mapping", type=Path, default=None, metavar="MAP.yaml", help="which column is which"
    )
    command.add_argument("--sheet", default=None, help="the sheet to read (default: the first)")
    command.add_argument(
        "--dry-run", action="store_true", help="say what would change; write nothing"
    )
    command.set_defaults(run=run_import)


def add_export(commands: Commands) -> None:
    command = commands.add_parser(
        "export",
        help="write the plans as a spreadsheet (.xlsx or .csv) that import reads back",
        description="Write every opportunity of the plans (or of one commissioner) as a "
        "spreadsheet: one row each, dates as dates, money as numbers, with the headings "
        "`publisher import` recognises.",
        parents=[options.plans()],
    )
    command.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    command.add_argument("--commissioner", default=None, metavar="ID", help="one plan only")
    command.add_argument("--out", type=Path, default=None, metavar="FILE")
    command.set_defaults(run=run_export)


def _say(imported: Imported, dry_run: bool) -> None:
    table, outcome = imported.table, imported.outcome
    print(
        f"Read {table.sheet.name}: headings on row {table.header_row}, "
        f"{len(table.rows)} {'row' if len(table.rows) == 1 else 'rows'} below them."
    )
    placed = [f"'{c.heading}' -> {c.key}" for c in table.columns if c.key not in (None, "ignore")]
    print("Columns: " + ", ".join(placed) + ".")
    if table.unplaced:
        print(
            "Columns that are not plan fields (kept in the notes at the end of the plan): "
            + ", ".join(f"'{h}'" for h in table.unplaced)
            + ". To use one, write a mapping file (--mapping)."
        )
    verb = "Would write" if dry_run else "Wrote"
    print(
        f"{verb} {imported.plan}"
        + (
            " (a new plan: check the commissioner's name and kind at its top)"
            if imported.new_plan
            else ""
        )
        + f": {len(outcome.added)} new, {len(outcome.updated)} updated, "
        f"{len(outcome.unchanged)} unchanged."
    )
    if outcome.not_in_sheet:
        print("Not in the spreadsheet, so kept as they are: " + ", ".join(outcome.not_in_sheet))
    if outcome.other_commissioners:
        print(f"Left out {outcome.other_commissioners} rows for other commissioners.")
    if outcome.problems:
        print("\nRows we could not read fully:")
        for number, reason in outcome.problems:
            print(f"  row {number}: {reason}")
        print(
            "\nEach is kept in the notes at the end of the plan. Fix them in the spreadsheet "
            "and import again, or move them into the plan by hand."
        )


def run_import(args: argparse.Namespace) -> int:
    from publisher.plans import report  # noqa: PLC0415
    from publisher.plans.check import check  # noqa: PLC0415
    from publisher.plans.plan_text import PlanTextError  # noqa: PLC0415
    from publisher.plans.sheet_columns import MappingError  # noqa: PLC0415
    from publisher.plans.sheet_plan import (  # noqa: PLC0415
        MappingNeededError,
        SheetImportError,
        import_spreadsheet,
    )

    if args.out is None and args.commissioner is None:
        print(
            "publisher import: say whose plan this is, with --commissioner ID (the plan is "
            "plans/ID.yaml) or --out PLAN.yaml.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    plan = args.out or args.plans / f"{args.commissioner}.yaml"
    today = args.today or options.today_in_london()
    try:
        imported = import_spreadsheet(
            args.file,
            plan,
            args.commissioner,
            mapping=args.mapping,
            sheet=args.sheet,
            today=today,
        )
    except MappingNeededError as err:
        print(f"publisher import: {err}", file=sys.stderr)
        return EXIT_PROBLEMS
    except PlanTextError as err:
        print(
            f"publisher import: {plan} was not changed: {err}. This is a fault in the "
            "publisher; please report it with the spreadsheet.",
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    except (SheetImportError, MappingError) as err:
        print(f"publisher import: {err}", file=sys.stderr)
        return EXIT_PROBLEMS
    if args.dry_run:
        _say(imported, dry_run=True)
        return EXIT_PROBLEMS if imported.outcome.problems else EXIT_OK
    try:  # written before anything is said, so a closed pipe cannot stop it half way
        plan.parent.mkdir(parents=True, exist_ok=True)
        temporary = plan.with_name(f".{plan.name}.import")
        temporary.write_text(imported.text, encoding="utf-8")
        temporary.replace(plan)
    except OSError as err:
        print(f"publisher import: cannot write {plan}: {err.strerror or err}", file=sys.stderr)
        return EXIT_PROBLEMS
    _say(imported, dry_run=False)
    result = check([plan], today)
    errors = result.count(report.Severity.ERROR)
    if errors:
        print("\n" + report.text(result, colour=False), end="")
    else:
        warnings = result.count(report.Severity.WARNING)
        print(
            f"\npublisher check {plan}: no errors"
            + (f", {warnings} warnings (run it to see them)." if warnings else ".")
        )
    return EXIT_PROBLEMS if errors or imported.outcome.problems else EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    from publisher.formats.plan_sheet import FORMATS, collect  # noqa: PLC0415

    found = collect(args.plans, args.commissioner)
    if args.commissioner is not None and not found.plans and not found.skipped:
        print(
            f"publisher export: there is no plan called {args.commissioner}.yaml in {args.plans}.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    out: Path = args.out or Path(f"{args.commissioner or 'forward-plans'}.{args.format}")
    try:
        out.write_bytes(FORMATS[args.format](found.rows))
    except OSError as err:
        print(f"publisher export: cannot write {out}: {err.strerror or err}", file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"Wrote {out}: {len(found.rows)} opportunities from {found.plans} plans.")
    if found.skipped:
        print(
            "Left out, because they have errors (run publisher check): " + ", ".join(found.skipped),
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    return EXIT_OK
