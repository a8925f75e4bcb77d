"""What the site shows of each opportunity's history from git: its "What has changed"
lines, when it was first published, earlier versions for open data, and the notices of
opportunities taken out of the plans."""

from __future__ import annotations

from publisher.changes.diff import Change, Kind, Weight
from publisher.changes.history import History, Record
from publisher.changes.wording import Names, sentence
from publisher.model.from_plan import view_in
from publisher.model.views import (
    ChangeLine,
    CommissionerView,
    OpportunityHistory,
    OpportunityView,
    SiteData,
)
from publisher.plans.dates import LONDON
from publisher.plans.model import GRANT_FUNDING, Opportunity, Status


def site_names(site: SiteData) -> Names:
    """How change sentences name this site's places, themes, bodies and routes."""
    themes = site.themes
    return Names(
        places=site.places.name,
        themes=lambda slug: themes[slug].name if slug in themes else slug,
        organisations={k: v.name for k, v in site.organisations.items()},
        glossary=site.glossary,
    )


def line_kind(change: Change) -> str:
    """What a change line is, for feeds to title its item: the change's kind, but
    "awarded" for a status change to awarded (an outcome, like cancelled or withdrawn)."""
    if change.kind is Kind.STATUS and change.after is Status.AWARDED:
        return "awarded"
    return change.kind.value


def history_of(
    history: History, key: str, item: Opportunity, names: Names, record: Record | None = None
) -> OpportunityHistory | None:
    record = record or history.records.get(key)
    if record is None:
        return None
    grant = item.funding in GRANT_FUNDING
    lines = tuple(
        ChangeLine(
            event.day,
            event.id,
            sentence(event.change, grant, names),
            event.change.weight is Weight.NEWS,
            line_kind(event.change),
        )
        # newest commit first; within a commit, in the order the changes were found
        for event in sorted(record.events, key=lambda e: (-e.when.timestamp(), e.number))
    )
    earlier = []
    for day, raw in history.earlier_versions(key):
        try:
            earlier.append((day, Opportunity.model_validate_json(raw)))
        except ValueError:
            continue  # a version the build could not have published
    return OpportunityHistory(
        published=record.first_published,
        last_changed=lines[0].day if lines else None,
        changes=lines,
        withdrawn=record.withdrawn.astimezone(LONDON).date() if record.withdrawn else None,
        earlier=tuple(earlier),
    )


def withdrawn_views(
    site: SiteData, history: History, names: Names, records: dict[str, Record] | None = None
) -> list[OpportunityView]:
    """Opportunities taken out of the plans (of `records`, else of all the history): their
    notices stay, saying so, their feed items say so, and calendars mark their dates
    cancelled. They are on no list."""
    here = {view.uid for view in site.opportunities}
    bodies = {c.id: c for c in site.commissioners}
    out = []
    for key, record in (history.withdrawn() if records is None else records).items():
        if key in here or record.last is None:
            continue
        try:
            item = Opportunity.model_validate_json(record.last)
        except ValueError:
            continue  # a version that could not be published then either
        commissioner_id = key.split("/", 1)[0]
        commissioner = bodies.get(commissioner_id) or CommissionerView.gone(
            commissioner_id, record.commissioner_name
        )
        out.append(view_in(site, commissioner, item, history_of(history, key, item, names, record)))
    return out
