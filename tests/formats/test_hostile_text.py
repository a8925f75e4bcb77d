"""Arbitrary Unicode in every text field of a plan (issue 14, finding 3): either `check`
refuses the file with a clear problem and the build leaves it out, or the build publishes
it and every format parses as its readers parse it. And with the check's text rule taken
away, as if text reached the writers unchecked, no writer fails or is broken by it.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import icalendar
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from publisher.builder.site import build
from publisher.delivery import email_message, messages
from publisher.delivery.channels import Subscriber, load_channels
from publisher.model.read import load_site
from publisher.model.views import SiteData
from publisher.plans import characters
from publisher.plans.check import check
from publisher.plans.errors import Severity
from publisher.plans.model import WebhookChannel

CORPUS = Path(__file__).parents[1] / "fixtures" / "broken"
TODAY = dt.date(2026, 11, 23)
BASE = "https://plans.example.org/"
FIELDS = (
    "commissioner_name",
    "commissioner_contact",
    "phone",
    "title",
    "summary",
    "lot_title",
    "lot_summary",
    "turnover_why",
    "cqc_why",
    "criterion",
    "event_title",
    "event_where",
    "paid",
    "provider",
    "support",
    "value_reason",
    "short_notice",
    "contact",
    "organisation",
)
PLAN = """\
schema: 1
commissioner:
  id: hostile-council
  name: {commissioner_name}
  kind: council
  contact: {{name: {commissioner_contact}, phone: {phone}}}
opportunities:
  - id: day-centre
    title: {title}
    summary: {summary}
    status: planning
    places: [leeds]
    themes: [older-people]
    funding: contract
    route: open
    duration: {{years: 2}}
    lots:
      - {{id: north, title: {lot_title}, summary: {lot_summary}}}
    requirements:
      minimum_turnover: {{amount: 100000, why: {turnover_why}}}
      cqc_registration: {{required: true, why: {cqc_why}}}
    evaluation:
      criteria:
        - {{name: {criterion}, weight: high}}
    dates:
      engagement:
        - {{title: {event_title}, start: 2027-03-10T10:00, end: 2027-03-10T12:00,
           where: {event_where}, host: hostile-cvs, paid_participation: {paid}}}
      tender_opens: 2027-06
      tender_closes: 2027-07
      service_starts: 2027-10
    current_provider: {{name: {provider}}}
    support:
      - {{by: hostile-cvs, what: {support}}}
    unknown:
      value: {value_reason}
    short_notice_reason: {short_notice}
    contact: {{name: {contact}, email: day.centre@example.org}}
"""
CHANNELS = """\
schema: 1
organisation:
  id: hostile-cvs
  name: {organisation}
  kind: cvs
channels:
  - id: bulletin
    kind: email
    to: [bulletin@example.org]
