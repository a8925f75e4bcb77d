"""The index that answers filtered feeds picks exactly what looking at every opportunity
picks (the way `members` worked before the index), in the same order, for many random
choices over the example plans and over a larger generated site."""

from __future__ import annotations

import random

import pytest

from bench.generate import generate
from publisher.model.read import load_site
from publisher.model.views import OpportunityView, SiteData
from publisher.service import filtered
from publisher.service.filtered import KINDS, Choice, Unknown
from tests.formats.examples import TODAY
from tests.service.conftest import PLANS


def scanned(site: SiteData, choice: Choice) -> list[OpportunityView]:
    """The reference: every opportunity, in list order, tested against the choice."""
    return [view for view in site.opportunities if choice.matches(view)]


def random_choices(site: SiteData, rng: random.Random, count: int) -> list[Choice]:
    """Choices of up to three values of each of up to four filters, some of them values no
    opportunity has (a place with nothing in it), some picking nothing at all."""
    known = {kind: filtered.known_values(site, kind) for kind in KINDS}
    choices = []
    for _ in range(count):
        kinds = rng.sample(KINDS, rng.randint(1, len(KINDS)))
        chosen = {
            kind: tuple(sorted(set(rng.sample(known[kind], rng.randint(1, 3))))) for kind in kinds
        }
        choices.append(Choice(**chosen))
    return choices


@pytest.fixture(scope="module")
def examples() -> SiteData:
    site, _ = load_site(PLANS, TODAY)
    return site


@pytest.fixture(scope="module")
def larger(tmp_path_factory: pytest.TempPathFactory) -> SiteData:
    plans = generate(tmp_path_factory.mktemp("plans") / "plans", files=12, per_file=40)
    site, _ = load_site(plans, TODAY)
    assert len(site.opportunities) >= 400
    return site


@pytest.mark.parametrize("name", ["examples", "larger"])
def test_the_index_picks_what_a_scan_picks(name: str, request: pytest.FixtureRequest) -> None:
    site: SiteData = request.getfixturevalue(name)
    rng = random.Random(f"filtered-{name}")
    choices = random_choices(site, rng, 600)
    # single values of every filter too: each list page's own choice
    choices += [
        Choice(**{kind: (value,)}) for kind in KINDS for value in filtered.known_values(site, kind)
    ]
    some = 0
    for choice in choices:
        expected = scanned(site, choice)
        assert filtered.members(site, choice) == expected, choice
        some += bool(expected)
    assert some > len(choices) // 4, "the choices should often pick something"


def test_no_choice_picks_everything(examples: SiteData) -> None:
    assert filtered.members(examples, Choice()) == examples.opportunities


def test_the_index_is_made_again_when_the_list_is_replaced(examples: SiteData) -> None:
    """A site whose list of opportunities is replaced is indexed again, not answered from
    the old list's positions."""
    site, _ = load_site(PLANS, TODAY)
    leeds = Choice(place=("leeds",))
    before = filtered.members(site, leeds)
    assert before
    site.opportunities = list(reversed(site.opportunities))
    assert filtered.members(site, leeds) == list(reversed(before))


def test_choose_knows_the_same_values(examples: SiteData) -> None:
    chosen = filtered.choose(examples, [("place", "leeds"), ("theme", "mental-health")])
    assert chosen == Choice(place=("leeds",), theme=("mental-health",))
    unknown = filtered.choose(examples, [("place", "atlantis")])
    assert isinstance(unknown, Unknown)
    assert unknown.known == filtered.known_values(examples, "place")


def test_a_site_that_is_gone_drops_its_index() -> None:
    site, _ = load_site(PLANS, TODAY)
    filtered.members(site, Choice(place=("leeds",)))
    kept = id(site)
    assert kept in filtered._indexes
    del site
    assert kept not in filtered._indexes
