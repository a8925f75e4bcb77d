"""Email alerts on the web app: the sign-up form, the confirmation, a subscriber's own page
(change or stop), one-click unsubscribe (RFC 8058) and the privacy notice. No login: each
link carries a signed, expiring token; each form carries a token tied to a cookie (CSRF);
sign-ups are limited per address (signups.ask) and per client (ClientLimit)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from publisher.delivery import bounces, messages, outbox, signup_mail, signup_tokens, signups
from publisher.delivery.email_message import UnsafeMessageError, checked_address
from publisher.delivery.signup_tokens import BadTokenError, Signer
from publisher.model.views import FUNDING_WORDS, SiteData
from publisher.plans.model import Funding
from publisher.service import filtered, form_guard
from publisher.service import pages as service_pages
from publisher.service.form_guard import COOKIE, ClientLimit
from publisher.service.live import Live, PlansError
from publisher.settings import Settings

CADENCE_WORDS = (
    ("immediate", "Straight away: an email for each new opportunity or change"),
    ("daily", "Daily: one email a day with everything new"),
    ("weekly", "Weekly: one email on Monday with everything new"),
)


Health = Callable[[], dict[str, Any]]


@dataclass(frozen=True)
class Signups:
    """What email alerts need: the state database and the settings."""

    engine: Engine
    settings: Settings

    def health(self, inner: Health | None) -> Health:
        """/healthz's details, with how many sign-ups are in each state (never who)."""

        def combined() -> dict[str, Any]:
            found = dict(inner()) if inner is not None else {}
            with self.engine.connect() as conn:
                found["subscribers"] = signups.counts(conn)
                after = bounces.suspended_after_bounces(conn)
            found["bounces"] = {**found.get("bounces", {}), "suspended_after_a_bounce": after}
            return found

        return combined


@dataclass(frozen=True)
class Button:
    action: str
    words: str
    fields: list[tuple[str, str]]


