"""The local booking draft (rule 11): a real sqlite file in tmp_path for the store, and the real
mock backend on loopback for the sync.

Pinned: a draft survives a restart and a crash mid-write, the file is 0600 and never holds a card
number or CVC, a damaged file is moved aside instead of stopping the app, a guest's draft is adopted
by the user who signs in, and the server's copy is created, updated and recreated when lost, while
an unreachable or failing backend leaves the local draft as it was. A recreated copy gets the
draft's seat held again, or the draft gives the seat up if someone else has it now.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sessionkeeper.api.drafts import (
    GUEST,
    SCHEMA_VERSION,
    SEAT_RELEASED,
    DraftStore,
    DraftSync,
    LocalDraft,
    owner_key,
)
from sessionkeeper.api.errors import NotFound
from tests.api.world import TTL, World, stranger_holds, world
from tests.files import untouched
from tests.promptly import promptly

ROOT = Path(__file__).resolve().parents[2]
ADA = owner_key("ada")
CARD = "4242 4242 4242 4242"


class Wall:
    """An injected wall clock that moves only when told to."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "sessionkeeper" / "drafts.sqlite3"


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture
def store(path: Path, wall: Wall) -> Iterator[DraftStore]:
    with DraftStore(path, wall=wall) as opened:
        yield opened


def raw_bytes(path: Path) -> bytes:
    """The database file and its -wal/-shm companions, as they are on disk."""
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))


def must_load(store: DraftStore, owner: str) -> LocalDraft:
    draft = store.load(owner)
    assert draft is not None, f"no draft for {owner}"
    return draft


def passenger_data() -> dict[str, Any]:
    return {
        "flight_id": "LHR-CDG-20260601-1",
        "passengers": [{"name": "Ada Lovelace", "email": "ada@example.com"}],
        "payment": {
            "card_number": CARD,
            "cardNumber": CARD.replace(" ", ""),
            "expiry": "12/27",
            "CVC": "737",
        },
        "card_number": CARD,
        "cvc": "737",
    }


# -- the store ------------------------------------------------------------------------------------


def test_a_saved_draft_survives_a_restart_on_the_same_file(path: Path, wall: Wall) -> None:
    with DraftStore(path, wall=wall) as first:
        first.save(GUEST, "search", {"origin": "LHR"})
        first.save(GUEST, "passengers", {"origin": "LHR", "destination": "CDG"})
        first.set_server_id(GUEST, "d7")
    with DraftStore(path, wall=wall) as again:
        assert again.load(GUEST) == LocalDraft(
            GUEST, "passengers", {"origin": "LHR", "destination": "CDG"}, "d7", 2, wall.t
        )


def test_a_save_is_committed_when_it_returns(store: DraftStore, path: Path) -> None:
    store.save(GUEST, "search", {"origin": "LHR"})
    # Another connection sees it at once: nothing waits in an open transaction.
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as other:
        assert other.execute("SELECT step, data FROM drafts").fetchall() == [("search", '{"origin":"LHR"}')]


def test_each_save_bumps_the_revision_and_records_the_injected_wall_time(
    store: DraftStore, wall: Wall
) -> None:
    first = store.save(GUEST, "search", {})
    wall.t += 42.5
    second = store.save(GUEST, "flight", {"flight_id": "x"})
    assert (first.revision, first.updated_wall) == (1, 1_800_000_000.0)
    assert (second.revision, second.updated_wall) == (2, 1_800_000_042.5)
    assert store.load(GUEST) == second


def test_each_owner_has_its_own_current_draft(store: DraftStore) -> None:
    store.save(GUEST, "search", {"who": "guest"})
    store.save(ADA, "seats", {"who": "ada"})
    store.save(owner_key("grace"), "review", {"who": "grace"})
    assert must_load(store, GUEST).data == {"who": "guest"}
    assert must_load(store, ADA).data == {"who": "ada"}
    assert store.load(owner_key("alan")) is None
    assert owner_key(None) == GUEST == "guest" and ADA == "user:ada"


