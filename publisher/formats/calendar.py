"""iCalendar files of a collection: one event per key date and per engagement event.

UIDs never change between builds, SEQUENCE rises when an event's dates, status, place or
summary change (compared with the calendar this build replaces), approximate dates are
all-day TENTATIVE events spanning the month, quarter or year, example plans' events start
their summary with "Example only", and nothing reads the clock.

About 400 lines: an opportunity's events and the calendar around them, with RFC 5545
folding (docs/decisions/0002); SEQUENCE kept between builds is in calendar_sequences.py.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import NamedTuple

from publisher.formats import feeds
from publisher.formats.base import Bundle, Format, Layout, Member, Output, Part, Shelf, Whole
from publisher.formats.calendar_sequences import Sequences, fingerprint, read_sequences, sequence
from publisher.formats.memo import each, per_view
from publisher.model.views import Collection, OpportunityView, Scope, SiteData
from publisher.plans.characters import scrub
from publisher.plans.dates import LONDON, MONTHS, PlanDate, Precision
from publisher.plans.model import EngagementEvent
from publisher.text import words

TZID = "Europe/London"
PRODID = "-//Forward plan publisher//Opportunity calendars//EN"
REFRESH = dt.timedelta(hours=12)  # how often calendar programs should fetch again
END = b"END:VCALENDAR\r\n"
# A change to any of these raises an event's SEQUENCE.
Moment = dt.date | dt.datetime


@dataclass(frozen=True)
class Span:
    """When a calendar event happens, as iCalendar wants it."""

    start: Moment
    end: Moment | None
    period: str | None  # "March 2027" when the plan does not name the day, else None

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, dt.datetime)


def period(date: PlanDate) -> str | None:
    """The span an approximate date covers, in words ('March 2027'); None for a named day."""
    if date.precision is Precision.YEAR:
        return str(date.year)
    if date.precision is Precision.QUARTER:
        return words.when(date)
    if date.precision is Precision.MONTH:
        assert date.month is not None
        return f"{MONTHS[date.month - 1]} {date.year}"
    return None


def local(date: PlanDate) -> dt.datetime:
    """A plan date with a time, as a Europe/London datetime."""
    return date.start.replace(tzinfo=LONDON)


def span(start: PlanDate, end: PlanDate | None = None) -> Span:
    """A time with its end time (if it has one), else whole days: a named day, or every day
    of the month, quarter or year the plan gives."""
    if start.precision is Precision.MINUTE:
        until = local(end) if end is not None and end.precision is Precision.MINUTE else None
        if until is not None and until <= local(start):
            until = None
        return Span(local(start), until, None)
    last = end.last_day if end is not None and end.last_day > start.last_day else start.last_day
    return Span(start.first_day, last + dt.timedelta(days=1), period(start))


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def event_keys(events: list[EngagementEvent]) -> list[str]:
    """A key per engagement event for its UID: its `id` where the plan gives one, else from
    its title, so reordering the events or moving one changes no UID; titles used twice
    also get the start, to tell them apart."""
    titles = [slug(event.title) for event in events]
    return [
        event.id
        if event.id is not None
        else f"{key}-{slug(event.start.text)}"
        if titles.count(key) > 1
        else key
        for key, event in zip(titles, events, strict=True)
    ]


class Event(NamedTuple):
    """One VEVENT as text, and what the next build needs to keep its SEQUENCE right."""

    text: str
    uid: str
    print: str  # its fingerprint
    sequence: int


def _text(value: str) -> str:
    """A TEXT value escaped as RFC 5545 says, by icalendar. icalendar escapes new lines but
    passes a lone carriage return or other control character through, which would end or
    corrupt the line: those are scrubbed first."""
    from icalendar import vText  # noqa: PLC0415  # see frame

    escaped: bytes = vText(scrub(value)).to_ical()
    return escaped.decode("utf-8")


def _event(
    site: SiteData,
    view: OpportunityView,
    uid: str,
    when: Span,
    summary: str,
    description: str,
    url: str,
    location: str | None = None,
    busy: bool = False,
    stamp: str | None = None,
) -> Event:
    """One VEVENT, folded, in the order icalendar writes its properties.

    The lines are put together here rather than through icalendar's Event, which cost
    about 1 ms an opportunity, a third of a large build; the values are still escaped by
    icalendar, and a test checks icalendar reads each event back and writes the same bytes.
    """
    if when.all_day:
        start = f"DTSTART;VALUE=DATE:{when.start:%Y%m%d}"
        end = f"DTEND;VALUE=DATE:{when.end:%Y%m%d}" if when.end is not None else None
    else:
        start = f"DTSTART;TZID={TZID}:{when.start:%Y%m%dT%H%M%S}"
        end = f"DTEND;TZID={TZID}:{when.end:%Y%m%dT%H%M%S}" if when.end is not None else None
    if view.is_cancelled:
        status = "STATUS:CANCELLED"
    else:
        status = "STATUS:TENTATIVE" if when.period else "STATUS:CONFIRMED"
    place = f"LOCATION:{_text(location)}" if location else None
    summary_line = f"SUMMARY:{_text(summary)}"
    watched = {
        "DTSTART": start,
        "DTEND": end,
        "STATUS": status,
        "LOCATION": place,
        "SUMMARY": summary_line,
    }
    print_ = fingerprint({k: v for k, v in watched.items() if v})
    number = sequence(site, uid, print_)
    stamp = stamp or _stamp(site, view)
    # Milestones and month-long spans should not show anyone as busy.
    transp = "OPAQUE" if busy and not when.period else "TRANSPARENT"
    lines = (
        summary_line,
        start,
        end,
        f"DTSTAMP:{stamp}",
        f"UID:{_text(uid)}",
        f"SEQUENCE:{number}",
        f"DESCRIPTION:{_text(description)}",
        place,
        status,
        f"TRANSP:{transp}",
        f"URL;VALUE=URI:{scrub(url)}",
    )
    body = "".join(fold(line) + "\r\n" for line in lines if line)
    return Event(f"BEGIN:VEVENT\r\n{body}END:VEVENT\r\n", uid, print_, number)


def _stamp(site: SiteData, view: OpportunityView) -> str:
    """DTSTAMP: when the opportunity last changed (never the clock), in UTC."""
    return f"{feeds.midnight(feeds.changed(site, view)).astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"


def _lines(text: object) -> str:
    """A description from a template: each line tidied, empty lines dropped."""
    return "\n".join(feeds.line(part) for part in str(text).splitlines() if part.strip())


def events(site: SiteData, view: OpportunityView) -> Iterator[tuple[Span, Event]]:
    """The opportunity's events: its key dates in order, then its engagement events."""
    notice = site.link(view.url)
    title = feeds.line(view.item.title)
    who = view.commissioner.name
    cancelled = view.is_cancelled
    example = view.commissioner.example
    domain = feeds.host(site)
    stamp = _stamp(site, view)
    for key in view.key_dates:
        when = span(key.date)
        yield (
            when,
            _event(
                site,
                view,
                f"{view.uid}/{key.field}@{domain}",
                when,
                feeds.macro(
                    "calendar.txt",
                    "key_summary",
                    key.label,
                    title,
                    when.period,
                    cancelled,
                    example,
                ),
                _lines(
                    feeds.call(
                        "calendar.txt",
                        "key_description",
                        label=key.label,
                        date=key.date,
                        title=title,
                        commissioner=who,
                        period=when.period,
                        cancelled=cancelled,
                        link=notice,
                        example=example,
                    )
                ),
                notice,
                stamp=stamp,
            ),
        )
    happenings = view.item.dates.engagement
    for key_, happening in zip(event_keys(happenings), happenings, strict=True):
        when = span(happening.start, happening.end)
        host = site.organisations.get(happening.host) if happening.host else None
        where = happening.where
        if happening.online:
            where = f"{where} (and online)" if where else "Online"
        yield (
            when,
            _event(
                site,
                view,
                f"{view.uid}/events/{key_}@{domain}",
                when,
                feeds.macro(
                    "calendar.txt",
                    "event_summary",
                    happening.title,
                    title,
                    when.period,
                    cancelled,
                    example,
                ),
                _lines(
                    feeds.call(
                        "calendar.txt",
                        "event_description",
                        event=happening.title,
                        title=title,
                        commissioner=who,
                        where=happening.where,
                        online=happening.online,
                        link=happening.link,
                        recorded=happening.recorded,
                        host=host.name if host is not None else happening.host,
                        paid=happening.paid_participation,
                        period=when.period,
                        cancelled=cancelled,
                        notice=notice,
                        example=example,
                    )
                ),
                happening.link or notice,
                location=where,
                busy=True,
                stamp=stamp,
            ),
        )


