"""`publisher diff` on a pull-request-shaped pair of revisions: the public effect in plain
English, as Markdown that renders as a readable comment, as text and as JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lxml import html as lxml_html
from markdown_it import MarkdownIt

from publisher import cli
from tests.changes.gitplans import COMMISSIONER, PlanRepo


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> PlanRepo:
    repo = PlanRepo(tmp_path_factory.mktemp("diff"))
    repo.opportunities.append(
        {
            **repo.opportunities[0],
            "id": "carers-grants",
            "title": "Grants for carers' groups",
            "funding": "grant",
            "route": "open-grant-round",
        }
    )
    repo.commit("2026-05-01", "the plan as published")
    repo.git("checkout", "-q", "-b", "pull-request")
    repo.first["dates"]["tender_closes"] = "2027-07-31"
    repo.first["summary"] = "Link workers help people find groups near them."
    repo.opportunities.pop(1)
    repo.opportunities.append(
        {
            "id": "lunch-clubs",
            "title": "Lunch clubs <script>alert(1)</script> [click](https://evil.example)",
            "summary": "Lunch clubs for older people.",
            "status": "idea",
            "places": ["harehills"],
            "funding": "grant",
        }
    )
    repo.commit("2026-05-02", "the pull request")
    repo.git("checkout", "-q", "main")
    return repo


def diff(repo: PlanRepo, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = cli.main(
        ["diff", "--plans", str(repo.plans), "--today", "2026-05-02",
         "--base-url", "https://plans.example.org/", *args]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert err == ""
    return code, out


def test_markdown_renders_as_a_readable_pull_request_comment(
    repo: PlanRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = diff(repo, capsys, "main", "pull-request")
    assert code == 0
    page = lxml_html.fromstring(MarkdownIt("commonmark").render(out))
    assert page.xpath("//h3/text()") == ["What the public will see change"]
    assert page.xpath("//h4/text()")[0] == "Leeds City Council"
    summary = page.xpath("string(//p[strong][1])")
    assert summary.startswith("Opportunities: 1 new, 1 changed and 1 withdrawn, comparing")
    links = page.xpath("//li/strong/a")
    assert [a.get("href") for a in links] == [
        f"https://plans.example.org/opportunities/{COMMISSIONER}/{name}.html"
        for name in ("carers-grants", "lunch-clubs", "social-prescribing")
    ]
    # A stranger's title stays text: no HTML, no link of its own.
    assert not page.xpath("//script") and "evil.example" not in [
        a.get("href") for a in page.xpath("//a")
    ]
    assert "<script>alert(1)</script> [click](https://evil.example)" in links[1].text_content()
    sentences = [li.text_content().strip() for li in page.xpath("//li/ul/li")]
    assert "📣 Withdrawn: this opportunity has been taken out of the plan." in sentences
    assert (
        "📣 The closing date for bids has moved later, by about 2 months: it is now "
        "31 July 2027, not April to June 2027." in sentences
    )
    assert "Details updated (summary)." in sentences  # shown, but not announced
    warnings = page.xpath("//h4[contains(., 'New warnings')]/following-sibling::ul[1]/li")
    assert any("opportunities[1]" in w.text_content() for w in warnings)


def test_text_and_json(repo: PlanRepo, capsys: pytest.CaptureFixture[str]) -> None:
    _, text = diff(repo, capsys, "main", "pull-request", "--format", "text")
    assert "Leeds City Council" in text and "* Withdrawn:" in text
    assert "- Details updated (summary)." in text
    _, out = diff(repo, capsys, "main", "pull-request", "--format", "json")
    data = json.loads(out)
    assert data["counts"] == {"new": 1, "changed": 1, "withdrawn": 1, "details": 0}
    kinds = {o["id"]: [c["kind"] for c in o["changes"]] for o in data["opportunities"]}
    assert kinds == {
        "carers-grants": ["withdrawn"],
        "lunch-clubs": ["new"],
        "social-prescribing": ["date-moved", "details"],
    }
    assert data["new_warnings"] and data["errors"] == []


def test_the_working_tree_is_the_default_head(
    repo: PlanRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = diff(repo, capsys, "main")
    assert code == 0 and "Nothing the public sees changes" in out
    original = repo.file.read_text()
    try:
        repo.file.write_text(original.replace("status: planning", "status: nonsense", 1))
        code, out = diff(repo, capsys, "main")
        assert code == 1  # the file has errors: the site would keep HEAD's version
        assert "would be held at their last good version" in out and "nonsense" in out
        assert "Withdrawn" not in out
    finally:
        repo.file.write_text(original)


def test_an_unknown_revision_is_named(repo: PlanRepo, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["diff", "--plans", str(repo.plans), "no-such-branch"])
    _, err = capsys.readouterr()
    assert code == 2
    assert "There is no revision called 'no-such-branch'" in err


def test_outside_git_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "plans").mkdir()
    code = cli.main(["diff", "--plans", str(tmp_path / "plans"), "main"])
    _, err = capsys.readouterr()
    assert code == 2 and "not in a git repository" in err


# --- hostile text (issue 14) -----------------------------------------------------------------

MENTIONS = "Ask @someone and @west-yorkshire/commissioners about #12 and owner/repo#3"
IMAGE = "https://evil.example/pixel.png"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> PlanRepo:
    """A pull request whose new opportunity mentions people and issues, and whose other new
    opportunity has a field name made to close a code span and show an image."""
    repo = PlanRepo(tmp_path_factory.mktemp("hostile"))
    repo.commit("2026-05-01", "the plan as published")
    repo.opportunities.append(
        {**repo.first, "id": "mentions", "title": MENTIONS, "summary": f"{MENTIONS}."}
    )
    repo.commit("2026-05-02", "mentions")
    repo.opportunities.append({**repo.first, "id": "image", f"x`<img src={IMAGE}>`": "y"})
    repo.commit("2026-05-03", "a field name with markup")
    return repo


def test_markdown_mentions_nobody(hostile: PlanRepo, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = diff(hostile, capsys, "HEAD~2", "HEAD~1")
    assert code == 0
    text = lxml_html.fromstring(MarkdownIt("commonmark").render(out)).text_content()
    # GitHub makes a mention of @name and a cross-reference of #12 even after a backslash; a
    # zero-width space after the sign makes neither, and reads the same.
    assert "Ask @\u200bsomeone and @\u200bwest-yorkshire/commissioners about #\u200b12" in text
    assert re.search(r"[@#][\w-]", text) is None


def test_markdown_code_cannot_be_closed_by_a_value(
    hostile: PlanRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = diff(hostile, capsys, "HEAD~1", "HEAD")
    assert code == 1  # the unknown field is an error: the file would be left out
    page = lxml_html.fromstring(MarkdownIt("commonmark").render(out))
    assert page.xpath("//img") == []
    assert any(IMAGE in code.text_content() for code in page.xpath("//code"))


def test_text_for_a_terminal_has_no_control_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Problems quote what the file says: a field named with an escape sequence or a
    direction override must not reach the terminal that shows the diff."""
    repo = PlanRepo(tmp_path)
    repo.commit("2026-05-01", "published")
    repo.first["x\x1b[2J\u202e"] = "y"
    repo.commit("2026-05-02", "a field name with control characters")
    code, out = diff(repo, capsys, "HEAD~1", "HEAD", "--format", "text")
    assert code == 1 and "is not a field we know here" in out
    assert "\x1b" not in out and "\u202e" not in out
