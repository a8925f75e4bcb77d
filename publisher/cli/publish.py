"""`publisher publish`: upload the built site to S3-compatible object storage, for a CDN
to serve (publisher/service/publish.py does the work)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from publisher.cli import options
from publisher.cli.options import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from publisher.plans.errors import count

if TYPE_CHECKING:
    from publisher.cli.options import Commands
    from publisher.service.publish import Published
    from publisher.settings import Settings

SHOWN = 20  # files named in a message; the rest are counted


def add_publish(commands: Commands) -> None:
    command = commands.add_parser(
        "publish",
        help="upload the built site to S3-compatible object storage",
        description="Upload the site built in --site to object storage (Amazon S3 or any "
        "S3-compatible store) for a CDN to serve: only files whose content changed, each "
        "with the same Content-Type and Cache-Control the web app gives it. Files the new "
        "site no longer has are deleted only after every new file is in place, so a reader "
        "never finds one missing: the folder is the site's own, and anything else in it is "
        "deleted. Credentials come from the standard AWS variables "
        "(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE). Safe to run again "
        "after a failure: it uploads only what is still different.",
        parents=[options.site(), options.settings()],
    )
    command.add_argument(
        "--to",
        default=None,
        metavar="s3://BUCKET/FOLDER",
        help="where to upload it (default: the publish_to setting, PUBLISHER_PUBLISH_TO)",
    )
    command.add_argument(
        "--endpoint-url",
        default=None,
        metavar="URL",
        help="the storage's address, for stores other than Amazon's "
        "(default: AWS_ENDPOINT_URL, else Amazon S3)",
    )
    command.set_defaults(run=run_publish)


def run_publish(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    where = args.to or settings.publish_to
    if not where:
        print(
            "publisher publish: say where to upload the site: --to s3://BUCKET/FOLDER "
            "(or set PUBLISHER_PUBLISH_TO).",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if not (args.site / "index.html").is_file():
        print(
            f"publisher publish: there is no built site at '{args.site}'; "
            f"run 'publisher build --out {args.site}' first.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    # boto3 takes a third of a second to import: only this command pays for it.
    from publisher.service.bucket import Bucket, StorageError, parse_target  # noqa: PLC0415
    from publisher.service.publish import publish  # noqa: PLC0415

    try:
        target = parse_target(where)
    except ValueError as err:
        print(f"publisher publish: {err}.", file=sys.stderr)
        return EXIT_USAGE
    try:
        done = publish(args.site, Bucket(target, args.endpoint_url))
    except StorageError as err:
        print(
            f"publisher publish: {err}. Nothing was changed in {target.url}.",
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    for line in report(done, target.url):
        print(line, file=sys.stdout if done.complete else sys.stderr)
    return EXIT_OK if done.complete else EXIT_PROBLEMS


def report(done: Published, url: str) -> list[str]:
    """What a publish did, in plain words: a line when all went well, more when not."""
    said = (
        f"{count(len(done.uploaded), 'file')} uploaded, {done.unchanged} unchanged, "
        f"{len(done.deleted)} deleted"
    )
    if done.complete:
        return [f"Published the site to {url}: {said}."]
    lines = []
    if done.failed:
        lines.append(
            f"publisher publish: {count(len(done.failed), 'file')} could not be uploaded to {url}:"
        )
        lines += _named(done.failed)
        lines.append(
            f"Uploaded {count(len(done.uploaded), 'file')}. Nothing was deleted, so "
            "readers still find every file the last site had."
        )
    if done.kept:
        lines.append(
            f"publisher publish: every file is in place ({said}), but "
            f"{count(len(done.kept), 'old file')} could not be deleted:"
        )
        lines += _named(done.kept)
    lines.append(
        "It is safe to run 'publisher publish' again: it uploads only what is still "
        "different, and deletes what is left over."
    )
    return lines


def _named(why: dict[str, str]) -> list[str]:
    names = sorted(why)
    lines = [f"  {name}: {why[name]}" for name in names[:SHOWN]]
    if len(names) > SHOWN:
        lines.append(f"  and {len(names) - SHOWN} more")
    return lines
