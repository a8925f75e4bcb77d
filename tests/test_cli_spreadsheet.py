"""`publisher import` as a commissioner who keeps a pipeline spreadsheet would run it: the two
sample spreadsheets become plans that pass the real `publisher check`, every row that
cannot be read is named with its row number and a reason, and every failure is a plain
message (tests/fixtures/spreadsheets/make_samples.py makes the samples)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from publisher.cli import main
from publisher.plans.load import load
from tests.fixtures.spreadsheets import make_samples

ROOT = Path(__file__).parents[1]
SAMPLES = ROOT / "tests" / "fixtures" / "spreadsheets"
TODAY = "2026-12-07"


def _publisher(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "publisher", *args],
        cwd=cwd,
        text=True,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"},
        timeout=120,
        check=False,
    )


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A plans folder with the example places and themes and no plans yet (and the working
    folder for in-process runs)."""
    monkeypatch.chdir(tmp_path)
    plans = tmp_path / "plans"
    plans.mkdir()
    for name in ("places.yaml", "themes.yaml"):
        shutil.copy(ROOT / "plans" / name, plans / name)
    return tmp_path


def _check_passes(folder: Path, plan: str) -> str:
    run = _publisher("check", f"plans/{plan}", "--today", TODAY, cwd=folder)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no errors" in run.stdout
    return run.stdout


def _opportunities(path: Path) -> dict[str, dict[str, Any]]:
    document, problems = load(path, str(path))
    assert document is not None and not problems
    return {o["id"]: o for o in document.data["opportunities"]}


def test_the_sample_spreadsheets_are_made_by_the_script(tmp_path: Path) -> None:
    make_samples.main(tmp_path)
    for name in ("tidy.xlsx", "messy.xlsx"):
        made, kept = load_workbook(tmp_path / name).active, load_workbook(SAMPLES / name).active
        assert made is not None and kept is not None
        assert list(made.values) == list(kept.values), f"run make_samples.py again: {name}"
        assert made.merged_cells.ranges == kept.merged_cells.ranges


