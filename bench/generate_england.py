"""Generate plans shaped like England for the benchmarks: England's 42 systems and their
places as the publisher ships them (publisher/plans/england-places.csv, with ONS codes),
each system's ICB, upper-tier councils and two or three NHS trusts as commissioners
(about 300 plan files), neighbourhoods beneath each council area (the bench's
places.yaml), and opportunities spread as they would be: most for one place or a few
neighbourhoods, some for a whole system, a few national (every system).

Trust names are made up in the pattern of real ones; neighbourhoods are named for their
place and a direction ("Leeds North").

Each opportunity is an example opportunity (plans/) with a new id, places, dates and
gaps, so sizes and shapes match what commissioners write. Deterministic for a seed.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import random
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.generate import EXAMPLES, _examples
from publisher.plans.england import england_places
from publisher.plans.model import Place

TODAY = dt.date(2026, 12, 7)  # the day the benchmark builds as
# Where an opportunity is for, and how often: most local, some system-wide, a few national.
LEVELS = (("national", 0.005), ("system", 0.15), ("place", 0.55), ("neighbourhood", 0.295))
# Who commissions at each level: (icb, council, trust) weights.
WHO = {"system": (8, 0, 2), "place": (25, 45, 30), "neighbourhood": (20, 50, 30)}
DIRECTIONS = ("Central", "North", "South", "East", "West", "North East", "South West")
TRUST_KINDS = (
    "{place} Teaching Hospitals NHS Foundation Trust",
    "{system} Partnership NHS Foundation Trust",
    "{place} Community Healthcare NHS Trust",
    "{system} Mental Health NHS Foundation Trust",
)


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower().replace("&", "and")).strip("-")


@dataclass
class Body:
    """One commissioner: its plan file's header and the systems it commissions in."""

    id: str
    name: str
    kind: str  # icb | council | nhs-trust | other
    systems: list[str] = field(default_factory=list)
    opportunities: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class England:
    """The places (slug -> (name, kind, within)): England's, then the bench's own
    neighbourhoods (places.yaml); and the commissioners."""

    places: dict[str, tuple[str, str, str | None]]
    own: list[str]  # the slugs places.yaml adds
    places_of: dict[str, list[str]]  # system slug -> the places opportunities are for
    neighbourhoods_of: dict[str, list[str]]  # place slug -> its neighbourhood slugs
    bodies: dict[str, Body]
    icb_of: dict[str, str]  # system slug -> the ICB's body id
    councils_of: dict[str, list[str]]
    trusts_of: dict[str, list[str]]

    @property
    def systems(self) -> list[str]:
        return list(self.places_of)


UPPER_TIER = ("E06", "E08", "E09", "E10")  # unitary, metropolitan, London, county
LOCAL = ("E06", "E08", "E09", "E07")  # the council areas that are not counties


