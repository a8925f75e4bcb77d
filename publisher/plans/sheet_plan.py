"""`publisher import` as one step: a spreadsheet read, its columns placed (or a mapping file
asked for), its rows made into the plan's opportunities, and the plan's new text."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from publisher.plans.check import load_reference
from publisher.plans.folder import plan_files
from publisher.plans.load import Document, parse, read_text
from publisher.plans.model import SLUG_PATTERN
from publisher.plans.plan_text import notes_block, without_notes, write_plan
from publisher.plans.reference import load_glossary, plans_root
from publisher.plans.sheet_columns import BY_KEY, MappingError, mapping_example, read_mapping
from publisher.plans.sheet_import import Outcome, import_rows
from publisher.plans.sheet_read import SheetError, Table, find_table, read_sheet

__all__ = ["Imported", "MappingNeededError", "SheetImportError", "import_spreadsheet"]


class SheetImportError(ValueError):
    """The import cannot go ahead; the message says why, plainly."""


class MappingNeededError(SheetImportError):
    """The columns could not be placed: the message names them and shows a mapping file."""


@dataclass(frozen=True)
class Imported:
    """The plan's new text, and what the import has to say about it."""

    plan: Path
    text: str
    new_plan: bool
    table: Table
    outcome: Outcome


def _commissioner_name(commissioner: str) -> str:
    small = {"and", "of", "the", "for", "nhs", "icb"}
    words = commissioner.split("-")
    return " ".join(
        w.upper() if w in ("nhs", "icb") else w if w in small else w.capitalize() for w in words
    )


def _existing(plan: Path) -> tuple[Document | None, str | None]:
    """The plan as it is (without an earlier import's notes), or None when there is none."""
    if not plan.exists():
        return None, None
    text, problems = read_text(plan, str(plan))
    if text is None:
        raise SheetImportError(problems[0].message if problems else f"{plan} cannot be read.")
    document, problems = parse(without_notes(text), str(plan))
    errors = [p for p in problems if p.severity == "error"]
    if document is None or errors or not isinstance(document.data, dict):
        first = errors[0] if errors else None
        where = f" (line {first.line}: {first.message})" if first else ""
        raise SheetImportError(
            f"{plan} cannot be read as a plan{where}. Fix it first (publisher check "
            f"{plan}), then import again."
        )
    return document, text


def import_spreadsheet(
    source: Path,
    plan: Path,
    commissioner: str | None,
    *,
    mapping: Path | None = None,
    sheet: str | None = None,
    today: dt.date,
) -> Imported:
    """The plan file `plan` updated (or made) from the spreadsheet `source`."""
    columns, header_row = read_mapping(mapping) if mapping is not None else (None, None)
    try:
        table = find_table(read_sheet(source, sheet), columns, header_row)
    except SheetError as err:
        raise SheetImportError(str(err)) from None
    if not any(c.key in ("title", "id") for c in table.columns):
        headings = [c.heading for c in table.columns]
        raise MappingNeededError(
            f"We could not tell which column of {source.name} holds each opportunity's "
            "title. The columns we could not place are: "
            + ", ".join(f"'{h}'" for h in table.unplaced or headings)
            + ". Write a mapping file like this one (say which field each column holds), "
            "save it as mapping.yaml and run the import again with --mapping mapping.yaml:"
            "\n\n" + mapping_example(table.unplaced or headings, table.columns, table.header_row)
        )
    document, _ = _existing(plan)
    data: dict[str, Any] = dict(document.data) if document is not None else {}
    found = data.get("commissioner", {}).get("id") if isinstance(
        data.get("commissioner"), dict) else None  # fmt: skip
    commissioner = commissioner or found or plan.stem
    if found and found != commissioner:
        raise SheetImportError(
            f"{plan} is the plan of '{found}', not '{commissioner}'. Leave out "
            "--commissioner, or choose the right --out file."
        )
    if document is None and plan.stem != commissioner:
        raise SheetImportError(
            f"A plan file is named after its commissioner: write the plan of "
            f"'{commissioner}' to {plan.with_name(commissioner + '.yaml')}, not {plan}."
        )
    if not re.match(SLUG_PATTERN, commissioner):
        raise SheetImportError(
            f"'{commissioner}' cannot be a commissioner id: use lower-case letters, digits "
            "and hyphens, like leeds-city-council."
        )
    existing = data.pop("opportunities", None) or []
    if not isinstance(existing, list) or not all(isinstance(o, dict) for o in existing):
        raise SheetImportError(f"The opportunities in {plan} are not a list; fix the plan first.")
    if document is None:
        data = {
            "schema": 1,
            "commissioner": {
                "id": commissioner,
                "name": _commissioner_name(commissioner),
                "kind": "other",
            },
        }
    root = plans_root(plan)
    reference = load_reference(root, load_glossary())
    others = {p.stem for p in plan_files(root)} if root.is_dir() else set()
    policy = data.get("notice_policy")
    weeks = policy.get("weeks_before_tender", 12) if isinstance(policy, dict) else 12
    outcome = import_rows(
        table, existing, reference, commissioner, others, today, weeks if isinstance(
            weeks, int) else 12)  # fmt: skip
    lines = [
        f"row {table.header_row}, column '{c.heading}': not a plan field"
        for c in table.columns
        if c.key is None
    ] + outcome.kept
    notes = notes_block(lines if len(lines) > len(table.unplaced) else [], source.name)
    text = write_plan(document, data, outcome.opportunities, outcome.changed, notes)
    return Imported(plan, text, document is None, table, outcome)


def fields_help() -> str:
    """The fields a mapping file can name, one a line."""
    return "\n".join(f"  {c.key}: {c.what}" for c in BY_KEY.values())


__all__ += ["MappingError", "fields_help"]
