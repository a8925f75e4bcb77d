"""Infrastructure bodies' channels: who hears of which opportunity, and when digests and
reminders fall due (Europe/London local times)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from publisher.model.views import OpportunityView
from publisher.plans import characters
from publisher.plans.dates import LONDON
from publisher.plans.england import slug_of_code
from publisher.plans.errors import Problem, Severity
from publisher.plans.model import Amount, AnyChannel, ChannelFile, Funding, Organisation, Range
from publisher.plans.reference_files import ReferenceFiles, read_channel_files
from publisher.plans.validate import check_schema_version, to_problems, validate

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Subscriber:
    """One channel of one infrastructure body."""

    organisation: Organisation
    channel: AnyChannel
    # Email sign-ups from the web app (signup_mail.py): a one-click unsubscribe address
    # (List-Unsubscribe, RFC 8058) and the deployer's privacy notice, in every email.
    unsubscribe_url: str | None = None
    privacy_url: str | None = None

    @property
    def uid(self) -> str:
        """Stable: part of every outbox key, so it must never change."""
        return f"{self.organisation.id}/{self.channel.id}"

    @property
    def kind(self) -> str:
        return self.channel.kind


def load_channels(
    plans: Path, files: ReferenceFiles | None = None
) -> tuple[list[Subscriber], list[Problem]]:
    """Every channel in plans/channels/ (as in `files`, when read already this pass); a file
    with errors is reported and left out."""
    reads = files.channels if files is not None else read_channel_files(plans)
    subscribers: list[Subscriber] = []
    problems: list[Problem] = []
    for read in reads:
        document = read.document
        if document is None:
            problems += read.problems
            continue
        # The same text rule as `publisher check`: a file it refuses is not used here either.
        findings = characters.check_text(document.data, document.text)
        findings = findings or check_schema_version(document.data, "channels")
        channels = None
        if not findings:
            channels, findings = validate(ChannelFile, document.data)
        problems += to_problems(document, findings)
        if channels is None or any(f.severity is Severity.ERROR for f in findings):
            continue
        subscribers += [
            Subscriber(channels.organisation, with_place_slugs(c)) for c in channels.channels
        ]
    return subscribers, problems


def with_place_slugs(channel: AnyChannel) -> AnyChannel:
    """The channel with each place its filter names by ONS code named by its slug, as
    opportunities' places are (`publisher check` knows the code)."""
    wanted = channel.filter
    if not any(value[:1].isupper() for value in wanted.places):
        return channel
    places = [slug_of_code(value) or value for value in wanted.places]
    return channel.model_copy(update={"filter": wanted.model_copy(update={"places": places})})


def _bounds(amount: Amount) -> tuple[float, float]:
    return (amount.min, amount.max) if isinstance(amount, Range) else (amount, amount)


def _value_bounds(view: OpportunityView) -> tuple[float, float] | None:
    """The lowest and highest the whole value may be: the total, else the yearly amount."""
    money = view.item.value
    if money is None:
        return None
    if money.total is not None:
        return _bounds(money.total)
    if money.min is not None and money.max is not None:
        return (money.min, money.max)
    if money.per_year is not None:
        return _bounds(money.per_year)
    return None


def wants(subscriber: Subscriber, view: OpportunityView) -> bool:
    """Whether the channel's filter takes this opportunity. What is not known yet never
    hides an opportunity: no value passes a value filter, undecided funding passes a funding
    filter, because either may turn out to fit."""
    wanted = subscriber.channel.filter
    if wanted.places and not view.reach.intersection(wanted.places):
        return False
    if wanted.themes and not {t.slug for t in view.themes}.intersection(wanted.themes):
        return False
    funding = view.item.funding
    if wanted.funding and funding not in (None, Funding.UNDECIDED, *wanted.funding):
        return False
    bounds = _value_bounds(view)
    if bounds is not None:
        low, high = bounds
        if wanted.min_value is not None and high < wanted.min_value:
            return False
        if wanted.max_value is not None and low > wanted.max_value:
            return False
    return True


def offset(text: str) -> dt.timedelta:
    """'8w' -> 8 weeks, '3d' -> 3 days (the channel format's reminder strings)."""
    number, unit = int(text[:-1]), text[-1]
    return dt.timedelta(weeks=number) if unit == "w" else dt.timedelta(days=number)


def at_local(day: dt.date, hhmm: str) -> dt.datetime:
    """A London wall-clock time on a day, as an aware UTC moment (DST handled by zoneinfo)."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON).astimezone(dt.UTC)


def next_digest(subscriber: Subscriber, moment: dt.datetime) -> dt.datetime:
    """The first digest of this channel at or after `moment` (for immediate channels, the
    moment itself)."""
    channel = subscriber.channel
    if channel.cadence == "immediate":
        return moment
    day = moment.astimezone(LONDON).date()
    for ahead in range(8):
        candidate = day + dt.timedelta(days=ahead)
        if channel.cadence == "weekly" and DAYS[candidate.weekday()] != channel.digest_day:
            continue
        when = at_local(candidate, channel.digest_time)
        if when >= moment:
            return when
    raise AssertionError("a digest falls within eight days")  # pragma: no cover
