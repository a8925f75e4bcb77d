"""`publisher run` with PUBLISHER_PUBLISH_TO: each new build goes to the bucket before
anything is announced; a bucket that cannot take it holds the announcements back."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.service.publish import site_files
from tests.changes.gitplans import BASE_OPPORTUNITY
from tests.delivery.receivers import (  # noqa: F401 (fixtures, found by pytest by name)
    SmtpServer,
    smtp_server_fixture,
    start_smtp_server_fixture,
)
from tests.service.storage import (  # noqa: F401 (fixtures, found by pytest by name)
    aws_fixture,
    bucket_fixture,
    endpoint_fixture,
    md5,
    objects,
)
from tests.service.test_run import Plans
from tests.service.test_scheduler import Clock, subjects


@pytest.fixture
def at_endpoint(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The storage's address as a deployment gives it: the standard AWS variable."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    return endpoint


def test_each_build_is_published_before_it_is_announced(
    tmp_path: Path,
    smtp_server: SmtpServer,
    at_endpoint: str,
    bucket: str,
) -> None:
    plans = Plans(tmp_path, smtp_server, publish_to=f"s3://{bucket}/site")
    service = plans.service(Clock())
    try:
        assert service.sync(force=True) and service.notify()
        site = tmp_path / "feeds"
        assert objects(at_endpoint, bucket) == {n: md5(p) for n, p in site_files(site).items()}
        plans.opportunities.append({**BASE_OPPORTUNITY, "id": "new", "title": "Lunch clubs"})
        plans.write()
        assert service.sync()
        stored = objects(at_endpoint, bucket)
        assert stored == {n: md5(p) for n, p in site_files(site).items()}
        assert service.notify()
        assert subjects(smtp_server) == ["New opportunity: Lunch clubs"]
    finally:
        service.stop()


def test_a_bucket_that_cannot_take_the_site_holds_the_announcements_back(
    tmp_path: Path,
    smtp_server: SmtpServer,
    at_endpoint: str,
) -> None:
    plans = Plans(tmp_path, smtp_server, publish_to="s3://no-such-bucket/site")
    service = plans.service(Clock())
    try:
        assert service.sync(force=True) is False
        assert service.state.build_error == (
            "it could not go to s3://no-such-bucket/site: could not list what is in it: there "
            f"is no bucket 'no-such-bucket' (make it first, or check its name at {at_endpoint})"
        )
        assert service.health()["problems"] == ["the last build failed"]
        assert service.notify()
        assert smtp_server.messages == []
    finally:
        service.stop()
