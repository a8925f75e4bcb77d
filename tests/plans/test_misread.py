"""Values valid YAML reads differently from what was meant (plans/misread.py): warned, and
nothing else is."""

from __future__ import annotations

from publisher.plans.load import parse
from publisher.plans.misread import check_misread


def _codes(text: str) -> list[tuple[tuple[object, ...], str]]:
    document, problems = parse(text, "plan.yaml")
    assert document is not None, problems
    return [(finding.path, finding.code) for finding in check_misread(document)]


def test_a_title_cut_at_a_comment_is_warned() -> None:
    found = _codes("title: Support for young carers #1 priority\n")
    assert found == [(("title",), "comment-in-value")]


def test_comments_that_cut_nothing_are_left_alone() -> None:
    text = (
        "kind: icb  # icb | council | nhs-trust | other\n"
        "title: 'Carers #1 priority'\n"
        'summary: "Help for carers #2"\n'
        "places: [leeds, bradford]  # both places\n"
        "note: issue#3 stays whole\n"
        "# a comment on its own line\n"
        "long: >-\n  text # inside a block is text\n"
    )
    assert _codes(text) == []


def test_a_value_wrapped_in_curly_quotes_is_warned() -> None:
    assert _codes("title: \u201cCarers\u2019 breaks\u201d\n") == [(("title",), "curly-quotes")]
    assert _codes("title: The \u201cCarers\u201d service\n") == []  # a quotation inside the text
