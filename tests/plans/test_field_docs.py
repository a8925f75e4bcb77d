"""docs/commissioners.md names every field of an opportunity and every date a plan can
give, so the page a commissioner reads cannot fall behind the format (plans/model.py)."""

from __future__ import annotations

from pathlib import Path

from publisher.plans.model import AwardDecision, Dates, KeyCriteria, Opportunity

DOCS = Path(__file__).resolve().parents[2] / "docs" / "commissioners.md"


def test_the_field_table_has_every_field_of_an_opportunity() -> None:
    text = DOCS.read_text()
    table = text[text.index("What each field is for:") : text.index("### How the provider")]
    missing = [name for name in Opportunity.model_fields if f"| `{name}` |" not in table]
    assert missing == [], f"add these to the field table in docs/commissioners.md: {missing}"


def test_every_date_and_award_decision_field_is_written_out() -> None:
    text = DOCS.read_text()
    names = [*Dates.model_fields, *AwardDecision.model_fields, *KeyCriteria.model_fields]
    missing = [name for name in names if f"{name}" not in text]
    assert missing == [], f"docs/commissioners.md does not mention: {missing}"
