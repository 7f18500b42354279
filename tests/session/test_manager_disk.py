"""The manager when the disk misbehaves: nothing lost, no call failed, every problem on the timeline.

Real files in tmp_path, the real manager, the in-memory backend. A disk that refuses writes (a
directory in the way, a full disk) never fails an accepted call, a sign-out or close(); the failure
is recorded once (`session_store_failed`) until a save works again (`session_store_recovered`), and
`persistence_problem` says why meanwhile. A damaged stored session reads as none: the file is moved
aside, intact, reported once (`session_store_corrupt`), and a new guest session starts.
"""

from __future__ import annotations

import errno
import json
import math
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sessionkeeper.session.clock import FakeClock, QAClock
from sessionkeeper.session.events import SessionKind
from sessionkeeper.session.manager import SessionManager
from sessionkeeper.session.secrets import Secret
from sessionkeeper.session.store import SessionStore, StoredSession
from sessionkeeper.session.timeline import Timeline
from tests.files import refuse_open, refuse_unlink
from tests.session.fake_backend import FakeBackend
from tests.session.managers import PASSWORD, TTL, make_manager

WALL = 1_800_000_000.0
STAMP = datetime.fromtimestamp(WALL, tz=UTC).strftime("%Y%m%dT%H%M%SZ")
FILE_SECRET = "tok-from-the-file-secretvalue"
KEY_SECRET = "key-from-the-file-secretvalue"


async def accepted_call(mgr: SessionManager, backend: FakeBackend) -> None:
    """One call the server accepts, reported as the middleware reports it."""
    ticket = await mgr.acquire()
    mgr.sent(ticket, "GET /api/thing")
    assert backend.call(ticket.token)
    mgr.accepted(ticket, "GET /api/thing")


def names(mgr: SessionManager) -> list[str]:
    return mgr.timeline.names()


def entries(mgr: SessionManager, name: str) -> list[dict[str, object]]:
    return [entry.detail for entry in mgr.timeline if entry.name == name]


def stored_token(tmp_path: Path) -> str:
    data = json.loads((tmp_path / "session.json").read_text())
    assert isinstance(data, dict)
    token = data["token"]
    assert isinstance(token, str)
    return token


def timeline_text(mgr: SessionManager, tmp_path: Path) -> str:
    path = tmp_path / "timeline.jsonl"
    return (path.read_text() if path.is_file() else "") + repr(list(mgr.timeline))


def block(tmp_path: Path, where: str) -> Path:
    """Put a directory (not empty) where the store has to write a file."""
    path = tmp_path / where
    if path.is_file():
        path.unlink()
    path.mkdir()
    (path / "something").write_text("in the way")
    return path


def unblock(path: Path) -> None:
    (path / "something").unlink()
    path.rmdir()


# -- item 5: a disk that refuses writes never fails a call -------------------------------------------


@pytest.mark.parametrize("where", ["session.json.tmp", "session.json"])
async def test_a_directory_in_the_way_fails_no_call_is_reported_once_and_recovers_at_the_next_save(
    tmp_path: Path, where: str
) -> None:
    mgr, backend, clock = make_manager(tmp_path)
    assert mgr.persistence_problem is None  # no save tried yet
    await mgr.start()
    obstacle = block(tmp_path, where)

    for _ in range(4):  # each past the 15 s throttle: each one tries to write, and fails
        clock.advance(20)
        await accepted_call(mgr, backend)

    assert mgr.view().remaining_s == TTL  # the session went on: the deadline moved on every call
    assert names(mgr).count("session_store_failed") == 1
    assert entries(mgr, "session_store_failed") == [{"error": "cannot write session.json: Is a directory"}]
    assert mgr.persistence_problem == "cannot write session.json: Is a directory"
    assert "session_store_recovered" not in names(mgr)

    unblock(obstacle)
    clock.advance(1)  # inside the 15 s throttle window of the failed attempt: retried all the same
    await accepted_call(mgr, backend)

    assert names(mgr).count("session_store_recovered") == 1
    assert names(mgr).index("session_store_recovered") > names(mgr).index("session_store_failed")
    assert mgr.persistence_problem is None
    path = tmp_path / "session.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert mgr._token is not None and stored_token(tmp_path) == mgr._token.reveal()
    assert not (tmp_path / "session.json.tmp").exists()
    # The failure is in the file too, and nothing in it is a secret.
    lines = [json.loads(line) for line in (tmp_path / "timeline.jsonl").read_text().splitlines()]
    assert [line["event"] for line in lines].count("session_store_failed") == 1
    assert not [t for t in backend.tokens if t in timeline_text(mgr, tmp_path)]