@dataclass(frozen=True)
class Serialised:
    """An opportunity's events as they sit in every calendar that carries it."""

    ical: bytes
    years: tuple[int, ...]  # of its times of day, which need the VTIMEZONE
    # each event's UID -> (fingerprint, SEQUENCE), for the next build to compare with
    sequences: tuple[tuple[str, tuple[str, int]], ...] = ()


def fragment(site: SiteData, view: OpportunityView) -> Serialised:
    """The opportunity's events, serialised once and shared by every calendar carrying it."""
    made = list(events(site, view))
    years = {
        moment.year
        for when, _ in made
        for moment in (when.start, when.end)
        if isinstance(moment, dt.datetime)
    }
    return Serialised(
        "".join(event.text for _, event in made).encode("utf-8"),
        tuple(sorted(years)),
        tuple((event.uid, (event.print, event.sequence)) for _, event in made),
    )


FOLD_AT = 74  # octets per folded piece, as icalendar folds
ESCAPES = b"\\^"  # a piece never ends on these, so an escape stays on one line


def fold(line: str) -> str:
    """RFC 5545 line folding, byte for byte what icalendar writes, but fast.

    icalendar folds character by character (about 30 µs a line), which made calendars most
    of a large build. This cuts the UTF-8 text into pieces of at most 74 octets, never inside
    a character, and like icalendar never ends a piece on a backslash or caret (so an escape
    is not split across lines).
    """
    if len(line) <= FOLD_AT and line.isascii():
        return line
    data = line.encode("utf-8")
    pieces: list[bytes] = []
    start = 0
    while len(data) - start > FOLD_AT:
        end = start + FOLD_AT
        while data[end] & 0xC0 == 0x80:  # a UTF-8 continuation byte: inside a character
            end -= 1
        if data[end - 1] in ESCAPES and end - 1 > start:
            end -= 1
        pieces.append(data[start:end])
        start = end
    pieces.append(data[start:])
    return b"\r\n ".join(pieces).decode("utf-8")


