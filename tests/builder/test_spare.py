"""The site before last as the next build's staging folder (builder/spare.py): a build with
a spare makes the same site as a build from scratch, touches only what changed, removes
what the new site no longer has, and never writes into a file the site being served shares
with the spare."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from publisher.builder import cache
from publisher.builder.site import build
from tests.builder.sites import tree as _tree
from tests.changes.gitplans import PlanRepo
from tests.formats.examples import ROOT

PLANS = ROOT / "plans"
TODAY = dt.date(2026, 11, 23)


def _folders(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_dir())


def _without_spare(plans: Path, out: Path, today: dt.date) -> None:
    """A build as before there were spares: from an empty folder, linking every file."""
    shutil.rmtree(out.with_name(f".{out.name}.spare"), ignore_errors=True)
    build(plans, out, today=today)


def test_builds_into_the_spare_make_what_builds_without_one_make(tmp_path: Path) -> None:
    plans = tmp_path / "plans"
    shutil.copytree(PLANS, plans)
    out, other = tmp_path / "feeds", tmp_path / "other"
    spare = tmp_path / ".feeds.spare"

    def both(today: dt.date) -> None:
        build(plans, out, today=today)
        _without_spare(plans, other, today)
        assert _tree(out) == _tree(other)
        assert _folders(out) == _folders(other)  # no folder left empty

    both(TODAY)
    assert not spare.exists()  # nothing replaced yet
    leeds = plans / "leeds-city-council.yaml"
    leeds.write_text(leeds.read_text().replace("title: ", "title: Revised ", 1))
    both(TODAY)
    assert spare.is_dir()  # the first site
    served = _tree(out)
    spare_inode = spare.stat().st_ino

    (plans / "kirklees-council.yaml").unlink()  # its transparency page and list go
    both(TODAY + dt.timedelta(days=1))
    assert out.stat().st_ino == spare_inode  # the spare was brought up to date, swapped in
    # The site it replaced (now the spare) is as it was served: nothing was written
    # through a file the two shared.
    assert _tree(spare) == served
    both(TODAY + dt.timedelta(days=2))
    shutil.copy(PLANS / "kirklees-council.yaml", plans / "kirklees-council.yaml")
    both(TODAY + dt.timedelta(days=2))


def test_a_build_into_the_spare_links_only_what_changed(tmp_path: Path) -> None:
    repo = PlanRepo(tmp_path / "repo")
    shutil.copy(PLANS / "wakefield-council.yaml", repo.plans / "wakefield-council.yaml")
    repo.commit("2026-09-01", "first plans")
    out = tmp_path / "feeds"
    for _ in range(3):  # the third build is into the spare
        build(repo.plans, out, today=TODAY)
    folder = cache.folder_for(out.resolve())
    manifest = cache.load_manifest(folder, out.resolve())
    assert manifest is not None and manifest.spare is not None
    assert manifest.written == frozenset()  # nothing written: everything was in place
    assert manifest.paths == frozenset(_tree(out))


def test_a_spare_the_manifest_does_not_describe_is_not_used(tmp_path: Path) -> None:
    out = tmp_path / "feeds"
    build(PLANS, out, today=TODAY)
    build(PLANS, out, today=TODAY)
    spare = tmp_path / ".feeds.spare"
    shutil.rmtree(spare)
    spare.mkdir()  # another folder by that name: not the one the manifest names
    (spare / "stray.html").write_text("not ours")
    build(PLANS, out, today=TODAY + dt.timedelta(days=1))
    assert not (out / "stray.html").exists()
    other = tmp_path / "other"
    build(PLANS, other, today=TODAY)
    build(PLANS, other, today=TODAY)
    _without_spare(PLANS, other, TODAY + dt.timedelta(days=1))
    assert _tree(out) == _tree(other)
