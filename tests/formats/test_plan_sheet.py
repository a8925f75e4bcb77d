"""`publisher export` writes the plans as a spreadsheet that `publisher import` reads back as
the same plan: for every example plan, in Excel and in CSV."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from publisher.cli import main
from publisher.formats.plan_sheet import HEADINGS, collect
from publisher.plans.folder import plan_files

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted(p.stem for p in plan_files(ROOT / "plans"))
TODAY = "2026-12-07"


@pytest.fixture
def plans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "plans", tmp_path / "plans")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "plans"


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
@pytest.mark.parametrize("plan", EXAMPLES)
def test_export_then_import_gives_back_the_same_plan(
    plans: Path, plan: str, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (plans / f"{plan}.yaml").read_bytes()
    sheet = plans.parent / f"{plan}.{kind}"
    assert main(["export", "--format", kind, "--commissioner", plan, "--out", str(sheet)]) == 0
    assert main(["import", str(sheet), "--commissioner", plan, "--today", TODAY]) == 0
    out = capsys.readouterr().out
    assert " 0 new, 0 updated, " in out
    assert (plans / f"{plan}.yaml").read_bytes() == before

    # Into an empty plan, too: every column comes back as the plan had it.
    fresh = plans.parent / "fresh"
    fresh.mkdir()
    for name in ("places.yaml", "themes.yaml"):
        shutil.copy(plans / name, fresh / name)
    assert main(["import", str(sheet), "--commissioner", plan, "--plans", str(fresh)]) == 0
    assert collect(fresh).rows == collect(plans, plan).rows


def test_rows_of_other_plans_are_left_out_of_an_import(
    plans: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (plans / "kirklees-council.yaml").read_bytes()
    assert main(["export", "--format", "csv", "--out", "all.csv"]) == 0
    assert main(["import", "all.csv", "--commissioner", "kirklees-council", "--today", TODAY]) == 0
    out = capsys.readouterr().out
    others = sum(len(collect(plans, p).rows) for p in EXAMPLES if p != "kirklees-council")
    assert f"Left out {others} rows for other commissioners." in out
    assert (plans / "kirklees-council.yaml").read_bytes() == before


def test_a_workbook_has_dates_as_dates_and_money_as_numbers(plans: Path) -> None:
    assert main(["export", "--format", "xlsx", "--out", "all.xlsx"]) == 0
    sheet = load_workbook("all.xlsx").active
    assert sheet is not None
    rows = list(sheet.values)
    assert list(rows[0]) == HEADINGS
    by_id = {row[HEADINGS.index("Id")]: row for row in rows[1:]}
    anchors = by_id["calderdale-community-anchors"]
    assert anchors[HEADINGS.index("Total value from (£)")] == 900000
    assert anchors[HEADINGS.index("Tender opens")] == dt.datetime(2027, 4, 26)
    assert anchors[HEADINGS.index("Decision")] == "August 2027"
    assert anchors[HEADINGS.index("Places")] == "Calderdale"
    assert len(rows) - 1 == sum(len(collect(plans, p).rows) for p in EXAMPLES)


def test_text_that_looks_like_a_formula_stays_text(plans: Path) -> None:
    plan = plans / "calderdale-council.yaml"
    text = plan.read_text()
    plan.write_text(
        text.replace(
            "title: Community anchor organisations for Calderdale's towns",
            'title: \'=HYPERLINK("https://example.org", "Click")\'',
        )
    )
    for kind in ("csv", "xlsx"):
        sheet = f"calderdale.{kind}"
        assert (
            main(
                ["export", "--format", kind, "--commissioner", "calderdale-council", "--out", sheet]
            )
            == 0
        )
        if kind == "xlsx":
            cell = load_workbook(sheet).active["A2"]
            assert cell.data_type == "s"
        else:
            assert "'=HYPERLINK" in Path(sheet).read_text(encoding="utf-8-sig")
        before = plan.read_bytes()
        assert (
            main(["import", sheet, "--commissioner", "calderdale-council", "--today", TODAY]) == 0
        )
        assert plan.read_bytes() == before


def test_a_plan_with_errors_is_left_out_and_named(
    plans: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (plans / "broken.yaml").write_text("schema: 1\ncommissioner: [\n")
    assert main(["export", "--format", "csv", "--out", "all.csv"]) == 1
    err = capsys.readouterr().err
    assert "Left out, because they have errors (run publisher check): broken.yaml" in err
