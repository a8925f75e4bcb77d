"""Rules for where an email channel's addresses come from: members' addresses belong
outside git (a file on the server, or an environment variable), not in `to:`."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from publisher.plans.errors import FieldPath
from publisher.plans.model import EmailChannel
from publisher.plans.validate import Finding, error, warning

# More than this many addresses under `to:` looks like a members' list kept in git.
FEW = 3
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MOVE_THEM = (
    "Send to a mailing list's address, or put members' addresses in a file on the server "
    "(to_file: /etc/publisher/members.txt, one a line) or an environment variable "
    "(to_env: MEMBERS_EMAILS); each member then gets a message of their own. See "
    "docs/infrastructure-bodies.md."
)


def check(
    channel: EmailChannel, base: FieldPath, environ: Mapping[str, str] | None = None
) -> list[Finding]:
    environ = os.environ if environ is None else environ
    out: list[Finding] = []
    if len(channel.to) > FEW:
        out.append(
            warning(
                (*base, "to"),
                "many-addresses",
                f"This channel lists {len(channel.to)} addresses under to:. Everyone who can "
                "read the plans repository can read them.",
                MOVE_THEM,
            )
        )
    if channel.to_file is not None:
        path = Path(channel.to_file)
        if not path.is_absolute():
            out.append(
                warning(
                    (*base, "to_file"),
                    "relative-address-file",
                    f"to_file '{channel.to_file}' is not a full path, so it is looked for in the "
                    "folder the publisher happens to run in, which may be the plans repository.",
                    "Give the full path of a file outside the repository, like "
                    "/etc/publisher/members.txt.",
                )
            )
        elif path.is_file():
            # Where the file is here (the server), its addresses are checked; in a pull
            # request's check it is not there, which is as it should be.
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeError):
                lines = []
                out.append(
                    error((*base, "to_file"), "unreadable-address-file",
                          f"The address file {path} cannot be read as UTF-8 text.")
                )  # fmt: skip
            for number, line in enumerate(lines, start=1):
                address = line.split("#", 1)[0].strip()
                if address and not _EMAIL.fullmatch(address):
                    out.append(
                        error((*base, "to_file"), "bad-address",
                              f"Line {number} of {path}: '{address}' is not an email address.",
                              "One address a line; # starts a note.")
                    )  # fmt: skip
    if channel.to_env is not None and channel.to_env in environ:
        for address in re.split(r"[\s,;]+", environ[channel.to_env]):
            if address and not _EMAIL.fullmatch(address):
                out.append(
                    error((*base, "to_env"), "bad-address",
                          f"The variable {channel.to_env} holds '{address}', which is not an "
                          "email address.", "Separate addresses with commas, spaces or new lines.")
                )  # fmt: skip
    return out
