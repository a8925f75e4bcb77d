"""The site's objects in S3-compatible object storage, through boto3: list them with their
content hashes, put one, delete many; every failure a user can cause said in plain words.

Credentials come the standard AWS ways (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,
AWS_PROFILE and ~/.aws/credentials, a container or instance role); the endpoint from
--endpoint-url or AWS_ENDPOINT_URL, for storage other than Amazon's.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from publisher.settings import bucket_address_problem

DELETE_BATCH = 1000  # the most keys one DeleteObjects request may name
DENIED = frozenset(
    {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled", "403"}
)


class StorageError(Exception):
    """The storage cannot be used at all (no credentials, no bucket, no answer, no access);
    the message says so in plain words and what to do."""


@dataclass(frozen=True)
class Target:
    """Where the site goes: a bucket, and a folder in it ('' or ending in a slash)."""

    bucket: str
    prefix: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def parse_target(text: str) -> Target:
    """s3://BUCKET/PREFIX as a Target; ValueError with the reason when it is not one."""
    problem = bucket_address_problem(text)
    if problem:
        raise ValueError(problem)
    bucket, _, prefix = text.partition("://")[2].partition("/")
    prefix = prefix.strip("/")
    return Target(bucket, prefix + "/" if prefix else "")


def md5_of_etag(etag: str) -> str:
    """The MD5 an ETag may be: a single-part upload's, on most stores; '' for one uploaded
    in parts. (A store that encrypts with its own keys, such as Amazon's SSE-KMS, gives
    ETags that look like an MD5 and are not one: publish.Uploads tells those apart.)"""
    tag = etag.strip('"')
    return tag if re.fullmatch(r"[0-9a-f]{32}", tag) else ""


class Bucket:
    """One bucket and folder, as the site's publisher sees it: names are paths inside the
    site (opportunities/leeds/x.html), keys are those with the folder in front."""

    def __init__(
        self,
        target: Target,
        endpoint_url: str | None = None,
        *,
        attempts: int = 3,
        timeout: float = 30.0,
    ) -> None:
        self.target = target
        self.endpoint_url = endpoint_url
        try:
            session = boto3.session.Session()
            credentials = session.get_credentials()
        except ProfileNotFound as err:
            raise StorageError(
                f"the AWS profile {err.kwargs.get('profile')!r} (AWS_PROFILE) is not in your "
                "AWS config; name one that is, or unset AWS_PROFILE"
            ) from None
        if credentials is None:
            raise StorageError(
                "there are no AWS credentials to upload with. Set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, with ~/.aws/credentials) to a key "
                "that may write to the bucket"
            )
        config = Config(
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"max_attempts": attempts, "mode": "standard"},
            # Other S3-compatible stores take the bucket in the path, not the host name.
            s3={"addressing_style": "path"} if endpoint_url else None,
            # The newer default checksums are not known to every S3-compatible store; each
            # upload carries Content-MD5 instead, which they all check.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self.client: Any = session.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=session.region_name or "us-east-1",
            config=config,
        )

    @property
    def where(self) -> str:
        """The store and folder, as one string: which store's objects these are."""
        return f"{self.client.meta.endpoint_url} {self.target.url}"

    def key(self, name: str) -> str:
        return self.target.prefix + name

    def listing(self) -> dict[str, str]:
        """Every object in the folder: its name in the site -> its ETag, without quotes (the
        MD5 of its content only where the store makes it so: see `md5_of_etag`). The first
        call made, so it is where most failures show."""
        found: dict[str, str] = {}
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.target.bucket, Prefix=self.target.prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    name = item["Key"][len(self.target.prefix) :]
                    found[name] = item.get("ETag", "").strip('"')
        except (BotoCoreError, ClientError) as err:
            raise StorageError(self.said(err, "list what is in it")) from None
        return found

    def put(
        self, name: str, body: BinaryIO, md5: str, content_type: str, cache_control: str
    ) -> str:
        """Upload one file in one request, streamed from `body`, whose content has the MD5
        `md5` (hex): the store checks it (Content-MD5) and refuses a body that differs.
        Returns the object's new ETag, without quotes. Raises StorageError when the storage
        refuses or cannot be reached."""
        digest = base64.b64encode(bytes.fromhex(md5)).decode()
        try:
            answer = self.client.put_object(
                Bucket=self.target.bucket,
                Key=self.key(name),
                Body=body,
                ContentType=content_type,
                CacheControl=cache_control,
                ContentMD5=digest,
            )
        except (BotoCoreError, ClientError) as err:
            raise StorageError(self.said(err, f"upload {name}")) from None
        return str(answer.get("ETag", "")).strip('"')

    def delete(self, names: list[str]) -> dict[str, str]:
        """Delete these objects; those that could not be deleted -> why."""
        failed: dict[str, str] = {}
        for start in range(0, len(names), DELETE_BATCH):
            batch = names[start : start + DELETE_BATCH]
            try:
                answer = self.client.delete_objects(
                    Bucket=self.target.bucket,
                    Delete={"Objects": [{"Key": self.key(n)} for n in batch], "Quiet": True},
                )
            except (BotoCoreError, ClientError) as err:
                failed.update(dict.fromkeys(batch, self.said(err, "delete files")))
                continue
            for error in answer.get("Errors", []):
                name = error.get("Key", "")[len(self.target.prefix) :]
                failed[name] = error.get("Message") or error.get("Code") or "refused"
        return failed

    def said(self, err: Exception, doing: str) -> str:
        """What went wrong, in plain words, for a message that starts 'could not DOING: '."""
        where = self.target.url
        if isinstance(err, (NoCredentialsError, PartialCredentialsError)):
            return (
                f"could not {doing} in {where}: the AWS credentials are missing or incomplete "
                "(set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
            )
        if isinstance(err, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError)):
            endpoint = self.client.meta.endpoint_url
            return (
                f"could not {doing} in {where}: the storage at {endpoint} did not answer "
                "(is the address right, and is it running?)"
            )
        if isinstance(err, ClientError):
            error = err.response.get("Error", {})
            code = str(error.get("Code", ""))
            if code == "NoSuchBucket" or (code == "404" and doing.startswith("list")):
                return (
                    f"could not {doing}: there is no bucket '{self.target.bucket}' "
                    f"(make it first, or check its name{self._at()})"
                )
            if code == "BadDigest":
                return (
                    f"could not {doing} in {where}: the file changed while it was going up "
                    "(did a build replace the site meanwhile? run it again)"
                )
            if code in DENIED:
                return (
                    f"could not {doing} in {where}: access denied. The AWS key in use may "
                    "not do this; it needs s3:ListBucket, s3:PutObject and s3:DeleteObject "
                    "on the bucket"
                )
            told = error.get("Message", "")
            return f"could not {doing} in {where}: the storage said {code}: {told}"
        return f"could not {doing} in {where}: {err}"

    def _at(self) -> str:
        endpoint = str(self.client.meta.endpoint_url)
        return "" if endpoint.endswith(".amazonaws.com") else f" at {endpoint}"
