"""Email alerts through the real app in headless Chromium, with a real SMTP server on
loopback: sign up, confirm, get what matches and nothing else, change the choice, leave in
one click; and the abuse cases: one confirmation however often the form is sent, forged
and expired links refused, forms without their CSRF token refused, a client limited."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from publisher.builder.site import build
from publisher.delivery import notify, outbox, signup_mail, signup_tokens, signups
from publisher.delivery.database import connect, create_or_upgrade
from publisher.delivery.signup_tokens import Signer
from publisher.service.form_guard import ClientLimit
from publisher.service.signup_pages import Signups
from publisher.service.web import create_app
from publisher.settings import Settings
from tests.delivery.receivers import (  # noqa: F401 (fixtures, found by pytest by name)
    SmtpServer,
    smtp_server_fixture,
    start_smtp_server_fixture,
)
from tests.formats.examples import ROOT, TODAY
from tests.service.server import Served, free_socket, serving

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
NEW_PLAN = """schema: 1
commissioner:
  id: test-borough
  name: Test Borough Council
  kind: council
  website: https://example.org/test-borough
  contact: {name: Grants team, email: grants@example.org}
opportunities:
"""
OPPORTUNITY = """  - id: {id}
    title: {title}
    summary: >-
      Small grants for groups that bring people together each week.
    status: planning
    places: [{place}]
    themes: [loneliness]
    funding: grant
    route: open-grant-round
    value: {{total: 40000}}
    unknown:
      tender_opens: The round opens when the budget is set.
      service_starts: Depends on the round.
      duration: Depends on the round.
