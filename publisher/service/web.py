"""The web app: the built site with proper HTTP caching, filtered feeds, the subscribe page,
the embeddable list, the answer to the form that narrows the lists (/find) and /healthz.
`serve` runs it under uvicorn.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import socket
import sys
import threading
from collections.abc import AsyncIterator, Callable, Hashable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from publisher.model.views import SiteData
from publisher.plans.dates import LONDON
from publisher.service import filtered
from publisher.service import health as healthcheck
from publisher.service import pages as service_pages
from publisher.service.conditional import Asked, Headers, Reply, answer, gzipped, reply
from publisher.service.files import (
    CONTENT_TYPES,
    CORS,
    PAGE_MAX_AGE,
    SHARED,
    Files,
    Found,
    Locator,
    Slash,
    cache_headers,
)
from publisher.service.filtered import Choice, Unknown
from publisher.service.limits import BodyLimits, Limits, server_config
from publisher.service.live import Clock, Live, PlansError, last_build
from publisher.service.quick import QuickFiles
from publisher.service.signup_pages import NoSignups, SignupPages, Signups

Health = Callable[[], dict[str, Any]]

# Pages need no scripts, frames or fonts: only our stylesheet and our own images.
CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'"
HEADERS = [
    (b"content-security-policy", f"{CSP}; frame-ancestors 'none'".encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
]
# The embeddable list is for other websites' frames.
EMBED_HEADERS = [
    (b"content-security-policy", f"{CSP}; frame-ancestors *".encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
]
HTML = "text/html; charset=utf-8"
PAGE_CACHE = {"cache-control": f"public, max-age={PAGE_MAX_AGE}"}
FEED_CACHE = {**PAGE_CACHE, **CORS}
PREFLIGHT = {
    "access-control-allow-methods": "GET, HEAD, OPTIONS",
    "access-control-allow-headers": "If-None-Match, If-Modified-Since",
    "access-control-max-age": "86400",
}
OWN_PATHS = frozenset({"/healthz", "/feeds", "/subscribe", "/embed", "/find"})


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SecurityHeaders:
    """Adds the security headers to every reply, errors included; not to 304s, which
    leave the client's stored headers as they are (and are most replies, so kept short)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = EMBED_HEADERS if scope["path"] == "/embed" else HEADERS

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] != 304:
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


class FastFiles:
    """Serves the site's files straight from ASGI, before routing: feed readers polling
    all.rss are most of the traffic. Anything else (folders, missing files, other methods,
    the app's own pages) goes on to the routes."""

    def __init__(self, app: ASGIApp, web: Web) -> None:
        self.app = app
        self.web = web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path = scope["path"]
            found = None if path in OWN_PATHS else self.web.locator.find(path)
            if isinstance(found, Found):
                try:
                    status, headers, body = await self.web.file(scope, found)
                except FileNotFoundError:
                    pass  # gone since it was found: the routes say so
                else:
                    await send(
                        {"type": "http.response.start", "status": status, "headers": headers}
                    )
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)


