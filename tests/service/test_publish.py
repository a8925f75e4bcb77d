"""`publisher publish` against a real S3-protocol server on loopback (moto's server mode):
only changed files go up, with the web app's Content-Type and Cache-Control; removed files
go only after the new ones are in; a reader never finds a file of the site missing; every
failure is said plainly."""

from __future__ import annotations

import hashlib
import http.server
import logging
import shutil
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from publisher.builder.site import build
from publisher.cli import main
from publisher.service.bucket import Bucket, StorageError, parse_target
from publisher.service.files import CONTENT_TYPES
from publisher.service.publish import Published, publish, site_files, waves
from publisher.settings import SettingsError, load_settings
from tests.formats.examples import ROOT, TODAY

CHANGED_PLAN = "calderdale-council.yaml"
OLD_TITLE = "title: Community anchor organisations for Calderdale's towns"
NEW_TITLE = "title: Community anchor organisations for Calderdale's towns and villages"


# --- the parts: an S3 server, the example site built twice --------------------------------


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
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


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_test_aws(monkeypatch, tmp_path)


def s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="eu-west-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def bucket(endpoint: str) -> str:
    """A new, empty bucket for each test."""
    name = f"site-{uuid.uuid4().hex[:12]}"
    s3_client(endpoint).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"}
    )
    return name


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
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