async def test_a_failing_save_is_retried_inside_the_throttle_window_after_a_token_change(
    tmp_path: Path,
) -> None:
    mgr, backend, clock = make_manager(tmp_path)
    await mgr.start()
    obstacle = block(tmp_path, "session.json.tmp")
    clock.advance(2)
    await mgr.login("ada", Secret(PASSWORD))  # a new token: saved at once, and that fails
    assert mgr.signed_in and mgr.persistence_problem is not None
    unblock(obstacle)
    clock.advance(1)  # 3 s after the last good save: an extension alone would be throttled
    await accepted_call(mgr, backend)
    assert mgr.persistence_problem is None and names(mgr).count("session_store_recovered") == 1
    data = json.loads((tmp_path / "session.json").read_text())
    assert data["kind"] == "user" and mgr._token is not None and data["token"] == mgr._token.reveal()


@pytest.mark.parametrize("call", ["fsync", "replace"])
async def test_a_full_disk_fails_no_call_keeps_the_old_file_and_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    mgr, backend, clock = make_manager(tmp_path)
    await mgr.start()
    before = (tmp_path / "session.json").read_bytes()

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(os, call, full)
        await mgr.login("ada", Secret(PASSWORD))
        for _ in range(3):
            clock.advance(20)
            await accepted_call(mgr, backend)

    assert mgr.signed_in and mgr.view().remaining_s == TTL
    assert mgr.persistence_problem == "cannot write session.json: No space left on device"
    assert names(mgr).count("session_store_failed") == 1
    # Atomic: the file still holds the guest session it held, and no half-written copy is left.
    assert (tmp_path / "session.json").read_bytes() == before
    assert not (tmp_path / "session.json.tmp").exists()

    clock.advance(1)
    await accepted_call(mgr, backend)  # the disk has room again: written at once, no throttle
    assert mgr.persistence_problem is None and names(mgr).count("session_store_recovered") == 1
    assert json.loads((tmp_path / "session.json").read_text())["kind"] == "user"


async def test_sign_out_with_an_unwritable_store_does_not_raise_and_is_reported(tmp_path: Path) -> None:
    mgr, _, _ = make_manager(tmp_path)
    await mgr.start()
    await mgr.login("ada", Secret(PASSWORD))
    block(tmp_path, "session.json")  # cannot be removed

    mgr.sign_out()

    assert not mgr.signed_in and mgr.former_user["username"] == "ada"
    assert entries(mgr, "session_store_failed") == [{"error": "cannot remove session.json: Is a directory"}]
    assert mgr.persistence_problem == "cannot remove session.json: Is a directory"
    await mgr.close()  # tries to forget it once more; still cannot; does not raise or repeat itself
    assert names(mgr).count("session_store_failed") == 1


async def test_sign_out_forgets_the_session_even_when_the_file_cannot_be_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mgr, backend, clock = make_manager(tmp_path)
    await mgr.start()
    await mgr.login("ada", Secret(PASSWORD))
    path = tmp_path / "session.json"
    with monkeypatch.context() as patch:
        refuse_unlink(patch, path)
        mgr.sign_out()
    assert path.read_bytes() == b""  # emptied in place: the reauth key is gone from the disk
    assert mgr.persistence_problem is None and "session_store_failed" not in names(mgr)
    await mgr.close()

    mgr2, _, _ = make_manager(tmp_path, clock=clock, backend=backend)
    await mgr2.start()
    assert not mgr2.signed_in and backend.counters["reauths"] == 0
    assert "session_store_corrupt" not in names(mgr2)


