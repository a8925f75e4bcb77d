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


def no_plans_folder(plans: Path) -> str | None:
    """Why `plans` cannot be read as a plans folder, in the words every command uses; None
    when it can be."""
    return None if plans.is_dir() else f"there is no plans folder at '{plans}'"
