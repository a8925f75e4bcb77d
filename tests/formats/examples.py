"""The example plans as the render tests use them: read once as of one fixed day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from publisher.model.read import load_site
from publisher.model.views import SiteData

ROOT = Path(__file__).parents[2]
TODAY = dt.date(2026, 11, 23)


def load() -> SiteData:
    """A fresh SiteData of the example plans (tests that change it take their own)."""
    site, _ = load_site(ROOT / "plans", TODAY)
    return site
