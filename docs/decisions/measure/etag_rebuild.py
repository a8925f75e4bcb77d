"""Which files a rebuild changes, and which it writes again unchanged (decision 0004).
Starlette's StaticFiles makes its ETag from the file's mtime and size, the publisher from
its content: a file written again with the same content keeps the publisher's ETag and
gets a new StaticFiles one.

    .venv/bin/python docs/decisions/measure/etag_rebuild.py --record SITE BEFORE.json
    (build again into SITE)
    .venv/bin/python docs/decisions/measure/etag_rebuild.py BEFORE.json SITE
"""

import hashlib
import json
import sys
from pathlib import Path


def state(site: Path) -> dict[str, tuple[str, str]]:
    """Each file's content digest and its (mtime, size), as StaticFiles' ETag uses them."""
    found = {}
    for path in site.rglob("*"):
        relative = path.relative_to(site)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            info = path.stat()
            digest = hashlib.blake2b(path.read_bytes(), digest_size=12).hexdigest()
            found[str(relative)] = (digest, f"{info.st_mtime}-{info.st_size}")
    return found


if sys.argv[1] == "--record":
    Path(sys.argv[3]).write_text(json.dumps(state(Path(sys.argv[2]))))
else:
    before = json.loads(Path(sys.argv[1]).read_text())
    after = state(Path(sys.argv[2]))
    both = [name for name in after if name in before]
    changed = [name for name in both if before[name][0] != after[name][0]]
    rewritten = [name for name in both if name not in changed and before[name][1] != after[name][1]]
    shared = ("rss", "atom", "ics", "json")
    feeds = [name for name in rewritten if name.rsplit(".", 1)[-1] in shared]
    print(
        f"{len(both)} files in both builds: {len(changed)} with new content (a new ETag "
        f"from both); {len(rewritten)} written again with the same content ({len(feeds)} of "
        f"them feeds, calendars and JSON): a new ETag from StaticFiles, the same from the "
        f"publisher"
    )