def england(rng: random.Random) -> England:
    """England's 42 systems with their councils and places (publisher/plans/
    england-places.csv, ONS codes), neighbourhoods made up beneath each local place, and
    commissioners: NHS England, each ICB, each upper-tier council, two or three trusts."""
    known = england_places()
    children: dict[str | None, list[Place]] = {}
    for place in known.values():
        children.setdefault(place.within, []).append(place)
    places: dict[str, tuple[str, str, str | None]] = {
        slug: (p.name, p.kind, p.within) for slug, p in known.items()
    }
    own: list[str] = []
    places_of: dict[str, list[str]] = {}
    neighbourhoods_of: dict[str, list[str]] = {}
    bodies: dict[str, Body] = {"nhs-england": Body("nhs-england", "NHS England", "other")}
    icb_of: dict[str, str] = {}
    councils_of: dict[str, list[str]] = {}
    trusts_of: dict[str, list[str]] = {}
    for system in sorted((p for p in known.values() if p.kind == "system"), key=_slug):
        inside = children.get(system.slug, [])
        local = [p for p in inside if (p.code or "")[:3] in LOCAL]
        for county in (p for p in inside if (p.code or "")[:3] == "E10"):
            local += children.get(county.slug, [])
        if len(local) < 3:  # a system whose council areas are listed under another
            local += [p for p in inside if (p.code or "")[:3] == "E38"]
        places_of[system.slug] = [p.slug for p in local]
        for place in local:
            neighbourhoods_of[place.slug] = []
            for direction in DIRECTIONS[: rng.randint(3, 7)]:
                name, slug = f"{place.name} {direction}", f"{place.slug}-{slugify(direction)}"
                if slug not in places:
                    places[slug] = (name, "neighbourhood", place.slug)
                    own.append(slug)
                    neighbourhoods_of[place.slug].append(slug)
        name = f"NHS {system.name} Integrated Care Board"
        icb = Body(f"nhs-{system.slug.removesuffix('-icb')}-icb", name, "icb", [system.slug])
        bodies[icb.id] = icb
        icb_of[system.slug] = icb.id
        councils = [p for p in inside if (p.code or "")[:3] in UPPER_TIER]
        councils_of[system.slug] = []
        for area in councils or [p for p in local if (p.code or "")[:3] == "E07"]:
            body = Body(f"{area.slug}-council", f"{area.name} Council", "council")
            body = bodies.setdefault(body.id, body)
            body.systems.append(system.slug)
            councils_of[system.slug].append(body.id)
        trusts_of[system.slug] = []
        for pattern in rng.sample(TRUST_KINDS, rng.randint(2, 3)):
            name = pattern.format(place=rng.choice(local).name, system=system.name)
            slug = slugify(name).replace("-nhs-foundation-trust", "-nhs-ft")[:70].strip("-")
            body = bodies.setdefault(slug, Body(slug, name, "nhs-trust"))
            body.systems.append(system.slug)
            trusts_of[system.slug].append(body.id)
    return England(
        places, own, places_of, neighbourhoods_of, bodies, icb_of, councils_of, trusts_of
    )


def _slug(place: Place) -> str:
    return place.slug