def year_of(day: dt.date) -> int:
    """`day`'s year, confirmed by comparing `day` with new year's days: a build that watches
    how it reads the day (builder/days.py) then knows the answer changes once a year, and
    a list's calendar without events is not made again every day."""
    year = dt.date.fromordinal(dt.date.toordinal(day)).year  # read without being noted
    if dt.date(year, 1, 1) <= day and (year == dt.MAXYEAR or day < dt.date(year + 1, 1, 1)):
        return year
    raise AssertionError(f"{day!r} is not in {year}")  # pragma: no cover - cannot happen


@lru_cache(maxsize=8)
def timezone(first_year: int, last_year: int) -> bytes:
    """Europe/London's VTIMEZONE, with its clock changes from the first to the last year."""
    from icalendar import Timezone  # noqa: PLC0415  # see frame

    zone = Timezone.from_tzid(
        TZID, first_date=dt.date(first_year, 1, 1), last_date=dt.date(last_year + 1, 1, 1)
    )
    return bytes(zone.to_ical())


def ics(site: SiteData, collection: Collection) -> bytes:
    """The collection as an iCalendar file: '<path>.ics'."""
    return calendar_of(site, collection, each(site, collection, "ics", fragment))


def calendar_of(site: SiteData, collection: Scope, parts: Sequence[Serialised]) -> bytes:
    """A calendar of the events made for its opportunities (each made once per build)."""
    head, tail = frame(site, collection, [part.years for part in parts])
    return b"".join([head, *(part.ical for part in parts), tail])


