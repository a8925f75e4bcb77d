"""The calendars import into a real calendar server (Radicale, a CalDAV server that
calendar programs sync with), and it finds their events on the right days."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from publisher.builder.site import build
from tests.formats.examples import ROOT, TODAY

REFUGES = "leeds-city-council/leeds-domestic-abuse-refuges/tender_opens@localhost"  # 7 June 2027
QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="{start}" end="{end}"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("radicale")
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "radicale",
            "--storage-filesystem-folder",
            str(folder / "store"),
            "--auth-type",
            "none",
            "--rights-type",
            "owner_only",
            "--server-hosts",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(url, timeout=0.5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "feeds"
    build(ROOT / "plans", out, today=TODAY)
    return out


def _uids(calendar: str) -> set[str]:
    unfolded = re.sub(r"\r?\n[ \t]", "", calendar)
    return set(re.findall(r"^UID:(.+?)\r?$", unfolded, flags=re.MULTILINE))


@pytest.mark.parametrize("name", ["all", "place/leeds", "theme/carers", "funding/grant"])
def test_a_calendar_server_takes_every_event(server: str, site: Path, name: str) -> None:
    ics = (site / f"{name}.ics").read_bytes().decode("utf-8")
    collection = f"{server}/tester/{name.replace('/', '-')}/"
    auth = ("tester", "any")
    put = httpx.put(
        collection,
        content=ics.encode(),
        auth=auth,
        headers={"Content-Type": "text/calendar; charset=utf-8"},
        timeout=30,
    )
    assert put.status_code == 201, put.text
    stored = httpx.get(collection, auth=auth, timeout=30).text
    assert _uids(stored) == _uids(ics) != set()


def test_the_server_finds_an_event_on_its_day(server: str, site: Path) -> None:
    collection = f"{server}/tester/by-day/"
    auth = ("tester", "any")
    ics = (site / "all.ics").read_bytes()
    httpx.put(
        collection, content=ics, auth=auth, headers={"Content-Type": "text/calendar"}, timeout=30
    ).raise_for_status()

    def on(start: str, end: str) -> set[str]:
        body = QUERY.format(start=start, end=end)
        found = httpx.request(
            "REPORT",
            collection,
            content=body,
            auth=auth,
            timeout=30,
            headers={"Depth": "1", "Content-Type": "application/xml"},
        )
        assert found.status_code == 207, found.text
        return _uids(found.text.replace("&#13;", "\r"))

    assert REFUGES in on("20270607T000000Z", "20270608T000000Z")
    assert REFUGES not in on("20270608T000000Z", "20270609T000000Z")
