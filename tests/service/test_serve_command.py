"""`publisher serve`: a plain message without a built site; otherwise it says where it
listens, serves, loads the plans at start-up, and stops cleanly on SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from publisher.cli import main
from tests.service.conftest import PLANS, Site

WAIT_SECONDS = 20


def test_without_a_built_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["serve", "--site", str(tmp_path / "nothing"), "--port", "0"])
    assert code == 2
    said = capsys.readouterr().err
    assert "no built site" in said and "publisher build" in said
    assert "Traceback" not in said


def test_serves_until_sigterm(site: Site) -> None:
    command = [sys.executable, "-m", "publisher", "serve", "--port", "0",
               "--site", str(site.folder), "--plans", str(PLANS)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"Serving the site in (\S+)/ at (http://127\.0\.0\.1:\d+/)", line)
        assert found, f"no line saying where it listens: {line!r}"
        assert found.group(1) == str(site.folder)
        url = found.group(2)
        deadline = time.monotonic() + WAIT_SECONDS
        health: dict[str, object] = {}
        while time.monotonic() < deadline:
            try:
                health = httpx.get(url + "healthz").json()
            except httpx.TransportError:
                health = {}
            if health.get("opportunities"):
                break  # the plans were loaded at start-up, before anyone asked
            time.sleep(0.1)
        assert health.get("status") == "ok" and health.get("opportunities") == 49
        assert httpx.get(url + "feeds?place=leeds&format=ics").status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=WAIT_SECONDS) == 0
        assert "Traceback" not in (process.stderr.read() if process.stderr else "")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