@pytest.fixture(scope="module")
def published(
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


# --- what is uploaded ------------------------------------------------------------------------


def test_the_whole_site_goes_up_with_each_file_as_it_is(
    sites: tuple[Path, Path], endpoint: str, bucket: str
) -> None:
    site, _ = sites
    done = publish_to(site, endpoint, bucket)
    local = site_files(site)
    assert done.complete
    assert sorted(done.uploaded) == sorted(local)
    assert (done.unchanged, done.deleted) == (0, [])
    # The bucket holds exactly the site, each object's ETag the MD5 of the file's content.
    assert objects(endpoint, bucket) == {name: md5(path) for name, path in local.items()}


def test_the_second_publish_after_one_change_uploads_only_the_changed_files(
    sites: tuple[Path, Path], endpoint: str, bucket: str
) -> None:
    before, after = sites
    publish_to(before, endpoint, bucket)
    added, changed, removed = differing(before, after)
    assert changed, "the changed title should change the notice, lists and feeds"
    done = publish_to(after, endpoint, bucket)
    assert done.complete
    assert sorted(done.uploaded) == sorted(added | changed)
    assert sorted(done.deleted) == sorted(removed)
    assert done.unchanged == len(site_files(after)) - len(added | changed)
    assert len(done.uploaded) < len(site_files(after)) / 2  # not the whole site again
    local = site_files(after)
    assert objects(endpoint, bucket) == {name: md5(path) for name, path in local.items()}
    # And once more with nothing changed: nothing goes up, nothing is deleted.
    again = publish_to(after, endpoint, bucket)
    assert (again.uploaded, again.deleted, again.unchanged) == ([], [], len(local))


def test_only_the_folder_named_is_touched(
    sites: tuple[Path, Path], endpoint: str, bucket: str
) -> None:
    client = s3_client(endpoint)
    client.put_object(Bucket=bucket, Key="other/keep.html", Body=b"not ours")
    client.put_object(Bucket=bucket, Key="site/left-over.html", Body=b"an old file")
    done = publish_to(sites[0], endpoint, bucket)
    assert done.deleted == ["left-over.html"]
    assert objects(endpoint, bucket, "other/") == {"keep.html": md5_bytes(b"not ours")}


def md5_bytes(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


@pytest.mark.parametrize(
    ("name", "content_type", "max_age"),
    [
        ("index.html", CONTENT_TYPES[".html"], 300),
        ("all.rss", "application/rss+xml; charset=utf-8", 300),
        ("all.atom", "application/atom+xml; charset=utf-8", 300),
        ("all.ics", "text/calendar; charset=utf-8", 300),
        ("all.json", "application/json", 300),
        ("opportunities/calderdale-council/calderdale-community-anchors.html", None, 300),
    ],
)
def test_each_file_has_the_content_type_and_caching_the_web_app_gives_it(
    sites: tuple[Path, Path],
    endpoint: str,
    published: str,
    name: str,
    content_type: str | None,
    max_age: int,
) -> None:
    site, _ = sites
    head = s3_client(endpoint).head_object(Bucket=published, Key=f"site/{name}")
    assert head["ContentType"] == (content_type or "text/html; charset=utf-8")
    assert head["CacheControl"] == f"public, max-age={max_age}"
    assert head["ETag"].strip('"') == md5(site / name)


def test_static_files_are_kept_a_day(
    sites: tuple[Path, Path], endpoint: str, published: str
) -> None:
    site, _ = sites
    static = [name for name in site_files(site) if name.startswith("static/")]
    css = next(name for name in static if name.endswith(".css"))
    head = s3_client(endpoint).head_object(Bucket=published, Key=f"site/{css}")
    assert head["CacheControl"] == "public, max-age=86400"
    assert head["ContentType"] == "text/css; charset=utf-8"


def test_notices_go_up_before_the_lists_and_home_pages_last() -> None:
    names = ["index.html", "all.rss", "opportunities/a/b.html", "place/leeds/index.html"]
    assert waves(names) == [
        ["opportunities/a/b.html"],
        ["all.rss"],
        ["index.html", "place/leeds/index.html"],
    ]


# --- a reader during the publish -------------------------------------------------------------


def test_a_reader_during_the_publish_never_finds_a_file_missing(
    sites: tuple[Path, Path], endpoint: str, bucket: str
) -> None:
    before, after = sites
    publish_to(before, endpoint, bucket)
    added, changed, removed = differing(before, after)
    old = set(site_files(before))
    old_md5 = {name: md5(path) for name, path in site_files(before).items()}
    new_md5 = {name: md5(path) for name, path in site_files(after).items()}
    reader = s3_client(endpoint)
    problems: list[str] = []
    rounds = [0]
    stop = threading.Event()
    round_done = threading.Condition()

    def read_all(names: set[str], fetch: set[str]) -> None:
        """List the folder: every file in `names` must be listed. Fetch those in `fetch`: each
        must be there, as the old version or the new one."""
        listed = set(objects(endpoint, bucket))
        problems.extend(f"{name} not listed" for name in names - listed)
        for name in sorted(fetch):
            try:
                body = reader.get_object(Bucket=bucket, Key=f"site/{name}")["Body"].read()
            except ClientError as err:
                problems.append(f"{name}: {err.response['Error']['Code']}")
                continue
            if md5_bytes(body) not in {old_md5.get(name), new_md5.get(name)}:
                problems.append(f"{name}: neither the old nor the new file")

    def keep_reading() -> None:
        # Files in both sites must never be missing, however the reads and writes interleave;
        # the ones being replaced are fetched too.
        while not stop.is_set():
            read_all(old - removed, changed)
            with round_done:
                rounds[0] += 1
                round_done.notify_all()

    steps: list[str] = []

    def on_step(kind: str, name: str) -> None:
        steps.append(kind)
        if kind == "uploaded" and len(steps) == 1:
            # Let the reader thread make whole rounds while the publish is under way.
            with round_done:
                seen = rounds[0]
                round_done.wait_for(lambda: rounds[0] >= seen + 2, timeout=60)
        if kind == "deleting":
            read_all(old, removed)  # right before the deletions, the removed files are there
        elif len(steps) % 5 == 0:
            read_all(old, set())

    thread = threading.Thread(target=keep_reading, daemon=True)
    thread.start()
    try:
        done = publish_to(after, endpoint, bucket, on_step=on_step, workers=2)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert done.complete
    assert rounds[0] >= 2, "the reader made no whole round during the publish"
    assert problems == []
    assert steps.count("uploaded") == len(added | changed)
    assert steps[-1] == ("deleting" if removed else "uploaded")


# --- failures, said plainly ------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["publish", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_publishes_and_says_what_it_did(
    sites: tuple[Path, Path], endpoint: str, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    site = sites[0]
    code, out, err = run(
        capsys, "--site", str(site), "--to", f"s3://{bucket}/site", "--endpoint-url", endpoint
    )
    total = len(site_files(site))
    assert (code, err) == (0, "")
    assert out == (
        f"Published the site to s3://{bucket}/site/: {total} files uploaded, 0 unchanged, "
        "0 deleted.\n"
    )
    code, out, _ = run(
        capsys, "--site", str(site), "--to", f"s3://{bucket}/site", "--endpoint-url", endpoint
    )
    assert out.endswith(f": 0 files uploaded, {total} unchanged, 0 deleted.\n")


def test_no_credentials_is_said_plainly(
    sites: tuple[Path, Path],
    endpoint: str,
    bucket: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, _, err = run(
        capsys, "--site", str(sites[0]), "--to", f"s3://{bucket}", "--endpoint-url", endpoint
    )
    assert code == 1
    assert err.startswith("publisher publish: there are no AWS credentials to upload with.")
    assert "AWS_ACCESS_KEY_ID" in err
    assert "Traceback" not in err
    assert objects(endpoint, bucket, "") == {}


def test_a_missing_bucket_is_named(
    sites: tuple[Path, Path], endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "--site", str(sites[0]), "--to", "s3://no-such-bucket/x", "--endpoint-url", endpoint
    )
    assert code == 1
    assert err == (
        "publisher publish: could not list what is in it: there is no bucket "
        f"'no-such-bucket' (make it first, or check its name at {endpoint}). "
        "Nothing was changed in s3://no-such-bucket/x/.\n"
    )


def test_storage_that_does_not_answer_is_named(
    sites: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as closed:  # a port with nothing listening
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"
    code, _, err = run(
        capsys, "--site", str(sites[0]), "--to", "s3://site-bucket", "--endpoint-url", nowhere
    )
    assert code == 1
    assert err.startswith(
        "publisher publish: could not list what is in it in s3://site-bucket/: the storage "
        f"at {nowhere} did not answer"
    )


class _Denying(http.server.BaseHTTPRequestHandler):
    """An S3 endpoint whose every answer is 403 AccessDenied, as S3 sends it."""

    def _deny(self) -> None:
        body = b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
        self.send_response(403)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _deny  # noqa: N815 (http.server's names)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_access_denied_is_said_plainly(
    sites: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Denying)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        code, _, err = run(
            capsys, "--site", str(sites[0]), "--to", "s3://site-bucket", "--endpoint-url", url
        )
    finally:
        server.shutdown()
        server.server_close()
    assert code == 1
    assert err.startswith(
        "publisher publish: could not list what is in it in s3://site-bucket/: access denied."
    )
    assert "s3:PutObject" in err


def test_a_partial_failure_says_what_went_up_deletes_nothing_and_can_be_run_again(
    sites: tuple[Path, Path],
    endpoint: str,
    bucket: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before, after = sites
    publish_to(before, endpoint, bucket)
    added, changed, removed = differing(before, after)
    refused = sorted(added | changed)[0]
    real_put = Bucket.put

    # A store that refuses one file part-way (a fault a real server will not make on cue).
    def refusing_put(self: Bucket, name: str, *args: Any) -> None:
        if name == refused:
            raise StorageError(f"could not upload {name} in {self.target.url}: access denied")
        real_put(self, name, *args)

    monkeypatch.setattr(Bucket, "put", refusing_put)
    args = ["--site", str(after), "--to", f"s3://{bucket}/site", "--endpoint-url", endpoint]
    code, out, err = run(capsys, *args)
    assert code == 1
    assert err.startswith(
        f"publisher publish: 1 file could not be uploaded to s3://{bucket}/site/:\n"
        f"  {refused}: could not upload {refused} in s3://{bucket}/site/: access denied\n"
        f"Uploaded {len(added | changed) - 1} files. Nothing was deleted, so readers still "
        "find every file the last site had.\n"
    )
    assert "It is safe to run 'publisher publish' again" in err
    assert set(objects(endpoint, bucket)) >= set(site_files(before))  # nothing deleted
    monkeypatch.setattr(Bucket, "put", real_put)
    code, out, err = run(capsys, *args)
    assert (code, err) == (0, "")
    assert out.startswith(f"Published the site to s3://{bucket}/site/: 1 file uploaded, ")
    assert out.endswith(f", {len(removed)} deleted.\n")


def test_a_bucket_address_that_is_not_one_is_explained(
    sites: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--site", str(sites[0]), "--to", "https://example.org/x")
    assert code == 2
    assert err.startswith(
        "publisher publish: 'https://example.org/x' is not a bucket address we can use; "
        "write it like s3://my-bucket"
    )


def test_without_a_site_or_a_place_to_put_it_the_command_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--site", str(tmp_path / "feeds"), "--to", "s3://site-bucket")
    assert (code, err) == (
        2,
        f"publisher publish: there is no built site at '{tmp_path / 'feeds'}'; "
        f"run 'publisher build --out {tmp_path / 'feeds'}' first.\n",
    )
    code, _, err = run(capsys, "--site", str(tmp_path))
    assert code == 2
    assert "--to s3://BUCKET/FOLDER (or set PUBLISHER_PUBLISH_TO)" in err


def test_the_publish_to_setting_is_checked() -> None:
    assert load_settings({"PUBLISHER_PUBLISH_TO": "s3://my-bucket/site"}).publish_to == (
        "s3://my-bucket/site"
    )
    with pytest.raises(SettingsError) as raised:
        load_settings({"PUBLISHER_PUBLISH_TO": "s3://My_Bucket"})
    assert str(raised.value).startswith(
        "PUBLISHER_PUBLISH_TO: 's3://My_Bucket' is not a bucket address we can use"
    )
