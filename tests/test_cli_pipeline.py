"""`publisher pipeline` as a commissioner would run it: the UK1 listing in words, the release
package written with --format ocds, and a wrong commissioner or year refused in plain words
with exit 2, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from publisher.cli import main
from tests.formats import ocds_schemas

ROOT = Path(__file__).parents[1]
PLANS = ["--plans", str(ROOT / "plans"), "--today", "2026-11-23"]


def test_the_listing_names_the_contracts_and_what_is_missing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["pipeline", "--commissioner", "west-yorkshire-icb", *PLANS]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "Pipeline notice (UK1) for NHS West Yorkshire Integrated Care Board: contracts "
        "planned from 1 April 2027 to 30 September 2028\n"
    )
    assert "1 contract to list:" in out
    assert "New ways to reach men at risk of suicide (wy-mens-suicide-prevention)" in out
    assert "The plan does not yet say:" in out


def test_format_ocds_writes_a_package_that_validates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pipeline.json"
    argv = ["pipeline", "--commissioner", "west-yorkshire-icb", "--year", "2027", *PLANS]
    assert main([*argv, "--format", "ocds", "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"Wrote {out}.\n"
    package = json.loads(out.read_text(encoding="utf-8"))
    own = [url for url in package["extensions"] if ocds_schemas.kept(url) is None]
    patch = ocds_schemas.read(
        ROOT / "publisher" / "templates" / "static" / "ocds-extension" / "release-schema.json"
    )
    assert ocds_schemas.errors(package, own, [patch]) == []
    assert [r["planning"]["documents"][0]["noticeType"] for r in package["releases"]] == ["UK1"]


def test_nothing_to_list_writes_no_empty_package(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["pipeline", "--commissioner", "calderdale-council", "--format", "ocds", *PLANS]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("publisher pipeline: Calderdale Council has no contract to list")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ["--commissioner", "west-yorkshire-ibc"],
            "publisher pipeline: there is no commissioner 'west-yorkshire-ibc' in the plans: "
            "did you mean 'west-yorkshire-icb'?\n",
        ),
        (
            ["--commissioner", "nowhere"],
            "publisher pipeline: there is no commissioner 'nowhere' in the plans. The plans "
            "are for: bradford-district-and-craven-partnership, calderdale-council,",
        ),
        (
            ["--commissioner", "west-yorkshire-icb", "--year", "2019"],
            "publisher pipeline: there is no pipeline notice for 2019: choose a year from 2025 "
            "(the first under the Procurement Act 2023) to 2036.\n",
        ),
    ],
)
def test_a_wrong_commissioner_or_year_is_said_plainly(
    args: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pipeline", *args, *PLANS]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(words)
    assert captured.out == ""
