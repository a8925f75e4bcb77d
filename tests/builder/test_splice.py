"""Files written so the next build can copy unchanged members from them: whatever changed
between two versions, the spliced file is byte for byte the whole new file."""

from __future__ import annotations

import hashlib
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from publisher.builder import splice
from publisher.formats.base import Layout


def _layout(members: list[bytes], head: bytes = b"HEAD[", sep: bytes = b",\n") -> Layout:
    digests = b"".join(hashlib.blake2b(m, digest_size=16).digest() for m in members)
    return Layout(head, digests, members, sep, b"]TAIL\n")


def _write_twice(tmp: Path, before: Layout, after: Layout) -> tuple[bytes, splice.Spans]:
    old, new = tmp / "old", tmp / "new"
    for path in (old, new):
        path.unlink(missing_ok=True)
    spans = splice.write(str(old), before)
    assert old.read_bytes() == before.whole()
    again = splice.write(str(new), after, str(old), spans)
    return new.read_bytes(), again


members = st.lists(st.binary(min_size=1, max_size=12), max_size=12)


@settings(max_examples=300, deadline=None)
@given(before=members, after=members, seps=st.sampled_from([b",\n", b"", b","]))
def test_any_change_splices_to_the_whole_new_file(
    tmp_path_factory, before: list[bytes], after: list[bytes], seps: bytes
) -> None:
    tmp = tmp_path_factory.mktemp("splice")
    old_layout, new_layout = _layout(before, sep=seps), _layout(after, b"NEW HEAD[", seps)
    written, spans = _write_twice(tmp, old_layout, new_layout)
    assert written == new_layout.whole()
    # What it says of itself is right for the build after: splice once more.
    newer = _layout([*after[1:], b"added"], sep=seps)
    third = tmp / "third"
    splice.write(str(third), newer, str(tmp / "new"), spans)
    assert third.read_bytes() == newer.whole()


def test_one_changed_member_is_copied_around(tmp_path: Path) -> None:
    before = [f"member {n}".encode() * 50 for n in range(1000)]
    after = list(before)
    after[500] = b"changed"
    written, spans = _write_twice(tmp_path, _layout(before), _layout(after))
    assert written == _layout(after).whole()
    assert spans.size == len(written)


def test_an_old_file_edited_since_is_not_copied_from(tmp_path: Path) -> None:
    before = _layout([b"a", b"b", b"c"])
    old = tmp_path / "old"
    spans = splice.write(str(old), before)
    old.write_bytes(b"edited by hand")
    after = _layout([b"a", b"b", b"d"])
    new = tmp_path / "new"
    splice.write(str(new), after, str(old), spans)
    assert new.read_bytes() == after.whole()
    missing = tmp_path / "newer"
    splice.write(str(missing), after, str(tmp_path / "gone"), spans)
    assert missing.read_bytes() == after.whole()


def test_without_kernel_copies_the_old_file_is_read_instead(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delattr("os.copy_file_range")  # as on macOS
    before = [f"member {n}".encode() for n in range(100)]
    after = [*before[:50], b"changed", *before[51:]]
    written, _ = _write_twice(tmp_path, _layout(before), _layout(after))
    assert written == _layout(after).whole()
