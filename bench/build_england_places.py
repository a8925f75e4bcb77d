"""Rebuild publisher/plans/england-places.csv, the places every plans folder may name
without a places.yaml of its own, from three ONS lookup files (CSV, as the ONS Open
Geography Portal gives them, Open Government Licence v3.0):

  sicbl: LSOA (2021) to Sub ICB Location to ICB lookup   (LSOA21CD, SICBL..CD/CDH/NM, ICB..CD/NM)
  lad:   LSOA (2021) to local authority district lookup  (LSOA21CD, LAD..CD, LAD..NM; a
         LSOA to ward to LAD lookup will do: LSOAs are repeated, and read once)
  utla:  lower tier to upper tier local authority lookup (LTLA..CD/NM, UTLA..CD/NM)

The column names carry the year (SICBL24CD, LAD24CD, UTLA23CD): any year is read.

    python -m bench.build_england_places --sicbl S.csv --lad L.csv --utla U.csv \
        --source "..." [--out publisher/plans/england-places.csv]

The file shipped was made from the copies of these lookups that the R package geographr
ships (no ONS portal is reachable where it was made): `--from-geographr DIR` turns its
.rda files in DIR back into the three CSVs, in a scratch environment with `rdata`.

What it makes, and how it nests (each place has one `within`):
- each ICB (kind system), its slug and name from its area ('NHS South Yorkshire
  Integrated Care Board' is south-yorkshire, 'South Yorkshire'); where a council has
  the same name (Devon), the ICB's slug ends in -icb and its name in 'ICB area';
- each sub-ICB location (kind place) within its ICB, named as the ONS names it with the
  council areas it covers after it, worked out from the LSOAs both lookups share;
- each upper-tier council area (county, unitary, metropolitan district, London borough)
  within the ICB that holds all or nearly all of it (NEARLY_ALL of its LSOAs), at the
  top otherwise (Essex, Hampshire, Surrey, Suffolk, North Yorkshire, Westmorland and
  Furness are split between ICBs);
- each district of a county within its county.

One `within` cannot say all of it where a county is split between ICBs: Epping Forest is
in Essex, and in Hertfordshire and West Essex ICB, while the rest of Essex is in two other
ICBs. So each council area with no council areas inside it (a district, a unitary
authority, a metropolitan district or a London borough) is also part of (`also_within`,
slugs separated by spaces) each sub-ICB location that holds at least SOME of its LSOAs,
where its `within` places do not already reach that sub-ICB location's ICB: Epping
Forest is also within hertfordshire-and-west-essex-07h, and so reaches its ICB; Hart,
split itself, is also within a Frimley and a Hampshire and Isle of Wight location. A
county is never `also_within`: being partly in an ICB does not pass to its districts.
LSOAs hold about the same number of people each (1,000 to 3,000), so a share of LSOAs is
near enough a share of people.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

NEARLY_ALL = 0.95
SOME = 0.05
OUT = Path(__file__).resolve().parents[1] / "publisher" / "plans" / "england-places.csv"


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower().replace("&", "and")).strip("-")


def plain_name(name: str) -> str:
    """'Bristol, City of' reads as 'Bristol'; 'Kingston upon Hull, City of' likewise."""
    return name.removesuffix(", City of").removesuffix(", County of")


def icb_area(name: str) -> str:
    """'NHS South Yorkshire Integrated Care Board' -> 'South Yorkshire'."""
    return name.removeprefix("NHS ").removesuffix(" Integrated Care Board").strip()


def column(header: list[str], stem: str, end: str) -> str:
    """The column for `stem` with any year: ('SICBL', 'CD') finds SICBL24CD."""
    pattern = re.compile(rf"^{stem}\d\d{end}$", re.IGNORECASE)
    found = [name for name in header if pattern.match(name.strip().lstrip("\ufeff"))]
    if len(found) != 1:
        raise SystemExit(f"no single {stem}..{end} column in {header}")
    return found[0]


def rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


@dataclass
class Entry:
    slug: str
    name: str
    kind: str
    code: str
    within: str | None = None
    also_within: tuple[str, ...] = ()


def build(sicbl_csv: Path, lad_csv: Path, utla_csv: Path) -> list[Entry]:
    head, sicbl_rows = rows(sicbl_csv)
    lsoa = column(head, "LSOA", "CD")
    s_cd, s_cdh, s_nm = (
        column(head, "SICBL", "CD"),
        column(head, "SICBL", "CDH"),
        column(head, "SICBL", "NM"),
    )
    i_cd, i_nm = column(head, "ICB", "CD"), column(head, "ICB", "NM")
    head, lad_rows = rows(lad_csv)
    l_lsoa, l_cd = column(head, "LSOA", "CD"), column(head, "LAD", "CD")
    head, utla_rows = rows(utla_csv)
    lt_cd, lt_nm = column(head, "LTLA", "CD"), column(head, "LTLA", "NM")
    ut_cd, ut_nm = column(head, "UTLA", "CD"), column(head, "UTLA", "NM")

    england = [r for r in utla_rows if r[lt_cd].startswith("E")]
    upper_of = {r[lt_cd]: r[ut_cd] for r in england}
    upper_name = {r[ut_cd]: plain_name(r[ut_nm]) for r in england}
    lower_name = {r[lt_cd]: plain_name(r[lt_nm]) for r in england}
    lad_of = {r[l_lsoa]: r[l_cd] for r in lad_rows if r[l_cd].startswith("E")}

    icbs: dict[str, str] = {}
    sicbls: dict[str, tuple[str, str, str]] = {}  # code -> (name, nhs code, icb code)
    lsoas_of_upper: Counter[str] = Counter()
    icbs_of_upper: dict[str, Counter[str]] = defaultdict(Counter)
    uppers_of_sicbl: dict[str, Counter[str]] = defaultdict(Counter)
    lsoas_of_lower: Counter[str] = Counter()
    sicbls_of_lower: dict[str, Counter[str]] = defaultdict(Counter)
    for row in sicbl_rows:
        icbs[row[i_cd]] = icb_area(row[i_nm])
        sicbls[row[s_cd]] = (row[s_nm], row[s_cdh], row[i_cd])
        lad = lad_of.get(row[lsoa])
        if lad is None or lad not in upper_of:
            raise SystemExit(f"LSOA {row[lsoa]} is in no England district of the lookups")
        upper = upper_of[lad]
        lsoas_of_upper[upper] += 1
        icbs_of_upper[upper][row[i_cd]] += 1
        uppers_of_sicbl[row[s_cd]][upper] += 1
        lsoas_of_lower[lad] += 1
        sicbls_of_lower[lad][row[s_cd]] += 1

    council_slugs = {slugify(n) for n in upper_name.values()} | {
        slugify(n) for n in lower_name.values()
    }
    out: list[Entry] = []
    icb_slug: dict[str, str] = {}
    for code, area in sorted(icbs.items(), key=lambda item: item[1]):
        slug = slugify(area)
        name = area
        if slug in council_slugs:
            slug, name = f"{slug}-icb", f"{area} ICB area"
        icb_slug[code] = slug
        out.append(Entry(slug, name, "system", code))
    for code, (name, nhs, icb) in sorted(sicbls.items(), key=lambda item: item[1][0]):
        covered = uppers_of_sicbl[code]
        parts = [
            upper_name[u] if n == lsoas_of_upper[u] else f"part of {upper_name[u]}"
            for u, n in sorted(covered.items(), key=lambda item: upper_name[item[0]])
        ]
        shown = f"{name} ({', '.join(parts)})" if len(parts) <= 3 else name
        out.append(Entry(f"{icb_slug[icb]}-{nhs.lower()}", shown, "place", code, icb_slug[icb]))
    for code, name in sorted(upper_name.items(), key=lambda item: item[1]):
        (most, held), *_ = icbs_of_upper[code].most_common(1)
        within = icb_slug[most] if held >= NEARLY_ALL * lsoas_of_upper[code] else None
        out.append(Entry(slugify(name), name, "place", code, within))
    upper_slug = {code: slugify(name) for code, name in upper_name.items()}
    for code, name in sorted(lower_name.items(), key=lambda item: item[1]):
        if upper_of[code] != code:
            out.append(Entry(slugify(name), name, "place", code, upper_slug[upper_of[code]]))
    _also_within(out, code_slug={e.code: e.slug for e in out}, sicbls=sicbls,
                 lsoas=lsoas_of_lower, sicbls_of=sicbls_of_lower, icb_slug=icb_slug)  # fmt: skip
    slugs = Counter(entry.slug for entry in out)
    clashes = [slug for slug, n in slugs.items() if n > 1]
    if clashes:
        raise SystemExit(f"two places would have the same slug: {clashes}")
    return out


def _also_within(
    out: list[Entry],
    code_slug: dict[str, str],
    sicbls: dict[str, tuple[str, str, str]],
    lsoas: Counter[str],
    sicbls_of: dict[str, Counter[str]],
    icb_slug: dict[str, str],
) -> None:
    """Set `also_within` on each council area with none inside it: the sub-ICB locations
    holding at least SOME of it whose ICB its `within` places do not reach."""
    by_slug = {e.slug: e for e in out}

    def reached(entry: Entry) -> set[str]:
        seen: set[str] = set()
        slug = entry.within
        while slug is not None and slug not in seen:
            seen.add(slug)
            slug = by_slug[slug].within
        return seen

    for entry in out:
        if entry.code not in lsoas:  # an ICB, a sub-ICB location or a county
            continue
        up = reached(entry)
        entry.also_within = tuple(
            sorted(
                code_slug[sicbl]
                for sicbl, n in sicbls_of[entry.code].items()
                if n >= SOME * lsoas[entry.code] and icb_slug[sicbls[sicbl][2]] not in up
            )
        )


def write(entries: list[Entry], source: str, out: Path) -> None:
    icbs = sum(1 for e in entries if e.kind == "system")
    header = [
        "Every place in England that a plan may name without a places.yaml of its own: the",
        f"{icbs} integrated care boards (ICBs, kind system), their sub-ICB locations, and the",
        "upper- and lower-tier council areas, each with its ONS code. A plan names one by its",
        "slug or its code. Made by bench/build_england_places.py; do not edit by hand.",
        "also_within: the sub-ICB locations a council area is also part of, where its own",
        "nesting does not reach their ICB (a district of a county split between ICBs).",
        "",
        *source.splitlines(),
        "",
        "Contains public sector information licensed under the Open Government Licence v3.0",
        "(Office for National Statistics).",
    ]
    with out.open("w", newline="", encoding="utf-8") as handle:
        handle.writelines(f"# {line}".rstrip() + "\n" for line in header)
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["slug", "name", "kind", "within", "code", "also_within"])
        for e in entries:
            writer.writerow(
                [e.slug, e.name, e.kind, e.within or "", e.code, " ".join(e.also_within)]
            )


def from_geographr(folder: Path, out: Path) -> None:
    """The three lookups as ONS CSVs from the copies the R package geographr ships
    (data/lookup_lsoa21_icb24.rda, lookup_lsoa21_ward24_ltla24.rda, lookup_ltla23_utla23.rda),
    their columns named back as ONS names them. Needs the `rdata` package (not one of
    ours: run it in a scratch environment)."""
    rdata = importlib.import_module("rdata")
    for name, columns in GEOGRAPHR.items():
        frame = rdata.read_rda(str(folder / f"{name}.rda"))[name]
        with (out / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns.values())
            writer.writerows(frame[list(columns)].itertuples(index=False))


GEOGRAPHR = {
    "lookup_lsoa21_icb24": {
        "lsoa21_code": "LSOA21CD",
        "sicbl24_name": "SICBL24NM",
        "sicbl24_code": "SICBL24CD",
        "sicbl24_code_nhs": "SICBL24CDH",
        "icb24_name": "ICB24NM",
        "icb24_code": "ICB24CD",
    },
    "lookup_lsoa21_ward24_ltla24": {
        "lsoa21_code": "LSOA21CD",
        "ltla24_code": "LAD24CD",
        "ltla24_name": "LAD24NM",
    },
    "lookup_ltla23_utla23": {
        "ltla23_code": "LTLA23CD",
        "ltla23_name": "LTLA23NM",
        "utla23_code": "UTLA23CD",
        "utla23_name": "UTLA23NM",
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sicbl", type=Path)
    parser.add_argument("--lad", type=Path)
    parser.add_argument("--utla", type=Path)
    parser.add_argument("--source", help="where the files came from, and when")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--from-geographr",
        type=Path,
        metavar="DIR",
        help="only write the three CSVs, into DIR, from geographr's .rda files there",
    )
    args = parser.parse_args()
    if args.from_geographr is not None:
        from_geographr(args.from_geographr, args.from_geographr)
        return
    if not (args.sicbl and args.lad and args.utla and args.source):
        parser.error("--sicbl, --lad, --utla and --source are needed")
    entries = build(args.sicbl, args.lad, args.utla)
    write(entries, args.source, args.out)
    print(f"{len(entries)} places written to {args.out}")


if __name__ == "__main__":
    main()