def frame(
    site: SiteData, collection: Scope, years: Sequence[tuple[int, ...]]
) -> tuple[bytes, bytes]:
    """The calendar around its events: its own properties and time zone, and its end."""
    # icalendar is imported when a calendar is written, not with this module: a build that
    # writes none (nothing changed) does without its import (30 ms; feeds.py: 30 more).
    from icalendar import Calendar, vDuration, vText  # noqa: PLC0415

    feed_title = feeds.title(collection)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    name = feeds.macro("calendar.txt", "name", feed_title)
    about = feeds.macro("calendar.txt", "description", feed_title)
    calendar.add("name", name)
    calendar.add("x-wr-calname", vText(name))  # TEXT, escaped as RFC 5545 says
    calendar.add("description", about)
    calendar.add("x-wr-caldesc", vText(about))
    calendar.add("x-wr-timezone", TZID)
    calendar.add("url", site.link(feeds.html_page(collection)), parameters={"VALUE": "URI"})
    calendar.add("source", site.link(f"{collection.path}.ics"), parameters={"VALUE": "URI"})
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    first = min((found[0] for found in years if found), default=None)  # the day is read
    last = max((found[-1] for found in years if found), default=None)  # only when needed
    if first is None or last is None:
        first = last = year_of(site.today)
    # calendar.to_ical(), folded by `fold` (icalendar's folding, a character at a time,
    # was most of the time of a calendar with few events: a country has thousands)
    head = "".join(fold(line) + "\r\n" for line in calendar.content_lines() if line).encode()
    assert head.endswith(END)
    # icalendar writes each part; the events, made once per build, follow the time zone.
    return head[: -len(END)] + timezone(first, last), END


# --- as a format (formats/base.py) ---------------------------------------------------------


class Calendars(Format):
    """iCalendar for everything and for each list: every key date and event, each
    opportunity's events serialised once per build."""

    name = "ics"

    def part(self, site: SiteData, view: OpportunityView) -> Part:
        made = per_view(site, view, "ics", lambda: fragment(site, view))
        # each event's UID, fingerprint and SEQUENCE, read only by a build that renders its
        # plan file again, to know when a date moved
        memo = json.dumps([[uid, print_, n] for uid, (print_, n) in made.sequences])
        return Part(made.years, (made.ical,), memo)

    def outputs(self, whole: Whole, shelf: Shelf) -> Iterator[Output]:
        for bundle in whole.bundles:
            make = partial(_calendar_of, whole.site, bundle, shelf)
            yield Output(f"{bundle.path}.ics", bundle.key, make, len(bundle.members))

    def recall(
        self, site: SiteData, last: Sequence[Member] | None, shelf: Shelf, out: Path
    ) -> None:
        if last is not None:
            site.sequences = Sequences(last, shelf)
        elif (out / "all.ics").is_file():
            site.sequences = read_sequences(out / "all.ics")


def _calendar_of(site: SiteData, bundle: Bundle, shelf: Shelf) -> Layout:
    members = bundle.members
    head, tail = frame(site, bundle, [shelf.facts(m) for m in members])
    digests = b"".join(m.digest for m in members)
    return Layout(head, digests, shelf.fragments(members), b"", tail)


CALENDARS = Calendars()
