"""A deployment's own look: name, tagline, logo, colours, footer links and contact from its
settings, on the site, in emails and on the embeddable list; the example override
(templates/example-override/) shows them; without one, nothing of it shows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from publisher.builder import cache
from publisher.builder.site import build
from publisher.delivery import messages
from publisher.delivery.channels import load_channels
from publisher.service import pages as service_pages
from publisher.service.filtered import Choice
from publisher.settings import SettingsError, contrast, load_settings
from publisher.text import templates
from publisher.text.brand import DEFAULT, Brand
from tests.formats.examples import load

ROOT = Path(__file__).resolve().parents[2]
PLANS = ROOT / "plans"
EXAMPLE = ROOT / "templates" / "example-override"
TODAY = dt.date(2026, 12, 7)
BASE = "https://plans.example.org/"


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> Iterator[Brand]:
    """The example override in front, with the settings of its publisher.toml, as
    `PUBLISHER_CONFIG=templates/example-override/publisher.toml publisher ...` sets them."""
    monkeypatch.chdir(ROOT)  # its templates setting is relative to the repository
    settings = load_settings({"PUBLISHER_CONFIG": str(EXAMPLE / "publisher.toml")})
    assert settings.templates.resolve() == EXAMPLE
    brand = Brand.of(settings)
    templates.configure(settings.templates, brand)
    yield brand
    templates.configure(None)


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _email() -> dict[str, object]:
    site = load()
    subscriber = load_channels(PLANS)[0][0]
    entry = messages.entry(site, site.opportunities[0], "k", "new", ["A new opportunity."])
    found = messages.message(site, subscriber, [entry], digest=False)
    return messages.email_payload(subscriber, found, "k", BASE)


def _embed() -> str:
    return service_pages.embed(load(), Choice(place=("leeds",)), 5).decode()


def test_the_example_override_shows_its_name_and_colours_on_the_site(
    tmp_path: Path, example: Brand
) -> None:
    build(PLANS, tmp_path / "site", today=TODAY, base_url=BASE)
    files = _files(tmp_path / "site")
    assert (
        files["static/example-cvs-logo.svg"]
        == (EXAMPLE / "static" / "example-cvs-logo.svg").read_bytes()
    )
    brand_css = files["static/brand.css"].decode()
    assert ".site-header { background: #2d4a22; }" in brand_css
    assert "a, .embed-title { color: #8a1c4a; }" in brand_css
    notice = next(name for name in files if name.startswith("opportunities/"))
    for name in ["index.html", "place/leeds.html", notice]:
        page = files[name].decode()
        assert "<title>" in page and " – Example CVS funding news</title>" in page, name
        assert ">Example CVS funding news</a></p>" in page
        assert "Local funding plans" not in page
        up = "../" * name.count("/")
        assert f'<link rel="stylesheet" href="{up}static/brand.css">' in page
        assert f'<img class="site-logo" src="{up}static/example-cvs-logo.svg" alt="">' in page
        assert '<a href="https://example.org/privacy">Privacy</a>' in page
        assert '<a href="mailto:funding@example.org">funding@example.org</a>' in page
        # its base.html extends the publisher's and adds to the footer block only
        assert "Example CVS brings these plans to its member groups." in page


def test_the_example_override_shows_its_name_and_colours_in_an_email(example: Brand) -> None:
    email = _email()
    assert str(email["text"]).startswith("Example CVS funding news\n\n")
    banner = 'background:#2d4a22;color:#ffffff;font-weight:bold">Example CVS funding news</p>'
    assert banner in str(email["html"])


def test_the_example_override_shows_its_name_and_colours_on_the_embed(example: Brand) -> None:
    embed = _embed()
    assert " – Example CVS funding news</title>" in embed
    assert "from Example CVS funding news.</p>" in embed
    assert '<link rel="stylesheet" href="/static/brand.css">' in embed


def test_without_an_override_nothing_of_a_brand_shows() -> None:
    """The publisher's own look: the same words and markup as before brands existed
    (the example site was compared file by file when they came in: identical)."""
    templates.configure(None)
    assert templates.brand() == DEFAULT and not DEFAULT.own and not DEFAULT.coloured
    email, embed = _email(), _embed()
    assert "Local funding plans" not in str(email["text"]) + str(email["html"])
    assert "brand.css" not in embed and "from Local funding plans.</p>" in embed
    page = (
        templates.environment()
        .from_string('{% extends "base.html" %}{% block title %}T{% endblock %}')
        .render(site=load(), page="index.html", href=lambda p: p, today=TODAY)
    )
    assert "<title>T – Local funding plans</title>" in page
    for trace in ["brand.css", "site-logo", "footer-links", "Questions about this site"]:
        assert trace not in page


def test_a_brand_is_part_of_the_build_cache_key(tmp_path: Path) -> None:
    path = templates.search_path()
    assert cache.code_digest(path) == cache.code_digest(path, DEFAULT)  # old caches kept
    other = Brand(name="Leeds funding news")
    assert cache.code_digest(path, other) != cache.code_digest(path)
    out = tmp_path / "site"
    build(PLANS, out, today=TODAY)
    try:
        templates.configure(None, other)
        build(PLANS, out, today=TODAY)
        notice = next((out / "opportunities").rglob("*.html")).read_text(encoding="utf-8")
        assert ">Leeds funding news</a></p>" in notice
    finally:
        templates.configure(None)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PUBLISHER_HEADER_COLOUR", "#ffcc00", "#ffcc00 is too light to read against the "
         "header's white words: the contrast is 1.5:1 and it needs 4.5:1"),
        ("PUBLISHER_LINK_COLOUR", "#999999", "#999999 is too light to read against a white "
         "page: the contrast is 2.8:1"),
        ("PUBLISHER_LINK_COLOUR", "red;}body{display:none", "is not a colour we can use"),
        ("PUBLISHER_FOOTER_LINKS", "About: /about", "is not a list of links we can read"),
        ("PUBLISHER_FOOTER_LINKS", '{"Us": "javascript:alert(1)"}', "is not a web address"),
        ("PUBLISHER_LOGO", "../secret.png", "is not a logo we can show"),
        ("PUBLISHER_LOGO", "https://example.org/logo.png", "pages may show only the site's"),
        ("PUBLISHER_CONTACT", "the office", "is neither an email address nor a web address"),
        ("PUBLISHER_SITE_NAME", "x" * 81, "is not a name of 1 to 80 characters"),
    ],
)  # fmt: skip
def test_a_brand_setting_that_would_break_the_page_is_refused(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({variable: value})
    assert str(raised.value).startswith(f"{variable}: ")
    assert message in str(raised.value)


def test_footer_links_come_from_the_environment_as_json_in_order() -> None:
    settings = load_settings(
        {"PUBLISHER_FOOTER_LINKS": '{"Privacy": "https://e.org/p", "About": "mailto:a@e.org"}'}
    )
    assert Brand.of(settings).footer_links == (
        ("Privacy", "https://e.org/p"),
        ("About", "mailto:a@e.org"),
    )


def test_contrast_is_wcags() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#1d4e89", "#ffffff") > 7  # the publisher's own links


def test_without_own_colours_no_brand_stylesheet_is_published(tmp_path: Path) -> None:
    templates.configure(None, Brand(name="Leeds funding news"))
    try:
        build(PLANS, tmp_path / "site", today=TODAY)
    finally:
        templates.configure(None)
    assert not (tmp_path / "site" / "static" / "brand.css").exists()
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "brand.css" not in index and ">Leeds funding news</a></p>" in index