def test_load_hands_out_a_copy_that_cannot_change_the_stored_draft(store: DraftStore) -> None:
    store.save(GUEST, "search", {"origin": "LHR"})
    loaded = store.load(GUEST)
    assert loaded is not None
    loaded.data["origin"] = "CDG"
    assert must_load(store, GUEST).data == {"origin": "LHR"}


def test_save_is_one_statement_with_no_schema_work(store: DraftStore) -> None:
    store.save(GUEST, "search", {})
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    store.save(GUEST, "search", {"origin": "LHR"})
    store._conn.set_trace_callback(None)
    work = [s.strip().split()[0].upper() for s in statements if s.strip().upper() not in {"BEGIN", "COMMIT"}]
    assert work == ["INSERT"]


def test_the_server_id_is_not_an_edit_and_survives_later_saves(store: DraftStore) -> None:
    store.save(GUEST, "search", {})
    store.set_server_id(GUEST, "d3")
    assert must_load(store, GUEST).revision == 1
    assert store.save(GUEST, "flight", {}).server_id == "d3"
    store.set_server_id(GUEST, None)
    assert must_load(store, GUEST).server_id is None


def test_a_discarded_draft_is_gone_after_a_restart_too(path: Path, wall: Wall) -> None:
    with DraftStore(path, wall=wall) as first:
        first.save(GUEST, "confirmation", {"locator": "ABC123"})
        first.discard(GUEST)
        assert first.load(GUEST) is None
        assert first.save(GUEST, "search", {}).revision == 1  # a new draft starts over
        first.discard(GUEST)
    with DraftStore(path, wall=wall) as again:
        assert again.load(GUEST) is None


def test_the_file_and_its_companions_are_mode_0600_in_a_0700_dir_whatever_the_umask(
    path: Path, permissive_umask: None
) -> None:
    with DraftStore(path) as store:
        store.save(GUEST, "passengers", {"name": "Ada"})
        files = sorted(path.parent.glob(path.name + "*"))
        assert [f.name for f in files] == [path.name, path.name + "-shm", path.name + "-wal"]
        assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600 for f in files}
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_an_existing_file_readable_by_others_is_made_0600(path: Path) -> None:
    with DraftStore(path) as store:
        store.save(GUEST, "search", {})
    path.chmod(0o644)
    with DraftStore(path) as store:
        assert store.load(GUEST) is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_card_number_and_cvc_are_never_written_at_any_depth_or_spelling(
    store: DraftStore, path: Path
) -> None:
    saved = store.save(GUEST, "payment", passenger_data())
    expected = {
        "flight_id": "LHR-CDG-20260601-1",
        "passengers": [{"name": "Ada Lovelace", "email": "ada@example.com"}],
        "payment": {"expiry": "12/27"},
    }
    assert saved.data == expected
    assert must_load(store, GUEST).data == expected
    on_disk = raw_bytes(path)
    assert b"Ada Lovelace" in on_disk  # the check below looks at the bytes the data lives in
    for secret in (CARD, CARD.replace(" ", ""), "card_number", "cardnumber", '"cvc"'):
        assert secret.encode() not in on_disk.lower()
    store.close()
    assert CARD.replace(" ", "").encode() not in raw_bytes(path)