def test_the_tidy_spreadsheet_becomes_a_plan_that_passes_check(folder: Path) -> None:
    run = _publisher(
        "import", str(SAMPLES / "tidy.xlsx"), "--commissioner", "leeds-city-council",
        "--today", TODAY, cwd=folder,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 new, 0 updated, 0 unchanged" in run.stdout
    assert "Rows we could not read" not in run.stdout
    _check_passes(folder, "leeds-city-council.yaml")
    found = _opportunities(folder / "plans" / "leeds-city-council.yaml")
    advice = found["lcc-2027-001"]
    assert advice["places"] == ["harehills", "seacroft"]
    assert advice["value"] == {"total": 450000, "per_year": 150000}
    assert advice["dates"] == {
        "tender_opens": "2027-04-12",
        "tender_closes": "2027-05-21",
        "decision": "2027-07-01",
        "service_starts": "2027-10-01",
    }
    assert found["lcc-2027-002"]["dates"] == {
        "tender_opens": "2027-06",
        "service_starts": "2027-09",
    }
    assert found["lcc-2027-002"]["duration"] == {"months": 18}
    assert found["lcc-2027-003"]["duration"] == {"years": 3, "extension_years": 2}
    assert found["lcc-2027-003"]["route"] == "open"


MESSY_REPORT = [
    "  row 8: Locality: 'Wakefield North' is not one of the places in places.yaml",
    "  row 8: Route to market: 'Framework call-off' is not a procurement route we know: use "
    "one of direct-award-a,",
    "  row 8: Contract start: '03/31/2027' is read day first, as in the UK, and 31 is not a "
    "month: for March, write 31/03/2027",
    "  row 9: not imported: it has no summary (the 'Brief description' cell is empty), and "
    "every opportunity needs one",
    "  row 12: not imported: it has no title (the 'Scheme' cell is empty)",
]


def test_the_messy_spreadsheet_reports_each_row_it_cannot_read_then_imports_once_fixed(
    folder: Path,
) -> None:
    plan = folder / "plans" / "west-yorkshire-icb.yaml"
    args = ["--commissioner", "west-yorkshire-icb", "--today", TODAY]
    run = _publisher("import", str(SAMPLES / "messy.xlsx"), *args, cwd=folder)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert "headings on row 4" in run.stdout
    lines = [line for line in run.stdout.splitlines() if line.startswith("  row ")]
    assert len(lines) == len(MESSY_REPORT)
    for line, expected in zip(lines, MESSY_REPORT, strict=True):
        assert line.startswith(expected)
    # What was read is in the plan, which passes the check; what was not is kept in notes.
    _check_passes(folder, plan.name)
    found = _opportunities(plan)
    assert sorted(found) == ["wy-101", "wy-102", "wy-103", "wy-105"]
    assert found["wy-102"]["places"] == ["leeds"]  # from a merged cell
    assert found["wy-102"]["value"] == {"min": 250000, "max": 300000}
    assert found["wy-101"]["value"] == {"total": 1200000}
    assert found["wy-101"]["duration"] == {"years": 3}  # from its start and end dates
    assert found["wy-101"]["dates"] == {"tender_opens": "2027-Q2", "service_starts": "2027-10-01"}
    assert found["wy-105"]["value"] == {"per_year": 30000}
    text = plan.read_text()
    assert "# row 8 (wy-103), Locality: Wakefield North" in text
    assert "# row 5 (wy-101), Budget code: MH-445" in text
    assert "# row 12 (not imported): Est. value: about fifty thousand | Budget code: MISC-9" in text

    # The fixes the report asks for, made in the spreadsheet, and the import again.
    fixed = folder / "messy-fixed.xlsx"
    shutil.copy(SAMPLES / "messy.xlsx", fixed)
    make_samples.apply_fixes(fixed)
    run = _publisher("import", str(fixed), *args, cwd=folder)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Rows we could not read" not in run.stdout
    assert "2 new, 1 updated, 3 unchanged" in run.stdout
    _check_passes(folder, plan.name)
    found = _opportunities(plan)
    assert sorted(found) == [
        "carers-cafes-in-bradford",
        "wy-101",
        "wy-102",
        "wy-103",
        "wy-104",
        "wy-105",
    ]
    assert found["wy-103"]["places"] == ["wakefield"]
    assert found["wy-103"]["route"] == "light-touch"
    assert found["wy-103"]["dates"] == {"tender_opens": "2027-03", "service_starts": "2027-03-31"}
    text = plan.read_text()
    assert "Wakefield North" not in text  # the old notes are replaced
    assert text.count("# ---- Not placed by publisher import") == 1


def test_reimporting_keeps_what_the_spreadsheet_does_not_have(folder: Path) -> None:
    plan = folder / "plans" / "leeds-city-council.yaml"
    plan.write_text(
        "# Our plan: kept by the commissioning team.\n"
        "schema: 1\n"
        "commissioner: {id: leeds-city-council, name: Leeds City Council, kind: council}\n"
        "opportunities:\n"
        "  # Agreed at the board on 1 December.\n"
        "  - id: lunch-clubs\n"
        "    title: Lunch clubs for older people in Armley\n"
        "    summary: An old summary.\n"
        "    status: idea\n"
        "    unknown: {value: The budget is set in March.}\n"
        "    requirements: {consortia_welcome: true}\n"
        "\n"
        "  - id: not-in-the-sheet\n"
        "    title: Something the spreadsheet does not list\n"
        "    summary: It stays.   # a comment that stays too\n"
        "    status: planning\n"
    )
    run = _publisher(
        "import", str(SAMPLES / "tidy.xlsx"), "--out", "plans/leeds-city-council.yaml",
        "--today", TODAY, cwd=folder,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    # No row has the reference 'lunch-clubs', but one has its title: it is updated and
    # keeps its id, and what the spreadsheet has no column for stays.
    assert "2 new, 1 updated, 0 unchanged" in run.stdout
    assert "Not in the spreadsheet, so kept as they are: not-in-the-sheet" in run.stdout
    lunch = _opportunities(plan)["lunch-clubs"]
    assert lunch["summary"].startswith("Lunch clubs help older people eat well")
    assert lunch["status"] == "idea"
    assert lunch["value"] == {"total": 60000}
    assert lunch["unknown"] == {"value": "The budget is set in March."}
    assert lunch["requirements"] == {"consortia_welcome": True}
    text = plan.read_text()
    assert text.startswith("# Our plan: kept by the commissioning team.\n")
    assert "  # Agreed at the board on 1 December.\n" in text
    assert "    summary: It stays.   # a comment that stays too\n" in text
    _check_passes(folder, plan.name)


def test_rows_match_by_title_without_an_id_column(folder: Path) -> None:
    plan = folder / "plans" / "leeds-city-council.yaml"
    plan.write_text(
        "schema: 1\n"
        "commissioner: {id: leeds-city-council, name: Leeds City Council, kind: council}\n"
        "opportunities:\n"
        "  - id: lunch-clubs\n"
        "    title: Lunch clubs for older people in Armley\n"
        "    summary: An old summary.\n"
        "    status: idea\n"
        "    unknown: {value: The budget is set in March.}\n"
    )
    sheet = folder / "pipeline.csv"
    sheet.write_text(
        "Project title,Description,Stage,Tender date\n"
        "LUNCH CLUBS for older people in Armley,A new summary.,Planning,Q2 2027/28\n",
        encoding="utf-8",
    )
    run = _publisher("import", str(sheet), "--commissioner", "leeds-city-council", cwd=folder)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 new, 1 updated, 0 unchanged" in run.stdout
    lunch = _opportunities(plan)["lunch-clubs"]
    assert lunch["title"] == "LUNCH CLUBS for older people in Armley"
    assert lunch["summary"] == "A new summary."
    assert lunch["dates"] == {"tender_opens": "2027-Q3"}
    assert lunch["unknown"] == {"value": "The budget is set in March."}


def test_unknown_columns_ask_for_a_mapping_file_which_then_works(folder: Path) -> None:
    sheet = folder / "grants.csv"
    sheet.write_text(
        "Scheme of work,Narrative,Pot\n"
        "Winter warmth grants,Grants for warm spaces in community buildings.,£60k\n",
        encoding="utf-8",
    )
    run = _publisher("import", str(sheet), "--commissioner", "calderdale-council", cwd=folder)
    assert run.returncode == 1
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    assert "could not tell which column of grants.csv holds each opportunity's title" in run.stderr
    assert "'Scheme of work', 'Narrative'" in run.stderr
    assert "--mapping mapping.yaml" in run.stderr
    assert '  "Pot": value' in run.stderr  # placed, and shown so the file is whole
    example = run.stderr[run.stderr.index("# Which plan field") :]
    mapping = folder / "mapping.yaml"
    mapping.write_text(
        example.replace('"Scheme of work": keep', '"Scheme of work": title').replace(
            '"Narrative": keep', '"Narrative": summary'
        )
    )
    run = _publisher(
        "import", str(sheet), "--commissioner", "calderdale-council", "--mapping",
        str(mapping), "--today", TODAY, cwd=folder,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    found = _opportunities(folder / "plans" / "calderdale-council.yaml")
    assert found["winter-warmth-grants"]["value"] == {"total": 60000}
    _check_passes(folder, "calderdale-council.yaml")


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("plan.xlsx", b"this is not a workbook", "is not an Excel workbook we can read"),
        ("plan.csv", b"PK\x03\x04\x00\x00binary", "is not a CSV file (it holds binary data)"),
        ("plan.xls", b"\xd0\xcf\x11\xe0", "is an old-style Excel file (.xls)"),
        ("plan.pdf", b"%PDF-1.4", "import reads Excel workbooks (.xlsx) and CSV files (.csv)"),
        ("empty.csv", b"", "The spreadsheet is empty."),
    ],
)
def test_a_file_that_is_not_a_spreadsheet_gets_a_plain_message(
    folder: Path, name: str, content: bytes, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / name).write_bytes(content)
    assert main(["import", name, "--commissioner", "leeds-city-council"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("publisher import: ")
    assert words in err
    assert not (folder / "plans" / "leeds-city-council.yaml").exists()


def test_a_missing_file_and_a_missing_commissioner(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "nowhere.xlsx", "--commissioner", "leeds-city-council"]) == 1
    assert capsys.readouterr().err == "publisher import: There is no file called 'nowhere.xlsx'.\n"
    assert main(["import", str(SAMPLES / "tidy.xlsx")]) == 2
    assert "say whose plan this is, with --commissioner ID" in capsys.readouterr().err
    tidy = str(SAMPLES / "tidy.xlsx")
    assert main(["import", tidy, "--commissioner", "leeds-city-council", "--out", "x.yaml"]) == 1
    assert "write the plan of 'leeds-city-council' to leeds-city-council.yaml, not x.yaml" in (
        capsys.readouterr().err
    )
    assert main(["import", tidy, "--commissioner", "Leeds City Council"]) == 1
    assert "'Leeds City Council' cannot be a commissioner id" in capsys.readouterr().err
    assert sorted(p.name for p in (folder / "plans").iterdir()) == ["places.yaml", "themes.yaml"]


def test_a_broken_plan_is_not_overwritten(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = folder / "plans" / "leeds-city-council.yaml"
    plan.write_text("schema: 1\ncommissioner: [\n")
    assert main(["import", str(SAMPLES / "tidy.xlsx"), "--commissioner", "leeds-city-council"]) == 1
    err = capsys.readouterr().err
    assert "cannot be read as a plan (line" in err
    assert "Fix it first (publisher check" in err
    assert plan.read_text() == "schema: 1\ncommissioner: [\n"


def test_a_plan_whose_list_is_not_indented_stays_readable(folder: Path) -> None:
    plan = folder / "plans" / "leeds-city-council.yaml"
    plan.write_text(
        "schema: 1\n"
        "commissioner: {id: leeds-city-council, name: Leeds City Council, kind: council}\n"
        "opportunities:\n"
        "- id: kept\n"
        "  title: Kept as it is\n"
        "  summary: Not in the spreadsheet.\n"
        "  status: planning\n"
    )
    run = _publisher(
        "import", str(SAMPLES / "tidy.xlsx"), "--commissioner", "leeds-city-council",
        "--today", TODAY, cwd=folder,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "\n- id: lcc-2027-001\n" in plan.read_text()
    assert sorted(_opportunities(plan)) == ["kept", "lcc-2027-001", "lcc-2027-002", "lcc-2027-003"]


def test_a_csv_saved_by_excel_on_windows(folder: Path) -> None:
    sheet = folder / "pipeline.csv"
    sheet.write_bytes(
        "Title;Description;Value\r\nCafés for carers;Somewhere to rest;£5,000\r\n".encode("cp1252")
    )
    run = _publisher("import", str(sheet), "--commissioner", "bradford-council", cwd=folder)
    assert run.returncode == 0, run.stdout + run.stderr
    cafes = _opportunities(folder / "plans" / "bradford-council.yaml")["cafes-for-carers"]
    assert cafes["title"] == "Cafés for carers"
    assert cafes["value"] == {"total": 5000}