async def test_close_with_an_unwritable_store_and_a_closed_timeline_does_not_raise(tmp_path: Path) -> None:
    mgr, _, clock = make_manager(tmp_path)
    await mgr.start()
    block(tmp_path, "session.json.tmp")
    mgr.timeline.close()
    clock.advance(1)
    await mgr.close()  # the forced save fails; the failure goes to the (memory-only) timeline
    assert names(mgr).count("session_store_failed") == 1
    assert mgr.persistence_problem == "cannot write session.json: Is a directory"
    await mgr.close()  # and again: still nothing raised


async def test_close_with_an_unwritable_store_and_an_unwritable_timeline_does_not_raise(
    tmp_path: Path,
) -> None:
    block(tmp_path, "timeline.jsonl")
    mgr, backend, _ = make_manager(tmp_path, timeline=Timeline(tmp_path / "timeline.jsonl"))
    await mgr.start()
    block(tmp_path, "session.json")
    await accepted_call(mgr, backend)
    await mgr.close()
    assert {"session_store_failed", "timeline_file_failed"} <= set(names(mgr))


# -- item 6: a damaged stored session reads as none ----------------------------------------------------


def _record(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "version": 1,
        "scope": "",
        "kind": "user",
        "token": FILE_SECRET,
        "reauth_key": KEY_SECRET,
        "last_extension_wall": WALL - 10,
        "user": {"username": "ada"},
    }
    base.update(fields)
    return base


DAMAGED: dict[str, bytes] = {
    "bad_utf8": b'{"token": "' + FILE_SECRET.encode() + b'\xff\xfe"}',
    "a_list": b"[]",
    "null": b"null",
    "nan_wall": json.dumps(_record(last_extension_wall=math.nan), allow_nan=True).encode(),
    "infinite_wall": json.dumps(_record(last_extension_wall=math.inf), allow_nan=True).encode(),
    "huge_wall": json.dumps(_record(last_extension_wall=10**400)).encode(),
    "string_wall": json.dumps(_record(last_extension_wall="yesterday")).encode(),
    "token_is_a_number": json.dumps(_record(token=5)).encode(),
    "token_is_empty": json.dumps(_record(token="")).encode(),
    "truncated": json.dumps(_record()).encode()[:60],
    "unknown_kind": json.dumps(_record(kind="admin")).encode(),
}


@pytest.mark.parametrize("content", DAMAGED.values(), ids=DAMAGED.keys())
async def test_a_damaged_stored_session_is_moved_aside_intact_reported_once_and_a_guest_starts(
    tmp_path: Path, content: bytes
) -> None:
    (tmp_path / "session.json").write_bytes(content)
    mgr, backend, _ = make_manager(tmp_path)

    await mgr.start()

    assert backend.counters["guest_sessions"] == 1 and backend.counters["refreshes"] == 0
    assert mgr.view().kind is SessionKind.GUEST and not mgr.signed_in
    moved = tmp_path / f"session.json.corrupt-{STAMP}"
    assert moved.read_bytes() == content
    assert stat.S_IMODE(moved.stat().st_mode) == 0o600
    [corrupt] = entries(mgr, "session_store_corrupt")
    assert corrupt["moved_to"] == moved.name
    assert isinstance(corrupt["reason"], str) and corrupt["reason"]
    text = timeline_text(mgr, tmp_path)
    assert FILE_SECRET not in text and KEY_SECRET not in text
    # The new guest session took its place.
    assert mgr._token is not None and stored_token(tmp_path) == mgr._token.reveal()
    await mgr.close()


