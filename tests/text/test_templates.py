"""A deployment's templates folder in front of the package's: a template there wins, every
other one still comes from the publisher, and the build cache knows when one changes."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from publisher.builder.site import build
from publisher.delivery import messages
from publisher.delivery.channels import load_channels
from publisher.text import templates
from publisher.text.words import count
from tests.formats.examples import load

ROOT = Path(__file__).resolve().parents[2]
PLANS = ROOT / "plans"
TODAY = dt.date(2026, 12, 7)
BASE = "https://plans.example.org/"

FOOTER = "small groups have time to get ready. Plans can change.</p>"
OURS = "small groups have time to get ready. Leeds CVS runs this site.</p>"


@pytest.fixture
def in_front(tmp_path: Path) -> Iterator[Path]:
    """An empty templates folder in front of the package's, for this test only."""
    folder = tmp_path / "templates"
    folder.mkdir()
    templates.configure(folder)
    yield folder
    templates.configure(None)


def _copy(folder: Path, name: str, old: str, new: str) -> None:
    """The package's template `name`, copied into `folder` with `old` changed to `new`."""
    text = (templates.PACKAGE / name).read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{name} no longer says {old!r}"
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text.replace(old, new), encoding="utf-8")


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_a_template_in_front_wins_and_every_other_comes_from_the_package(
    tmp_path: Path, in_front: Path
) -> None:
    templates.configure(None)
    build(PLANS, tmp_path / "theirs", today=TODAY)
    theirs = _files(tmp_path / "theirs")

    templates.configure(in_front)
    _copy(in_front, "base.html", FOOTER, OURS)
    # A copy that extends the package's own page and replaces one block of it.
    (in_front / "notice.html").write_text(
        '{% extends "publisher:notice.html" %}\n'
        "{% block title %}Opportunity: {{ super() }}{% endblock %}\n",
        encoding="utf-8",
    )
    build(PLANS, tmp_path / "ours", today=TODAY)
    ours = _files(tmp_path / "ours")

    assert ours.keys() == theirs.keys()
    notices = 0
    for name, made in theirs.items():
        if not name.endswith(".html") or name.startswith("ocds/"):
            assert ours[name] == made, f"{name} changed, but no template of it did"
            continue
        expected = made.decode().replace(FOOTER, OURS)
        if name.startswith("opportunities/"):
            expected = expected.replace("<title>", "<title>Opportunity: ", 1)
            notices += 1
        assert ours[name].decode() == expected, name
    assert notices > 0
    assert OURS in ours["index.html"].decode()


def test_an_email_template_in_front_changes_that_part_only(in_front: Path) -> None:
    site = load()
    subscriber = load_channels(PLANS)[0][0]
    view = site.opportunities[0]

    def email() -> dict[str, object]:
        entry = messages.entry(site, view, "k", "new", ["A new opportunity."])
        found = messages.message(site, subscriber, [entry], digest=False)
        return messages.email_payload(subscriber, found, "k", BASE)

    templates.configure(None)
    theirs = email()
    templates.configure(in_front)
    _copy(in_front, "email/message.html", ">Every opportunity</a>", ">All our opportunities</a>")
    ours = email()

    assert ours["html"] == str(theirs["html"]).replace(
        ">Every opportunity</a>", ">All our opportunities</a>"
    )
    assert ">All our opportunities</a>" in str(ours["html"])
    assert {**ours, "html": None} == {**theirs, "html": None}  # subject, text: the package's


def test_without_a_folder_in_front_only_the_package_is_searched(tmp_path: Path) -> None:
    templates.configure(tmp_path / "not-there")
    assert templates.search_path() == (templates.PACKAGE,)
    templates.configure(None)
    assert templates.search_path() == (templates.PACKAGE,)


def _build(cwd: Path, out: Path) -> None:
    """`publisher build` as a deployment runs it, from a folder holding its templates."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PUBLISHER_TEMPLATES", None)
    done = subprocess.run(
        [sys.executable, "-m", "publisher", "build", "--plans", str(PLANS), "--out", str(out),
         "--today", TODAY.isoformat()],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_a_changed_template_in_front_makes_the_next_build_render_again(tmp_path: Path) -> None:
    """Each build a new process, as a deployment's are: ./templates is found by default, and
    a page the cache would otherwise take from the last build shows the change."""
    folder = tmp_path / "templates"
    folder.mkdir()
    out = tmp_path / "site"
    _copy(folder, "base.html", FOOTER, OURS)
    _build(tmp_path, out)
    notice = next((out / "opportunities").rglob("*.html"))
    assert OURS in notice.read_text(encoding="utf-8")

    changed = OURS.replace("Leeds CVS", "Voluntary Action Leeds")
    (folder / "base.html").write_text(
        (folder / "base.html").read_text(encoding="utf-8").replace(OURS, changed),
        encoding="utf-8",
    )
    _build(tmp_path, out)
    for page in [notice, out / "index.html"]:
        text = page.read_text(encoding="utf-8")
        assert changed in text and OURS not in text, page


def test_compiled_templates_are_kept_per_version_of_the_publisher(
    tmp_path: Path, in_front: Path
) -> None:
    """Jinja checks that a template's text is the same, not the environment's options: a
    compiled template another version left must not be loaded. (`in_front`: a search path
    of its own, so this process compiles every template afresh.)"""
    out = tmp_path / "site"
    build(PLANS, out, today=TODAY)
    kept = tmp_path / ".site.cache" / "templates"
    names = [p.name for p in kept.iterdir()]
    assert names and all(re.fullmatch(r"__jinja2_[0-9a-f]+_[0-9a-f]+\.cache", n) for n in names)
    versions = {name.rsplit("_", 1)[1] for name in names}
    assert len(versions) == 1
    stale = kept / "__jinja2_0123_4567.cache"
    stale.write_bytes(b"from another version")
    build(PLANS, out, today=TODAY)
    assert not stale.exists()
    assert {p.name.rsplit("_", 1)[1] for p in kept.iterdir()} == versions


@pytest.mark.parametrize(
    ("number", "noun", "said"),
    [
        (0, "opportunity", "no opportunities"),
        (1, "opportunity", "1 opportunity"),
        (36, "opportunity", "36 opportunities"),
        (2, "day", "2 days"),
        (3, "match", "3 matches"),
        (1, "update", "1 update"),
    ],
)
def test_a_count_in_words(number: int, noun: str, said: str) -> None:
    assert count(number, noun) == said


def test_a_count_with_its_own_plural() -> None:
    assert count(2, "person", "people") == "2 people"
    rendered = templates.environment().from_string('{{ 5|count("person", "people") }}').render()
    assert rendered == "5 people"
