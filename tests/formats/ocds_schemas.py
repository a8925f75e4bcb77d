"""The OCDS 1.1.5 schemas and the UK profile's extensions kept in tests/fixtures/ocds/, merged
as the OCDS profile builder merges them, for validating packages offline.

Run as `python -m tests.formats.ocds_schemas PACKAGE.json` to check a release package."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import json_merge_patch  # type: ignore[import-untyped]
from jsonschema import Draft4Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4

KEPT = Path(__file__).parents[1] / "fixtures" / "ocds"
BASE = KEPT / "1.1.5"
EXTENSIONS = KEPT / "extensions"

Json = dict[str, Any]


def read(path: Path) -> Json:
    value: Json = json.loads(path.read_text(encoding="utf-8"))
    return value


def kept(url: str) -> Path | None:
    """The folder kept here for an extension's URL (named for its repository), or None."""
    for folder in sorted(EXTENSIONS.iterdir()):
        if f"/{folder.name}/" in url:
            return folder
    return None


def release_schema(extension_urls: Iterable[str], others: Iterable[Json] = ()) -> Json:
    """The 1.1.5 release schema with each kept extension merged in, each after the
    extensions it depends on and each once; then `others` (patches not kept here, such as
    the publisher's own extension). An extension declared but not kept is an error: a
    package must not pass because its extension was skipped."""
    schema = read(BASE / "release-schema.json")
    done: set[str] = set()

    def merge(url: str, required: bool) -> None:
        nonlocal schema
        folder = kept(url)
        if folder is None:
            if required:
                raise LookupError(f"no copy of the extension {url} in {EXTENSIONS}")
            return
        if folder.name in done:
            return
        done.add(folder.name)
        for dependency in read(folder / "extension.json").get("dependencies", []):
            merge(dependency, True)
        schema = json_merge_patch.merge(schema, read(folder / "release-schema.json"))

    for url in extension_urls:
        merge(url, True)
    for patch in others:
        schema = json_merge_patch.merge(schema, patch)
    return schema


def package_validator(schema: Json, package: str = "release-package-schema.json") -> Any:
    """A validator of release (or record) packages whose releases follow `schema`."""
    versioned = read(BASE / "versioned-release-validation-schema.json")
    registry: Registry[Any] = Registry().with_resources(
        (s["id"], DRAFT4.create_resource(s)) for s in (schema, versioned)
    )
    return Draft4Validator(read(BASE / package), registry=registry)


def errors(package: Json, own: Iterable[str] = (), others: Iterable[Json] = ()) -> list[str]:
    """What is wrong with a release package, as 'path: message' lines, checked against the
    extensions it declares (those in `own` are the publisher's own, merged from `others`)."""
    declared = [url for url in package.get("extensions", []) if url not in set(own)]
    validator = package_validator(release_schema(declared, others))
    found = sorted(validator.iter_errors(package), key=lambda e: list(e.absolute_path))
    return ["/".join(str(p) for p in e.absolute_path) + f": {e.message[:200]}" for e in found]


def main(argv: list[str]) -> int:
    package = read(Path(argv[0]))
    own = [url for url in package.get("extensions", []) if kept(url) is None]
    problems = errors(package, own)
    for line in problems[:50]:
        print(line, file=sys.stderr)
    skipped = f" (not checked: {', '.join(own)})" if own else ""
    print(f"{len(package.get('releases', []))} releases, {len(problems)} schema errors{skipped}")
    return 1 if problems or not package.get("releases") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
