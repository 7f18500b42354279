"""The stored session file on its own: atomic 0600 writes, typed safe errors, damage moved aside."""

from __future__ import annotations

import errno
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sessionkeeper.session.events import SessionKind
from sessionkeeper.session.secrets import Secret
from sessionkeeper.session.store import MAX_BYTES, LoadResult, SessionStore, StoredSession, StoreError
from tests.files import refuse_open, refuse_unlink

WALL = 1_800_000_000.0
STAMP = datetime.fromtimestamp(WALL, tz=UTC).strftime("%Y%m%dT%H%M%SZ")
TOKEN = "tok-stored-secretvalue"
KEY = "key-stored-secretvalue"


def session(wall: float = WALL - 5, user: dict[str, object] | None = None) -> StoredSession:
    return StoredSession(
        SessionKind.USER, Secret(TOKEN), Secret(KEY), wall, dict(user or {"username": "ada"})
    )


def store_at(tmp_path: Path, scope: str = "") -> SessionStore:
    return SessionStore(tmp_path / "session.json", scope=scope, wall=lambda: WALL)


def watched(store: SessionStore) -> list[str | None]:
    told: list[str | None] = []
    store.watch(told.append)
    return told


# -- writing ------------------------------------------------------------------------------------------


def test_a_saved_session_reads_back_is_0600_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    store.save(session())
    assert stat.S_IMODE((tmp_path / "session.json").stat().st_mode) == 0o600
    assert not (tmp_path / "session.json.tmp").exists()
    assert store.read() == LoadResult(session())
    assert store.load() == session()  # the old way to ask still works
    assert store.error is None


def test_a_leftover_temporary_file_is_not_reused_nor_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("not the store's")
    (tmp_path / "session.json.tmp").symlink_to(victim)
    store_at(tmp_path).save(session())
    assert victim.read_text() == "not the store's"
    assert stat.S_IMODE((tmp_path / "session.json").stat().st_mode) == 0o600


@pytest.mark.parametrize("where", ["session.json.tmp", "session.json"])
def test_a_refused_write_raises_a_store_error_that_names_no_secret_and_is_told_once(
    tmp_path: Path, where: str
) -> None:
    store = store_at(tmp_path)
    told = watched(store)
    (tmp_path / where).mkdir()
    for _ in range(3):
        with pytest.raises(StoreError) as info:
            store.save(session())
        assert str(info.value) == "cannot write session.json: Is a directory"
        assert TOKEN not in str(info.value) and KEY not in str(info.value)
        assert isinstance(info.value.__cause__, OSError)
    assert store.error == "cannot write session.json: Is a directory"
    assert told == ["cannot write session.json: Is a directory"]
    (tmp_path / where).rmdir()
    store.save(session())
    store.save(session())
    assert store.error is None and told == ["cannot write session.json: Is a directory", None]


def test_a_full_disk_keeps_the_previous_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = store_at(tmp_path)
    store.save(session(wall=1.0))
    before = (tmp_path / "session.json").read_bytes()

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StoreError, match=r"^cannot write session\.json: No space left on device$"):
        store.save(session(wall=2.0))
    assert (tmp_path / "session.json").read_bytes() == before
    assert not (tmp_path / "session.json.tmp").exists()


