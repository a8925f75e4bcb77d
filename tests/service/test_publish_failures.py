"""`publisher publish`'s messages: what it did, and every failure said plainly (no
credentials, no bucket, no answer, access denied, a partial failure), never a traceback."""

from __future__ import annotations

import http.server
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from publisher.cli import main
from publisher.service.bucket import Bucket, StorageError
from publisher.service.publish import site_files
from publisher.settings import SettingsError, load_settings
from tests.service.storage import (  # noqa: F401 (fixtures, found by pytest by name)
    aws_fixture,
    bucket_fixture,
    differing,
    endpoint_fixture,
    md5,
    md5_bytes,
    objects,
    publish_to,
    published_fixture,
    s3_client,
    sites_fixture,
)

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


def test_an_aws_profile_that_is_not_there_is_named(
    sites: tuple[Path, Path],
    endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "publisher")
    code, _, err = run(
        capsys, "--site", str(sites[0]), "--to", "s3://site-bucket", "--endpoint-url", endpoint
    )
    assert (code, err) == (
        1,
        "publisher publish: the AWS profile 'publisher' (AWS_PROFILE) is not in your AWS "
        "config; name one that is, or unset AWS_PROFILE. Nothing was changed in "
        "s3://site-bucket/.\n",
    )


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
    def refusing_put(self: Bucket, name: str, *args: Any) -> str:
        if name == refused:
            raise StorageError(f"could not upload {name} in {self.target.url}: access denied")
        return real_put(self, name, *args)

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
