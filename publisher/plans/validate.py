"""Check loaded values against the format models and word pydantic's errors for people.

About 400 lines: one message for each kind of pydantic error, in plain words, kept together
so they read alike."""

from __future__ import annotations

import re
import types
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from publisher.plans import model
from publisher.plans.errors import FieldPath, Problem, Severity, did_you_mean
from publisher.plans.load import Document

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem at a field path, before it is given a line and column.

    `needle` names words inside the field's text to point at (a long sentence, a jargon
    word); `at_key` points at the field's name rather than its value.
    """

    path: FieldPath
    severity: Severity
    code: str
    message: str
    hint: str | None = None
    at_key: bool = False
    needle: str | None = None


def error(
    path: FieldPath, code: str, message: str, hint: str | None = None, *, at_key: bool = False
) -> Finding:
    return Finding(path, Severity.ERROR, code, message, hint, at_key)


def warning(
    path: FieldPath,
    code: str,
    message: str,
    hint: str | None = None,
    *,
    at_key: bool = False,
    needle: str | None = None,
) -> Finding:
    return Finding(path, Severity.WARNING, code, message, hint, at_key, needle)


def check_schema_version(data: Any, kind: str) -> list[Finding]:
    """The `schema:` line: present, and a version this publisher reads."""
    if not isinstance(data, dict):
        shape = "a list" if isinstance(data, list) else "a single value"
        return [
            error(
                (),
                "not-a-mapping",
                f"This {kind} file is {shape}; it should be a set of fields "
                "(name: value), starting with 'schema: 1'.",
            )
        ]
    if "schema" not in data:
        return [
            error(
                (),
                "missing-schema",
                f"This {kind} file does not say its format version.",
                "Add 'schema: 1' as the first line.",
            )
        ]
    version = data["schema"]
    if version != model.SCHEMA_VERSION or isinstance(version, bool):
        return [
            error(
                ("schema",),
                "unknown-schema",
                f"This file says 'schema: {version}', but this publisher reads "
                f"schema {model.SCHEMA_VERSION} files.",
                "Write 'schema: 1'. If the file was written for a newer publisher, "
                "upgrade the publisher.",
            )
        ]
    return []


def validate(cls: type[M], data: Any, prefix: FieldPath = ()) -> tuple[M | None, list[Finding]]:
    """An instance of `cls` from `data`, or findings saying in plain words what is wrong."""
    try:
        return cls.model_validate(data), []
    except ValidationError as err:
        return None, _findings(cls, data, err, prefix)


def _findings(
    cls: type[BaseModel], data: Any, err: ValidationError, prefix: FieldPath
) -> list[Finding]:
    out: list[Finding] = []
    seen: set[FieldPath] = set()
    for item in err.errors(include_url=False):
        path = _data_path(data, item["loc"], item["type"])
        if path in seen:  # a union reports once per member; one message is enough
            continue
        seen.add(path)
        out.append(_word(cls, data, path, prefix, item))
    return out


def _data_path(data: Any, loc: tuple[int | str, ...], kind: str) -> FieldPath:
    """pydantic's error location, without the union-member names that are not in the file."""
    path: list[int | str] = []
    current = data
    for index, part in enumerate(loc):
        found, child = _child(current, part)
        if found:
            current = child
        elif kind == "missing" and index == len(loc) - 1:
            pass  # the missing field itself
        elif kind == "extra_forbidden" and index == len(loc) - 1:
            pass
        else:
            continue
        path.append(part)
    return tuple(path)