"""


@dataclass
class Alerts:
    plans: Path
    engine: Engine
    settings: Settings
    smtp: SmtpServer
    served: Served
    clock: Callable[[], dt.datetime]

    @property
    def url(self) -> str:
        return self.served.url

    def notify(self) -> notify.NotifyReport:
        return notify.run_pass(self.plans, self.settings, self.clock, engine=self.engine)

    def send(self) -> None:
        senders = signup_mail.guarded(notify.senders(self.settings), self.engine, self.clock)
        outbox.dispatch(self.engine, senders, self.clock)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.smtp.messages if m["To"] == address]

    def plan(self, *opportunities: tuple[str, str, str]) -> None:
        text = NEW_PLAN + "".join(
            OPPORTUNITY.format(id=i, title=t, place=p) for i, t, p in opportunities
        )
        (self.plans / "test-borough.yaml").write_text(text, encoding="utf-8")


@pytest.fixture
def alerts(tmp_path: Path, smtp_server: SmtpServer) -> Iterator[Alerts]:
    plans = tmp_path / "plans"
    shutil.copytree(ROOT / "plans", plans)
    shutil.rmtree(plans / "channels")  # the example channels write to the wide world
    folder = tmp_path / "feeds"
    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    build(plans, folder, today=TODAY, base_url=base)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'publisher.db'}",
        smtp_url=smtp_server.url(),
        base_url=base,
        mail_from="Alerts <alerts@example.org>",
        signups_per_hour=100,
    )
    engine = connect(settings.database_url)
    create_or_upgrade(engine)
    moments = [NOW]

    def clock() -> dt.datetime:
        moments[0] += dt.timedelta(seconds=1)
        return moments[0]

    state = Signups(engine, settings)
    with serving(sock, lambda url: create_app(folder, plans, url, clock=clock, signups=state)) as s:
        found = Alerts(plans, engine, settings, smtp_server, s, clock)
        found.notify()  # the first pass records what is published and sends nothing
        yield found
    engine.dispose()


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    content: str = part.get_content()
    return content


def link(message: EmailMessage, path: str) -> str:
    found = re.search(rf"(http://\S+/{path}\?t=\S+)", text_of(message))
    assert found, text_of(message)
    return found[1]


def form_post(client: httpx.Client, path: str, fields: list[tuple[str, str]]) -> httpx.Response:
    """The form at `path` sent back with its CSRF token and cookie, plus `fields`."""
    page = client.get(path)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, page.text
    action = re.search(r'<form class="choices" method="post" action="([^"]+)"', page.text)
    assert action
    return client.post(action[1], data={"csrf": csrf[1], **dict(fields)})


def test_sign_up_confirm_hear_change_and_leave_in_one_click(alerts: Alerts, browser: Any) -> None:
    address = "jo@example.org"
    page = browser.new_page()
    try:
        # From a list's alerts link: the form comes ticked as the page was.
        page.goto(alerts.url + "subscribe?place=leeds")
        page.get_by_role("link", name="Sign up for email alerts").click()
        assert page.get_by_label("Leeds", exact=True).is_checked()
        page.get_by_label("Your email address").fill(address)
        page.get_by_label("Straight away", exact=False).check()
        page.get_by_role("button", name="Send me a confirmation email").click()
        assert page.get_by_role("heading", name="Check your email").is_visible()
        assert address not in page.content()

        alerts.send()
        (confirmation,) = alerts.to(address)
        assert "Confirm" in confirmation["Subject"]
        page.goto(link(confirmation, "subscribe/confirm"))
        page.get_by_role("button", name="Yes, send me alerts").click()
        assert page.get_by_role("heading", name="Your email alerts have started").is_visible()

        alerts.notify()
        (welcome,) = alerts.to(address)[1:]
        assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "/privacy" in text_of(welcome)

        # A matching new opportunity is announced; one elsewhere is not.
        alerts.plan(
            ("leeds-lunch-clubs", "Lunch clubs for older people in Leeds", "leeds"),
            ("calderdale-gardens", "Community gardens in Calderdale", "calderdale"),
        )
        alerts.notify()
        (news,) = alerts.to(address)[2:]
        assert "Lunch clubs" in text_of(news) and "Calderdale" not in text_of(news)

        # The link in every email: change the choice.
        page.goto(link(news, "subscribe/manage"))
        page.get_by_label("Calderdale", exact=True).check()
        page.get_by_role("button", name="Save my choice").click()
        assert page.get_by_text("Your choice is saved").is_visible()
        assert page.get_by_label("Calderdale", exact=True).is_checked()
    finally:
        page.close()
    with alerts.engine.connect() as conn:
        found = signups.by_address(conn, address)
    assert found is not None and found.choice["place"] == ["calderdale", "leeds"]

    # The mail program's own button: one POST to the List-Unsubscribe address.
    unsubscribe = str(news["List-Unsubscribe"]).strip("<>")
    answer = httpx.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200 and "stopped" in answer.text
    with alerts.engine.connect() as conn:
        assert signups.by_address(conn, address) is None

    # Nothing afterwards.
    before = len(alerts.to(address))
    alerts.plan(
        ("leeds-lunch-clubs", "Lunch clubs for older people in Leeds", "leeds"),
        ("calderdale-gardens", "Community gardens in Calderdale", "calderdale"),
        ("leeds-walks", "Walking groups in Leeds", "leeds"),
    )
    alerts.notify()
    assert len(alerts.to(address)) == before


def test_an_unconfirmed_address_gets_one_confirmation_however_often_the_form_is_sent(
    alerts: Alerts,
) -> None:
    with httpx.Client(base_url=alerts.url) as client:
        for _ in range(6):
            sent = form_post(
                client, "subscribe/email", [("email", "target@example.org"), ("cadence", "daily")]
            )
            assert sent.status_code == 200 and "Check your email" in sent.text
    alerts.notify()
    alerts.send()
    assert len(alerts.to("target@example.org")) == 1


def test_forged_and_expired_links_are_refused_with_a_plain_page(alerts: Alerts) -> None:
    signer = signup_mail.signer(alerts.engine, alerts.settings, NOW)
    with alerts.engine.begin() as conn:
        uid = signups.ask(
            conn, "jo@example.org", {}, "weekly", NOW, dt.timedelta(hours=72)
        ).signup.uid
        signups.confirm(conn, uid, NOW)
    old = NOW - dt.timedelta(days=400)
    cases = {
        "subscribe/confirm": signer.make(signup_tokens.CONFIRM, uid, NOW - dt.timedelta(days=4)),
        "subscribe/manage": signer.make(signup_tokens.MANAGE, uid, old),
        "subscribe/unsubscribe": Signer("not our key").make(signup_tokens.UNSUBSCRIBE, uid, NOW),
    }
    with httpx.Client(base_url=alerts.url) as client:
        for path, token in cases.items():
            for method in ("GET", "POST"):
                answer = client.request(method, path, params={"t": token})
                assert answer.status_code in (400, 403), (path, method)
                assert "Traceback" not in answer.text
        assert (
            "expired"
            in client.get("subscribe/manage", params={"t": cases["subscribe/manage"]}).text
        )
        forged = client.post("subscribe/unsubscribe", params={"t": cases["subscribe/unsubscribe"]})
        assert "This link does not work" in forged.text
    with alerts.engine.connect() as conn:
        assert signups.find(conn, uid) is not None  # still signed up


def test_a_form_without_its_csrf_token_is_refused(alerts: Alerts) -> None:
    with httpx.Client(base_url=alerts.url) as client:
        client.get("subscribe/email")  # has the cookie, not the token
        answer = client.post("subscribe/email", data={"email": "jo@example.org"})
        assert answer.status_code == 403 and "Please send the form again" in answer.text
        other = httpx.Client(base_url=alerts.url)  # the token, another's cookie
        page = other.get("subscribe/email").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf
        answer = client.post("subscribe/email", data={"email": "jo@ex.org", "csrf": csrf[1]})
        assert answer.status_code == 403
        other.close()
    with alerts.engine.connect() as conn:
        assert signups.counts(conn)["unconfirmed"] == 0


def test_one_client_is_limited(alerts: Alerts) -> None:
    web = alerts.served.app.state.web
    web.alerts.limit = ClientLimit(3)
    with httpx.Client(base_url=alerts.url) as client:
        answers = [
            form_post(client, "subscribe/email", [("email", f"p{n}@example.org")]) for n in range(4)
        ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert "try again in" in answers[-1].text


def test_healthz_counts_sign_ups_and_names_no_one(alerts: Alerts) -> None:
    with alerts.engine.begin() as conn:
        signups.ask(conn, "jo@example.org", {}, "weekly", NOW, dt.timedelta(hours=72))
    answer = httpx.get(alerts.url + "healthz")
    assert answer.json()["subscribers"] == {"unconfirmed": 1, "confirmed": 0, "suspended": 0}
    assert "@" not in answer.text


def test_stop_all_emails_is_one_button_on_the_subscribers_own_page(alerts: Alerts) -> None:
    signer = signup_mail.signer(alerts.engine, alerts.settings, NOW)
    with alerts.engine.begin() as conn:
        uid = signups.ask(conn, "jo@example.org", {}, "weekly", NOW, dt.timedelta(hours=72))
        signups.confirm(conn, uid.signup.uid, NOW)
    manage = signup_mail.Links(alerts.url, signer, NOW).manage(uid.signup.uid)
    with httpx.Client() as client:
        page = client.get(manage).text
        form = page.split('action="/subscribe/stop"', 1)[1].split("</form>", 1)[0]
        fields = dict(re.findall(r'name="(\w+)" value="([^"]+)"', form))
        answer = client.post(alerts.url + "subscribe/stop", data=fields)
    assert answer.status_code == 200 and "Your emails have stopped" in answer.text
    with alerts.engine.connect() as conn:
        assert signups.by_address(conn, "jo@example.org") is None
