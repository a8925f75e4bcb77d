"""A deployment's own name, tagline, logo, colours, footer links and contact, from its
settings, as every page, email and the embeddable list see them (`brand` in templates).

The defaults are the publisher's own look: with none of these settings given, every file
the publisher writes is the same, byte for byte, as before they existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from publisher import settings as defaults

if TYPE_CHECKING:
    from publisher.settings import Settings


@dataclass(frozen=True)
class Brand:
    """What a template may show of the deployment: no other setting reaches a template."""

    name: str = defaults.DEFAULT_SITE_NAME
    tagline: str = defaults.DEFAULT_TAGLINE
    logo: str | None = None  # a path on the site: 'static/logo.png'
    header_colour: str = defaults.DEFAULT_HEADER_COLOUR
    link_colour: str = defaults.DEFAULT_LINK_COLOUR
    footer_links: tuple[tuple[str, str], ...] = ()  # (words, address), in order
    contact: str | None = None  # an email address or a web address

    @classmethod
    def of(cls, settings: Settings) -> Brand:
        return cls(
            name=settings.site_name,
            tagline=settings.tagline,
            logo=settings.logo,
            header_colour=settings.header_colour,
            link_colour=settings.link_colour,
            footer_links=tuple(settings.footer_links.items()),
            contact=settings.contact,
        )

    @property
    def own(self) -> bool:
        """Whether anything differs from the publisher's own look (emails then say whose)."""
        return self != Brand()

    @property
    def coloured(self) -> bool:
        """Whether the colours are the deployment's own (then pages link static/brand.css)."""
        return (self.header_colour, self.link_colour) != (
            defaults.DEFAULT_HEADER_COLOUR,
            defaults.DEFAULT_LINK_COLOUR,
        )

    @property
    def contact_link(self) -> str | None:
        """Where the footer's contact points: mailto: for an email address."""
        if self.contact is None:
            return None
        return self.contact if "://" in self.contact else f"mailto:{self.contact}"


DEFAULT = Brand()
