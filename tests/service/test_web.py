"""The web app serving the built site: content types, validators and 304s, compression,
CORS, security headers, no way out of the site folder, the 404 page, a site swapped
underneath, /healthz and HEAD. The real app, under uvicorn on loopback."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import shutil
import sys
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from publisher.builder.site import build
from publisher.service.web import SWITCH_INTERVAL, create_app, short_turns
from tests.formats.examples import TODAY
from tests.service.conftest import NOW, PLANS, Site
from tests.service.server import free_socket, raw_status, serving

TYPES = {
    "all.rss": "application/rss+xml; charset=utf-8",
    "all.atom": "application/atom+xml; charset=utf-8",
    "all.ics": "text/calendar; charset=utf-8",
    "all.json": "application/json",
    "place/leeds.rss": "application/rss+xml; charset=utf-8",
    "theme/mental-health.ics": "text/calendar; charset=utf-8",
    "index.html": "text/html; charset=utf-8",
    "place/leeds.html": "text/html; charset=utf-8",
    "static/site.css": "text/css; charset=utf-8",
    "static/opportunities-v1.schema.json": "application/json",
}
IDENTITY = {"accept-encoding": "identity"}


def test_each_kind_of_file_has_its_content_type(client: httpx.Client, site: Site) -> None:
    for path, wanted in TYPES.items():
        response = client.get(path, headers=IDENTITY)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == wanted, path
        assert response.content == (site.folder / path).read_bytes(), path


def test_home_page_at_the_root(client: httpx.Client, site: Site) -> None:
    response = client.get("/", headers=IDENTITY)
    assert response.status_code == 200
    assert response.content == (site.folder / "index.html").read_bytes()


def test_etag_and_last_modified_give_304(client: httpx.Client, site: Site) -> None:
    first = client.get("all.rss", headers=IDENTITY)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('"') and etag.endswith('"'), "a strong ETag"
    mtime = (site.folder / "all.rss").stat().st_mtime
    assert parsedate_to_datetime(modified).timestamp() == int(mtime)

    again = client.get("all.rss", headers={**IDENTITY, "if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["access-control-allow-origin"] == "*"

    since = client.get("all.rss", headers={**IDENTITY, "if-modified-since": modified})
    assert since.status_code == 304 and since.content == b""

    earlier = formatdate(mtime - 3600, usegmt=True)
    stale = client.get("all.rss", headers={**IDENTITY, "if-modified-since": earlier})
    assert stale.status_code == 200 and stale.content == first.content

    other = client.get("all.rss", headers={**IDENTITY, "if-none-match": '"something-else"'})
    assert other.status_code == 200, "an ETag that does not match gets the whole file"
    listed = client.get("all.rss", headers={**IDENTITY, "if-none-match": f'"x", W/{etag}'})
    assert listed.status_code == 304, "a weak or listed ETag matches too"
    # If-None-Match wins over If-Modified-Since (RFC 9110)
    both = client.get(
        "all.rss", headers={**IDENTITY, "if-none-match": '"x"', "if-modified-since": modified}
    )
    assert both.status_code == 200


def test_gzip_when_asked(client: httpx.Client) -> None:
    plain = client.get("all.json", headers=IDENTITY)
    assert "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"
    with client.stream("GET", "all.json", headers={"accept-encoding": "gzip"}) as response:
        raw = b"".join(response.iter_raw())
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) == len(raw) < len(plain.content) / 3
    assert gzip.decompress(raw) == plain.content
    gz_etag = response.headers["etag"]
    assert gz_etag != plain.headers["etag"], "each encoding has its own ETag"
    for tag in (gz_etag, plain.headers["etag"]):
        again = client.get("all.json", headers={"accept-encoding": "gzip", "if-none-match": tag})
        assert again.status_code == 304
    refused = client.get("all.json", headers={"accept-encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers


def test_cors_on_feeds_calendars_and_data_not_pages(client: httpx.Client) -> None:
    for path in ("all.rss", "all.atom", "all.ics", "all.json", "place/leeds.json"):
        headers = client.get(path).headers
        assert headers["access-control-allow-origin"] == "*", path
        assert "etag" in headers["access-control-expose-headers"].lower(), path
    for path in ("index.html", "place/leeds.html", "static/site.css"):
        assert "access-control-allow-origin" not in client.get(path).headers, path
    preflight = client.options(
        "all.rss",
        headers={"origin": "https://example.org", "access-control-request-method": "GET"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "If-None-Match" in preflight.headers["access-control-allow-headers"]


def test_security_headers(client: httpx.Client) -> None:
    for path in ("index.html", "all.rss", "subscribe", "no-such-page"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "style-src 'self'" in csp, path
        assert "form-action 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["referrer-policy"], path
    embed = client.get("embed?place=leeds").headers
    assert "frame-ancestors *" in embed["content-security-policy"]
    assert "x-frame-options" not in embed


def test_cache_control(client: httpx.Client) -> None:
    assert client.get("all.rss").headers["cache-control"] == "public, max-age=300"
    assert client.get("index.html").headers["cache-control"] == "public, max-age=300"
    assert client.get("static/site.css").headers["cache-control"] == "public, max-age=86400"
    assert client.get("no-such-page").headers["cache-control"] == "no-store"


def test_head_gives_the_headers_without_the_body(client: httpx.Client) -> None:
    get = client.get("all.ics", headers=IDENTITY)
    head = client.head("all.ics", headers=IDENTITY)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-type"] == get.headers["content-type"]
    assert client.head("no-such-page").status_code == 404
    assert client.head("feeds?place=leeds").status_code == 200


ESCAPES = [
    "/../etc/passwd",
    "/../../../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E/%2E%2E/etc/passwd",
    "/static/..%2f..%2fpyproject.toml",
    "/static/%2e%2e/%2e%2e/%2e%2e/pyproject.toml",
    "/static/..%5c..%5cpyproject.toml",
    "//etc/passwd",
    "/static//etc/passwd",
    "/etc/passwd",
    "/index.html%00.css",
    "/%00",
    "/.hidden",
    "/place/./leeds.html",
]


def test_no_way_out_of_the_site_folder(site: Site, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the public")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "index.html").write_text("not for the public")
    (site.folder / "leak.txt").symlink_to(secret)
    (site.folder / "leaky").symlink_to(outside, target_is_directory=True)
    (site.folder / ".hidden").write_text("hidden")
    (site.folder / "inside.css").symlink_to(site.folder / "static" / "site.css")
    try:
        for target in [*ESCAPES, "/leak.txt", "/leaky/index.html", "/leaky/", "/leaky"]:
            assert raw_status(site.served.port, target) == 404, target
        assert raw_status(site.served.port, "/inside.css") == 200, "a link inside is fine"
    finally:
        for name in ("leak.txt", "leaky", ".hidden", "inside.css"):
            (site.folder / name).unlink()


def test_friendly_404(client: httpx.Client) -> None:
    response = client.get("place/nowhere-at-all.html")
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert "<h1>Page not found</h1>" in page
    assert 'href="/index.html"' in page, "a link home"
    assert 'href="/static/site.css"' in page, "the site's style, from any depth"
    assert "Traceback" not in page


def test_a_folder_serves_its_index(client: httpx.Client, site: Site) -> None:
    folder = site.folder / "guide"
    folder.mkdir()
    (folder / "index.html").write_text("<!doctype html><title>Guide</title>")
    try:
        moved = client.get("guide")
        assert moved.status_code == 301 and moved.headers["location"] == "/guide/"
        assert client.get("guide/").text == "<!doctype html><title>Guide</title>"
        assert client.get("place/").status_code == 404, "a folder without an index"
    finally:
        shutil.rmtree(folder)


def test_healthz(site: Site) -> None:
    # the last build that changed the day (build.json) or an opportunity (all.json)
    newest = max((site.folder / name).stat().st_mtime for name in ("build.json", "all.json"))
    built = dt.datetime.fromtimestamp(newest, dt.UTC)
    state: dict[str, Any] = {"scheduler": {"running": True}, "outbox": {"queued": 3}}
    with serving(
        free_socket(),
        lambda url: create_app(
            site.folder, PLANS, url, clock=lambda: built + dt.timedelta(seconds=90),
            health=lambda: state,
        ),
    ) as served, httpx.Client(base_url=served.url) as http:  # fmt: skip
        http.get("subscribe")  # the plans are loaded on first use
        health = http.get("healthz")
        assert health.status_code == 200
        assert health.headers["cache-control"] == "no-store"
        body = health.json()
        assert body["status"] == "ok"
        assert body["site"]["built"] is True
        assert body["site"]["age_seconds"] == 90
        assert body["site"]["built_for"] == TODAY.isoformat()
        assert dt.datetime.fromisoformat(body["site"]["last_build"]) == built
        assert body["opportunities"] == 49
        assert body["plans_loaded"] == {"from_build": built.isoformat(), "loading_new_build": False}
        assert body["scheduler"] == {"running": True} and body["outbox"] == {"queued": 3}
        state["status"] = "degraded"
        sick = http.get("healthz")
        assert sick.status_code == 503 and sick.json()["status"] == "degraded"


def test_healthz_without_a_built_site(tmp_path: Path) -> None:
    empty = tmp_path / "feeds"
    empty.mkdir()
    with serving(
        free_socket(), lambda url: create_app(empty, None, url, clock=lambda: NOW)
    ) as served:
        health = httpx.get(served.url + "healthz")
    assert health.status_code == 503
    assert health.json()["status"] == "degraded"
    assert health.json()["site"]["built"] is False


def test_a_site_swapped_underneath_is_served_fresh(tmp_path: Path) -> None:
    plans = tmp_path / "plans"
    shutil.copytree(PLANS, plans)
    out = tmp_path / "feeds"
    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    build(plans, out, today=TODAY, base_url=base)
    with serving(sock, lambda url: create_app(out, plans, url, clock=lambda: NOW)) as served:
        http = httpx.Client(base_url=served.url, headers=IDENTITY)
        before = http.get("all.rss")
        filtered_before = http.get("feeds?place=leeds&theme=employment")
        assert "Help into work" in filtered_before.text
        assert "Renamed help" not in before.text + filtered_before.text
        plan = plans / "leeds-city-council.yaml"
        text = plan.read_text(encoding="utf-8")
        plan.write_text(
            text.replace("title: Help into work", "title: Renamed help into work", 1),
            encoding="utf-8",
        )
        old_inode = os.stat(out / "all.rss").st_ino
        build(plans, out, today=TODAY, base_url=base)
        assert os.stat(out / "all.rss").st_ino != old_inode, "the build swapped the site"
        after = http.get("all.rss", headers={"if-none-match": before.headers["etag"]})
        assert after.status_code == 200
        assert "Renamed help into work" in after.text
        assert after.headers["etag"] != before.headers["etag"]
        filtered_after = http.get(
            "feeds?place=leeds&theme=employment",
            headers={"if-none-match": filtered_before.headers["etag"]},
        )
        assert filtered_after.status_code == 200
        assert "Renamed help into work" in filtered_after.text
        # A build that changes nothing keeps every ETag: feed readers keep getting 304s.
        build(plans, out, today=TODAY, base_url=base)
        same = http.get("all.rss", headers={"if-none-match": after.headers["etag"]})
        assert same.status_code == 304
        since = http.get("all.rss", headers={"if-modified-since": after.headers["last-modified"]})
        assert since.status_code == 304, "Last-Modified stays while the file is the same"
        http.close()


def test_the_server_hands_the_interpreter_between_threads_quickly_and_then_back() -> None:
    """While serving, a reply waits at most SWITCH_INTERVAL for a worker thread (the plans
    loading, a feed being made) to let go of the interpreter; the interval is restored after."""
    before = sys.getswitchinterval()
    assert before > SWITCH_INTERVAL, "Python's default is longer"
    with short_turns():
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)
    assert sys.getswitchinterval() == before