class SignupPages:
    """The request handlers for email alerts, over the state database."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        live: Live | None,
        base_url: str,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.live = live
        self.base_url = base_url
        self.clock = clock
        self.limit = ClientLimit(settings.signups_per_hour)
        self._signer: Signer | None = None
        self._lock = asyncio.Lock()

    def routes(self) -> list[Route]:
        return [
            Route("/subscribe/email", self.form, methods=["GET", "HEAD"]),
            Route("/subscribe/email", self.sign_up, methods=["POST"]),
            Route("/subscribe/confirm", self.confirm_page, methods=["GET", "HEAD"]),
            Route("/subscribe/confirm", self.confirm, methods=["POST"]),
            Route("/subscribe/manage", self.manage_page, methods=["GET", "HEAD"]),
            Route("/subscribe/manage", self.manage, methods=["POST"]),
            Route("/subscribe/stop", self.stop, methods=["POST"]),
            Route("/subscribe/unsubscribe", self.unsubscribe_page, methods=["GET", "HEAD"]),
            Route("/subscribe/unsubscribe", self.unsubscribe, methods=["POST"]),
            Route("/privacy", self.privacy, methods=["GET", "HEAD"]),
        ]

    # --- what every handler needs --------------------------------------------------------

    async def signer(self) -> Signer:
        async with self._lock:
            if self._signer is None:
                self._signer = await anyio.to_thread.run_sync(
                    signup_mail.signer, self.engine, self.settings, self.clock()
                )
        return self._signer

    def links(self, signer: Signer) -> signup_mail.Links:
        return signup_mail.Links(self.base_url, signer, self.clock())

    @property
    def privacy_link(self) -> str:
        return self.settings.privacy_url or self.base_url + "privacy"

    async def site(self) -> SiteData | service_pages.Address:
        if self.live is None:
            return service_pages.Address(self.base_url)
        try:
            return (await self.live.site()).site
        except PlansError:
            return service_pages.Address(self.base_url)

    def _today(self) -> dt.date:
        return self.clock().date()

    async def page(
        self,
        request: Request,
        name: str,
        status: int = 200,
        cookie: str | None = None,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> Response:
        site = await self.site()
        body = service_pages.render(
            name, site, "subscribe", self._today(), privacy=self.privacy_link, **context
        )
        reply = Response(
            b"" if request.method == "HEAD" else body,
            status_code=status,
            headers={
                "cache-control": "no-store",
                "content-type": "text/html; charset=utf-8",
                "referrer-policy": "no-referrer",  # tokens are in these pages' addresses
                **(headers or {}),
            },
        )
        if cookie is not None:
            secure = urlsplit(self.base_url).scheme == "https"
            reply.set_cookie(COOKIE, cookie, httponly=True, samesite="lax", secure=secure)
        return reply

    async def message(
        self, request: Request, heading: str, *lines: str, status: int = 200, **context: Any
    ) -> Response:
        context.setdefault("button", None)
        context.setdefault("manage", None)
        return await self.page(
            request, "signup_message.html", status, heading=heading, lines=list(lines), **context
        )

    async def refused_link(self, request: Request, error: BadTokenError) -> Response:
        return await self.message(
            request,
            "This link does not work",
            f"Sorry: {error}.",
            "Links in our emails stop working after a while. To sign up again, or to get a "
            "new link to your own page, fill in the sign-up form with your email address.",
            status=400,
        )

    async def form_token(self, request: Request) -> tuple[str, str]:
        """The form's CSRF token, and the cookie's nonce it is tied to (new if need be)."""
        return form_guard.token(await self.signer(), request.cookies.get(COOKIE), self.clock())

    async def posted(self, request: Request) -> list[tuple[str, str]] | Response:
        """The form's fields, or the refusal when it has no valid CSRF token."""
        fields = form_guard.fields(await request.body())
        if form_guard.genuine(
            await self.signer(), fields, request.cookies.get(COOKIE, ""), self.clock()
        ):
            return fields
        return await self.message(
            request,
            "Please send the form again",
            "We could not accept this form: it was not sent from this site's own page, "
            "or the page was open for too long.",
            "Go back, reload the page, and send it again.",
            status=403,
        )

    def token_from(self, request: Request, fields: list[tuple[str, str]] | None = None) -> str:
        found = next((value for name, value in fields or () if name == "t"), None)
        return found or request.query_params.get("t", "")

    async def check(self, token: str, purpose: str) -> str:
        lifetime = (
            dt.timedelta(hours=self.settings.unconfirmed_hours)
            if purpose == signup_tokens.CONFIRM
            else signup_tokens.LINK_LIFETIME
        )
        return (await self.signer()).check(token, purpose, self.clock(), lifetime)

    async def choice_of(self, fields: list[tuple[str, str]]) -> filtered.Choice | None:
        site = await self.site()
        if not isinstance(site, SiteData):
            return None
        chosen = filtered.choose(site, [(k, v) for k, v in fields if k != "commissioner"])
        return None if isinstance(chosen, filtered.Unknown) else chosen

    def form_context(self, site: SiteData, chosen: dict[str, list[str]]) -> dict[str, Any]:
        return {
            "chosen": chosen,
            "places": service_pages.place_tree(site),
            "themes": sorted(site.themes.values(), key=lambda t: t.name.lower()),
            "funding": [(f.value, FUNDING_WORDS[f]) for f in Funding],
            "cadences": CADENCE_WORDS,
        }

    async def run(self, work: Callable[..., Any], *args: Any) -> Any:
        """A piece of database work, in one transaction, in a thread."""

        def inside() -> Any:
            with self.engine.begin() as conn:
                return work(conn, *args)

        return await anyio.to_thread.run_sync(inside)

    # --- signing up ----------------------------------------------------------------------

    async def form(self, request: Request) -> Response:
        site = await self.site()
        if not isinstance(site, SiteData):
            return await self.message(
                request, "Sorry, this is not working right now",
                "Sign-ups cannot be taken at the moment. Please try again later.", status=503,
            )  # fmt: skip
        chosen = filtered.choose(site, request.query_params.multi_items())
        if isinstance(chosen, filtered.Unknown):
            chosen = filtered.Choice()
        csrf, nonce = await self.form_token(request)
        return await self.page(
            request, "signup_form.html", cookie=nonce, mode="new", action="subscribe/email",
            csrf=csrf, token=None, cadence="weekly",
            **self.form_context(site, {k: list(chosen.values(k)) for k in signups.KINDS}),
        )  # fmt: skip

    async def sign_up(self, request: Request) -> Response:
        fields = await self.posted(request)
        if isinstance(fields, Response):
            return fields
        client = request.client.host if request.client else "unknown"
        wait = self.limit.allow(client)
        if wait is not None:
            minutes = max(1, round(wait / 60))
            return await self.message(
                request, "Too many sign-ups",
                f"This connection has sent the sign-up form too many times in the last hour. "
                f"Please try again in {minutes} minutes.",
                status=429, headers={"retry-after": str(round(wait))},
            )  # fmt: skip
        values = dict(fields)
        address = values.get("email", "").strip()
        try:
            checked_address(address, "the address")
            if "<" in address or len(address) > 254:
                raise UnsafeMessageError("not a bare address")
        except UnsafeMessageError:
            return await self.message(
                request, "Check your email address",
                "That does not look like an email address. Go back and check it.", status=400,
            )  # fmt: skip
        cadence = values.get("cadence", "weekly")
        chosen = await self.choice_of(fields)
        if chosen is None or cadence not in signups.CADENCES:
            return await self.message(
                request, "Please send the form again",
                "The form asked for something this site does not have. Go back and choose "
                "again.", status=400,
            )  # fmt: skip
        site = await self.site()
        assert isinstance(site, SiteData)
        choice = {k: list(chosen.values(k)) for k in signups.KINDS}
        links = self.links(await self.signer())
        words = choice_words(site, choice)
        window = dt.timedelta(hours=self.settings.unconfirmed_hours)
        now = self.clock()

        def record(conn: Any) -> None:
            asked = signups.ask(conn, address, choice, cadence, now, window)
            if asked.send is not None:
                item = signup_mail.sign_up_email(asked, self.settings, links, words)
                outbox.enqueue(conn, [item], now)

        await self.run(record)
        # The same answer whatever the address's state: the page tells no one who is here.
        return await self.message(
            request, "Check your email",
            "If the address can get our alerts, we have sent it an email. Open the link in "
            "it to start your alerts.",
            f"If nothing arrives within an hour, look in your spam or junk folder. The link "
            f"works for {self.settings.unconfirmed_hours} hours.",
        )  # fmt: skip

    async def confirm_page(self, request: Request) -> Response:
        token = self.token_from(request)
        try:
            await self.check(token, signup_tokens.CONFIRM)
        except BadTokenError as error:
            return await self.refused_link(request, error)
        # A button, not the link itself: mail scanners open links, people press buttons.
        csrf, nonce = await self.form_token(request)
        return await self.message(
            request, "Confirm your email alerts",
            "Choose the button to start getting emails about funding opportunities.",
            cookie=nonce,
            button=Button("subscribe/confirm", "Yes, send me alerts",
                          [("csrf", csrf), ("t", token)]),
        )  # fmt: skip

    async def confirm(self, request: Request) -> Response:
        fields = await self.posted(request)
        if isinstance(fields, Response):
            return fields
        try:
            uid = await self.check(self.token_from(request, fields), signup_tokens.CONFIRM)
        except BadTokenError as error:
            return await self.refused_link(request, error)
        found = await self.run(signups.confirm, uid, self.clock())
        if found is None:
            return await self.refused_link(request, BadTokenError("this sign-up is no longer here"))
        manage = self.links(await self.signer()).manage(uid)
        return await self.message(
            request, "Your email alerts have started",
            "Thank you. Your first email lists what is open and coming up for your choice. "
            "After that you hear of each new opportunity and each change that matters.",
            "Every email has a link to change what you get or to stop.", manage=manage,
        )  # fmt: skip

    # --- a subscriber's own page -----------------------------------------------------------

    async def manage_page(self, request: Request) -> Response:
        saved = request.query_params.get("saved") == "1"
        token = self.token_from(request)
        try:
            uid = await self.check(token, signup_tokens.MANAGE)
        except BadTokenError as error:
            return await self.refused_link(request, error)
        found = await self.run(signups.find, uid)
        site = await self.site()
        if found is None or found.state is not signups.SignupState.CONFIRMED:
            return await self.refused_link(request, BadTokenError("these alerts have stopped"))
        if not isinstance(site, SiteData):
            return await self.message(
                request, "Sorry, this is not working right now",
                "Your page cannot be shown at the moment. Please try again later.", status=503,
            )  # fmt: skip
        csrf, nonce = await self.form_token(request)
        return await self.page(
            request, "signup_form.html", cookie=nonce, mode="manage", saved=saved,
            action="subscribe/manage", csrf=csrf, token=token, cadence=found.cadence,
            **self.form_context(site, found.choice),
        )  # fmt: skip

    async def manage(self, request: Request) -> Response:
        fields = await self.posted(request)
        if isinstance(fields, Response):
            return fields
        token = self.token_from(request, fields)
        try:
            uid = await self.check(token, signup_tokens.MANAGE)
        except BadTokenError as error:
            return await self.refused_link(request, error)
        chosen = await self.choice_of(fields)
        cadence = dict(fields).get("cadence", "weekly")
        if chosen is None or cadence not in signups.CADENCES:
            return await self.message(
                request, "Please send the form again",
                "The form asked for something this site does not have.", status=400,
            )  # fmt: skip
        choice = {k: list(chosen.values(k)) for k in signups.KINDS}
        found = await self.run(signups.change, uid, choice, cadence, self.clock())
        if found is None:
            return await self.refused_link(request, BadTokenError("these alerts have stopped"))
        return RedirectResponse(
            f"{self.base_url}subscribe/manage?t={token}&saved=1", status_code=303
        )

    async def stop(self, request: Request) -> Response:
        fields = await self.posted(request)
        if isinstance(fields, Response):
            return fields
        try:
            uid = await self.check(self.token_from(request, fields), signup_tokens.MANAGE)
        except BadTokenError as error:
            return await self.refused_link(request, error)
        await self.run(signups.leave, uid)
        return await self.stopped(request)

    async def stopped(self, request: Request) -> Response:
        return await self.message(
            request, "Your emails have stopped",
            "We will send no more emails to this address, and we have deleted it with "
            "everything we kept about it.",
            "To start again, sign up on the alerts page.",
        )  # fmt: skip

    # --- one-click unsubscribe (RFC 8058) --------------------------------------------------

    async def unsubscribe_page(self, request: Request) -> Response:
        token = self.token_from(request)
        try:
            await self.check(token, signup_tokens.UNSUBSCRIBE)
        except BadTokenError as error:
            return await self.refused_link(request, error)
        return await self.message(
            request, "Stop all emails to this address?",
            "Choose the button and we stop every email to this address.",
            button=Button(f"subscribe/unsubscribe?t={token}", "Stop all emails", []),
        )  # fmt: skip

    async def unsubscribe(self, request: Request) -> Response:
        """A mail program's unsubscribe button posts here (List-Unsubscribe=One-Click), with
        no cookie and no form: the signed token in the address is the whole authority."""
        try:
            uid = await self.check(self.token_from(request), signup_tokens.UNSUBSCRIBE)
        except BadTokenError as error:
            return await self.refused_link(request, error)
        await self.run(signups.leave, uid)
        return await self.stopped(request)

    async def privacy(self, request: Request) -> Response:
        if self.settings.privacy_url:
            return RedirectResponse(self.settings.privacy_url, status_code=302)
        return await self.page(request, "privacy.html", hours=self.settings.unconfirmed_hours)


