"""`publisher run`: the web app and the scheduler in one process, and the plans
repository's push webhook that makes the scheduler look at the plans at once."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from publisher.delivery import signing
from publisher.delivery.database import connect, create_or_upgrade
from publisher.service.limits import Limits, server_config
from publisher.service.scheduler import Service
from publisher.service.signup_pages import Signups
from publisher.service.web import create_app, listen, short_turns, stop_on_sigterm
from publisher.settings import Settings

log = logging.getLogger("publisher")
SIGNATURE = re.compile(rb"sha256=[0-9a-f]{64}")
FORGED = "The signature does not match the shared secret.\n"


def push_hook(service: Service, secret: str | None) -> Route:
    """POST /hooks/plans: a push to the plans repository; the signature is checked as
    GitHub signs it (X-Hub-Signature-256: sha256=<HMAC of the body>)."""

    async def hook(request: Request) -> Response:
        if not secret:
            return PlainTextResponse(
                "The push webhook is off: set PUBLISHER_HOOK_SECRET to turn it on.\n", 404
            )
        given = request.headers.get("x-hub-signature-256", "").encode("latin-1")
        if not SIGNATURE.fullmatch(given):  # cannot match: refused before the body is read
            return PlainTextResponse(FORGED, 403)
        mac = signing.signer(secret)
        async for chunk in request.stream():  # hashed as it comes, never held whole
            mac.update(chunk)
        if not signing.matches("sha256=" + mac.hexdigest(), given):
            return PlainTextResponse(FORGED, 403)
        # Queued behind a sync in progress, never dropped: that sync may have read the
        # plans before this push landed.
        service.request_sync("a push to the plans repository", retry_now=True)
        return PlainTextResponse("Looking at the plans now.\n", 202)

    return Route("/hooks/plans", hook, methods=["POST"])


def application(service: Service, plans: Path, site: Path, settings: Settings) -> Starlette:
    return create_app(
        site,
        plans,
        settings.base_url,
        health=service.health,
        routes=[push_hook(service, settings.hook_secret)],
        limits=Limits.of(settings),
        health_token=settings.hook_secret,  # a bearer token for /healthz's details
        signups=Signups(service.engine, settings),
    )


def run(plans: Path, site: Path, host: str, port: int, settings: Settings) -> None:
    """Serve and schedule until SIGTERM or Ctrl+C; then finish the send in progress,
    record it, and stop. Raises OSError when the address cannot be used, DatabaseError
    when the database cannot be opened."""
    engine = connect(settings.database_url)
    create_or_upgrade(engine)
    service = Service(plans, site, settings, engine)
    sock, address = listen(host, port)
    log.info(
        "Serving %s/ at %s and keeping it current from %s/ (Ctrl+C to stop).", site, address, plans
    )
    service.start()
    try:
        app = application(service, plans, site, settings)
        config = server_config(
            app,
            Limits.of(settings),
            app.state.web.quick,  # replies made before the app (quick.py)
            log_level="warning",
            access_log=False,
            lifespan="on",  # the app loads the plans for filtered feeds at start
        )
        with stop_on_sigterm(), short_turns():
            uvicorn.Server(config).run(sockets=[sock])
    finally:
        log.info("Stopping: finishing the send in progress.")
        ended = service.stop()
        log.info("Stopped.")
        if not ended:
            _exit_now()


def _exit_now() -> None:
    """End the process without waiting for the abandoned send's thread (Python would join
    it at exit, however long the receiver takes)."""
    for handler in logging.getLogger().handlers:
        handler.flush()
    os._exit(0)