def _month(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _dates(item: dict[str, Any], rng: random.Random) -> None:
    """Dates around TODAY that agree with the status: open now with days left, opening in
    the coming months, being decided, or as the example had them (awarded, cancelled)."""
    dates = item.setdefault("dates", {})
    status = item["status"]
    if "tender_opens" not in dates or status in ("awarded", "cancelled"):
        return
    if status == "open":
        opens = TODAY - dt.timedelta(days=rng.randint(1, 40))
        closes = TODAY + dt.timedelta(days=rng.randint(2, 70))
        dates["tender_opens"], dates["tender_closes"] = opens.isoformat(), closes.isoformat()
        after = _month(closes, 2)
    elif status == "evaluating":
        closes = TODAY - dt.timedelta(days=rng.randint(5, 60))
        dates["tender_opens"] = _month(closes, -2).strftime("%Y-%m")
        dates["tender_closes"] = closes.isoformat()
        after = _month(TODAY, 2)
    else:
        opens = _month(TODAY, rng.randint(1, 15))
        dates["tender_opens"] = opens.strftime("%Y-%m")
        dates["tender_closes"] = _month(opens, rng.randint(1, 2)).strftime("%Y-%m")
        after = _month(opens, 4)
    dates["decision"] = after.strftime("%Y-%m")
    dates["service_starts"] = _month(after, rng.randint(2, 6)).isoformat()


def _gaps(item: dict[str, Any], rng: random.Random) -> None:
    """Some more gaps than the examples have: a value not yet set, most with a reason."""
    if "value" in item and rng.random() < 0.15:
        del item["value"]
        if rng.random() < 0.8:
            item.setdefault("unknown", {})["value"] = "The budget is set at the next board meeting."


def _places(level: str, system: str, land: England, rng: random.Random) -> list[str]:
    if level == "national":
        return land.systems
    if level == "system":
        return [system]
    place = rng.choice(land.places_of[system])
    if level == "place":
        others = land.places_of[system]
        return [place] if rng.random() < 0.9 else rng.sample(others, min(2, len(others)))
    hoods = land.neighbourhoods_of[place]
    return rng.sample(hoods, rng.randint(1, min(3, len(hoods))))


def _commissioner(level: str, system: str, land: England, rng: random.Random) -> str:
    if level == "national":
        return "nhs-england"
    icb, council, trust = WHO[level]
    pools = [([land.icb_of[system]], icb), (land.councils_of[system], council)]
    pools.append((land.trusts_of[system], trust))
    pools = [(pool, weight) for pool, weight in pools if pool and weight]
    pool = rng.choices([p for p, _ in pools], weights=[w for _, w in pools])[0]
    return rng.choice(pool)


def _first_level(body: Body) -> str:
    return {"other": "national", "icb": "system"}.get(body.kind, "place")


def generate(out: Path, opportunities: int = 20_000, seed: int = 2026) -> England:
    """Write the plans folder at `out` (plan files, places.yaml, themes.yaml, channels);
    return the England it was made from."""
    rng = random.Random(seed)
    templates = _examples()
    land = england(rng)
    systems = land.systems
    weights = [len(land.places_of[s]) for s in systems]
    levels = [name for name, _ in LEVELS]
    # Every commissioner has at least one opportunity; the rest go where they would.
    wanted: list[tuple[str, str, str]] = []
    for body in land.bodies.values():
        system = body.systems[0] if body.systems else rng.choice(systems)
        wanted.append((body.id, _first_level(body), system))
    while len(wanted) < opportunities:
        level = rng.choices(levels, weights=[w for _, w in LEVELS])[0]
        system = rng.choices(systems, weights=weights)[0]
        wanted.append((_commissioner(level, system, land, rng), level, system))
    for body_id, level, system in wanted[:opportunities]:
        body = land.bodies[body_id]
        item = copy.deepcopy(rng.choice(templates))
        item["id"] = f"{slugify(item['id'])[:40]}-{len(body.opportunities) + 1:04d}"
        item["places"] = _places(level, system, land, rng)
        item.pop("first_published", None)
        for lot in item.get("lots", []):
            lot.pop("places", None)
        _dates(item, rng)
        _gaps(item, rng)
        body.opportunities.append(item)
    _write(out, land)
    return land


def _write(out: Path, land: England) -> None:
    if out.exists():
        shutil.rmtree(out)
    (out / "channels").mkdir(parents=True)
    shutil.copy(EXAMPLES / "themes.yaml", out / "themes.yaml")
    for path in sorted((EXAMPLES / "channels").glob("*.yaml")):
        shutil.copy(path, out / "channels" / path.name)
    # England's places come with the publisher; the bench adds its neighbourhoods, and the
    # example places (the example channels name them).
    places = yaml.safe_load((EXAMPLES / "places.yaml").read_text())["places"]
    for slug in land.own:
        name, kind, within = land.places[slug]
        places.append({"slug": slug, "name": name, "kind": kind, "within": within})
    text = yaml.safe_dump({"schema": 1, "places": places}, sort_keys=False, width=90)
    (out / "places.yaml").write_text(text, encoding="utf-8")
    for body in land.bodies.values():
        if not body.opportunities:
            continue
        plan = {
            "schema": 1,
            "commissioner": {"id": body.id, "name": body.name, "kind": body.kind},
            "opportunities": body.opportunities,
        }
        text = yaml.safe_dump(plan, sort_keys=False, allow_unicode=True, width=90)
        (out / f"{body.id}.yaml").write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/out/england/plans"))
    parser.add_argument("--opportunities", type=int, default=20_000)
    args = parser.parse_args()
    land = generate(args.out, args.opportunities)
    kinds = [p[1] for p in land.places.values()]
    print(
        f"wrote {args.opportunities} opportunities in {len(land.bodies)} plan files to "
        f"{args.out}; {kinds.count('system')} systems, {kinds.count('place')} places, "
        f"{kinds.count('neighbourhood')} neighbourhoods"
    )


if __name__ == "__main__":
    main()