def _models(annotation: Any, raw: Any) -> list[type[BaseModel]]:
    """The models a value of this annotation may be, best match for `raw` first."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _models(get_args(annotation)[0], raw)
    if origin is Union or origin is types.UnionType:
        found = [m for arg in get_args(annotation) for m in _models(arg, raw)]
        kind = raw.get("kind") if isinstance(raw, dict) else None
        found.sort(key=lambda m: 0 if _accepts_kind(m, kind) else 1)
        return found
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return []


def _accepts_kind(cls: type[BaseModel], kind: Any) -> bool:
    field = cls.model_fields.get("kind")
    return field is not None and kind in get_args(field.annotation)


def _fields(cls: type[BaseModel]) -> dict[str, FieldInfo]:
    return {(info.alias or name): info for name, info in cls.model_fields.items()}


def _field_at(
    root: type[BaseModel], data: Any, path: FieldPath
) -> tuple[dict[str, FieldInfo], FieldInfo | None]:
    """The fields allowed beside the last field of `path`, and that field (if known)."""
    fields = _fields(root)
    annotation: Any = root
    info: FieldInfo | None = None
    raw = data
    for part in path:
        if isinstance(part, int):
            annotation = _element(annotation)
        else:
            candidates = _models(annotation, raw)
            fields = _fields(candidates[0]) if candidates else {}
            info = fields.get(part)
            annotation = info.annotation if info is not None else None
        raw = _child(raw, part)[1]
    return fields, info


def _child(raw: Any, part: int | str) -> tuple[bool, Any]:
    """Whether `raw` has `part` (a key or an index), and the value there."""
    if isinstance(raw, dict) and part in raw:
        return True, raw[part]
    if isinstance(raw, list) and isinstance(part, int) and 0 <= part < len(raw):
        return True, raw[part]
    return False, None


def _element(annotation: Any) -> Any:
    origin = get_origin(annotation)
    if origin is Annotated or origin is Union or origin is types.UnionType:
        for arg in get_args(annotation):
            element = _element(arg)
            if element is not None:
                return element
        return None
    if origin is list:
        return get_args(annotation)[0]
    return None


def _choices(info: FieldInfo | None) -> list[str]:
    """The values an enum or literal field accepts."""
    if info is None:
        return []
    out: list[str] = []
    stack = [info.annotation]
    while stack:
        annotation = stack.pop()
        origin = get_origin(annotation)
        if origin is Literal:
            out.extend(str(a) for a in get_args(annotation))
        elif origin in (Annotated, Union, types.UnionType, list):
            stack.extend(get_args(annotation))
        elif isinstance(annotation, type) and issubclass(annotation, Enum):
            out.extend(str(member.value) for member in annotation)
    return out


_PATTERNS = {
    model.SLUG_PATTERN: "should be lower-case letters, digits and hyphens",
    r"^https?://\S+$": "should be a web address starting https://",
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$": "is not an email address",
    r"^\d{1,3}[dw]$": "should be a number of weeks or days, like 8w or 10d",
    r"^([01]\d|2[0-3]):[0-5]\d$": "should be a time of day, like 08:00",
}
_ENV_NAME = r"^[A-Z][A-Z0-9_]*$"


def _enum_words(name: str, info: FieldInfo | None) -> str:
    """What one value of an enum field is called: the field's name ('funding'), or for an
    item of a list, whose name is its index, its enum's ('OrganisationKind': 'organisation
    kind')."""
    element = _element(info.annotation) if info is not None and name.isdigit() else None
    if isinstance(element, type) and issubclass(element, Enum):
        return re.sub(r"(?<!^)(?=[A-Z])", " ", element.__name__).lower()
    return name.replace("_", " ")


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 60 else f"'{value[:57]}...'"
    if isinstance(value, dict):
        return "a set of fields"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return f"{value!r}" if not isinstance(value, bool) else str(value).lower()


def _sentence(text: str) -> str:
    return f"{text[:1].upper()}{text[1:]}."


def _model_hint(name: str, info: FieldInfo | None) -> str:
    if name == "value":
        return "Write value: {total: 400000} for the whole amount, or value: {per_year: 400000}."
    models = _models(info.annotation, None) if info is not None else []
    if models:
        fields = ", ".join(_fields(models[0]))
        return f"Indent its fields under it, one per line; it takes: {fields}."
    return "Indent its fields under it, one per line."