class NoSignups:
    """The email alerts' addresses on a web server without the state database
    (`publisher serve` without DATABASE_URL): each says plainly that sign-ups are not
    taken here, and links the feeds and calendars, which are."""

    PATHS = ("/subscribe/email", "/subscribe/confirm", "/subscribe/manage", "/subscribe/stop",
             "/subscribe/unsubscribe")  # fmt: skip

    def __init__(self, live: Live | None, base_url: str, clock: Callable[[], dt.datetime]) -> None:
        self.live = live
        self.base_url = base_url
        self.clock = clock

    def routes(self) -> list[Route]:
        return [Route(path, self.page, methods=["GET", "HEAD", "POST"]) for path in self.PATHS]

    async def page(self, request: Request) -> Response:
        site: SiteData | service_pages.Address = service_pages.Address(self.base_url)
        if self.live is not None:
            with contextlib.suppress(PlansError):  # the plain page still says it
                site = (await self.live.site()).site
        body = service_pages.render(
            "signup_message.html", site, "subscribe", self.clock().date(),
            heading="Email alerts are not available here",
            lines=["This server does not take sign-ups for email alerts, and cannot change or "
                   "stop them. You can still follow new opportunities with a feed or a "
                   "calendar for the places and subjects you choose."],
            button=None, manage=None, privacy=None, more=[("Get a feed or calendar", "subscribe")],
        )  # fmt: skip
        return Response(
            b"" if request.method == "HEAD" else body,
            status_code=404,
            headers={"cache-control": "no-store", "content-type": "text/html; charset=utf-8",
                     "referrer-policy": "no-referrer"},
        )  # fmt: skip


def choice_words(site: SiteData, choice: dict[str, list[str]]) -> str:
    """'opportunities in Leeds about mental health', as alerts' footers say it."""
    return messages.filter_text(site, signup_mail.as_filter(choice))