async def test_a_directory_where_the_stored_session_should_be_is_moved_aside_with_its_contents(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "session.json"
    directory.mkdir()
    (directory / "notes").write_text(FILE_SECRET)
    mgr, backend, _ = make_manager(tmp_path)

    await mgr.start()

    moved = tmp_path / f"session.json.corrupt-{STAMP}"
    assert moved.is_dir() and (moved / "notes").read_text() == FILE_SECRET
    assert entries(mgr, "session_store_corrupt") == [
        {"moved_to": moved.name, "reason": "a directory is in its place"}
    ]
    assert backend.counters["guest_sessions"] == 1 and (tmp_path / "session.json").is_file()
    assert mgr.persistence_problem is None
    assert FILE_SECRET not in timeline_text(mgr, tmp_path)


async def test_a_damaged_file_never_overwrites_one_moved_aside_before(tmp_path: Path) -> None:
    first = tmp_path / f"session.json.corrupt-{STAMP}"
    first.write_bytes(b"the first one")
    (tmp_path / f"session.json.corrupt-{STAMP}-2").write_bytes(b"the second one")
    (tmp_path / "session.json").write_bytes(b"[]")
    mgr, _, _ = make_manager(tmp_path)
    await mgr.start()
    assert first.read_bytes() == b"the first one"
    assert (tmp_path / f"session.json.corrupt-{STAMP}-3").read_bytes() == b"[]"
    assert entries(mgr, "session_store_corrupt")[0]["moved_to"] == f"session.json.corrupt-{STAMP}-3"


async def test_a_damaged_file_on_every_launch_never_stops_one(tmp_path: Path) -> None:
    clock = FakeClock(wall_start=WALL)
    for _ in range(3):
        (tmp_path / "session.json").write_bytes(b"null")
        mgr, backend, _ = make_manager(tmp_path, clock=clock)
        await mgr.start()
        assert backend.counters["guest_sessions"] == 1
        await mgr.close()
        clock.advance(1)
    assert len(list(tmp_path.glob("session.json.corrupt-*"))) == 3


async def test_a_damaged_file_is_named_by_the_real_time_not_a_qa_skip_ahead(tmp_path: Path) -> None:
    base = FakeClock(wall_start=WALL)
    clock = QAClock(base)
    clock.skip_ahead(86_400 * 30)
    (tmp_path / "session.json").write_bytes(b"null")
    backend = FakeBackend(clock, ttl_s=TTL)
    mgr = SessionManager(
        port=backend, clock=clock, store=SessionStore(tmp_path / "session.json"), auto_wake=False
    )
    await mgr.start()
    assert (tmp_path / f"session.json.corrupt-{STAMP}").read_bytes() == b"null"


async def test_a_session_stored_for_another_backend_is_not_reported_nor_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    SessionStore(path, scope="http://elsewhere").save(
        StoredSession(SessionKind.USER, Secret(FILE_SECRET), Secret(KEY_SECRET), WALL - 10, {})
    )
    mgr, backend, _ = make_manager(tmp_path)
    await mgr.start()
    assert backend.counters["guest_sessions"] == 1 and backend.counters["refreshes"] == 0
    assert "session_store_corrupt" not in names(mgr) and "session_store_unreadable" not in names(mgr)
    assert list(tmp_path.glob("session.json.corrupt-*")) == []


async def test_a_stored_session_that_cannot_be_read_is_left_alone_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "session.json"
    SessionStore(path).save(
        StoredSession(SessionKind.USER, Secret(FILE_SECRET), Secret(KEY_SECRET), WALL - 10, {})
    )
    mgr, backend, _ = make_manager(tmp_path)
    with monkeypatch.context() as patch:
        refuse_open(patch, path, to_read_only=True)
        await mgr.start()
    assert backend.counters["guest_sessions"] == 1 and backend.counters["refreshes"] == 0
    assert entries(mgr, "session_store_unreadable") == [
        {"reason": "cannot read session.json: Permission denied"}
    ]
    assert "session_store_corrupt" not in names(mgr)
    assert list(tmp_path.glob("session.json.corrupt-*")) == []
    assert FILE_SECRET not in timeline_text(mgr, tmp_path)