def test_a_value_json_cannot_carry_is_a_store_error_that_quotes_nothing(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    store.save(session())
    before = (tmp_path / "session.json").read_bytes()
    for bad in (session(wall=float("nan")), session(user={"when": object()})):
        with pytest.raises(StoreError) as info:
            store.save(bad)
        assert str(info.value) == "cannot write session.json: the session holds a value JSON cannot carry"
        assert info.value.__cause__ is None and info.value.__suppress_context__
    assert (tmp_path / "session.json").read_bytes() == before


def test_a_session_too_large_to_read_back_is_never_written(tmp_path: Path) -> None:
    # Issue 16: a 1 MB token made a session.json the next start refused (read() stops at MAX_BYTES).
    store = store_at(tmp_path)
    store.save(session())
    before = (tmp_path / "session.json").read_bytes()
    huge = "t" * MAX_BYTES
    too_large = StoredSession(SessionKind.GUEST, Secret(huge), None, WALL - 5, {})
    with pytest.raises(StoreError) as info:
        store.save(too_large)
    assert str(info.value) == f"cannot write session.json: the session is larger than {MAX_BYTES} bytes"
    assert (tmp_path / "session.json").read_bytes() == before
    assert store.read().stored == session()


def test_watching_twice_with_the_same_callable_is_watching_once(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    told: list[str | None] = []
    store.watch(told.append)
    store.watch(told.append)
    (tmp_path / "session.json.tmp").mkdir()
    with pytest.raises(StoreError):
        store.save(session())
    assert len(told) == 1


# -- clearing -----------------------------------------------------------------------------------------


def test_clear_removes_the_file_and_a_leftover_and_minds_no_missing_file(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    store.clear()
    store.save(session())
    (tmp_path / "session.json.tmp").write_text(TOKEN)
    store.clear()
    assert list(tmp_path.iterdir()) == []
    assert store.error is None


def test_clear_never_raises_and_says_why_it_could_not_forget(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    told = watched(store)
    (tmp_path / "session.json").mkdir()
    (tmp_path / "session.json" / "x").write_text("in the way")
    store.clear()
    assert store.error == "cannot remove session.json: Is a directory"
    store.clear()
    assert told == ["cannot remove session.json: Is a directory"]
    (tmp_path / "session.json" / "x").unlink()
    (tmp_path / "session.json").rmdir()
    store.clear()
    assert store.error is None and told[-1] is None


def test_clear_empties_a_file_it_cannot_remove_which_then_reads_as_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = store_at(tmp_path)
    store.save(session())
    path = tmp_path / "session.json"
    refuse_unlink(monkeypatch, path)
    store.clear()
    assert path.read_bytes() == b"" and store.error is None
    assert store.read() == LoadResult(None)
    assert path.exists()  # an empty file is not damage: left alone


# -- reading ------------------------------------------------------------------------------------------


def test_nothing_stored_reads_as_none_without_a_reason(tmp_path: Path) -> None:
    assert store_at(tmp_path).read() == LoadResult(None)


def test_another_backends_session_is_ignored_and_left_untouched(tmp_path: Path) -> None:
    SessionStore(tmp_path / "session.json", scope="http://elsewhere").save(session())
    path = tmp_path / "session.json"
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    assert store_at(tmp_path, scope="http://here").read() == LoadResult(None, foreign=True)
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session.json"]


def test_a_newer_versions_session_is_ignored_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    path.write_text(json.dumps({"version": 2, "scope": "", "token": {"sealed": "x"}}))
    before = path.read_bytes()
    assert store_at(tmp_path).read() == LoadResult(None, foreign=True)
    assert path.read_bytes() == before


def test_an_unreadable_file_is_left_alone_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = store_at(tmp_path)
    store.save(session())
    path = tmp_path / "session.json"
    before = path.read_bytes()
    refuse_open(monkeypatch, path)
    assert store.read() == LoadResult(None, reason="cannot read session.json: Permission denied")
    monkeypatch.undo()
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\xff\xfe" + TOKEN.encode(), "not UTF-8 text"),
        (b"[]", "not a JSON object"),
        (b"null", "not a JSON object"),
        (b'{"version": 1, "token": "' + TOKEN.encode(), "not valid JSON"),
        (b'{"version": 1, "last_extension_wall": NaN}', "holds NaN or Infinity, which JSON does not allow"),
        (b'{"version": 1, "scope": 7}', "scope is not a string"),
        (b'{"version": "1"}', "unknown version"),
        (b'{"version": 1, "kind": ["user"]}', "kind is missing or unknown"),
        (b'{"version": 1, "kind": "user", "token": 5}', "token is not a non-empty string"),
        (
            b'{"version": 1, "kind": "user", "token": "t", "reauth_key": 5}',
            "reauth_key is neither null nor a non-empty string",
        ),
        (
            b'{"version": 1, "kind": "user", "token": "t", "last_extension_wall": true}',
            "last_extension_wall is not a finite number",
        ),
        (
            b'{"version": 1, "kind": "user", "token": "t", "last_extension_wall": 1e400}',
            "last_extension_wall is not a finite number",
        ),
        (
            b'{"version": 1, "kind": "user", "token": "t", "last_extension_wall": 1, "user": []}',
            "user is not an object",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b" " * (MAX_BYTES + 1), "too large to be a stored session"),
    ],
)
def test_a_damaged_file_reads_as_none_and_is_moved_aside_intact(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "session.json"
    path.write_bytes(content)
    path.chmod(0o644)
    result = store_at(tmp_path).read()
    moved = tmp_path / f"session.json.corrupt-{STAMP}"
    assert result == LoadResult(None, damaged=True, reason=reason, moved_to=moved)
    assert TOKEN not in reason
    assert moved.read_bytes() == content and not path.exists()
    assert stat.S_IMODE(moved.stat().st_mode) == 0o600  # it may hold a token


def test_the_time_in_the_name_is_the_callers_when_given(tmp_path: Path) -> None:
    (tmp_path / "session.json").write_bytes(b"null")
    result = store_at(tmp_path).read(now_wall=0.0)
    assert result.moved_to == tmp_path / "session.json.corrupt-19700101T000000Z"


def test_a_fifo_in_place_of_the_file_is_moved_aside_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "session.json")
    result = store_at(tmp_path).read()
    assert result.damaged and result.reason == "not a regular file"
    assert result.moved_to is not None and stat.S_ISFIFO(result.moved_to.lstat().st_mode)


def test_a_damaged_file_that_cannot_be_moved_is_left_in_place_and_said_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "session.json"
    path.write_bytes(b"[]")

    def refused(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(os, "rename", refused)
    result = store_at(tmp_path).read()
    assert result == LoadResult(
        None,
        damaged=True,
        reason="not a JSON object; left in place, cannot move it aside: Permission denied",
    )
    assert path.read_bytes() == b"[]"


def test_a_minimal_valid_file_reads_with_defaults(tmp_path: Path) -> None:
    (tmp_path / "session.json").write_text(
        json.dumps({"kind": "guest", "token": TOKEN, "last_extension_wall": 12, "extra": True})
    )
    stored = store_at(tmp_path).read().stored
    assert stored == StoredSession(SessionKind.GUEST, Secret(TOKEN), None, 12.0, {})
    assert stored is not None and isinstance(stored.last_extension_wall, float)


# -- nothing planted is read through (issue 16, item 4) ------------------------------------------------


def test_a_symlink_in_place_of_the_file_is_moved_aside_its_target_untouched_and_the_store_works(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "session.json"
    SessionStore(target).save(session())  # a real stored session, elsewhere: never read through
    target.chmod(0o644)
    before = target.read_bytes()
    data = tmp_path / "data"
    data.mkdir()
    (data / "session.json").symlink_to(target)
    store = store_at(data)
    moved = data / f"session.json.corrupt-{STAMP}"
    assert store.read() == LoadResult(None, damaged=True, reason="a symlink is in its place", moved_to=moved)
    assert moved.is_symlink() and os.readlink(moved) == str(target)
    assert target.read_bytes() == before and stat.S_IMODE(target.stat().st_mode) == 0o644
    store.save(session(wall=WALL))
    assert store.read() == LoadResult(session(wall=WALL))
    assert not (data / "session.json").is_symlink()
    assert stat.S_IMODE((data / "session.json").stat().st_mode) == 0o600
    assert target.read_bytes() == before and stat.S_IMODE(target.stat().st_mode) == 0o644


def test_a_symlink_to_nothing_is_moved_aside_too(tmp_path: Path) -> None:
    (tmp_path / "session.json").symlink_to(tmp_path / "nowhere")
    result = store_at(tmp_path).read()
    assert result.damaged and result.reason == "a symlink is in its place"
    assert result.moved_to is not None and result.moved_to.is_symlink()
    assert not (tmp_path / "nowhere").exists()


def test_a_stored_file_readable_by_others_is_made_0600_when_read(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    store.save(session())
    (tmp_path / "session.json").chmod(0o644)
    assert store.read() == LoadResult(session())
    assert stat.S_IMODE((tmp_path / "session.json").stat().st_mode) == 0o600
