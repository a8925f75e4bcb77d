"""A real S3-protocol server on loopback (moto's server mode) and the example site built
twice, for the tests of `publisher publish`: fixtures and what they look at."""

from __future__ import annotations

import hashlib
import logging
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from publisher.builder.site import build
from publisher.service.bucket import Bucket, parse_target
from publisher.service.publish import Published, publish, site_files
from tests.formats.examples import ROOT, TODAY

CHANGED_PLAN = "calderdale-council.yaml"
OLD_TITLE = "title: Community anchor organisations for Calderdale's towns"
NEW_TITLE = "title: Community anchor organisations for Calderdale's towns and villages"


@pytest.fixture(scope="session", name="endpoint")
def endpoint_fixture() -> Iterator[str]:
    """moto's S3 server on a free loopback port, stopped after the module."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line for every request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def use_test_aws(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Test credentials, and nothing from this machine's own AWS set-up; never the instance
    metadata address (tests talk only to loopback)."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(folder / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(folder / "no-aws-credentials"))


@pytest.fixture(autouse=True, name="aws")
def aws_fixture(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_test_aws(monkeypatch, tmp_path)


def s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="eu-west-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(name="bucket")
def bucket_fixture(endpoint: str) -> str:
    """A new, empty bucket for each test."""
    name = f"site-{uuid.uuid4().hex[:12]}"
    s3_client(endpoint).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"}
    )
    return name


@pytest.fixture(scope="session", name="sites")
def sites_fixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The example site, and the same after one opportunity's title changed (both built
    from copies without git history, so the title is the only difference)."""
    top = tmp_path_factory.mktemp("publish")
    plans = top / "plans"
    shutil.copytree(ROOT / "plans", plans, ignore=shutil.ignore_patterns(".git"))
    before = top / "before"
    build(plans, before, today=TODAY)
    plan = plans / CHANGED_PLAN
    text = plan.read_text(encoding="utf-8")
    assert OLD_TITLE in text
    plan.write_text(text.replace(OLD_TITLE, NEW_TITLE, 1), encoding="utf-8")
    after = top / "after"
    build(plans, after, today=TODAY)
    return before, after


@pytest.fixture(scope="module", name="published")
def published_fixture(
    sites: tuple[Path, Path], endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A bucket the example site was published to, for tests that only look."""
    name = f"site-{uuid.uuid4().hex[:12]}"
    s3_client(endpoint).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"}
    )
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_test_aws(monkeypatch, tmp_path_factory.mktemp("aws"))
        assert publish_to(sites[0], endpoint, name).complete
    return name


def publish_to(site: Path, endpoint: str, name: str, **kwargs: Any) -> Published:
    return publish(site, Bucket(parse_target(f"s3://{name}/site"), endpoint), **kwargs)


def objects(endpoint: str, name: str, prefix: str = "site/") -> dict[str, str]:
    """What the bucket holds under the folder: name in the site -> ETag."""
    pages = s3_client(endpoint).get_paginator("list_objects_v2")
    found = {}
    for page in pages.paginate(Bucket=name, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"][len(prefix) :]] = item["ETag"].strip('"')
    return found


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def differing(before: Path, after: Path) -> tuple[set[str], set[str], set[str]]:
    """Files new in `after`, changed between the two, and gone from `after`."""
    old, new = site_files(before), site_files(after)
    changed = {n for n in set(old) & set(new) if old[n].read_bytes() != new[n].read_bytes()}
    return set(new) - set(old), changed, set(old) - set(new)


def md5_bytes(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()
