"""The England-shaped benchmark's plans (bench/generate_england.py) are plans the publisher
accepts, shaped as the benchmark says, the same for the same seed; and the Hugo site made
from them carries each opportunity on the place lists the publisher's site does."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.generate_england import England, generate
from bench.hugo_site import write_site
from publisher.model.from_plan import reach
from publisher.plans.check import check
from publisher.plans.errors import Severity
from publisher.plans.model import Place
from publisher.plans.reference import own_places

TODAY = dt.date(2026, 12, 7)
SIZE = 400  # every commissioner (about 300) has one; the rest spread


def _plans(folder: Path) -> dict[str, dict[str, Any]]:
    return {
        p.name: yaml.safe_load(p.read_text())
        for p in sorted(folder.glob("*.yaml"))
        if p.stem not in ("places", "themes")
    }


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, England]:
    """The plans, made once for this module's tests."""
    folder = tmp_path_factory.mktemp("england") / "plans"
    return folder, generate(folder, SIZE)


def test_generated_plans_pass_check_and_are_shaped_like_england(
    made: tuple[Path, England],
) -> None:
    folder, land = made
    report = check([folder], TODAY)
    errors = [p for p in report.problems if p.severity is Severity.ERROR]
    assert errors == [], errors[:5]
    plans = _plans(folder)
    kinds = Counter(plan["commissioner"]["kind"] for plan in plans.values())
    assert kinds["icb"] == 42 and kinds["other"] == 1  # every ICB, and NHS England
    assert kinds["council"] > 100 and kinds["nhs-trust"] > 80
    assert 250 <= len(plans) <= 350
    items = [o for plan in plans.values() for o in plan["opportunities"]]
    assert len(items) == SIZE
    assert all(plan["opportunities"] for plan in plans.values())
    # Most for a place or neighbourhoods, some for a system, national ones for every system.
    systems = set(land.systems)
    national = [o for o in items if set(o["places"]) == systems]
    system_wide = [o for o in items if len(o["places"]) == 1 and o["places"][0] in systems]
    assert national and len(system_wide) < len(items) / 2
    assert any(o["status"] == "open" and len(o["dates"]["tender_closes"]) == 10 for o in items)


def test_the_same_seed_makes_the_same_plans(made: tuple[Path, England], tmp_path: Path) -> None:
    folder, _ = made
    generate(tmp_path / "again", SIZE)
    paths = sorted(folder.rglob("*.yaml"))
    assert paths
    for path in paths:
        assert path.read_bytes() == (tmp_path / "again" / path.relative_to(folder)).read_bytes()


def test_hugo_pages_carry_the_places_the_site_lists_them_under(
    made: tuple[Path, England], tmp_path: Path
) -> None:
    folder, _ = made
    assert write_site(folder, tmp_path / "hugo", TODAY.isoformat()) == SIZE
    raw = yaml.safe_load((folder / "places.yaml").read_text())["places"]
    named = {
        s for plan in _plans(folder).values() for o in plan["opportunities"] for s in o["places"]
    }
    places = own_places(Place.model_validate(p) for p in raw).listing(named)
    pages = sorted((tmp_path / "hugo" / "content" / "opportunities").glob("*.md"))
    assert len(pages) == SIZE
    for page in pages[::37]:
        front = yaml.safe_load(page.read_text().split("---\n")[1])
        # Each place list of the publisher's site that carries it, and no other.
        assert set(front["places"]) == reach(places, front["where_slugs"])
    config = (tmp_path / "hugo" / "config.toml").read_text()
    assert "paginate = 8" in config and "rssLimit = 200" in config


def test_hugo_site_of_every_format_writes_each_list_as_ours_is(
    made: tuple[Path, England], tmp_path: Path
) -> None:
    folder, _ = made
    site = tmp_path / "hugo"
    assert write_site(folder, site, TODAY.isoformat(), every_format=True) == SIZE
    config = (site / "config.toml").read_text()
    every = '["HTML", "RSS", "Atom", "Calendar", "JSON", "CSV"]'
    assert f"home = {every}" in config and f"term = {every}" in config
    for layout in ("list.atom.atom", "list.calendar.ics", "list.json.json", "list.csv.csv"):
        assert (site / "layouts" / "_default" / layout).is_file()
    plans = {
        f"{plan['commissioner']['id']}--{item['id']}": item
        for plan in _plans(folder).values()
        for item in plan["opportunities"]
    }
    days = 0
    for page in sorted((site / "content" / "opportunities").glob("*.md")):
        front = yaml.safe_load(page.read_text().split("---\n")[1])
        dates = plans[page.stem].get("dates") or {}
        # A step with a day is on the calendar (a month alone is not), and every event.
        wanted = {str(v).replace("-", "") for k, v in dates.items() if len(str(v)) == 10}
        events = dates.get("engagement") or []
        wanted |= {dt.date.fromisoformat(str(e["start"])[:10]).strftime("%Y%m%d") for e in events}
        assert {event["day"] for event in front["calendar"]} == wanted
        days += len(wanted)
    assert days > SIZE  # most opportunities have a dated step or an event
    plain = tmp_path / "plain"
    write_site(folder, plain, TODAY.isoformat())
    assert "Atom" not in (plain / "config.toml").read_text()
    assert not (plain / "layouts" / "_default" / "list.json.json").exists()
