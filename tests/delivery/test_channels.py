"""Which channel files notify uses: the same ones `publisher check` accepts."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from publisher.delivery.channels import load_channels
from publisher.plans.check import check
from publisher.plans.errors import Severity

PLANS = Path(__file__).parents[2] / "plans"


def test_a_channel_file_check_refuses_for_a_hidden_character_is_not_used(tmp_path: Path) -> None:
    plans = tmp_path / "plans"
    shutil.copytree(PLANS, plans)
    channel = plans / "channels" / "voluntary-action-leeds.yaml"
    before, _ = load_channels(plans)
    assert "voluntary-action-leeds" in {s.organisation.id for s in before}
    # A bell in the organisation's name, as an escape in double quotes.
    text = channel.read_text(encoding="utf-8")
    channel.write_text(
        text.replace(
            "  name: Voluntary Action Leeds\n", '  name: "Voluntary\\u0007 Action Leeds"\n'
        )
    )
    refused = [
        p
        for p in check([plans], dt.date(2026, 11, 23), workers=1).problems
        if p.severity is Severity.ERROR
    ]
    assert [p.code for p in refused] == ["unsafe-character"]
    after, problems = load_channels(plans)
    assert [p.code for p in problems] == ["unsafe-character"]
    assert {s.organisation.id for s in after} == {s.organisation.id for s in before} - {
        "voluntary-action-leeds"
    }
