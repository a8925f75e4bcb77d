"""The `publisher` command as a commissioner or a CI job runs it: exit codes and formats."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from publisher.cli import main
from publisher.plans.load import parse
from publisher.plans.schema import SCHEMAS, render

ROOT = Path(__file__).parents[1]
PLANS = ROOT / "plans"
TODAY = "2026-11-23"


def _publisher(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "publisher", *args],
        cwd=cwd,
        text=True,
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def test_the_example_plans_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(PLANS), "--today", TODAY]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("✓ ")
    assert "no errors" in out


def _broken_plans(tmp_path: Path) -> Path:
    for name in ("places.yaml", "themes.yaml"):
        (tmp_path / name).write_text((PLANS / name).read_text())
    (tmp_path / "bad.yaml").write_text(
        "schema: 1\ncommissioner: {id: bad, name: Bad, kind: council}\nopportunities:\n"
        "  - id: one\n    title: Help\n    summary: Help people.\n    status: planning\n"
        "    places: [ledds]\n"
    )
    (tmp_path / "worse.yaml").write_text("schema: 1\ncommissioner: [\n")
    return tmp_path


def test_errors_exit_1_and_every_bad_file_is_reported(tmp_path: Path) -> None:
    folder = _broken_plans(tmp_path)
    run = _publisher("check", str(folder), "--today", TODAY, cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    assert (
        "bad.yaml:8:14: error: 'ledds' is not a place in places.yaml or among England's places."
    ) in run.stdout
    assert "hint: did you mean 'leeds'?" in run.stdout
    assert "worse.yaml:2:15: error: This square bracket '[' is never closed." in run.stdout
    assert run.stdout.splitlines()[-1].startswith("✗ ")
    assert "Traceback" not in run.stderr


def test_github_format_annotates_lines(tmp_path: Path) -> None:
    folder = _broken_plans(tmp_path)
    run = _publisher("check", str(folder), "--format", "github", "--today", TODAY, cwd=tmp_path)
    assert run.returncode == 1
    assert (
        "::error file=bad.yaml,line=8,col=14,title=unknown-place::'ledds' is not a place "
        "in places.yaml or among England's places. (at opportunities[0].places[0]) "
        "Hint: did you mean 'leeds'?"
    ) in run.stdout


def test_json_format_is_for_tools(tmp_path: Path) -> None:
    folder = _broken_plans(tmp_path)
    run = _publisher("check", str(folder), "--format", "json", "--today", TODAY, cwd=tmp_path)
    body = json.loads(run.stdout)
    assert body["errors"] >= 2 and body["version"] == 1
    first = next(p for p in body["problems"] if p["code"] == "unknown-place")
    assert first == {
        "file": "bad.yaml",
        "line": 8,
        "column": 14,
        "path": "opportunities[0].places[0]",
        "severity": "error",
        "code": "unknown-place",
        "message": "'ledds' is not a place in places.yaml or among England's places.",
        "hint": "did you mean 'leeds'? If it is a place of your own, add it to places.yaml. "
        "See 'Places' in docs/commissioners.md.",
    }


def test_strict_turns_warnings_into_errors(tmp_path: Path) -> None:
    folder = _broken_plans(tmp_path)
    (folder / "bad.yaml").unlink()
    (folder / "worse.yaml").unlink()
    (folder / "gappy.yaml").write_text(
        "schema: 1\ncommissioner: {id: gappy, name: Gappy, kind: council}\nopportunities:\n"
        "  - id: one\n    title: Help\n    summary: Help people.\n    status: planning\n"
    )
    assert _publisher("check", str(folder), "--today", TODAY).returncode == 0
    strict = _publisher("check", str(folder), "--strict", "--today", TODAY)
    assert strict.returncode == 1
    assert "error: The plan does not say how much money there is (value), nor why not." in (
        strict.stdout
    )


def test_usage_errors_exit_2() -> None:
    assert _publisher("check", "no/such/folder").returncode == 2
    assert _publisher("check", "--format", "xml").returncode == 2
    assert _publisher("check", "--today", "tomorrow").returncode == 2
    assert _publisher().returncode == 2
    missing = _publisher("check", "no/such/folder")
    assert "There is no file or folder called 'no/such/folder'." in missing.stderr


def test_colour_only_on_a_terminal_and_never_with_no_color(tmp_path: Path) -> None:
    folder = _broken_plans(tmp_path)
    plain = _publisher("check", str(folder), "--today", TODAY)
    assert "\033[" not in plain.stdout
    forced = _publisher("check", str(folder), "--today", TODAY, env={"FORCE_COLOR": "1"})
    assert "\033[1;31merror" in forced.stdout
    off = _publisher(
        "check", str(folder), "--today", TODAY, env={"FORCE_COLOR": "1", "NO_COLOR": "1"}
    )
    assert "\033[" not in off.stdout


def test_schema_command_writes_the_committed_schemas(tmp_path: Path) -> None:
    assert _publisher("schema", "--out", str(tmp_path)).returncode == 0
    for name, model in SCHEMAS.items():
        written = (tmp_path / name).read_text()
        assert written == render(model)
        committed = PLANS / "schema" / name
        assert committed.read_text() == written, f"run 'make schema': {committed} is stale"


def test_example_files_point_editors_at_the_schema() -> None:
    for path in sorted(PLANS.glob("*.yaml")) + sorted((PLANS / "channels").glob("*.yaml")):
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        target = (path.parent / first.split("$schema=", 1)[1]).resolve()
        assert target.is_file(), f"{path} points at {target}, which does not exist"


def test_the_json_schema_accepts_every_example_file() -> None:
    schemas = {name: json.loads((PLANS / "schema" / name).read_text()) for name in SCHEMAS}
    special = {"places.yaml": "places.schema.json", "themes.yaml": "themes.schema.json"}
    files = [(p, special.get(p.name, "plan.schema.json")) for p in PLANS.glob("*.yaml")]
    files += [(p, "channel.schema.json") for p in (PLANS / "channels").glob("*.yaml")]
    for path, schema in files:
        # YAML 1.2 values, as an editor's language server reads them (dates stay text)
        document, problems = parse(path.read_text(), path.name)
        assert document is not None, problems
        jsonschema.validate(document.data, schemas[schema])


def test_build_says_once_when_the_plans_have_no_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(Path(__file__).parents[1] / "plans", tmp_path / "plans")
    code = main(["build", "--plans", str(tmp_path / "plans"), "--out", str(tmp_path / "feeds"),
                 "--today", "2026-11-23"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("is not in a git repository, so there is no history") == 1


def test_settings_in_publisher_toml_reach_build_and_diff(tmp_path: Path) -> None:
    """base_url and ocid_prefix from publisher.toml, with no environment variable: every link
    in the feeds, the calendar, the notices and `publisher diff` starts with that address."""
    from tests.changes.gitplans import PlanRepo  # noqa: PLC0415

    repo = PlanRepo(tmp_path / "repo")
    base = repo.commit("2026-11-01")
    repo.opportunities.append({**repo.first, "id": "befriending", "title": "Befriending"})
    repo.write()
    (repo.root / "publisher.toml").write_text(
        'base_url = "https://plans.example.net/"\nocid_prefix = "ocds-a1b2c3"\n',
        encoding="utf-8",
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    built = subprocess.run(
        [sys.executable, "-m", "publisher", "build", "--today", TODAY],
        cwd=repo.root, env=clean, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    feeds = repo.root / "feeds"
    rss = (feeds / "all.rss").read_text(encoding="utf-8")
    ics = (feeds / "all.ics").read_text(encoding="utf-8")
    notice = (feeds / "opportunities" / "leeds-city-council" / "befriending.html").read_text()
    releases = (feeds / "ocds" / "release-package.json").read_text(encoding="utf-8")
    for text in (rss, ics, notice):
        assert "https://plans.example.net/" in text
        assert "localhost:8000" not in text
    assert "https://plans.example.net/opportunities/leeds-city-council/befriending.html" in rss
    assert '"ocid":"ocds-a1b2c3-leeds-city-council-befriending"' in releases
    diff = subprocess.run(
        [sys.executable, "-m", "publisher", "diff", base, "--today", TODAY],
        cwd=repo.root, env=clean, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert diff.returncode == 0, diff.stderr
    assert "https://plans.example.net/opportunities/leeds-city-council/befriending.html" in (
        diff.stdout
    )
    assert "localhost:8000" not in diff.stdout
    # The command line still wins over the file.
    again = subprocess.run(
        [sys.executable, "-m", "publisher", "diff", base, "--today", TODAY,
         "--base-url", "https://other.example.org"],
        cwd=repo.root, env=clean, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "https://other.example.org/opportunities/" in again.stdout


def test_a_private_webhook_is_an_error_unless_the_setting_allows_it(tmp_path: Path) -> None:
    shutil.copytree(PLANS, tmp_path / "plans")
    channel = tmp_path / "plans" / "channels" / "private-webhook.yaml"
    shutil.copy(ROOT / "tests" / "fixtures" / "broken" / "channels" / channel.name, channel)
    refused = _publisher("check", "plans", "--format", "json", "--today", TODAY, cwd=tmp_path)
    assert refused.returncode == 1
    found = [p for p in json.loads(refused.stdout)["problems"] if p["code"] == "private-webhook"]
    assert len(found) == 5 and {p["severity"] for p in found} == {"error"}
    allowed = _publisher(
        "check", "plans", "--format", "json", "--today", TODAY, cwd=tmp_path,
        env={"PUBLISHER_ALLOW_PRIVATE_WEBHOOKS": "true"},
    )  # fmt: skip
    assert allowed.returncode == 0, allowed.stdout
    found = [p for p in json.loads(allowed.stdout)["problems"] if p["code"] == "private-webhook"]
    assert len(found) == 5 and {p["severity"] for p in found} == {"warning"}
    assert "PUBLISHER_ALLOW_PRIVATE_WEBHOOKS is on here" in found[0]["message"]
