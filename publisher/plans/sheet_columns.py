"""The columns of a pipeline spreadsheet: which headings `publisher import` recognises for
each plan field (the names English councils and ICBs use in their pipelines and contract
registers), the headings `publisher export` writes (the same ones, so a spreadsheet goes
round and comes back as the same plan), and the mapping file for headings of one's own."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from publisher.plans.load import load
from publisher.plans.sheet_words import key


@dataclass(frozen=True)
class Column:
    key: str  # what a mapping file calls it
    heading: str  # what `publisher export` writes
    what: str  # for the mapping file's list of fields
    also: tuple[str, ...] = ()  # other headings that mean it (compared by sheet_cells.key)


COLUMNS = (
    Column("title", "Title", "the opportunity's title",
           ("name", "contract title", "contract name", "project title", "project name",
            "opportunity", "opportunity title", "service", "service name", "scheme",
            "scheme name", "procurement title", "requirement", "subject", "contract")),
    Column("summary", "Summary", "what it is for, in a few sentences",
           ("description", "details", "scope", "service description", "brief description",
            "short description", "description of requirement", "contract description",
            "project description", "overview", "requirement description")),
    Column("status", "Status", "idea, planning, engagement, open, evaluating, awarded...",
           ("stage", "current status", "procurement stage", "project status", "state")),
    Column("places", "Places", "where: names or slugs from places.yaml, split by ;",
           ("place", "area", "areas", "location", "locations", "locality", "geography",
            "ward", "wards", "district", "where", "geographical area", "area covered")),
    Column("themes", "Themes", "what it is about: names or slugs from themes.yaml",
           ("theme", "category", "categories", "service area", "service category",
            "topic", "topics", "client group", "care group")),
    Column("funding", "Funding type", "contract, grant, grant-programme or undecided",
           ("funding", "type", "contract or grant", "contract type", "type of funding",
            "agreement type", "funding model")),
    Column("route", "Procurement route", "how the provider will be chosen",
           ("route", "route to market", "procurement procedure", "procedure",
            "procurement method", "procurement process", "award procedure",
            "procurement approach", "sourcing route", "procurement route to market")),
    Column("value", "Value (£)", "the whole value: 50000, £50k, £1.2m, £50k to £100k",
           ("total value", "estimated value", "estimated total value", "contract value",
            "total contract value", "whole life value", "whole life cost",
            "estimated contract value", "budget", "total budget", "funding available",
            "amount", "pot", "total")),
    Column("value_from", "Total value from (£)", "the whole value, or the low end of a range"),
    Column("value_to", "Total value up to (£)", "the high end of the whole value's range"),
    Column("per_year", "Value a year (£)", "the value each year",
           ("annual value", "value per year", "yearly value", "estimated annual value",
            "annual budget", "value per annum", "annual contract value", "value pa",
            "per annum", "per year")),
    Column("per_year_from", "Value a year from (£)", "the yearly value, or its low end"),
    Column("per_year_to", "Value a year up to (£)", "the high end of the yearly value"),
    Column("per_award", "Grant size (£)", "what one grant is worth: £4,000, up to £4,000",
           ("grant amount", "award size", "per award", "grants of", "grant value",
            "size of grants", "grant size per organisation")),
    Column("per_award_from", "Grant from (£)", "the smallest grant"),
    Column("per_award_to", "Grant up to (£)", "the largest grant"),
    Column("duration", "Duration", "how long: 3 years, 18 months, 3 + 2 years",
           ("contract duration", "contract length", "length", "term", "contract term",
            "length of contract", "contract period", "initial term", "duration of contract",
            "grant period")),
    Column("tender_opens", "Tender opens", "when the tender or applications open",
           ("tender start", "tender start date", "tender date", "tender publication",
            "tender publication date", "procurement start", "procurement start date",
            "go to market", "go to market date", "advert date", "applications open", "opens",
            "opening date", "launch date", "date to market", "publish date",
            "procurement commencement", "tender issue date", "itt issue date",
            "tender opens date", "tender opening date")),
    Column("tender_closes", "Tender closes", "the closing date",
           ("closing date", "tender closing date", "tender deadline", "deadline",
            "applications close", "closes", "submission deadline", "tender return date",
            "bid deadline", "return date", "tender closes date")),
    Column("decision", "Decision", "when the provider will be chosen",
           ("decision date", "award date", "contract award", "contract award date", "award",
            "award decision", "date of award")),
    Column("service_starts", "Service starts", "when the new service starts",
           ("service start", "service start date", "start date", "contract start",
            "contract start date", "commencement", "commencement date", "go live",
            "go live date", "start", "new contract start", "service starts date")),
    Column("end_date", "Service ends", "when the new contract ends (gives the duration)",
           ("end date", "contract end", "contract end date", "service end", "service end date",
            "end", "expiry", "expiry date", "new contract end")),
    Column("current_provider", "Current provider", "who runs it now",
           ("incumbent", "incumbent provider", "existing provider", "current supplier",
            "incumbent supplier", "existing supplier", "supplier", "provider")),
    Column("current_ends", "Current contract ends", "when the current contract ends",
           ("current contract end", "current contract end date", "existing contract end",
            "existing contract end date", "current end date", "incumbent contract end")),
    Column("contact", "Contact", "who to ask: a name, and an email address if you like",
           ("contact name", "lead officer", "officer", "lead", "responsible officer",
            "commissioner contact", "lead commissioner", "contract manager", "lead contact",
            "procurement lead", "named contact", "project lead", "commissioning lead",
            "contact officer")),
    Column("contact_email", "Contact email", "the contact's email address",
           ("email", "email address", "e mail", "contact e mail", "officer email")),
    Column("contact_phone", "Contact phone", "the contact's phone number",
           ("phone", "telephone", "contact telephone", "tel", "phone number")),
    Column("more_information", "More information", "a web page about it",
           ("link", "url", "web link", "website", "web page", "further information")),
    Column("commissioner", "Commissioner", "which plan a row belongs to (its commissioner id)",
           ("commissioning body", "organisation", "buyer", "contracting authority")),
    Column("id", "Id", "its stable id (a reference), so rows match between imports",
           ("ref", "reference", "ref no", "reference number", "opportunity id",
            "contract ref", "contract reference", "project ref", "project id", "uid",
            "unique id", "contract id")),
)  # fmt: skip
BY_KEY = {column.key: column for column in COLUMNS}
IGNORE = "ignore"  # a mapping file's word for a column to leave out (not kept either)
KEEP = "keep"  # a mapping file's word for a column to keep in the plan's notes

# Words a heading may carry that do not change what it means.
_NOISE = re.compile(
    r"\b(?:estimated|est|expected|planned|anticipated|proposed|indicative|approximate|approx|"
    r"likely|target|forecast|gbp|inc vat|ex vat|excl vat|incl vat|if known|optional)\b"
)


def _heading_key(heading: str) -> tuple[str, float, str | None]:
    """A heading compared, with the scale ("£k": 1000) and unit ("months") it names."""
    low = heading.lower()
    scale = 1e6 if re.search(r"£\s*m\b|£m|millions", low) else 1.0
    if re.search(r"£\s*k\b|£k|£\s*'?000s?|thousands", low):
        scale = 1e3
    unit = "months" if re.search(r"\bmonths?\b", low) else None
    unit = unit or ("years" if re.search(r"\(\s*years?\s*\)|\byrs\b", low) else None)
    text = re.sub(r"\((?:[^)]*£[^)]*|months?|years?|yrs)\)", " ", low)
    text = re.sub(r"£\s*(?:k|m|'?000s?)?\b", " ", text)
    return key(_NOISE.sub(" ", text)), scale, unit


_LOOKUP: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.heading, _column.key.replace("_", " "), *_column.also):
        _LOOKUP.setdefault(_heading_key(_name)[0], _column.key)


@dataclass(frozen=True)
class Placed:
    """A column of the spreadsheet: where it is, its heading, and what it holds."""

    index: int
    heading: str
    key: str | None  # None: not placed (kept in the plan's notes)
    scale: float = 1.0
    unit: str | None = None


def recognise(heading: str) -> str | None:
    """The field a heading names, or None."""
    said, _, _ = _heading_key(heading)
    if not said:
        return None
    found = _LOOKUP.get(said)
    if found is None and said.endswith(" date"):
        found = _LOOKUP.get(said.removesuffix(" date"))
    return found


def place(headings: list[str], mapping: dict[str, str] | None = None) -> list[Placed]:
    """Each non-empty heading with the field it holds (the mapping file's word first)."""
    mapping = {key(k): v for k, v in (mapping or {}).items()}
    placed: list[Placed] = []
    taken: set[str] = set()
    for index, heading in enumerate(headings):
        if not heading:
            continue
        _, scale, unit = _heading_key(heading)
        field = mapping.get(key(heading)) or recognise(heading)
        if field in taken and field not in (IGNORE, KEEP):
            field = None  # a second column for the same field is kept, not merged
        if field and field not in (IGNORE, KEEP):
            taken.add(field)
        placed.append(Placed(index, heading, None if field == KEEP else field, scale, unit))
    return placed


class MappingError(ValueError):
    """A mapping file that cannot be used; the message says why."""


def read_mapping(path: Path) -> tuple[dict[str, str], int | None]:
    """A mapping file: `columns:` heading -> field (or keep, ignore), and `header_row:`."""
    document, problems = load(path, str(path))
    if document is None or problems:
        first = problems[0] if problems else None
        where = f" (line {first.line}: {first.message})" if first else ""
        raise MappingError(f"The mapping file {path} cannot be read{where}.")
    data: Any = document.data
    if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
        raise MappingError(
            f"The mapping file {path} needs a 'columns:' list of heading: field lines."
        )
    columns: dict[str, str] = {}
    for heading, value in data["columns"].items():
        field = str(value).strip()
        if field not in BY_KEY and field not in (IGNORE, KEEP):
            raise MappingError(
                f"In {path}, '{heading}: {field}': '{field}' is not a field. Use one of "
                + ", ".join([*BY_KEY, KEEP, IGNORE])
                + "."
            )
        columns[str(heading)] = field
    row = data.get("header_row")
    if row is not None and (not isinstance(row, int) or isinstance(row, bool) or row < 1):
        raise MappingError(f"In {path}, header_row should be a row number, like 3.")
    return columns, row


def mapping_example(unplaced: list[str], placed: list[Placed], header_row: int) -> str:
    """A mapping file to copy: every heading, with the field it holds or a field to choose,
    and the row the headings were read from."""
    lines = [
        "# Which plan field each column holds. Write a field name after each heading:",
        "#   " + ", ".join(BY_KEY),
        "# or 'keep' (kept in the plan's notes, not published) or 'ignore'.",
        "columns:",
    ]
    for column in placed:
        if column.key is not None:
            lines.append(f"  {_quoted(column.heading)}: {column.key}")
    lines += [f"  {_quoted(heading)}: keep        # title? summary? ..." for heading in unplaced]
    lines += [
        f"# These headings are on row {header_row}. If yours are on another row, say which:",
        f"header_row: {header_row}",
    ]
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    return '"' + " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"') + '"'
