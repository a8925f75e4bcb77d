"""What docs/commissioners.md tells a new commissioner to copy passes the check as it is:
the plan template and the one-page format (issue 18)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

from publisher.plans.check import check

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 12, 7)


def _folder(tmp_path: Path) -> Path:
    plans = tmp_path / "plans"
    plans.mkdir()
    for name in ("places.yaml", "themes.yaml"):
        shutil.copy(ROOT / "plans" / name, plans / name)
    return plans


def test_the_template_passes_the_strict_check(tmp_path: Path) -> None:
    plans = _folder(tmp_path)
    template = ROOT / "docs" / "plan-repository" / "plan-template.yaml"
    shutil.copy(template, plans / "your-organisation-id.yaml")
    result = check([plans], TODAY).strict()
    assert result.problems == []


def test_the_format_on_one_page_passes_the_strict_check(tmp_path: Path) -> None:
    plans = _folder(tmp_path)
    text = (ROOT / "docs" / "commissioners.md").read_text()
    page = text[text.index("## The format on one page") :]
    block = re.search(r"```yaml\n(.*?)```", page, re.S)
    assert block is not None
    (plans / "calderdale-council.yaml").write_text(block.group(1))
    result = check([plans], TODAY).strict()
    assert result.problems == []
