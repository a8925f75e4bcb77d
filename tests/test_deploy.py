"""Deploying and operating: the database upgrade keeps every row, docker-compose.yml and the
example settings files are valid, and a new user's steps from docs/operations.md get the
service running against the real PostgreSQL, without Docker.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import feedparser
import httpx
import psycopg
import pytest
import yaml
from psycopg import sql
from sqlalchemy import Engine, MetaData, inspect, select

from publisher.delivery import outbox
from publisher.delivery.database import SCHEMA_VERSION, connect, create_or_upgrade
from publisher.delivery.snapshot import load_published
from publisher.settings import load_settings, variables

ROOT = Path(__file__).parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "database"
POSTGRESQL_SERVER = "host=127.0.0.1 port=5432 user=postgres"
PUBLISHER = Path(sys.executable).parent / "publisher"  # the command, as installed
WHEELS = ROOT / ".tools" / "wheels"  # the locked runtime wheels (`make test` downloads them)
DOCUMENTED_RUN = "publisher run --host 0.0.0.0 --port 8000 --plans /plans --site /srv/feeds"
STARTUP_SECONDS = 120.0  # the first build and notify pass of the example plans
STOP_SECONDS = 30.0


# --- a fresh PostgreSQL database for each test that needs one ---------------------------


@contextmanager
def fresh_postgresql(name: str, owner: str | None = None) -> Iterator[str]:
    """A new, empty database (owned by a new login role `owner`, as docs/operations.md makes
    one), dropped afterwards. Fails, never skips, when the server is down."""
    try:
        admin = psycopg.connect(
            f"{POSTGRESQL_SERVER} dbname=postgres", autocommit=True, connect_timeout=5
        )
    except psycopg.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is not running on 127.0.0.1:5432 ({str(error).splitlines()[0]}). "
            ".ci/run starts it, or run "
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
            pytrace=False,
        )
    database, role = sql.Identifier(name), sql.Identifier(owner or "postgres")
    with admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(database))
        if owner:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(role))
            admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'secret'").format(role))
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(database, role))
        try:
            yield f"postgresql://{owner or 'postgres'}:secret@127.0.0.1:5432/{name}"
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(database))
            if owner:
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(role))


@contextmanager
def database_at_schema_1(dialect: str, folder: Path, name: str) -> Iterator[Engine]:
    """A database as schema version 1 made it, rows and all, from tests/fixtures/database."""
    script = (FIXTURES / f"schema-1.{dialect}.sql").read_text(encoding="utf-8")
    if dialect == "sqlite":
        path = folder / f"{name}.db"
        with sqlite3.connect(path) as conn:
            conn.executescript(script)
        engine = connect(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        return
    with fresh_postgresql(name) as url:
        with psycopg.connect(url) as conn:
            conn.execute(script.encode())  # the whole script: no parameters, so no % escapes
        engine = connect(url)
        yield engine
        engine.dispose()


def every_row(engine: Engine) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    """Every row of every table, by table and primary key, read by reflection: it does not
    depend on the tables this version of the publisher defines."""
    found = MetaData()
    found.reflect(engine)
    rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    with engine.connect() as conn:
        for table in found.sorted_tables:
            key = [column.name for column in table.primary_key.columns]
            rows[table.name] = {
                tuple(row[k] for k in key): dict(row)
                for row in conn.execute(select(table)).mappings()
            }
    return rows


def shape(engine: Engine) -> dict[str, Any]:
    """The tables' columns (name, type, nullable), indexes and unique constraints."""
    seen = inspect(engine)
    return {
        table: {
            "columns": sorted(
                (c["name"], str(c["type"]), c["nullable"]) for c in seen.get_columns(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"])) for i in seen.get_indexes(table)
            ),
            "unique": sorted(tuple(u["column_names"]) for u in seen.get_unique_constraints(table)),
        }
        for table in sorted(seen.get_table_names())
    }


def _normal(value: Any) -> Any:
    # SQLite keeps naive UTC text, PostgreSQL timestamptz: compare them as naive UTC.
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


# --- upgrading from the first released schema ------------------------------------------


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_an_upgrade_from_schema_1_keeps_every_outbox_item_and_snapshot_row(
    dialect: str, tmp_path: Path
) -> None:
    with database_at_schema_1(dialect, tmp_path, f"publisher_upgrade_{os.getpid()}") as engine:
        before = every_row(engine)
        assert {name: len(rows) for name, rows in before.items()} == {
            "digest_entries": 2,
            "outbox": 5,
            "published": 4,
            "schema_version": 1,
            "snapshot_log": 3,
        }
        assert create_or_upgrade(engine) == SCHEMA_VERSION
        after = every_row(engine)
        # Every row is still there, each column it had unchanged; an upgrade may only add.
        for table, rows in before.items():
            for key, row in rows.items():
                kept = after[table].get(key)
                assert kept is not None, f"the upgrade lost {table} row {key}"
                assert {c: kept[c] for c in row} == row, f"the upgrade changed {table} {key}"
        assert sorted(after["schema_version"]) == [(v,) for v in range(1, SCHEMA_VERSION + 1)]

        # Upgrading again (every start does) changes nothing.
        assert create_or_upgrade(engine) == SCHEMA_VERSION
        assert every_row(engine) == after

        # The publisher reads the old rows and adds new ones after them.
        now = dt.datetime(2026, 12, 3, 9, tzinfo=dt.UTC)
        with engine.begin() as conn:
            assert outbox.backlog(conn) == {"queued": 1, "sending": 1, "sent": 2, "failed": 1}
            items = outbox.list_items(conn)
            assert [i.payload["body"]["version"] for i in items if i.kind == "webhook"] == [1, 1]
            published = load_published(conn)
            assert len(published) == 4
            assert sum(p.withdrawn_at is not None for p in published.values()) == 1
            new = outbox.NewItem("leeds-cvs/bulletin|new", "leeds-cvs/bulletin", "email", {})
            assert outbox.enqueue(conn, [new], now) == 1
            assert outbox.list_items(conn)[-1].id == max(item.id for item in items) + 1


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_an_upgraded_database_has_the_tables_a_new_one_gets(dialect: str, tmp_path: Path) -> None:
    """A change to the tables in database.py without an upgrade step fails here."""
    pid = os.getpid()
    with database_at_schema_1(dialect, tmp_path, f"publisher_upgraded_{pid}") as upgraded:
        create_or_upgrade(upgraded)
        if dialect == "sqlite":
            new = connect(f"sqlite:///{tmp_path / 'new.db'}")
            create_or_upgrade(new)
            assert shape(upgraded) == shape(new)
            new.dispose()
            return
        with fresh_postgresql(f"publisher_new_{pid}") as url:
            new = connect(url)
            create_or_upgrade(new)
            assert shape(upgraded) == shape(new)
            new.dispose()


def test_the_schema_1_fixtures_hold_the_same_rows_on_both_engines(tmp_path: Path) -> None:
    with (
        database_at_schema_1("sqlite", tmp_path, "same") as lite,
        database_at_schema_1("postgresql", tmp_path, f"publisher_same_{os.getpid()}") as pg,
    ):
        lite_rows, pg_rows = every_row(lite), every_row(pg)
    assert lite_rows.keys() == pg_rows.keys()
    for table, rows in lite_rows.items():
        assert rows.keys() == pg_rows[table].keys(), table
        for key, row in rows.items():
            assert {c: _normal(v) for c, v in row.items()} == {
                c: _normal(v) for c, v in pg_rows[table][key].items()
            }, (table, key)
    for row in lite_rows["outbox"].values():
        json.loads(row["payload"])  # the payloads came through the SQL intact


# --- docker-compose.yml, the Dockerfile and the example settings --------------------------


def _compose(*args: str, env_file: Path) -> subprocess.CompletedProcess[str]:
    command = shutil.which("docker-compose")
    if command is None:
        pytest.skip(
            "docker-compose is not installed here: 'make tools' installs Debian's "
            "docker-compose package, which validates the file without a Docker engine"
        )
    return subprocess.run(
        [command, "--project-directory", str(ROOT), "-f", str(ROOT / "docker-compose.yml"),
         "--env-file", str(env_file), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _uncommented(path: Path, pattern: str) -> list[str]:
    """The example file's settings with the # taken off (the first of each name)."""
    lines, seen = [], set()
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(pattern, line)
        if match and match["name"] not in seen:
            seen.add(match["name"])
            lines.append(line.removeprefix("# "))
    return lines


def _config(env_file: Path) -> dict[str, Any]:
    done = _compose("config", env_file=env_file)
    assert done.returncode == 0, done.stderr
    loaded: dict[str, Any] = yaml.safe_load(done.stdout)
    return loaded


def test_docker_compose_config_passes_with_the_defaults(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    config = _config(empty)
    services = config["services"]
    assert set(services) == {"publisher", "plans", "db", "mailpit"}
    publisher = services["publisher"]
    assert publisher["build"]["context"] == str(ROOT)
    assert "command" not in publisher  # the Dockerfile's CMD: the documented command
    assert "/healthz" in " ".join(publisher["healthcheck"]["test"])
    assert publisher["depends_on"]["db"]["condition"] == "service_healthy"
    environment = publisher["environment"]
    assert set(variables().values()) <= set(environment), "a setting is not passed on"
    assert environment["DATABASE_URL"] == "postgresql://publisher:publisher@db:5432/publisher"
    assert environment["SMTP_URL"] == "smtp://mailpit:1025"
    load_settings({k: v or "" for k, v in environment.items()})  # valid as they are
    db = services["db"]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in db["healthcheck"]["test"]
    assert any(v.startswith("database:") for v in db["volumes"]), "the data is not on a volume"
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    assert {"database", "repository", "site"} <= set(config["volumes"])


def test_docker_compose_config_passes_with_every_setting_from_env_example(
    tmp_path: Path,
) -> None:
    example = ROOT / ".env.example"
    lines = _uncommented(example, r"^# (?P<name>[A-Z][A-Z0-9_]*)=")
    given = dict(line.split("=", 1) for line in lines)
    assert set(variables().values()) <= set(given), ".env.example misses a setting"
    env_file = tmp_path / ".env"
    env_file.write_text("\n".join(lines) + "\n")
    publisher = _config(env_file)["services"]["publisher"]
    for name in variables().values():
        assert publisher["environment"][name] == given[name], name
    load_settings({k: v or "" for k, v in publisher["environment"].items()})
    # A folder in PLANS_REPOSITORY is a clone on this machine, mounted as it is.
    assert any(v.endswith(":/repository:rw") and v.startswith("/") for v in publisher["volumes"])


def test_publisher_toml_example_names_every_setting_and_is_valid(tmp_path: Path) -> None:
    lines = _uncommented(ROOT / "publisher.toml.example", r"^# (?P<name>[a-z_]+) = ")
    assert {line.split(" = ")[0] for line in lines} == set(variables())
    path = tmp_path / "publisher.toml"
    path.write_text("\n".join(lines) + "\n")
    settings = load_settings({"PUBLISHER_CONFIG": str(path)})
    assert settings.base_url == "https://plans.example.org/"


def test_the_dockerfile_runs_the_documented_command_as_a_user_with_a_healthcheck() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert "--require-hashes" in dockerfile and "requirements/run.txt" in dockerfile
    assert "apt-get install -y --no-install-recommends git" in dockerfile
    user = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", dockerfile, re.M)
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.M)
    assert cmd and " ".join(json.loads(cmd[1])) == DOCUMENTED_RUN
    # Every option the image passes is one `publisher run` takes.
    usage = subprocess.run(
        [str(PUBLISHER), "run", "--help"], capture_output=True, text=True, check=False
    )
    assert usage.returncode == 0, usage.stderr
    for option in re.findall(r"--[a-z-]+", DOCUMENTED_RUN):
        assert option in usage.stdout, option


# --- the plans repository's workflow and pre-commit hook --------------------------------

WORKFLOW = ROOT / "docs" / "plan-repository" / "check-plans.yml"


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=Test", "-c", "user.email=t@example.org",
         *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def _steps() -> list[dict[str, Any]]:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert "pull_request" in workflow[True]  # YAML 1.1 reads the key `on` as true
    assert workflow["permissions"]["pull-requests"] == "write"
    steps: list[dict[str, Any]] = workflow["jobs"]["check"]["steps"]
    return steps


def test_the_workflow_runs_commands_the_publisher_has() -> None:
    steps = _steps()
    checkout = next(step for step in steps if step.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    scripts = "\n".join(step.get("run", "") for step in steps)
    publisher = next(step for step in steps if step.get("with", {}).get("path") == ".publisher")
    assert publisher["with"]["repository"] == "OWNER/forward-plan-publisher"
    assert "pip install --require-hashes --no-deps -r .publisher/requirements/build.txt" in scripts
    assert "--require-hashes --no-deps --no-build-isolation -r .publisher/requirements/run.txt" in (
        scripts
    )
    assert "pip install --no-deps --no-build-isolation ./.publisher" in scripts
    assert "publisher check --format github plans" in scripts
    commands = re.findall(r"^\s*(?:[a-z]+=\S+ )*publisher (\w+)(.*)$", scripts, re.M)
    assert {command for command, _ in commands} == {"check", "diff"}
    for command, rest in commands:
        usage = subprocess.run(
            [str(PUBLISHER), command, "--help"], capture_output=True, text=True, check=True
        ).stdout
        for option in re.findall(r"--[a-z-]+", rest):
            assert option in usage, f"publisher {command} has no {option}"
    script = next(step for step in steps if "github-script" in step.get("uses", ""))
    assert (
        "updateComment" in script["with"]["script"] and "createComment" in script["with"]["script"]
    )


def test_the_workflow_comment_says_what_the_public_will_see_change(tmp_path: Path) -> None:
    """The workflow's diff step, run as GitHub runs it, on a plans repository with one pull
    request's change."""
    repository = tmp_path / "plans-repository"
    shutil.copytree(ROOT / "plans", repository / "plans")
    _git(tmp_path, "init", "--quiet", "--initial-branch=main", str(repository))
    _git(repository, "add", ".")
    _git(repository, "commit", "--quiet", "-m", "The plans")
    _git(repository, "update-ref", "refs/remotes/origin/main", "HEAD")
    plan = repository / "plans" / "leeds-city-council.yaml"
    plan.write_text(
        plan.read_text().replace(
            "value: {total: 6000000, per_year: 1200000}",
            "value: {total: 6600000, per_year: 1320000}",
        )
    )
    _git(repository, "commit", "--quiet", "-am", "More money for refuges")
    step = next(s for s in _steps() if "publisher diff" in s.get("run", ""))
    env = {**os.environ, "BASE_REF": "main", "PATH": f"{PUBLISHER.parent}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]], cwd=repository, env=env,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    comment = (repository / "comment.md").read_text()
    assert "What the public will see change" in comment
    assert "Refuges and outreach for people escaping domestic abuse in Leeds" in comment
    checked = subprocess.run(
        [str(PUBLISHER), "check", "--format", "github", "plans"],
        cwd=repository, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout
    assert "::error" not in checked.stdout


def test_the_pre_commit_hook_checks_the_plan_files_it_is_given(tmp_path: Path) -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "publisher-check" and hook["language"] == "python"
    assert hook["entry"] == "publisher check" and hook["pass_filenames"] is True
    files, exclude = re.compile(hook["files"]), re.compile(hook["exclude"])

    def chosen(path: str) -> bool:  # as pre-commit chooses the files to pass
        return bool(files.search(path)) and not exclude.search(path)

    assert chosen("plans/leeds-city-council.yaml") and chosen("plans/channels/leeds-cvs.yml")
    assert not chosen(".pre-commit-config.yaml")
    assert not chosen(".github/workflows/check-plans.yml")
    assert not chosen("plans/README.md")
    shutil.copytree(ROOT / "plans", tmp_path / "plans")
    staged = ["plans/leeds-city-council.yaml", "plans/channels/voluntary-action-leeds.yaml"]
    entry = [str(PUBLISHER), *hook["entry"].split()[1:]]

    def commit() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*entry, *staged], cwd=tmp_path, capture_output=True, text=True, check=False
        )

    good = commit()
    assert good.returncode == 0, good.stdout + good.stderr
    plan = tmp_path / staged[0]
    plan.write_text(plan.read_text().replace("status: planning", "status: planned", 1))
    bad = commit()
    assert bad.returncode == 1
    assert "'planned' is not a status we know" in bad.stdout


# --- a new user, on a machine without Docker ---------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PUBLISHER), *args], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip


def test_a_new_user_gets_the_service_running_on_postgresql(tmp_path: Path) -> None:
    """docs/operations.md, "Install without Docker": a database and a user for it, the
    settings in publisher.toml, `publisher check`, `publisher run` (after a `publisher
    build`, as README's `make run` does); /healthz, a feed, and a clean stop on SIGTERM
    (as systemd stops it)."""
    shutil.copytree(ROOT / "plans", tmp_path / "plans")
    name = f"publisher_new_user_{os.getpid()}"
    port = _free_port()
    with fresh_postgresql(name, owner=name) as url:
        config = tmp_path / "etc" / "publisher.toml"
        config.parent.mkdir()
        config.write_text(
            f'database_url = "{url}"\nbase_url = "http://127.0.0.1:{port}/"\n'
            f'maildir = "{tmp_path / "mail"}"\n'
        )
        env = {
            **{k: v for k, v in os.environ.items() if k not in variables().values()},
            "PUBLISHER_CONFIG": str(config),
        }
        checked = _run(["check", "plans"], tmp_path, env)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        built = _run(["build", "--plans", "plans", "--out", "site/feeds"], tmp_path, env)
        assert built.returncode == 0, built.stdout + built.stderr
        assert (tmp_path / "site" / "feeds" / "all.rss").is_file()

        command = ["run", "--host", "127.0.0.1", "--port", str(port)]
        service = subprocess.Popen(
            [str(PUBLISHER), *command, "--plans", "plans", "--site", "site/feeds"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            health = _wait_until_active(f"http://127.0.0.1:{port}/", service)
            assert health["site"]["built"] is True
            assert health["outbox"]["failed"] >= 0
            feed = httpx.get(f"http://127.0.0.1:{port}/all.rss", timeout=30)
            assert feed.status_code == 200
            parsed = feedparser.parse(feed.content)
            assert not parsed.bozo, parsed.get("bozo_exception")
            assert len(parsed.entries) > 0
        finally:
            service.send_signal(signal.SIGTERM)
            try:
                said, _ = service.communicate(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                service.kill()
                said, _ = service.communicate()
                pytest.fail(f"publisher run did not stop within {STOP_SECONDS:.0f} s:\n{said}")
        assert service.returncode == 0, said
        assert "Stopped." in said

        # The state is in PostgreSQL: the published snapshot. (The scheduler's times are in
        # memory: a standby sharing a job table could take the active one's runs.)
        with psycopg.connect(url) as conn:
            published = conn.execute("SELECT count(*) FROM published").fetchone()
        assert published is not None and published[0] > 0


def _wait_until_active(url: str, service: subprocess.Popen[str]) -> dict[str, Any]:
    """/healthz once the scheduler holds the lock and has built and run its first pass."""
    deadline = time.monotonic() + STARTUP_SECONDS
    last: Any = None
    with httpx.Client(base_url=url, timeout=10) as web:
        while time.monotonic() < deadline:
            if service.poll() is not None:
                pytest.fail(f"publisher run stopped early:\n{service.communicate()[0]}")
            try:
                last = web.get("/healthz").json()
            except httpx.TransportError:
                last = None
            scheduler = (last or {}).get("scheduler", {})
            if scheduler.get("role") == "active" and scheduler.get("last_pass"):
                assert last["status"] == "ok", last
                return dict(last)
            time.sleep(0.2)
    pytest.fail(f"publisher run was not active within {STARTUP_SECONDS:.0f} s: {last}")


def _dockerfile_pip_installs() -> list[list[str]]:
    """The arguments of each `pip install` in the Dockerfile, in order."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    steps = []
    for run in re.findall(r"^RUN (.*)$", text, re.M):
        for command in run.split("&&"):
            words = shlex.split(command)
            if words[:2] == ["pip", "install"]:
                steps.append(words[2:])
    return steps


def test_the_package_installs_from_the_lock_into_an_empty_environment(tmp_path: Path) -> None:
    """A fresh machine's path, as the Dockerfile takes it: into a new virtual environment,
    exactly the locked dependencies (hash-checked), then the publisher's wheel, built from a
    copy of the source; `publisher check` and `publisher build` then work from another folder.
    Offline: the locked files come from the wheelhouse `make test` downloads."""
    if not (WHEELS / ".downloaded").is_file():
        pytest.fail(f"There are no locked wheels in {WHEELS}; `make test` downloads them.")
    steps = _dockerfile_pip_installs()
    assert steps == [
        ["--no-cache-dir", "--require-hashes", "--no-deps", "-r", "requirements/build.txt"],
        ["--no-cache-dir", "--require-hashes", "--no-deps", "--no-build-isolation",
         "-r", "requirements/run.txt"],
        ["--no-cache-dir", "--no-deps", "--no-build-isolation", "."],
    ]  # fmt: skip
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("publisher", "requirements"):
        shutil.copytree(
            ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")

    def pip(*args: str, cwd: Path = source) -> None:
        done = subprocess.run(
            [python, "-m", "pip", *args, "--no-index", "--find-links", str(WHEELS)],
            cwd=cwd, capture_output=True, text=True, check=False, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr

    for args in steps[:2]:  # the dependencies, exactly as the Dockerfile installs them
        pip("install", "--quiet", *args)
    # The publisher as a wheel, then installed from the wheel alone.
    pip("wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), ".")
    (wheel,) = (tmp_path / "dist").glob("forward_plan_publisher-*.whl")
    pip("install", "--quiet", "--no-deps", str(wheel))
    checked = subprocess.run(
        [python, "-m", "pip", "check"], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout
    shutil.rmtree(source)  # nothing may be read from the copy it was built from
    locked = dict(
        line.split(" ")[0].split("==")
        for line in (ROOT / "requirements" / "run.txt").read_text().splitlines()
        if re.match(r"^[a-z0-9]", line) and "==" in line
    )  # fmt: skip
    frozen = subprocess.run(
        [python, "-m", "pip", "freeze", "--all"], capture_output=True, text=True, check=True
    ).stdout
    pins = (line.split("==") for line in frozen.lower().splitlines() if "==" in line)
    installed = {re.sub(r"[-_.]+", "-", name): pinned for name, pinned in pins}
    assert {name: installed.get(name) for name in locked} == locked
    work = tmp_path / "work"
    shutil.copytree(ROOT / "plans", work / "plans")
    publisher = str(venv / "bin" / "publisher")
    for args in (
        ["--version"],
        ["check", "plans"],
        ["build", "--plans", "plans", "--out", "feeds"],
    ):
        done = subprocess.run(
            [publisher, *args], cwd=work, capture_output=True, text=True, check=False,
            env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    assert (work / "feeds" / "index.html").is_file()
