"""`publisher publish`: the built site to S3-compatible object storage, the way a static
site is served behind a CDN. Only files whose content changed are uploaded (compared by
MD5 with each object's ETag, or with the ETag the store gave this publisher's upload of
the same content: see `Uploads`), each with the Content-Type and Cache-Control the web
app gives it; files the new site no longer has are deleted only after every new and
changed file is in place, so a reader never finds a file missing."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from publisher.plans.errors import count
from publisher.service.bucket import Bucket, StorageError, md5_of_etag, parse_target
from publisher.service.files import CONTENT_TYPES, OTHER_TYPE, PAGE_MAX_AGE, STATIC_MAX_AGE

log = logging.getLogger("publisher")
WORKERS = 8  # uploads at once: a few hundred small files go up in seconds
# Told after each file is uploaded ("uploaded", name) and once before removed files are
# deleted ("deleting", ""): the command shows progress with it, tests look at the bucket.
Step = Callable[[str, str], None]


def content_type(name: str) -> str:
    """The Content-Type the web app serves this file with (service/files.py)."""
    return CONTENT_TYPES.get(os.path.splitext(name)[1].lower(), OTHER_TYPE)


def cache_control(name: str) -> str:
    """The Cache-Control the web app serves this file with (service/files.py)."""
    age = STATIC_MAX_AGE if name.startswith("static/") else PAGE_MAX_AGE
    return f"public, max-age={age}"


def site_files(site: Path) -> dict[str, Path]:
    """Every file the web app would serve from the site: its path in the site -> the file
    (hidden files and folders are never served, so never published)."""
    root = site.resolve()
    found: dict[str, Path] = {}
    for folder, folders, files in os.walk(root):
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        for file in files:
            if file.startswith("."):
                continue
            path = Path(folder, file)
            if path.is_file():
                found[path.relative_to(root).as_posix()] = path
    return found


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class Hashes:
    """Each file's MD5, remembered by its device, inode, size and modification time: a build links
    the files it did not change from the last site, so after the first publish only the
    files a build made again are read (the whole 2.2 GB benchmark site takes seconds)."""

    def __init__(self) -> None:
        self._known: dict[tuple[int, int, int, int], str] = {}

    def of(self, paths: dict[str, Path]) -> dict[str, str]:
        """Each file's MD5; what is remembered afterwards is these files' only."""
        found: dict[str, str] = {}
        kept: dict[tuple[int, int, int, int], str] = {}
        for name, path in paths.items():
            info = path.stat()
            key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
            found[name] = kept[key] = self._known.get(key) or md5_of(path)
        self._known = kept
        return found


class Uploads:
    """What this publisher last left in one folder of one store: each file's MD5 and the
    ETag the store gave it. Most stores make a file's ETag the MD5 of its content; one
    that encrypts with keys of its own (Amazon S3 with SSE-KMS or SSE-C, which many
    organisations require) gives ETags that look like an MD5 and are not one, and compared
    by MD5 alone every file would go up again at every publish (10 GB at England's size).
    An object whose ETag is the one the store gave for the same content is unchanged too.
    Kept in a file beside the site (`.feeds.published/`), for `publisher run` and
    `publisher publish` on this machine; an object changed by anything else gets a new
    ETag, and goes up again."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.known = self._read()
        self.now: dict[str, tuple[str, str]] = {}  # what this publish left: name -> both

    @classmethod
    def beside(cls, site: Path, bucket: Bucket) -> Uploads:
        root = site.resolve()
        where = hashlib.sha256(bucket.where.encode()).hexdigest()[:16]
        return cls(root.with_name(f".{root.name}.published") / f"{where}.json")

    def _read(self) -> dict[str, tuple[str, str]]:
        if self.path is None:
            return {}
        try:
            files = json.loads(self.path.read_bytes())["files"]
            return {str(name): (str(md5), str(etag)) for name, (md5, etag) in files.items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}  # missing or unreadable: compared by MD5 alone, as the first time

    def same(self, name: str, md5: str, etag: str) -> bool:
        """Whether the object with `etag` holds the content with `md5`."""
        return md5_of_etag(etag) == md5 or self.known.get(name) == (md5, etag)

    def save(self) -> None:
        """Keep what this publish left. A folder we cannot write to costs only uploads."""
        if self.path is None:
            return
        body = json.dumps({"files": self.now}, separators=(",", ":"), sort_keys=True)
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(exist_ok=True)
            partial.write_text(body, encoding="utf-8")
            partial.replace(self.path)
        except OSError as err:
            log.warning("Could not keep what was published in %s: %s", self.path, err)
            partial.unlink(missing_ok=True)


def rank(name: str) -> int:
    """When a file goes up: what others link to first (static files and notices), then the
    lists and feeds that link to them, the home pages last."""
    if name.startswith(("static/", "opportunities/")):
        return 0
    if name == "index.html" or name.endswith("/index.html"):
        return 2
    return 1


def waves(names: list[str]) -> list[list[str]]:
    """The files to upload, in groups by rank: each group goes up once the one before it is
    all in place."""
    grouped: dict[int, list[str]] = {}
    for name in sorted(names):
        grouped.setdefault(rank(name), []).append(name)
    return [grouped[r] for r in sorted(grouped)]


@dataclass
class Published:
    """What one publish did."""

    uploaded: list[str] = field(default_factory=list)
    unchanged: int = 0
    deleted: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # not uploaded -> why
    kept: dict[str, str] = field(default_factory=dict)  # not deleted -> why

    @property
    def complete(self) -> bool:
        return not self.failed and not self.kept


def publish(
    site: Path,
    bucket: Bucket,
    *,
    workers: int = WORKERS,
    on_step: Step | None = None,
    hashes: Hashes | None = None,
    uploads: Uploads | None = None,  # default: kept beside the site
) -> Published:
    """Make the bucket's folder hold exactly the site: upload what is new or changed, then
    delete what the site no longer has. Raises StorageError when the storage cannot be used
    at all (nothing has changed there then); a file that fails is reported, not raised, and
    while any has failed nothing is deleted."""
    local = site_files(site)
    remote = bucket.listing()
    digests = (hashes or Hashes()).of(local)
    uploads = uploads if uploads is not None else Uploads.beside(site, bucket)
    done = Published()
    changed = []
    for name in local:
        etag = remote.get(name)
        if etag is not None and uploads.same(name, digests[name], etag):
            done.unchanged += 1
            uploads.now[name] = (digests[name], etag)
        else:
            changed.append(name)
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for wave in waves(changed):
                futures = {
                    pool.submit(_upload, bucket, name, local[name], digests[name]): name
                    for name in wave
                }
                for future in as_completed(futures):
                    name = futures[future]
                    etag, problem = future.result()
                    if problem:
                        done.failed[name] = problem
                        continue
                    done.uploaded.append(name)
                    uploads.now[name] = (digests[name], etag)
                    if on_step:
                        on_step("uploaded", name)
    finally:
        uploads.save()  # what did go up is known next time, even after a failure
    if done.failed:
        return done  # the old files stay until every new one is in place
    removed = sorted(set(remote) - set(local))
    if removed:
        if on_step:
            on_step("deleting", "")
        done.kept = bucket.delete(removed)
        done.deleted = [name for name in removed if name not in done.kept]
    return done


def _upload(bucket: Bucket, name: str, path: Path, md5: str) -> tuple[str, str | None]:
    """Upload one file, streamed (not read whole into memory: the biggest are some 90 MB at
    England's size, and eight go up at once); its new ETag, or why it failed."""
    try:
        with path.open("rb") as body:
            return bucket.put(name, body, md5, content_type(name), cache_control(name)), None
    except OSError as err:
        return "", (
            f"could not read {path}: {err.strerror or err} (did a build replace the site "
            "meanwhile? run it again)"
        )
    except StorageError as err:
        return "", str(err)


HASHES = Hashes()  # `publisher run` publishes again and again from one process


def after_build(site: Path, address: str) -> str | None:
    """`publisher run`'s upload after each build (PUBLISHER_PUBLISH_TO): None once the bucket
    holds the new site, else why not, in plain words. The storage's address, when it is not
    Amazon's, comes from AWS_ENDPOINT_URL."""
    try:
        done = publish(site, Bucket(parse_target(address)), hashes=HASHES)
    except (StorageError, ValueError) as err:
        return str(err)
    if done.failed:
        name = min(done.failed)
        return (
            f"{count(len(done.failed), 'file')} could not be uploaded ({name}: "
            f"{done.failed[name]}); nothing was deleted"
        )
    log.info(
        "Published the site to %s: %s uploaded, %d unchanged, %d deleted%s.",
        address,
        count(len(done.uploaded), "file"),
        done.unchanged,
        len(done.deleted),
        f" ({len(done.kept)} old files could not be deleted; tried again next time)"
        if done.kept
        else "",
    )
    return None
