"""`publisher publish` against a real S3-protocol server on loopback (moto's server mode):
only changed files go up, with the web app's Content-Type and Cache-Control; removed files
go only after the new ones are in; a reader never finds a file of the site missing."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from publisher.service import publish as publish_module
from publisher.service.bucket import Bucket, parse_target
from publisher.service.files import CONTENT_TYPES
from publisher.service.publish import Hashes, Published, Uploads, publish, site_files, waves
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


def test_a_file_a_build_linked_unchanged_is_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (old / "kept.html").write_text("the same")
    (old / "made.html").write_text("version 1")
    os.link(old / "kept.html", new / "kept.html")  # as the build links unchanged files
    (new / "made.html").write_text("version 2")
    hashes = Hashes()
    first = hashes.of(site_files(old))
    read: list[Path] = []

    def reading(path: Path) -> str:
        read.append(path)
        return md5(path)

    monkeypatch.setattr(publish_module, "md5_of", reading)
    second = hashes.of(site_files(new))
    assert read == [(new / "made.html").resolve()]
    assert second == {"kept.html": first["kept.html"], "made.html": md5_bytes(b"version 2")}


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


# --- stores whose ETags are not the MD5 of the content ---------------------------------------


class Sealed(Bucket):
    """A store that encrypts each object with keys of its own, as Amazon S3 does with
    SSE-KMS: its ETags look like an MD5 and are not the MD5 of the content (moto's are, so
    the store's answers are changed here: a fault the real server cannot make)."""

    @staticmethod
    def sealed(etag: str) -> str:
        return hashlib.sha256(f"sealed {etag}".encode()).hexdigest()[:32]

    def listing(self) -> dict[str, str]:
        return {name: self.sealed(etag) for name, etag in super().listing().items()}

    def put(self, name: str, *args: Any) -> str:
        return self.sealed(super().put(name, *args))


def sealed_publish(site: Path, endpoint: str, name: str, kept: Path | None) -> Published:
    """Publish to the sealed store, keeping what went up in `kept` (the sites here are two
    folders; a deployment publishes one, and keeps it beside that)."""
    bucket = Sealed(parse_target(f"s3://{name}/site"), endpoint)
    return publish(site, bucket, uploads=Uploads(kept))


def test_a_store_whose_etags_are_not_md5s_gets_only_the_changed_files_again(
    sites: tuple[Path, Path], endpoint: str, bucket: str, tmp_path: Path
) -> None:
    before, after = sites
    kept = tmp_path / "published.json"
    first = sealed_publish(before, endpoint, bucket, kept)
    assert sorted(first.uploaded) == sorted(site_files(before))
    added, changed, _ = differing(before, after)
    done = sealed_publish(after, endpoint, bucket, kept)
    assert done.complete
    assert sorted(done.uploaded) == sorted(added | changed)
    again = sealed_publish(after, endpoint, bucket, kept)
    assert (again.uploaded, again.unchanged) == ([], len(site_files(after)))
    # What kept it from uploading everything: the ETags the store gave. Without them every
    # file goes up again, as it did before they were kept.
    forgetful = sealed_publish(after, endpoint, bucket, None)
    assert sorted(forgetful.uploaded) == sorted(site_files(after))


def test_what_went_up_is_kept_beside_the_site(
    sites: tuple[Path, Path], endpoint: str, bucket: str
) -> None:
    site, _ = sites
    target = Sealed(parse_target(f"s3://{bucket}/site"), endpoint)
    assert publish(site, target).complete
    assert publish(site, target).uploaded == []
    kept = Uploads.beside(site, target)
    assert kept.path is not None and kept.path.parent.name == f".{site.name}.published"
    assert set(kept.known) == set(site_files(site))
    assert site.resolve() not in kept.path.parents  # beside the site, never published


def test_an_object_changed_by_anything_else_goes_up_again(
    sites: tuple[Path, Path], endpoint: str, bucket: str, tmp_path: Path
) -> None:
    site, _ = sites
    kept = tmp_path / "published.json"
    sealed_publish(site, endpoint, bucket, kept)
    s3_client(endpoint).put_object(Bucket=bucket, Key="site/all.rss", Body=b"tampered")
    done = sealed_publish(site, endpoint, bucket, kept)
    assert done.uploaded == ["all.rss"]
    assert objects(endpoint, bucket)["all.rss"] == md5(site / "all.rss")


def test_what_was_published_is_kept_even_when_it_cannot_be_read_back(
    sites: tuple[Path, Path], endpoint: str, bucket: str, tmp_path: Path
) -> None:
    site, _ = sites
    kept = tmp_path / "kept.json"
    kept.write_text("{not json")  # damaged: compared by MD5 alone, then written afresh
    done = publish_to(site, endpoint, bucket, uploads=Uploads(kept))
    assert done.complete
    assert set(Uploads(kept).known) == set(site_files(site))


def test_a_file_that_changes_while_it_goes_up_is_said_plainly(endpoint: str) -> None:
    """Each upload carries the MD5 the file had when it was hashed (Content-MD5), and S3
    refuses a body that differs (BadDigest): a file a build replaced meanwhile is never
    published under the old one's digest. moto does not check Content-MD5, so the store's
    refusal is made here; what the publisher says of it is what is tested."""
    bucket = Bucket(parse_target("s3://site-bucket/site"), endpoint)
    refused = ClientError(
        {"Error": {"Code": "BadDigest", "Message": "The Content-MD5 you specified did not match"}},
        "PutObject",
    )
    assert bucket.said(refused, "upload all.rss") == (
        "could not upload all.rss in s3://site-bucket/site/: the file changed while it was "
        "going up (did a build replace the site meanwhile? run it again)"
    )