class Web:
    """The request handlers, over one site folder and its plans."""

    def __init__(
        self,
        site_dir: Path,
        plans: Path | None,
        base_url: str,
        clock: Clock,
        health: Health | None,
        health_token: str | None = None,
    ) -> None:
        self.site_dir = site_dir
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.clock = clock
        self.health = health
        self.files = Files()
        self.locator = Locator(site_dir)
        self.live = Live(site_dir, plans, self.base_url, clock) if plans is not None else None
        self.quick = QuickFiles(self.locator, self.files, OWN_PATHS, self.live, HEADERS)
        self.health_token = health_token
        self.alerts: SignupPages | None = None  # email sign-ups, when create_app has them

    # --- helpers ---------------------------------------------------------------------

    def _today(self) -> dt.date:
        loaded = self.live.loaded if self.live is not None else None
        if loaded is not None:
            return loaded.site.today
        return last_build(self.site_dir).today or self.clock().astimezone(LONDON).date()

    def _page(self, request: Request, body: bytes, status: int) -> Response:
        headers = {"cache-control": "no-store", "content-type": HTML}
        if request.method == "HEAD":
            headers["content-length"] = str(len(body))
            body = b""
        return Response(body, status_code=status, headers=headers)

    def _not_found(self, request: Request, unknown: Unknown | None = None) -> Response:
        loaded = self.live.loaded if self.live is not None else None
        site = loaded.site if loaded is not None else service_pages.Address(self.base_url)
        page = request.url.path.lstrip("/")
        return self._page(request, service_pages.not_found(site, self._today(), page, unknown), 404)

    def _unavailable(self, request: Request, problem: str) -> Response:
        address = service_pages.Address(self.base_url)
        body = service_pages.unavailable(address, self._today(), problem)
        return self._page(request, body, 503)

    async def _choice(self, request: Request) -> Choice | Response:
        """The request's choice of places, themes..., or the reply saying what is wrong."""
        if self.live is None:
            return self._unavailable(request, "this server was started without the plans.")
        try:
            loaded = await self.live.site()
        except PlansError as error:
            return self._unavailable(request, str(error))
        choice = filtered.choose(loaded.site, request.query_params.multi_items())
        return self._not_found(request, choice) if isinstance(choice, Unknown) else choice

    async def _rendered(
        self,
        request: Request,
        key: Hashable,
        make: Callable[[SiteData], bytes],
        content_type: str,
        headers: dict[str, str],
    ) -> Response:
        assert self.live is not None
        _, rep = await self.live.rendered(key, make, content_type)
        return await reply(request.scope, rep, headers)

    async def file(self, scope: Scope, found: Found) -> tuple[int, Headers, bytes]:
        """The reply for a file of the site: status, headers and body."""
        rep = await self.files.get(found)
        asked = Asked.of(scope)
        if asked.wants_gzip(rep):
            await gzipped(rep)
        return answer(asked, rep, cache_headers(scope["path"], found.suffix))

    # --- routes ----------------------------------------------------------------------

    async def static(self, request: Request) -> Response:
        """What FastFiles leaves: folders, missing files, OPTIONS."""
        found = self.locator.find(request.scope["path"])
        if isinstance(found, Slash):
            return RedirectResponse(found.location, status_code=301)
        if found is None:
            return self._not_found(request)
        if request.method == "OPTIONS":
            allowed = {**CORS, **PREFLIGHT} if found.suffix in SHARED else {}
            return Response(status_code=204, headers={"allow": "GET, HEAD, OPTIONS", **allowed})
        try:
            return Reply(*await self.file(request.scope, found))
        except FileNotFoundError:  # swapped away between looking and opening
            return self._not_found(request)

    async def feeds(self, request: Request) -> Response:
        if request.method == "OPTIONS":  # a CORS preflight: the feeds are for other sites too
            headers = {"allow": "GET, HEAD, OPTIONS", **CORS, **PREFLIGHT}
            return Response(status_code=204, headers=headers)
        fmt = request.query_params.get("format") or "rss"
        if fmt not in filtered.FORMATS:
            return self._not_found(request, Unknown("format", fmt, filtered.FORMATS))
        choice = await self._choice(request)
        if isinstance(choice, Response):
            return choice
        if choice.empty:
            return RedirectResponse(f"all.{fmt}", status_code=301)
        make = partial(filtered.render, choice=choice, fmt=fmt)
        key = ("feed", choice.query(), fmt)
        response = await self._rendered(request, key, make, CONTENT_TYPES["." + fmt], FEED_CACHE)
        self.quick.remember(request.scope, key, FEED_CACHE)  # readers' next 304s: quick.py
        return response

    async def subscribe(self, request: Request) -> Response:
        choice = await self._choice(request)
        if isinstance(choice, Response):
            return choice
        show = request.query_params.get("show") == "links" or not choice.empty
        emails = self.alerts is not None
        make = partial(service_pages.subscribe, choice=choice, show=show, emails=emails)
        key = ("subscribe", choice.query(), show, emails)
        return await self._rendered(request, key, make, HTML, PAGE_CACHE)

    async def embed(self, request: Request) -> Response:
        choice = await self._choice(request)
        if isinstance(choice, Response):
            return choice
        limit = service_pages.embed_limit(request.query_params.get("limit"))
        make = partial(service_pages.embed, choice=choice, limit=limit)
        key = ("embed", choice.query(), limit)
        return await self._rendered(request, key, make, HTML, PAGE_CACHE)

    async def find(self, request: Request) -> Response:
        """The answer to the form on the home page and list pages: the opportunities
        matching its place, theme, funding type and words."""
        choice = await self._choice(request)
        if isinstance(choice, Response):
            return choice
        text = (request.query_params.get("q") or "")[:200]  # a search, not an essay
        page = service_pages.page_number(request.query_params.get("page"))
        make = partial(service_pages.find, choice=choice, text=text, page=page)
        key = ("find", choice.query(), text, page)
        return await self._rendered(request, key, make, HTML, PAGE_CACHE)

    async def healthz(self, request: Request) -> Response:
        return await healthcheck.healthz(
            request, self.site_dir, self.clock(), self.live, self.health, self.health_token
        )