def test_a_crash_in_the_middle_of_a_write_leaves_the_previous_draft_whole(path: Path) -> None:
    child = textwrap.dedent(
        """
        import os, sys
        from pathlib import Path
        from sessionkeeper.api.drafts import DraftStore

        store = DraftStore(Path(sys.argv[1]))
        store.save("guest", "passengers", {"name": "Ada Lovelace"})
        conn = store._conn
        conn.execute("PRAGMA cache_size = 1")  # spill the half-done write to disk
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE drafts SET step = 'seats', data = ?, revision = 99", ("x" * 200_000,))
        conn.execute("INSERT INTO drafts VALUES ('user:ada', 'i', 'seats', '{}', NULL, 1, 0)")
        os._exit(9)  # killed before the commit
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", child, str(path)], cwd=ROOT, capture_output=True, check=False
    )
    assert done.returncode == 9, done.stderr.decode()
    with DraftStore(path) as store:
        draft = store.load(GUEST)
        assert draft is not None
        assert (draft.step, draft.data, draft.revision) == ("passengers", {"name": "Ada Lovelace"}, 1)
        assert store.load(ADA) is None
        assert store.moved_aside is None


def test_a_garbage_file_is_moved_aside_and_the_store_starts_empty(path: Path, wall: Wall) -> None:
    path.parent.mkdir(parents=True)
    garbage = b"this is not a database, just bytes\x00\xff" * 500
    path.write_bytes(garbage)
    with DraftStore(path, wall=wall) as store:
        assert store.load(GUEST) is None
        assert store.moved_aside == path.with_name(path.name + ".corrupt-1")
        assert store.persistent
        store.save(GUEST, "search", {"origin": "LHR"})
    assert (path.parent / (path.name + ".corrupt-1")).read_bytes() == garbage
    with DraftStore(path, wall=wall) as store:
        assert store.moved_aside is None
        assert must_load(store, GUEST).data == {"origin": "LHR"}


def test_a_second_bad_file_does_not_replace_the_first_one_kept_aside(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"first garbage" * 100)
    DraftStore(path).close()
    path.write_bytes(b"second garbage" * 100)
    with DraftStore(path) as store:
        assert store.moved_aside == path.with_name(path.name + ".corrupt-2")
    assert path.with_name(path.name + ".corrupt-1").read_bytes() == b"first garbage" * 100
    assert path.with_name(path.name + ".corrupt-2").read_bytes() == b"second garbage" * 100


def test_a_database_with_a_damaged_table_is_moved_aside_too(path: Path) -> None:
    with DraftStore(path) as store:
        for i in range(50):
            store.save(f"user:u{i}", "passengers", {"name": "x" * 500})
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    data[2 * page : len(data)] = b"\xa5" * (len(data) - 2 * page)  # the header and schema page stay
    path.write_bytes(bytes(data))
    with DraftStore(path) as store:
        assert store.moved_aside == path.with_name(path.name + ".corrupt-1")
        assert store.load("user:u1") is None
        assert store.save(GUEST, "search", {}).revision == 1


def test_an_unreadable_path_is_moved_aside(path: Path) -> None:
    path.mkdir(parents=True)  # a directory where the file should be
    with DraftStore(path) as store:
        assert store.moved_aside == path.with_name(path.name + ".corrupt-1")
        assert store.persistent
        store.save(GUEST, "search", {})
    assert path.is_file()


def test_a_file_from_a_newer_version_is_left_as_it_is_and_drafts_live_in_memory(path: Path) -> None:
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 1,))
        conn.execute("CREATE TABLE drafts_v2 (anything TEXT)")
    conn.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with DraftStore(path) as store:
        assert not store.persistent
        assert store.moved_aside is None
        store.save(GUEST, "search", {"origin": "LHR"})
        assert must_load(store, GUEST).data == {"origin": "LHR"}
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_a_file_locked_by_another_program_is_never_moved_aside(path: Path) -> None:
    with DraftStore(path) as store:
        store.save(GUEST, "search", {"origin": "LHR"})
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("PRAGMA journal_mode = DELETE")
        other.execute("BEGIN EXCLUSIVE")  # holds every lock: nobody may even read
        with DraftStore(path, timeout=0.05) as store:
            assert store.moved_aside is None
            assert not store.persistent
            assert store.load(GUEST) is None
            store.save(GUEST, "flight", {})
    finally:
        other.close()
    with DraftStore(path) as store:
        assert must_load(store, GUEST).data == {"origin": "LHR"}
    assert not list(path.parent.glob("*.corrupt-*"))


def test_a_data_dir_that_cannot_exist_gives_a_store_in_memory_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("in the way")
    with DraftStore(tmp_path / "a-file" / "drafts.sqlite3") as store:
        assert not store.persistent
        store.save(GUEST, "search", {"origin": "LHR"})
        assert must_load(store, GUEST).data == {"origin": "LHR"}


def test_data_that_is_not_json_is_refused_and_the_previous_draft_kept(store: DraftStore) -> None:
    store.save(GUEST, "search", {"origin": "LHR"})
    with pytest.raises(TypeError):
        store.save(GUEST, "search", {"when": object()})
    with pytest.raises(ValueError, match="not JSON compliant"):
        store.save(GUEST, "search", {"price": float("nan")})
    assert store.load(GUEST) == LocalDraft(GUEST, "search", {"origin": "LHR"}, None, 1, 1_800_000_000.0)


# -- a guest's draft adopted at sign-in -----------------------------------------------------------


def test_a_guest_draft_moves_whole_to_a_user_without_one(path: Path, wall: Wall) -> None:
    with DraftStore(path, wall=wall) as store:
        store.save(GUEST, "search", {})
        guest = store.save(GUEST, "seats", {"seats": ["12C"]})
        store.set_server_id(GUEST, "d1")
        moved = store.move(GUEST, ADA)
        assert moved == LocalDraft(ADA, "seats", {"seats": ["12C"]}, "d1", 2, guest.updated_wall)
        assert store.load(GUEST) is None
    with DraftStore(path, wall=wall) as again:
        assert again.load(ADA) == moved
        assert again.load(GUEST) is None


def test_moving_onto_an_older_user_draft_keeps_the_guest_one_with_a_higher_revision(
    store: DraftStore, wall: Wall
) -> None:
    for _ in range(5):
        store.save(ADA, "passengers", {"from": "last week"})
    store.set_server_id(ADA, "d1")
    wall.t += 3600
    store.save(GUEST, "seats", {"from": "just now"})
    moved = store.move(GUEST, ADA)
    assert moved is not None
    assert (moved.data, moved.server_id, moved.revision) == ({"from": "just now"}, None, 6)
    assert store.load(ADA) == moved
    assert store.load(GUEST) is None


def test_moving_onto_a_newer_user_draft_keeps_the_user_one_and_drops_the_guest_one(
    store: DraftStore, wall: Wall
) -> None:
    store.save(GUEST, "search", {"from": "guest"})
    wall.t += 60
    kept = store.save(ADA, "review", {"from": "ada"})
    assert store.move(GUEST, ADA) == kept
    assert store.load(ADA) == kept
    assert store.load(GUEST) is None


def test_moving_at_the_same_wall_time_keeps_the_more_edited_draft(store: DraftStore) -> None:
    store.save(GUEST, "search", {"from": "guest"})
    store.save(ADA, "search", {"from": "ada"})
    kept = store.save(ADA, "flight", {"from": "ada"})
    assert store.move(GUEST, ADA) == kept


def test_moving_from_an_owner_without_a_draft_changes_nothing(store: DraftStore) -> None:
    assert store.move(GUEST, ADA) is None
    kept = store.save(ADA, "review", {"from": "ada"})
    assert store.move(GUEST, ADA) == kept
    assert store.move(ADA, ADA) == kept
    assert store.load(ADA) == kept


# -- the sync with the real backend ---------------------------------------------------------------


async def test_push_creates_the_server_copy_then_updates_it(store: DraftStore) -> None:
    async with world() as w:
        sync = DraftSync(store, w.client.rest)
        store.save(GUEST, "search", {"origin": "LHR"})
        created = await sync.push(GUEST)
        assert created is not None
        assert (created.step, created.data, created.version, created.owner) == (
            "search",
            {"origin": "LHR"},
            1,
            "guest",
        )
        assert must_load(store, GUEST).server_id == created.id

        store.save(GUEST, "flight", {"origin": "LHR", "destination": "CDG"})
        updated = await sync.push(GUEST)
        assert updated is not None
        assert (updated.id, updated.version, updated.step) == (created.id, 2, "flight")
        on_server = await w.client.rest.get_draft(created.id)
        assert on_server.data == {"origin": "LHR", "destination": "CDG"}
        assert len(await w.client.rest.list_drafts()) == 1


async def test_push_without_a_local_draft_sends_nothing(store: DraftStore) -> None:
    async with world() as w:
        before = (await w.counters())["api_calls"]
        assert await DraftSync(store, w.client.rest).push(GUEST) is None
        assert (await w.counters())["api_calls"] == before


async def test_push_never_sends_a_card_number_or_cvc(store: DraftStore) -> None:
    async with world() as w:
        store.save(GUEST, "payment", passenger_data())
        pushed = await DraftSync(store, w.client.rest).push(GUEST)
        assert pushed is not None
        assert pushed.data["payment"] == {"expiry": "12/27"}
        assert "card_number" not in pushed.data and "cvc" not in pushed.data


async def test_push_recreates_the_server_copy_when_the_server_lost_it(store: DraftStore) -> None:
    async with world() as w:
        sync = DraftSync(store, w.client.rest)
        store.save(GUEST, "passengers", {"name": "Ada Lovelace"})
        first = await sync.push(GUEST)
        assert first is not None
        # Every session revoked: the client's next call gets a new guest session, whose drafts
        # are its own, so the old id is someone else's now (404).
        await w.revoke_all()
        again = await sync.push(GUEST)
        assert again is not None
        assert again.id != first.id
        assert again.data == {"name": "Ada Lovelace"}
        assert must_load(store, GUEST).server_id == again.id
        with pytest.raises(NotFound):
            await w.client.rest.get_draft(first.id)
        assert [d.id for d in await w.client.rest.list_drafts()] == [again.id]


async def test_push_while_offline_returns_none_and_keeps_the_local_draft(store: DraftStore) -> None:
    async with world() as w:
        sync = DraftSync(store, w.client.rest)
        local = store.save(GUEST, "search", {"origin": "LHR"})
        w.client.network.online = False
        assert await sync.push(GUEST) is None
        assert store.load(GUEST) == local

        w.client.network.online = True
        created = await sync.push(GUEST)
        assert created is not None
        edited = store.save(GUEST, "flight", {"origin": "LHR", "destination": "CDG"})
        w.client.network.online = False
        assert await sync.push(GUEST) is None
        assert store.load(GUEST) == edited  # the server id stays: the copy was not lost

        w.client.network.online = True
        updated = await sync.push(GUEST)
        assert updated is not None
        assert (updated.id, updated.version) == (created.id, 2)


async def test_push_while_the_backend_answers_5xx_returns_none_and_keeps_the_local_draft(
    store: DraftStore,
) -> None:
    async with world() as w:
        sync = DraftSync(store, w.client.rest)
        local = store.save(GUEST, "search", {"origin": "LHR"})
        await w.faults(down=True)
        assert await sync.push(GUEST) is None
        assert store.load(GUEST) == local
        await w.faults(down=False)
        assert await sync.push(GUEST) is not None


async def test_concurrent_first_pushes_create_one_server_copy(store: DraftStore) -> None:
    async with world() as w:
        sync = DraftSync(store, w.client.rest)
        store.save(GUEST, "search", {"origin": "LHR"})
        results = await asyncio.gather(*(sync.push(GUEST) for _ in range(5)))
        ids = {r.id for r in results if r is not None}
        assert len(ids) == 1
        assert [d.id for d in await w.client.rest.list_drafts()] == list(ids)


async def test_a_push_in_flight_does_not_attach_its_id_to_a_draft_started_meanwhile(
    store: DraftStore,
) -> None:
    async with world(held=True) as w:
        rest_connection = w.held[1]  # 0 is the session port, 1 the REST client
        sync = DraftSync(store, w.client.rest)
        store.save(GUEST, "review", {"booking": "the old one"})
        rest_connection.armed = True
        push = asyncio.create_task(sync.push(GUEST))
        await rest_connection.held.wait()
        # Meanwhile: booked, discarded, and a new draft begun.
        store.discard(GUEST)
        store.save(GUEST, "search", {"booking": "the next one"})
        rest_connection.release.set()
        old = await push
        assert old is not None and old.data == {"booking": "the old one"}
        assert must_load(store, GUEST).server_id is None

        new = await sync.push(GUEST)
        assert new is not None and new.id != old.id
        assert must_load(store, GUEST).server_id == new.id


async def test_a_guest_draft_adopted_at_sign_in_reaches_the_users_server_drafts(store: DraftStore) -> None:
    async with world() as w:
        sync = DraftSync(store, w.client.rest)
        store.save(GUEST, "seats", {"seats": ["12C"]})
        assert await sync.push(GUEST) is not None
        await w.client.login("ada", "lovelace")
        store.move(GUEST, ADA)
        store.save(ADA, "review", {"seats": ["12C"], "fare": "BUSINESS"})
        as_ada = await sync.push(ADA)
        # The same server copy if the backend moved the guest's drafts at sign-in, else a new one
        # (rule 11): either way the user's server drafts now hold the local draft.
        assert as_ada is not None
        assert (as_ada.owner, as_ada.user, as_ada.step) == ("user", "ada", "review")
        assert as_ada.data == {"seats": ["12C"], "fare": "BUSINESS"}
        assert must_load(store, ADA).server_id == as_ada.id
        assert as_ada.id in {d.id for d in await w.client.rest.list_drafts()}


# -- nothing planted steers it (issue 16, item 4) ------------------------------------------------


def test_a_symlink_planted_as_the_database_is_moved_aside_and_its_target_untouched(
    path: Path, victim: Path, wall: Wall
) -> None:
    path.parent.mkdir(parents=True)
    path.symlink_to(victim)
    with DraftStore(path, wall=wall) as store:
        assert store.moved_aside == path.with_name(path.name + ".corrupt-1")
        assert store.moved_aside_reason == "a symlink is in its place"
        assert store.persistent
        store.save(GUEST, "search", {"origin": "LHR"})
    assert store.moved_aside.is_symlink() and os.readlink(store.moved_aside) == str(victim)
    assert untouched(victim)
    assert not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) == 0o600
    with DraftStore(path, wall=wall) as again:
        assert must_load(again, GUEST).data == {"origin": "LHR"}


def test_a_symlink_planted_as_the_write_ahead_log_is_moved_aside_with_its_database(
    path: Path, victim: Path, wall: Wall
) -> None:
    with DraftStore(path, wall=wall) as store:
        store.save(GUEST, "search", {"origin": "LHR"})
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists()  # checkpointed and removed at close
    wal.symlink_to(victim)
    with DraftStore(path, wall=wall) as store:
        # sqlite refuses a linked WAL: without this the drafts would stay in memory for good.
        assert store.persistent
        assert store.moved_aside == path.with_name(path.name + ".corrupt-1")
        assert store.moved_aside_reason == "drafts.sqlite3-wal: a symlink is in its place"
        store.save(GUEST, "flight", {})
    assert path.with_name(path.name + ".corrupt-1-wal").is_symlink()
    assert untouched(victim)


def test_a_fifo_planted_as_the_database_never_blocks_and_is_moved_aside(path: Path) -> None:
    path.parent.mkdir(parents=True)
    os.mkfifo(path)

    def open_and_save() -> DraftStore:
        with DraftStore(path) as store:
            store.save(GUEST, "search", {"origin": "LHR"})
        return store

    store = promptly(open_and_save)
    assert store.persistent and store.moved_aside_reason == "a FIFO is in its place"
    assert store.moved_aside is not None and stat.S_ISFIFO(os.lstat(store.moved_aside).st_mode)


# -- the seat, when the draft is carried over to a new session (issue 16 item 7) -------------------

FLIGHT = "LHR-CDG-20300501-1"


async def seat_status(w: World, seat: str) -> str:
    seat_map = await w.client.graphql.seat_map(FLIGHT)
    return next(s.status for row in seat_map.rows for s in row.seats if s.code == seat)


async def past_the_seat_step(w: World, store: DraftStore, sync: DraftSync) -> tuple[str, str]:
    """A guest's draft at review, its seat held as the seat step holds it; (server id, seat)."""
    store.save(GUEST, "seats", {"flight_id": FLIGHT, "fare_code": "ECONOMY_CLASSIC", "name": "Ada"})
    pushed = await sync.push(GUEST)
    assert pushed is not None
    seat_map = await w.client.graphql.seat_map(FLIGHT)
    seat = next(s.code for row in seat_map.rows for s in row.seats if s.status == "AVAILABLE")
    await w.client.graphql.hold_seat(FLIGHT, seat, pushed.id)
    store.save(GUEST, "review", {**must_load(store, GUEST).data, "seat": seat})
    assert await sync.push(GUEST) is not None
    return pushed.id, seat


async def session_ends(w: World, how: str) -> None:
    if how == "lapsed":
        await w.advance(TTL + 1)
    else:
        await w.revoke_all()


@pytest.mark.parametrize("how", ["lapsed", "revoked"])
async def test_a_draft_carried_over_to_a_new_guest_session_holds_its_seat_again(
    store: DraftStore, how: str
) -> None:
    async with world() as w:
        sync = DraftSync(store, w.client.rest, w.client.graphql)
        old_id, seat = await past_the_seat_step(w, store, sync)
        await session_ends(w, how)
        again = await sync.push(GUEST)  # a new guest session: the old copy is not this guest's
        assert again is not None and again.id != old_id
        local = must_load(store, GUEST)
        assert (local.server_id, local.step, local.data["seat"]) == (again.id, "review", seat)
        # The seat map, the draft and the server agree: the seat is the new session's, and paying works.
        assert await seat_status(w, seat) == "HELD_BY_YOU"
        booking = await w.client.rest.create_booking(
            flight_id=FLIGHT,
            fare_code="ECONOMY_CLASSIC",
            passengers=[{"name": "Ada Lovelace", "email": "ada@example.com"}],
            seats=[seat],
            payment={"card_number": CARD, "expiry": "12/30", "cvc": "123"},
            draft_id=again.id,
        )
        assert booking.seats == [seat]
        assert await seat_status(w, seat) == "OCCUPIED"


async def test_a_seat_taken_meanwhile_is_given_up_and_the_draft_goes_back_to_the_seat_step(
    store: DraftStore,
) -> None:
    async with world() as w:
        sync = DraftSync(store, w.client.rest, w.client.graphql)
        _old_id, seat = await past_the_seat_step(w, store, sync)
        await w.revoke_all()  # the old session's hold ends with it: the seat is free for anyone
        await stranger_holds(w.qa, FLIGHT, seat)
        again = await sync.push(GUEST)
        assert again is not None
        local = must_load(store, GUEST)
        assert local.step == "seats" and "seat" not in local.data
        assert local.data[SEAT_RELEASED] == seat and local.data["flight_id"] == FLIGHT
        assert local.server_id == again.id
        on_server = await w.client.rest.get_draft(again.id)
        assert (on_server.step, on_server.data) == ("seats", local.data)
        assert await seat_status(w, seat) == "HELD"


async def test_a_seat_that_cannot_be_held_again_yet_is_tried_again_on_the_next_push(
    store: DraftStore,
) -> None:
    async with world(held=True) as w:
        graphql_connection = w.held[2]  # 0 is the session port, 1 the REST client, 2 GraphQL
        sync = DraftSync(store, w.client.rest, w.client.graphql)
        old_id, seat = await past_the_seat_step(w, store, sync)
        await w.revoke_all()
        before = must_load(store, GUEST)
        graphql_connection.armed = True
        push = asyncio.create_task(sync.push(GUEST))
        holding = asyncio.create_task(graphql_connection.held.wait())
        await asyncio.wait({push, holding}, return_when=asyncio.FIRST_COMPLETED)
        assert holding.done() and not push.done(), "the push did not try to hold the seat again"
        await w.faults(down=True)
        graphql_connection.release.set()
        assert await push is None
        assert must_load(store, GUEST) == before  # nothing lost: the old id, the seat, the step

        await w.faults(down=False)
        again = await sync.push(GUEST)
        assert again is not None and again.id != old_id
        assert must_load(store, GUEST).server_id == again.id
        assert await seat_status(w, seat) == "HELD_BY_YOU"
        # The copy the failed try made was used again, not left behind beside a second one.
        assert [d.id for d in await w.client.rest.list_drafts()] == [again.id]


async def test_a_seat_only_typed_at_the_seat_step_is_not_held_when_the_draft_is_recreated(
    store: DraftStore,
) -> None:
    async with world() as w:
        sync = DraftSync(store, w.client.rest, w.client.graphql)
        store.save(GUEST, "seats", {"flight_id": FLIGHT, "seat": "4"})  # typed so far, never held
        first = await sync.push(GUEST)
        await w.revoke_all()
        again = await sync.push(GUEST)
        assert again is not None and first is not None and again.id != first.id
        assert (again.step, again.data) == ("seats", {"flight_id": FLIGHT, "seat": "4"})
        assert (await w.counters())["seat_holds"] == 0
