"""Every list page's "Share or embed this list" link leads, through the running web app, to
the subscribe page with that list already chosen: the address to send on, and the HTML
that shows the list on another website. "Get alerts" in the header leads there too."""

from __future__ import annotations

import re
from html import unescape

import httpx

from tests.service.conftest import Site

SHARE = re.compile(r'<p class="share"><a href="([^"]+)">Share or embed this list</a>')


def test_every_list_page_links_share_or_embed_to_its_own_choice(
    site: Site, client: httpx.Client
) -> None:
    lists = [
        p
        for kind in ("place", "theme", "commissioner", "funding")
        for p in sorted((site.folder / kind).glob("*.html"))
    ]
    assert len(lists) > 20
    kinds = set()
    for page in lists:
        kind, slug = page.parent.name, page.stem
        text = page.read_text(encoding="utf-8")
        found = SHARE.findall(text)
        assert found == [f"../subscribe?{kind}={slug}#share"], page
        kinds.add(kind)
    assert kinds == {"place", "theme", "commissioner", "funding"}


def test_the_share_link_shows_the_list_s_address_and_its_embed(client: httpx.Client) -> None:
    answer = client.get("/subscribe?place=leeds")
    assert answer.status_code == 200
    page = answer.text
    assert '<h3 id="share">Share this list, or show it on your website</h3>' in page
    address = re.search(r"To share it, send this address: <a href=\"([^\"]+)\">", page)
    assert address is not None and address[1].endswith("/place/leeds.html")
    assert client.get(httpx.URL(address[1]).path).status_code == 200
    snippet = re.search(r'<textarea id="snippet"[^>]*>([^<]+)</textarea>', page)
    assert snippet is not None
    embed = re.search(r'src="([^"]+)"', unescape(snippet[1]))
    assert embed is not None and "/embed?place=leeds" in embed[1]
    shown = client.get(httpx.URL(unescape(embed[1])).raw_path.decode())
    assert shown.status_code == 200 and '<ul class="embed-list">' in shown.text


def test_a_filtered_choice_is_shared_as_the_answer_to_the_form(client: httpx.Client) -> None:
    page = client.get("/subscribe?place=leeds&theme=mental-health").text
    address = re.search(r"To share it, send this address: <a href=\"([^\"]+)\">", page)
    assert address is not None
    assert unescape(address[1]).endswith("/find?place=leeds&theme=mental-health")
    assert client.get(httpx.URL(unescape(address[1])).raw_path.decode()).status_code == 200


def test_get_alerts_in_every_page_s_header_leads_to_subscribe(
    site: Site, client: httpx.Client
) -> None:
    for page in [site.folder / "index.html", site.folder / "place" / "leeds.html"]:
        text = page.read_text(encoding="utf-8")
        link = re.search(r'<a class="alerts" href="([^"]+)"', text)
        assert link is not None and link[1].rstrip("/").endswith("subscribe"), page
    assert client.get("/subscribe").status_code == 200
