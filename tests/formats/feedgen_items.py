"""An item as feedgen writes it: the reference `publisher/formats/feed_items.py` is checked
against (the build writes items itself, for speed)."""

from __future__ import annotations

from feedgen.entry import FeedEntry
from lxml import etree

from publisher.formats.feed_items import UNTITLED, About
from publisher.plans.characters import scrub


def entry(about: About, atom: bool) -> FeedEntry:
    """The item as feedgen's entry, as the build made it before writing items itself: RSS
    gets the HTML as its description; Atom gets plain text as its summary and the HTML as
    its content (everything scrubbed: lxml refuses control characters)."""
    fe = FeedEntry()
    fe.id(scrub(about.id))
    fe.title(scrub(about.title).strip() or UNTITLED)
    fe.link(href=scrub(about.link), rel="alternate", type="text/html")
    if atom:
        fe.summary(scrub(about.text))
        fe.content(scrub(about.html), type="html")
    else:
        fe.description(scrub(about.html))
    fe.author(name=scrub(about.author), email=scrub(about.email) if about.email else None)
    fe.published(about.published)
    fe.updated(about.updated)
    for term, label, scheme in about.categories:
        fe.category(term=scrub(term), label=scrub(label), scheme=scrub(scheme))
    return fe


def entry_xml(about: About, atom: bool) -> bytes:
    """The item's XML as it sits in feedgen's feed: indented, on its own lines."""
    element = entry(about, atom).atom_entry() if atom else entry(about, atom).rss_entry()
    level = 1 if atom else 2  # <feed><entry>, <rss><channel><item>
    etree.indent(element, space="  ", level=level)
    xml = bytes(etree.tostring(element, encoding="UTF-8", xml_declaration=False))
    return b"  " * level + xml + b"\n"
