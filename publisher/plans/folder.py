"""A plans folder: which of its files are plans, and the plain words when there is none."""

from __future__ import annotations

from pathlib import Path

from publisher.plans.reference import PLACES_FILE, THEMES_FILE


def plan_files(plans: Path) -> list[Path]:
    return sorted(
        p
        for p in plans.iterdir()
        if p.suffix in (".yaml", ".yml")
        and p.name not in (PLACES_FILE, THEMES_FILE)
        and not p.name.startswith(".")
        and p.is_file()
    )
