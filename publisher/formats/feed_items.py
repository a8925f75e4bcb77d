"""One feed item's XML, RSS 2.0 or Atom, written as feedgen writes it (with lxml, indented as
in the feed), without feedgen and lxml.

An opportunity's items are made once per build, but there are two for each of 20,000
opportunities and their changes: feedgen building each as an lxml tree and serialising it
was two thirds of the time of making them. A test checks, over many items with awkward text,
that these bytes are feedgen's.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from publisher.plans.characters import scrub

# An item's title when its text has nothing left to show (feeds require one; a checked plan
# always has one, but text that reached us unchecked may be all control characters).
UNTITLED = "Untitled opportunity"


class About(Protocol):
    """What a feed says of one item (feeds.Item)."""

    @property
    def id(self) -> str: ...
    @property
    def link(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def html(self) -> str: ...
    @property
    def author(self) -> str: ...
    @property
    def email(self) -> str | None: ...
    @property
    def updated(self) -> dt.datetime: ...
    @property
    def published(self) -> dt.datetime: ...
    @property
    def categories(self) -> tuple[tuple[str, str, str], ...]: ...


DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc2822(when: dt.datetime) -> str:
    """'Sun, 01 Nov 2026 00:00:00 +0000', in English whatever the locale (as feedgen
    writes it, in the C locale)."""
    return (
        f"{DAYS[when.weekday()]}, {when.day:02d} {MONTHS[when.month - 1]} {when.year:04d} "
        f"{when:%H:%M:%S %z}"
    )


def _text(value: str) -> str:
    """Element text as lxml escapes it (a carriage return is scrubbed before)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attribute(value: str) -> str:
    """An attribute's value as lxml escapes it, between double quotes."""
    return _text(value).replace('"', "&quot;").replace("\t", "&#9;").replace("\n", "&#10;")


def _element(indent: str, name: str, text: str | None, attributes: str = "") -> str:
    """`<name attributes>text</name>` on its own line; lxml writes no text as `<name/>`."""
    if text is None:
        return f"{indent}<{name}{attributes}/>\n"
    return f"{indent}<{name}{attributes}>{_text(text)}</{name}>\n"


def rss_item(about: About) -> bytes:
    """The item as RSS 2.0 (inside <rss><channel>): the HTML as its description."""
    # Everything is scrubbed: lxml refused text holding a control character, and a feed
    # reader may too.
    at = "      "
    lines = ["    <item>\n", _element(at, "title", scrub(about.title).strip() or UNTITLED)]
    if link := scrub(about.link):
        lines.append(_element(at, "link", link))
    if html := scrub(about.html):
        lines.append(_element(at, "description", html))
    if about.email and (email := scrub(about.email)):
        name = scrub(about.author)
        lines.append(_element(at, "author", f"{email} ({name})" if name else email))
    if id := scrub(about.id):
        lines.append(_element(at, "guid", id, ' isPermaLink="false"'))
    for _, label, scheme in about.categories:  # RSS names a category by its label
        domain = scrub(scheme)
        where = f' domain="{_attribute(domain)}"' if domain else ""
        lines.append(_element(at, "category", scrub(label), where))
    lines.append(_element(at, "pubDate", rfc2822(about.published)))
    lines.append("    </item>\n")
    return "".join(lines).encode("utf-8")


def atom_entry(about: About) -> bytes:
    """The item as Atom (inside <feed>): plain text as its summary, the HTML as its content."""
    at = "    "
    lines = [
        "  <entry>\n",
        _element(at, "id", scrub(about.id)),
        _element(at, "title", scrub(about.title).strip() or UNTITLED),
        _element(at, "updated", about.updated.isoformat()),
    ]
    if name := scrub(about.author):  # Atom requires an author's name: none, no author
        lines += [f"{at}<author>\n", _element(at + "  ", "name", name)]
        if about.email and (email := scrub(about.email)):
            lines.append(_element(at + "  ", "email", email))
        lines.append(f"{at}</author>\n")
    lines.append(_element(at, "content", scrub(about.html) or None, ' type="html"'))
    # feedgen writes the link's href alone (it reads rel and type from the new element)
    lines.append(f'{at}<link href="{_attribute(scrub(about.link))}"/>\n')
    lines.append(_element(at, "summary", scrub(about.text) or None))
    for term, label, scheme in about.categories:
        attributes = f' term="{_attribute(scrub(term))}"'
        if scheme := scrub(scheme):
            attributes += f' scheme="{_attribute(scheme)}"'
        if label := scrub(label):
            attributes += f' label="{_attribute(label)}"'
        lines.append(f"{at}<category{attributes}/>\n")
    lines.append(_element(at, "published", about.published.isoformat()))
    lines.append("  </entry>\n")
    return "".join(lines).encode("utf-8")
