"""JSON Schema for the file formats, so editors can complete and check fields as people type."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from publisher.plans.model import ChannelFile, PlacesFile, PlanFile, ThemesFile

SCHEMAS: dict[str, type[BaseModel]] = {
    "plan.schema.json": PlanFile,
    "channel.schema.json": ChannelFile,
    "places.schema.json": PlacesFile,
    "themes.schema.json": ThemesFile,
}


def render(cls: type[BaseModel]) -> str:
    """The JSON Schema of one format, as stable text (the same models give the same bytes)."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **cls.model_json_schema(by_alias=True, mode="validation"),
    }
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_all(folder: Path) -> list[Path]:
    """Write every format's schema into `folder`; return the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, cls in SCHEMAS.items():
        target = folder / name
        target.write_text(render(cls), encoding="utf-8")
        written.append(target)
    return written
