"""/healthz: 200 when all is well, 503 with the reasons when something needs the operator.
The public sees only "ok" or "unavailable: <short reasons>"; the details (folders, error
texts, the scheduler's state) go only to a caller on this machine that no proxy forwarded,
or to one that sends the push hook's secret as a bearer token.
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from publisher.service.live import Live, PlansError, last_build

Health = Callable[[], dict[str, Any]]
NO_STORE = {"cache-control": "no-store"}
# A request that came through a proxy on this machine is not a local caller: the proxy
# says whom it forwards for in one of these.
PROXY_HEADERS = frozenset({b"forwarded", b"x-forwarded-for", b"x-real-ip"})


def may_see_details(
    client: str | None, headers: Iterable[tuple[bytes, bytes]], token: str | None
) -> bool:
    """Whether a caller may see the details: one from a loopback address with no proxy
    header, or one whose `Authorization: Bearer` is `token`."""
    given: bytes | None = None
    proxied = False
    for raw, value in headers:
        name = raw.lower()
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            given = value[7:].strip()
        proxied = proxied or name in PROXY_HEADERS
    if token and given is not None and hmac.compare_digest(given, token.encode()):
        return True
    if client is None or proxied:
        return False
    try:
        address = ipaddress.ip_address(client.split("%", 1)[0])
    except ValueError:
        return False  # a Unix socket path, or nothing we know
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


async def healthz(
    request: Request,
    site_dir: Path,
    now: dt.datetime,
    live: Live | None,
    scheduler: Health | None,
    token: str | None,
) -> Response:
    problems: list[str] = []
    built = last_build(site_dir)
    if built.when is None:
        problems.append("the site has not been built")
    count: int | None = None
    if live is not None:
        try:
            count = len((await live.site()).site.opportunities)  # loaded again after a build
        except PlansError:
            problems.append("the plans could not be read")
    age = (now - built.when).total_seconds() if built.when else None
    body: dict[str, Any] = {
        "site": {
            "folder": str(site_dir),
            "built": built.when is not None,
            "last_build": built.when.isoformat() if built.when else None,
            "age_seconds": round(age) if age is not None else None,
            "built_for": built.today.isoformat() if built.today else None,
        },
        "opportunities": count,
    }
    if live is not None and live.failed is not None:
        body["plans_problem"] = live.failed[1]
    if live is not None and live.loaded is not None:
        # A new build's plans load in the background (live.py): until then, filtered feeds
        # and the subscribe page say what the build these were loaded from said.
        loaded_from = live.loaded.built
        body["plans_loaded"] = {
            "from_build": (
                dt.datetime.fromtimestamp(loaded_from, dt.UTC).isoformat()
                if loaded_from is not None
                else None
            ),
            "loading_new_build": live.reloading,
        }
    if scheduler is not None:
        body.update(await _scheduler(scheduler, problems))
    body = {"status": "degraded" if problems else "ok", "problems": problems, **body}
    status = 503 if problems else 200
    client = request.client.host if request.client else None
    if may_see_details(client, request.headers.raw, token):
        return JSONResponse(body, status_code=status, headers=NO_STORE)
    said = "unavailable: " + "; ".join(problems) if problems else "ok"
    return PlainTextResponse(said + "\n", status_code=status, headers=NO_STORE)


async def _scheduler(scheduler: Health, problems: list[str]) -> dict[str, Any]:
    """The scheduler's part, asked in a thread (it asks the database)."""
    try:
        extra = dict(await anyio.to_thread.run_sync(scheduler))
    except Exception as error:  # health must answer whatever broke
        problems.append("the scheduler's state could not be read")
        return {"health_error": f"{type(error).__name__}: {error}"}
    reasons = [str(reason) for reason in extra.pop("problems", [])]
    if extra.pop("status", "ok") != "ok" and not reasons:
        reasons = ["the scheduler reports a problem"]
    problems.extend(reasons)
    return extra