def create_app(
    site_dir: Path,
    plans: Path | None,
    base_url: str,
    clock: Clock = utc_now,
    health: Health | None = None,
    routes: Sequence[BaseRoute] = (),
    limits: Limits | None = None,
    health_token: str | None = None,
    signups: Signups | None = None,
) -> Starlette:
    """The web app over the built site in `site_dir`. With `plans`, also filtered feeds,
    the subscribe page and the embeddable list (the plans are loaded at start-up when the
    server runs the app's lifespan, else on first use); `health` adds to /healthz (its "status",
    when not "ok", makes the whole status "degraded"); `routes` come before the site's
    (a GET route there is only reached when no file of the site has its path). `limits`
    bound request bodies (the defaults of the settings when None); the server they run in
    is made by `limits.server_config` for the rest. /healthz shows its details to local
    callers and to those sending `health_token` as a bearer token (service/health.py).
    `signups` (the state database and settings) turns on email alerts (signup_pages.py);
    without it, their pages say plainly that sign-ups are not taken here."""
    web = Web(site_dir, plans, base_url, clock, health, health_token)
    alert_routes: list[BaseRoute]
    if signups is not None:
        web.alerts = SignupPages(signups.engine, signups.settings, web.live, web.base_url, clock)
        web.health = signups.health(health)
        alert_routes = list(web.alerts.routes())
    else:
        alert_routes = list(NoSignups(web.live, web.base_url, clock).routes())

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as group:
            if web.live is not None:
                group.start_soon(web.live.warm)
            yield
            group.cancel_scope.cancel()

    methods = ["GET", "HEAD"]
    app = Starlette(
        lifespan=lifespan,
        routes=[
            *routes,
            *alert_routes,
            Route("/healthz", web.healthz, methods=methods),
            Route("/feeds", web.feeds, methods=[*methods, "OPTIONS"]),
            Route("/subscribe", web.subscribe, methods=methods),
            Route("/embed", web.embed, methods=methods),
            Route("/find", web.find, methods=methods),
            Route("/{path:path}", web.static, methods=[*methods, "OPTIONS"]),
        ],
    )
    app.add_middleware(FastFiles, web=web)
    # Inside SecurityHeaders, so that its refusals have the headers; outside the rest.
    app.add_middleware(BodyLimits, limits=limits or Limits.default())
    app.add_middleware(SecurityHeaders)  # added last, so outermost
    app.state.web = web
    return app


def listen(host: str, port: int) -> tuple[socket.socket, str]:
    """A socket bound to host and port (0: any free port), and its address as a URL.
    Raises OSError when the address cannot be used."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    shown = f"[{host}]" if ":" in host else host
    return sock, f"http://{shown}:{sock.getsockname()[1]}/"


def serve(
    site_dir: Path,
    plans: Path | None,
    host: str,
    port: int,
    limits: Limits,
    base_url: str | None = None,
    announce: Callable[[str], None] | None = None,
    signups: Signups | None = None,
) -> None:
    """Serve the site until stopped (SIGTERM or Ctrl+C end it gracefully), under `limits`
    (the caller's settings), with email sign-ups when given `signups` (the shared state
    database: sign-ups' emails wait in its outbox for the scheduler of `publisher run` to
    send). Raises OSError when the address cannot be used."""
    sock, address = listen(host, port)
    app = create_app(site_dir, plans, base_url or address, limits=limits, signups=signups)
    message = f"Serving the site in {site_dir}/ at {address} (Ctrl+C to stop)"
    if announce is None:
        print(message, flush=True)
    else:
        announce(message)
    config = server_config(
        app, limits, app.state.web.quick, log_level="warning", access_log=False, server_header=False
    )
    with stop_on_sigterm(), short_turns():
        uvicorn.Server(config).run(sockets=[sock])


class _TerminatedError(Exception):
    """SIGTERM, after uvicorn's graceful shutdown."""


def _raise_stopped(signum: int, frame: object) -> None:
    raise _TerminatedError


# How long a thread holds the interpreter while another waits for it. Python's default,
# 5 ms, is each reply's wait for it, again and again, while the plans load or a feed is
# made in a worker thread. At 20,000 opportunities, readers polling while a new build
# loaded waited a p99 of 388 ms at 5 ms, 46 to 601 ms at 0.5 ms (seven runs), 25 to 28 ms
# at 0.1 ms (three runs; docs/performance.md). The load takes longer, 9.7 s against 4.5 s
# (the last build's plans are served meanwhile).
SWITCH_INTERVAL = 0.0001


@contextlib.contextmanager
def short_turns() -> Iterator[None]:
    """Serve with the interpreter handed between threads every `SWITCH_INTERVAL`."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """A clean stop on SIGTERM. uvicorn shuts down gracefully on it, then sends the signal
    to itself again, which would end the process there (exit status -15): this handler
    turns that into an ordinary return."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_stopped)
    try:
        yield
    except _TerminatedError:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