"""
WEBHOOK = WebhookChannel(
    id="website", kind="webhook", url="https://example.org/hooks", secret_env="HOOK_SECRET"
)
# What `check` may say about a file whose only oddity is its text: nothing else is wrong.
TEXT_PROBLEMS = {"unsafe-character", "not-yaml", "empty-value", "too-long"}

# Any code point Python can hold, surrogates included (every general category, "C" with
# its Cs; a YAML escape like \uD800 would make one).
ANY_TEXT = st.text(st.characters(categories=("L", "M", "N", "P", "S", "Z", "C")))
# Text that stresses the rule: the characters it is about and the pieces of markup that
# writers must escape, among ordinary characters.
NASTY = st.lists(
    st.one_of(
        st.sampled_from(
            "\x00\x07\x08\t\n\x0b\x0c\r\x1b\x7f\x85\x9f\u061c\u200e\u200f\u202a\u202e"
            "\u2066\u2069\u2028\u2029\ufdd0\ufeff\ufffe\uffff\U0001fffe\ud800\udfff"
            "\"'<>&@#`*_[]()\\:{}|-"
        ),
        st.sampled_from(["\x00cards\x00", "]]>", "<script>", "@someone", "#12", "END:VEVENT"]),
        st.characters(),
    ),
    max_size=30,
).map("".join)
# Text the rule allows, with the markup and mentions that writers must make harmless: so
# that many examples are published and every format is read back.
ALLOWED = (
    st.lists(
        st.one_of(
            st.characters(
                codec="utf-8",
                exclude_categories=("Cc", "Cs", "Zl", "Zp"),
                exclude_characters="\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
            ).filter(lambda c: characters.UNSAFE.match(c) is None),
            st.sampled_from(
                [
                    "\n",
                    "\t",
                    '"',
                    "'",
                    "<",
                    ">",
                    "&",
                    "<script>",
                    "]]>",
                    '" onload="x',
                    "@someone",
                    "#12",
                    "END:VEVENT",
                    "\\",
                    "\u200f",
                    "\u061c",
                ]
            ),
        ),
        min_size=1,
        max_size=20,
    )
    .map("".join)
    .filter(lambda text: text.strip() != "")
)
TEXTS = st.one_of(
    st.fixed_dictionaries({name: st.one_of(ANY_TEXT, NASTY, ALLOWED) for name in FIELDS}),
    st.fixed_dictionaries({name: ALLOWED for name in FIELDS}),
)


def quoted(text: str) -> str:
    """`text` as a YAML double-quoted value that reads back as exactly `text`: printable
    ASCII as it is, every other character as an escape."""
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04X}")
        else:
            out.append(f"\\U{code:08X}")
    return '"' + "".join(out) + '"'


@contextmanager
def plans_with(texts: dict[str, str]) -> Iterator[Path]:
    """A plans folder holding one plan and one channel file with `texts` in their fields."""
    with tempfile.TemporaryDirectory(prefix="hostile-") as temp:
        plans = Path(temp) / "plans"
        (plans / "channels").mkdir(parents=True)
        for name in ("places.yaml", "themes.yaml"):
            shutil.copy(CORPUS / name, plans / name)
        values = {name: quoted(text) for name, text in texts.items()}
        (plans / "hostile-council.yaml").write_text(PLAN.format(**values), encoding="utf-8")
        (plans / "channels" / "hostile-cvs.yaml").write_text(
            CHANNELS.format(**values), encoding="utf-8"
        )
        yield plans


class _Strict(HTMLParser):
    """Parses a page; counts the elements with an on... attribute (none may have one)."""

    def __init__(self) -> None:
        super().__init__()
        self.handlers = 0
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handlers += sum(1 for name, _ in attrs if name.startswith("on"))
        self.scripts += tag == "script"


def assert_outputs_parse(out: Path, title: str | None) -> None:
    """Every format of the built site reads back; `title`, when given, is the published
    title and must come back exactly from the JSON."""
    for name in ("all.rss", "all.atom"):
        parsed = feedparser.parse((out / name).read_bytes())
        assert not parsed.bozo, (name, parsed.bozo_exception)
    for path in out.rglob("*.ics"):
        icalendar.Calendar.from_ical(path.read_bytes())
    for path in out.rglob("*.json"):
        json.loads(path.read_bytes())
    for path in out.rglob("*.html"):
        page = _Strict()
        page.feed(path.read_text(encoding="utf-8"))
        page.close()
        assert (page.handlers, page.scripts) == (0, 0), path
    if title is not None:
        found = json.loads((out / "all.json").read_bytes())["opportunities"]
        assert [one["title"] for one in found] == [title.strip()]  # as the format reads it


def assert_messages_are_safe(plans: Path, site: SiteData) -> None:
    """The announcement email and webhook for the plan's opportunity are made, and the email
    is a valid message whose subject is one line with no control or direction characters."""
    subscribers, _ = load_channels(plans)
    for subscriber in subscribers:
        for view in site.opportunities:
            entry = messages.entry(site, view, "k", "new", ["A new opportunity."])
            found = messages.message(site, subscriber, [entry], digest=False)
            payload = messages.email_payload(subscriber, found, "k", BASE)
            assert characters.one_line(payload["subject"]) == payload["subject"]
            built = email_message.build_message(
                payload,
                "Publisher <publisher@example.org>",
                dt.datetime(2026, 11, 23, tzinfo=dt.UTC),
            )
            assert "\n" not in str(built["Subject"])
            assert characters.UNSAFE.search(str(built["Subject"])) is None
            hook = Subscriber(subscriber.organisation, WEBHOOK)
            json.dumps(messages.webhook_payload(hook, found, "k"), ensure_ascii=False).encode()


def _publish(plans: Path, out: Path) -> tuple[int, list[str]]:
    report = build(plans, out, today=TODAY, base_url=BASE, workers=1)
    return report.opportunities, report.skipped


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(texts=TEXTS)
def test_what_check_passes_build_publishes(texts: dict[str, str]) -> None:
    with plans_with(texts) as plans:
        found = check([plans], TODAY, workers=1)
        errors = [p for p in found.problems if p.severity is Severity.ERROR]
        plan_errors = [p for p in errors if p.file.endswith("hostile-council.yaml")]
        for problem in errors:
            # Only the text can be wrong, and each problem says where and what.
            assert problem.code in TEXT_PROBLEMS, problem
            assert problem.line >= 1 and problem.message, problem
            assert problem.hint or problem.code in ("empty-value", "too-long"), problem
        out = plans.parent / "site"
        published, skipped = _publish(plans, out)
        event("refused" if plan_errors else "published")
        if plan_errors:
            assert published == 0 and any(s.endswith("hostile-council.yaml") for s in skipped)
        else:
            assert published == 1, skipped
            assert_outputs_parse(out, texts["title"])
        site, _ = load_site(plans, TODAY, BASE)
        assert len(site.opportunities) == published
        assert_messages_are_safe(plans, site)


@pytest.fixture
def unchecked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check's text rule taken away, so text reaches the writers unchecked: a fault no
    real input can cause now, which the writers must survive all the same."""
    monkeypatch.setattr(characters, "check_text", lambda *_args, **_kw: [])


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(texts=TEXTS)
def test_writers_survive_text_that_was_never_checked(
    unchecked: None, texts: dict[str, str]
) -> None:
    with plans_with(texts) as plans:
        out = plans.parent / "site"
        published, _ = _publish(plans, out)
        assert_outputs_parse(out, None)
        site, _ = load_site(plans, TODAY, BASE)
        assert len(site.opportunities) == published
        assert_messages_are_safe(plans, site)


