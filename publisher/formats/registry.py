"""Every output format, in the order the engine asks them. A new format is one module with
a `formats.base.Format`, its templates, and one line here."""

from __future__ import annotations

from publisher.formats import calendar, csv, data, feeds, ocds, pages
from publisher.formats.base import Format

FORMATS: tuple[Format, ...] = (
    pages.PAGES,  # HTML: notices, transparency pages, the home page, lists, the glossary
    feeds.FEEDS,  # RSS and Atom
    calendar.CALENDARS,  # iCalendar
    data.DATA,  # JSON for re-use
    ocds.OCDS,  # Open Contracting Data Standard packages
    csv.CSV,  # spreadsheets
)
