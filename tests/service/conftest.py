"""The example site, built once, and the web app serving it on loopback."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from publisher.builder.site import build
from publisher.service.web import create_app
from tests.formats.examples import ROOT, TODAY
from tests.service.server import Served, free_socket, serving

PLANS = ROOT / "plans"
NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Site:
    folder: Path
    served: Served

    @property
    def url(self) -> str:
        return self.served.url


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The example plans built into a folder and served by the app, with the plans behind
    filtered feeds; the site's links name the address it is served at."""
    folder = tmp_path_factory.mktemp("served") / "feeds"
    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    build(PLANS, folder, today=TODAY, base_url=base)
    with serving(sock, lambda url: create_app(folder, PLANS, url, clock=lambda: NOW)) as served:
        yield Site(folder, served)


@pytest.fixture
def client(site: Site) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.url, timeout=30) as http:
        yield http


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """What loading the plans froze (service/live.py) is handed back to the collector
    afterwards."""
    yield
    gc.unfreeze()
    gc.collect()