def _word(
    cls: type[BaseModel], data: Any, path: FieldPath, prefix: FieldPath, item: Any
) -> Finding:
    """One pydantic error as a plain-English finding at the place a person would look."""
    kind: str = item["type"]
    ctx: dict[str, Any] = item.get("ctx") or {}
    value = item.get("input")
    name = str(path[-1]) if path else "this file"
    fields, info = _field_at(cls, data, path)
    full = (*prefix, *path)
    if kind == "missing":
        described = info.description if info is not None else None
        return error(
            full,
            "missing-field",
            f"'{name}' is missing.",
            f"{name}: {described}" if described else None,
        )
    if kind == "extra_forbidden":
        known = sorted(fields)
        hint: str | None = did_you_mean(name, known) or f"The fields here are: {', '.join(known)}."
        if name.isdigit():
            hint = "A comma inside {...} separates fields: write numbers without commas."
        if name.strip() in known and ("\u00a0" in name or "\u202f" in name):
            hint = (
                f"It is '{name.strip()}' with a non-breaking space (often pasted from Word or a "
                "web page) before the ':'. Delete that space."
            )
        return error(
            full, "unknown-field", f"'{name}' is not a field we know here.", hint, at_key=True
        )
    if kind in ("enum", "literal_error"):
        choices = _choices(info)
        choice = did_you_mean(str(value), choices) if isinstance(value, str) else None
        hint = choice or (f"Use one of: {', '.join(choices)}." if choices else None)
        words = _enum_words(name, info)
        return error(
            full,
            f"unknown-{words.replace(' ', '-')}",
            f"{_show(value)} is not {'an' if words[:1] in 'aeiou' else 'a'} {words} we know.",
            hint,
        )
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tags = " or ".join(t.strip("' ") for t in str(ctx.get("expected_tags", "")).split(","))
        if kind == "union_tag_not_found":
            return error(
                (*full, "kind"),
                "missing-field",
                "'kind' is missing.",
                f"Say what kind this is: {tags}.",
            )
        return error(
            (*full, "kind"),
            "unknown-kind",
            f"{_show(ctx.get('tag'))} is not a kind we know; use {tags}.",
        )
    if kind == "string_type":
        hint = (
            "Put the value in quotes."
            if isinstance(value, (int, float, bool))
            else "Write it as text on one line."
        )
        return error(full, "wrong-type", f"'{name}' should be text, not {_show(value)}.", hint)
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return error(full, "wrong-type", f"'{name}' should be a whole number, not {_show(value)}.")
    if kind in ("float_type", "float_parsing", "finite_number"):
        hint = None
        if isinstance(value, str) and re.search(r"[£,kKmM]", value):
            hint = "Write money as a plain number without £, commas or k/m: 400000."
        return error(full, "wrong-type", f"'{name}' should be a number, not {_show(value)}.", hint)
    if kind in ("bool_type", "bool_parsing"):
        return error(full, "wrong-type", f"'{name}' should be true or false, not {_show(value)}.")
    if kind == "list_type":
        example = f"[{value}]" if isinstance(value, (str, int)) else "[first, second]"
        if isinstance(value, str) and re.match("-[\u00a0\u202f]", value):
            return error(
                full,
                "wrong-type",
                f"'{name}' should be a list, but the space after its '-' is a non-breaking "
                "space (often pasted from Word or a web page), so YAML reads the line as text.",
                "Delete the space after the '-' and type it again with the space bar.",
            )
        return error(
            full,
            "wrong-type",
            f"'{name}' should be a list, not {_show(value)}.",
            f"Write {example}, or one item per line starting with '- '.",
        )
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return error(
            full,
            "wrong-type",
            f"'{name}' should be a set of fields (name: value), not {_show(value)}.",
            _model_hint(name, info),
        )
    if kind == "string_pattern_mismatch":
        return _pattern(full, str(ctx.get("pattern", "")), value)
    if kind in ("string_too_short", "too_short"):
        what = "text" if kind == "string_too_short" else "at least one item"
        return error(full, "empty-value", f"'{name}' is empty; it needs {what}.")
    if kind in ("string_too_long", "too_long"):
        unit = "characters" if kind == "string_too_long" else "items"
        return error(
            full, "too-long", f"'{name}' is too long: at most {ctx.get('max_length')} {unit}."
        )
    if kind in _BOUNDS:
        bound = next(iter(ctx.values()), "")
        return error(
            full, "out-of-range", f"'{name}' should be {_BOUNDS[kind]} {bound}, not {_show(value)}."
        )
    if kind == "plan_date":
        return error(full, "bad-date", _sentence(str(item["msg"])))
    if kind == "value_error":
        return error(full, "bad-value", _sentence(str(ctx.get("error", item["msg"]))))
    return error(full, "bad-value", f"'{name}': {item['msg']}.")


_BOUNDS = {
    "greater_than_equal": "at least",
    "greater_than": "more than",
    "less_than_equal": "at most",
    "less_than": "less than",
}


def _pattern(path: FieldPath, pattern: str, value: Any) -> Finding:
    if pattern == _ENV_NAME:
        return error(
            path,
            "bad-format",
            f"{_show(value)} should be the name of an environment variable, like "
            "VAL_WEBHOOK_SECRET.",
            "Never put the secret itself in a plan file.",
        )
    words = _PATTERNS.get(pattern, f"does not have the right form ({pattern})")
    hint = None
    if pattern == model.SLUG_PATTERN and isinstance(value, str):
        hint = f"For example: {slugify(value) or 'my-id'}"
    return error(path, "bad-format", f"{_show(value)} {words}.", hint)


def to_problems(document: Document, findings: Iterable[Finding]) -> list[Problem]:
    """Give each finding the line and column where it was written in `document`."""
    out: list[Problem] = []
    for finding in findings:
        line, column, found = document.place(finding.path, at_key=finding.at_key)
        if finding.needle and found == finding.path:
            line, column = document.find_in(found, finding.needle) or (line, column)
        out.append(
            Problem(
                document.file,
                line,
                column,
                finding.path,
                finding.severity,
                finding.code,
                finding.message,
                finding.hint,
            )
        )
    return out
