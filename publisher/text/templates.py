"""The one template environment: every page, feed, email and sentence the publisher writes
comes from a template found here, with the same filters.

Templates are looked for first in the deployment's own folder (the `templates` setting,
PUBLISHER_TEMPLATES; by default ./templates when there is one), then in the package's
publisher/templates/. A deployment changes one template (the footer in base.html, an
email) by putting its own copy, under the same name, in its folder. The command line
chooses that folder once, when a command starts (`configure`); forked build workers
inherit it. A program that never calls `configure` gets the package's templates only.

Names are relative to a folder of the search path: 'notice.html', 'feeds/item.html',
'email/message.txt'. 'publisher:notice.html' is always the package's own, so a deployment's
copy can extend it and replace one block instead of copying the whole page (as Pelican's
'!simple/' and Datasette's 'default:' names do).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    pass_eval_context,
    select_autoescape,
)
from jinja2.nodes import EvalContext
from markupsafe import Markup

from publisher.plans.characters import scrub
from publisher.text import words
from publisher.text.brand import DEFAULT, Brand

PACKAGE = Path(__file__).resolve().parents[1] / "templates"
OWN = "publisher"  # 'publisher:base.html': the package's base.html, whatever is in front

# The folder in front of the package's, when the command line set one that exists.
_FRONT: list[Path] = []
# The environment of each search path, made when first asked for.
_MADE: dict[tuple[Path, ...], Environment] = {}
# Helpers that modules above this layer give every template (the pages' date and glossary
# helpers): one set, shared by all, in each environment made before or after.
_FILTERS: dict[str, Callable[..., Any]] = dict(words.FILTERS)
# `brand`: the deployment's name, colours and links (text/brand.py), set by `configure`.
_GLOBALS: dict[str, Any] = {"brand": DEFAULT}


def configure(folder: Path | None, brand: Brand = DEFAULT) -> None:
    """Look in `folder` before the package's templates from now on, in this process, if it
    is a folder; None, or a folder that is not there, leaves the package's alone. Every
    template sees `brand` as `brand` (the publisher's own look unless given)."""
    _FRONT[:] = [folder.resolve()] if folder is not None and folder.is_dir() else []
    share(globals={"brand": brand})


def brand() -> Brand:
    """The deployment's name, colours and links that templates are given now."""
    given: Brand = _GLOBALS["brand"]
    return given


def search_path() -> tuple[Path, ...]:
    """The folders templates are looked for in, first first; the package's is last."""
    return (*_FRONT, PACKAGE)


def environment() -> Environment:
    """The environment of the current search path."""
    path = search_path()
    made = _MADE.get(path)
    if made is None:
        made = _MADE[path] = _environment(path)
    return made


def share(
    filters: Mapping[str, Callable[..., Any]] | None = None,
    globals: Mapping[str, Any] | None = None,  # Jinja's own word for them
) -> None:
    """Give every template these filters and names too."""
    _FILTERS.update(filters or {})
    _GLOBALS.update(globals or {})
    for made in _MADE.values():
        made.filters.update(_FILTERS)
        made.globals.update(_GLOBALS)


@pass_eval_context
def finalize(context: EvalContext, value: object) -> object:
    """Each value an HTML template writes, before it is escaped, loses the characters the
    text rule refuses: a checked plan holds none, but history or a places file might (NUL
    would be taken for the cards' place in a list page: formats/pages.py, CARDS_HERE).
    Markup is HTML made by us from values already escaped and scrubbed. Plain text is
    scrubbed where it leaves (an email body, a feed's line, a one-line header)."""
    if value.__class__ is str:  # the most common value first, and checked cheaply
        return value if value.isprintable() or not context.autoescape else scrub(value)
    if context.autoescape and isinstance(value, str) and not isinstance(value, Markup):
        return scrub(value)
    return value


def _environment(path: tuple[Path, ...]) -> Environment:
    env = Environment(
        loader=ChoiceLoader(
            [
                FileSystemLoader([str(folder) for folder in path]),
                PrefixLoader({OWN: FileSystemLoader(str(PACKAGE))}, delimiter=":"),
            ]
        ),
        # Templates are read once per process: a changed one is used by the next command
        # (and the build cache knows it changed: build/cache.py, code_digest).
        auto_reload=False,
        # HTML is escaped; plain text, Markdown and calendar words are not (pages escape
        # those sentences where they place them).
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        finalize=finalize,
        undefined=StrictUndefined,
        # A page ends with a line break, as its file does; an email body drops it
        # (delivery/messages.py).
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.do"],
    )
    env.filters.update(_FILTERS)
    env.globals.update(_GLOBALS)
    return env