# --- the findings, one example each ------------------------------------------------------

EXAMPLES = Path(__file__).parents[2] / "plans"
BENIGN = {name: "Plain words" for name in FIELDS}


def test_a_control_character_fails_check_and_only_its_file_is_left_out(tmp_path: Path) -> None:
    """Finding 3: `title: "...\\u0007"` passed check and then failed the whole build."""
    plans = tmp_path / "plans"
    shutil.copytree(EXAMPLES, plans, ignore=shutil.ignore_patterns("schema"))
    leeds = plans / "leeds-city-council.yaml"
    text = leeds.read_text(encoding="utf-8")
    title = "    title: Refuges and outreach for people escaping domestic abuse in Leeds\n"
    assert title in text
    leeds.write_text(text.replace(title, title[:-1].replace(": ", ': "') + '\\u0007"\n'))
    line = text[: text.index(title)].count("\n") + 1

    found = check([plans], TODAY, workers=1)
    errors = [p for p in found.problems if p.severity is Severity.ERROR]
    assert [(p.file.endswith("leeds-city-council.yaml"), p.line, p.code) for p in errors] == [
        (True, line, "unsafe-character")
    ]
    assert "U+0007 BELL" in errors[0].message
    assert errors[0].dotted_path == "opportunities[0].title"

    out = tmp_path / "site"
    built = build(plans, out, today=TODAY, base_url=BASE, workers=1)
    assert [Path(s).name for s in built.skipped] == ["leeds-city-council.yaml"]
    assert built.opportunities > 20
    assert_outputs_parse(out, None)
    site, _ = load_site(plans, TODAY, BASE)  # what notify announces from
    assert not [v for v in site.opportunities if v.commissioner.id == "leeds-city-council"]


def test_an_organisation_name_with_angle_brackets_still_gets_its_email() -> None:
    """'Tom <3 CVS' passes the rule (angle brackets are escaped where they matter), so the
    List-Id header must not be refused for it."""
    with plans_with({**BENIGN, "organisation": "Tom <3 CVS"}) as plans:
        assert not [
            p for p in check([plans], TODAY, workers=1).problems if p.severity is Severity.ERROR
        ]
        site, _ = load_site(plans, TODAY, BASE)
        assert_messages_are_safe(plans, site)


def test_an_email_subject_cannot_be_reordered(unchecked: None) -> None:
    """Finding 13: a right-to-left override reached email subjects. Even unchecked, the
    subject loses it."""
    with plans_with({**BENIGN, "title": "Invoice \u202egnp.exe"}) as plans:
        site, _ = load_site(plans, TODAY, BASE)
        [subscriber], _ = load_channels(plans)
        entry = messages.entry(site, site.opportunities[0], "k", "new", [])
        found = messages.message(site, subscriber, [entry], digest=False)
        subject = messages.email_payload(subscriber, found, "k", BASE)["subject"]
        assert subject == "New opportunity: Invoice gnp.exe"
