"""The files made from many opportunities at once, put together from their kept parts by
each format (`formats.base.Format.outputs`): the home page, each list page with its feeds,
calendars and data files, the site-wide packages. The URLs are a public contract.

Each file comes with a key: a digest of everything it is made from (its members' digests in
order, and what it says of itself). A build whose key for a file is the same as last time
links last time's file instead of making it again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

from publisher.builder.parts import SHELVES, Kept
from publisher.formats import base
from publisher.formats.base import Output
from publisher.formats.registry import FORMATS
from publisher.model.views import SiteData


def outputs(
    site: SiteData,
    parts: list[Kept],
    paged: Callable[[base.Whole], base.Paged] | None = None,
    keyed: base.Keyed | None = None,
) -> Iterator[Output]:
    """Every file made from many opportunities, with its key. `site` holds every
    commissioner and no views; `parts` are every opportunity's, in list order; `paged`
    gives, for the whole, how list pages are had (paged.Memo; by paging them otherwise),
    and `keyed` how lists' other keys are (paged.Keys; worked out otherwise)."""
    whole = base.whole(site, list(parts))
    if paged is not None:
        whole = replace(whole, paged=paged(whole))
    if keyed is not None:
        whole = replace(whole, keyed=keyed)
    for one, shelf in zip(FORMATS, SHELVES, strict=True):
        yield from one.outputs(whole, shelf)
