"""The booking draft kept on this machine (rule 11), and its copy on the server.

`DraftStore` keeps one current draft per owner ("guest" or "user:<name>") in a sqlite file in the
data dir: saved on every step and field change, durable when `save` returns, and still there after
sign-out, a crash or a restart. The local copy is the client's truth; the server's is a copy.
`DraftSync` pushes it to the server, and recreates the server's copy when the server lost it
(holding the draft's seat again for the new copy: see `DraftSync.push`).

Several instances of the app (two terminals on one data dir) share the file, so one draft can be
edited in two windows. The rule: **a stale instance never overwrites a newer draft.** A save names
the revision its caller's view is based on (`based_on`); the check and the write are one sqlite
transaction (BEGIN IMMEDIATE), so two processes cannot both pass it. If the stored draft is not the
one the view was based on (another window saved since), nothing is written and `DraftConflict`
carries the stored draft, for the caller to show instead. A save that names no revision (ANY)
merges into whatever is stored, as before; `BookingDrafts.save` then merges into the latest and
retries, so even it never drops what another instance saved meanwhile.

A draft holds personal data, so the file is mode 0600; it never holds a card number or a CVC.
Nothing planted in the data dir steers it: the file and its companions (-wal, -shm, -journal) are
checked with `session.private_files` before sqlite opens them by name, and a symlink, a FIFO or a
directory in their place is moved aside with them (its target never touched).
"""

from __future__ import annotations

import asyncio
import enum
import errno
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

from sessionkeeper.api.errors import (
    ApiError,
    BackendFailed,
    BackendUnreachable,
    InvalidRequest,
    NotAuthenticated,
    NotFound,
)
from sessionkeeper.session.private_files import NotARegularFile, examine, make_dirs, move_aside, open_private

if TYPE_CHECKING:
    # Not at import: the REST client brings pydantic, the GraphQL client gql, and the store is
    # opened before either is needed.
    from sessionkeeper.api.graphql import GraphQLClient
    from sessionkeeper.api.models import Draft
    from sessionkeeper.api.rest import RestClient

T = TypeVar("T")

GUEST = "guest"
# sqlite's files beside the database: they belong to it, and go wherever it goes.
_COMPANIONS = ("-wal", "-shm", "-journal")

SEAT_HELD_STEP = "review"
"""The step at which a draft's `seat` is one the server held for it: the seat step saves the seat
as it is typed, and moves the draft on to review only once the seat is held. At an earlier step the
seat may be half typed, or for a flight the user has since changed; at confirmation it is booked."""

SEAT_RELEASED = "seat_released"
"""The data key where a draft notes the seat it lost: when its server copy had to be recreated (a
guest session ended, taking its holds with it) and someone else had taken the seat meanwhile, the
draft goes back to the `seats` step without a `seat`, and this names the seat that was lost."""

SECRET_KEYS = frozenset({"card_number", "cvc"})
"""Keys dropped from draft data, at any depth, before it is written (and so before it is pushed).
Spelling variants count too: cardNumber, Card-Number, CVC."""

# Migration i takes the schema from version i to i + 1; only ever append to this list.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE drafts (
        owner TEXT PRIMARY KEY,
        local_id TEXT NOT NULL,
        step TEXT NOT NULL,
        data TEXT NOT NULL,
        server_id TEXT,
        revision INTEGER NOT NULL,
        updated_wall REAL NOT NULL
    )
    """,
)
SCHEMA_VERSION = len(_MIGRATIONS)

# `local_id` tells one draft from the next one of the same owner (after a discard), so a push that
# was in flight meanwhile cannot attach its server id to the wrong draft. It is set on insert only.
_UPSERT = """
    INSERT INTO drafts (owner, local_id, step, data, server_id, revision, updated_wall)
    VALUES (?, ?, ?, ?, NULL, 1, ?)
    ON CONFLICT (owner) DO UPDATE SET
        step = excluded.step,
        data = excluded.data,
        revision = drafts.revision + 1,
        updated_wall = excluded.updated_wall
    RETURNING server_id, revision
"""
_SELECT = "SELECT step, data, server_id, revision, updated_wall, local_id FROM drafts WHERE owner = ?"

# Result codes (the low byte of an extended code) that mean the file is not a usable database.
_DAMAGED = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
# Result codes that say nothing against the file itself (another program holds its lock, the disk
# is full or read-only): such a file is never moved aside.
_CIRCUMSTANTIAL = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PERM,
    }
)


def owner_key(username: str | None) -> str:
    """The owner a draft is kept under: GUEST, or "user:<username>" for a signed-in user."""
    return GUEST if username is None else f"user:{username}"


@dataclass(frozen=True, slots=True)
class LocalDraft:
    owner: str
    step: str
    data: dict[str, Any]
    server_id: str | None  # the server's copy, once pushed; it may since have been lost
    revision: int  # +1 on every save of this owner's draft
    updated_wall: float  # wall time of the latest save


class DraftStoreError(Exception):
    """The draft could not be read or written (disk full, file locked by another program, ...)."""


class DraftConflict(Exception):
    """A save based on one revision met a newer draft (another instance saved since): nothing was
    written. `latest` is the stored draft, to be shown instead of the stale view.

    Not a DraftStoreError: that one means the disk failed and the draft is not saved anywhere
    (callers show a "draft not saved" banner); here the disk worked, and holds a newer draft."""

    def __init__(self, latest: LocalDraft, based_on: int | None) -> None:
        super().__init__(f"draft revision {latest.revision} is stored; the save was based on {based_on}")
        self.latest = latest
        self.based_on = based_on


class _Any(enum.Enum):
    ANY = "any"


ANY: Final = _Any.ANY
"""`based_on` for a save that is not based on a view of the draft: it overwrites whatever is
stored (`DraftStore.save`), or merges into it (`BookingDrafts.save`)."""

Basis = int | None | _Any
"""What a save is based on: the revision of the draft the caller shows, None when it showed none
(any stored draft is then newer), or ANY."""


class _Unusable(Exception):
    """The file opened, but is not a draft database this code can use."""


class DraftStore:
    """One current draft per owner, in a sqlite file. Synchronous: every call is a few microseconds
    of sqlite work plus, for writes, one fsync.

    A damaged or unreadable file never stops the app: it is renamed to `<name>.corrupt-<n>` (kept
    for a look, never deleted) and the store starts empty; `moved_aside` says where it went. A file
    that may well be fine but cannot be used now (written by a newer sessionkeeper, locked by
    another program for longer than `timeout` seconds, on a full or read-only disk) is left as it
    is, and the store works in memory; so it does when the data dir cannot be created at all.
    `persistent` is False then: drafts last only until the app quits.

    Once open, a failure of the disk or the lock surfaces as DraftStoreError: the caller shows it,
    the draft it tried to save is still in its form. Use a store from one thread (the event loop's).
    """

    def __init__(self, path: Path, *, wall: Callable[[], float] = time.time, timeout: float = 2.0) -> None:
        self.path = path
        self._wall = wall
        self._timeout = timeout
        self.moved_aside: Path | None = None
        self.moved_aside_reason: str | None = None  # why, in a few words; no contents, no secrets
        self.persistent = True
        self._conn = self._open()

    # -- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> DraftStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect_file()
        except _Unusable:
            # A newer schema: its drafts belong to the newer app; do not rename or touch them.
            return self._connect_memory()
        except sqlite3.DatabaseError as exc:
            if _code(exc) in _CIRCUMSTANTIAL:
                return self._connect_memory()
            reason = "not a usable draft database"
        except NotARegularFile as exc:
            reason = exc.reason
        except OSError as exc:
            reason = f"cannot open it: {exc.strerror or type(exc).__name__}"
        return self._start_afresh(reason)

    def _start_afresh(self, reason: str) -> sqlite3.Connection:
        try:
            self._move_aside(reason)
            return self._connect_file()
        except (sqlite3.DatabaseError, OSError, _Unusable):
            # Not even a fresh file works here (read-only or missing data dir): keep the app going.
            return self._connect_memory()

    def _connect_file(self) -> sqlite3.Connection:
        make_dirs(self.path.parent)
        # Created 0600 before sqlite touches it, so it never exists readable by others; sqlite
        # gives its -wal and -shm files the same mode as the database file. Never through a link:
        # sqlite would follow one, and write wherever it points.
        fd = open_private(self.path, os.O_RDWR, create=True)
        try:
            checked = os.fstat(fd)
        finally:
            # Closed before sqlite opens the file: closing any descriptor of a file drops every
            # POSIX lock this process holds on it, sqlite's included. (No other connection of this
            # process has it open here: one store per file, reopened only after closing.)
            os.close(fd)
        for suffix in _COMPANIONS:
            # sqlite opens these by name too; it refuses a linked WAL, which would leave the drafts
            # in memory for good. Opened here the same way, and a loose one is made 0600.
            found = examine(self.path.with_name(self.path.name + suffix))
            if found is not None:
                raise NotARegularFile(found, where=self.path.name + suffix)
        conn = sqlite3.connect(self.path, timeout=self._timeout)
        try:
            # sqlite opened the file by name, after the check above. If the name still leads to the
            # file checked, that is the file sqlite has open, unless something swapped the name
            # away and back meanwhile: only the data dir's owner can (it is 0700), and they can
            # read the drafts anyway. Before any statement, so nothing is read or written if not.
            now = os.stat(self.path, follow_symlinks=False)
            if (now.st_dev, now.st_ino) != (checked.st_dev, checked.st_ino):
                raise OSError(errno.EBUSY, "it was replaced while it was being opened")
            if conn.execute("PRAGMA quick_check").fetchall() != [("ok",)]:
                raise sqlite3.DatabaseError("quick_check found damage")
            # Before anything that writes: a newer app's file must be left as it is.
            _migrate(conn)
            # WAL: a commit is one append and one fsync; FULL: that fsync happens before commit
            # returns, so a saved draft survives a power cut too, not only a crash of the app.
            conn.execute("PRAGMA journal_mode = WAL").fetchall()
            conn.execute("PRAGMA synchronous = FULL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _connect_memory(self) -> sqlite3.Connection:
        self.persistent = False
        conn = sqlite3.connect(":memory:")
        _migrate(conn)
        return conn

    def _move_aside(self, reason: str) -> None:
        # A leftover WAL would be replayed into the fresh database: it goes with the file it
        # belongs to. Links are renamed themselves, never followed.
        self.moved_aside = move_aside(self.path, "corrupt", numbered=True, companions=_COMPANIONS)
        self.moved_aside_reason = reason

    def _guarded(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """Runs `op`; if the file turns out damaged mid-session, starts afresh and runs it again."""
        try:
            return op(self._conn)
        except sqlite3.DatabaseError as exc:
            if _code(exc) not in _DAMAGED or not self.persistent:
                raise DraftStoreError(f"draft storage failed: {exc}") from exc
        self._conn.close()
        self._conn = self._start_afresh("damaged while in use")
        try:
            return op(self._conn)
        except sqlite3.DatabaseError as exc:
            raise DraftStoreError(f"draft storage failed: {exc}") from exc

    # -- drafts ---------------------------------------------------------------------------------

    def save(self, owner: str, step: str, data: dict[str, Any], *, based_on: Basis = ANY) -> LocalDraft:
        """Insert or replace `owner`'s draft; bumps its revision. Committed when this returns.

        `based_on` is the revision of the draft the caller's view shows (None: it showed none).
        If the stored draft has another revision, another instance saved since: nothing is written,
        and DraftConflict carries the stored draft. A stored revision lower than `based_on` counts
        too (the draft was finished and a new one begun); no stored draft at all does not (the file
        was started afresh, or the draft finished: nothing newer to lose). The check and the write
        are one transaction. ANY (the default) writes whatever is stored.

        Card numbers and CVCs are dropped from `data` first (see SECRET_KEYS); the returned draft
        shows exactly what was stored. `data` must be JSON-serialisable (TypeError/ValueError if not).
        """
        encoded = json.dumps(
            _without_secrets(data), separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        wall = self._wall()

        def op(conn: sqlite3.Connection) -> tuple[str | None, int]:
            with conn:
                if based_on is not ANY:
                    # IMMEDIATE: the write lock is taken before the read, so no other process can
                    # save between the check and the write (it waits, up to `timeout`).
                    conn.execute("BEGIN IMMEDIATE")
                    found = _read(conn, owner)
                    if found is not None and found[0].revision != based_on:
                        raise DraftConflict(found[0], based_on)  # rolls back: nothing written
                # fetchall, not fetchone: the statement must run to its end before the commit.
                ((server_id, revision),) = conn.execute(
                    _UPSERT, (owner, uuid.uuid4().hex, step, encoded, wall)
                ).fetchall()
            return server_id, revision

        server_id, revision = self._guarded(op)
        return LocalDraft(owner, step, json.loads(encoded), server_id, revision, wall)

    def load(self, owner: str) -> LocalDraft | None:
        found = self._guarded(lambda conn: _read(conn, owner))
        return found[0] if found else None

    def set_server_id(self, owner: str, server_id: str | None) -> None:
        """Record the id of the server's copy. Not an edit: the revision stays."""

        def op(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute("UPDATE drafts SET server_id = ? WHERE owner = ?", (server_id, owner))

        self._guarded(op)

    def discard(self, owner: str) -> None:
        """Forget `owner`'s draft, after its booking is confirmed."""

        def op(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute("DELETE FROM drafts WHERE owner = ?", (owner,))

        self._guarded(op)

    def move(self, from_owner: str, to_owner: str) -> LocalDraft | None:
        """Give `from_owner`'s draft to `to_owner` (a guest signs in); returns `to_owner`'s draft now.

        If `to_owner` already has one, the one saved later by the wall clock is kept, and the other
        is dropped: it is the draft the person was working on last. A revision count says how often
        a draft was edited, not how recently, so it only breaks a tie; a full tie keeps the moved
        one. A moved draft that replaces one gets a revision above both, so an owner's revisions
        only ever go up. The server id moves with the draft: the server hands a guest's drafts to
        the user who signs in with that guest's token, and if it did not, the next push recreates
        the copy.
        """
        if from_owner == to_owner:
            return self.load(to_owner)

        def op(conn: sqlite3.Connection) -> LocalDraft | None:
            with conn:
                # IMMEDIATE: nobody else may write between this read and the write below.
                conn.execute("BEGIN IMMEDIATE")
                source = _read(conn, from_owner)
                target = _read(conn, to_owner)
                if source is None:
                    return target[0] if target else None
                moving = source[0]
                if target is None:
                    # A row may be there and unreadable (see _read): it must not block the move.
                    conn.execute("DELETE FROM drafts WHERE owner = ?", (to_owner,))
                    revision = moving.revision
                else:
                    kept = target[0]
                    if (kept.updated_wall, kept.revision) > (moving.updated_wall, moving.revision):
                        conn.execute("DELETE FROM drafts WHERE owner = ?", (from_owner,))
                        return kept
                    conn.execute("DELETE FROM drafts WHERE owner = ?", (to_owner,))
                    revision = max(moving.revision, kept.revision) + 1
                conn.execute(
                    "UPDATE drafts SET owner = ?, revision = ? WHERE owner = ?",
                    (to_owner, revision, from_owner),
                )
                return LocalDraft(
                    to_owner, moving.step, moving.data, moving.server_id, revision, moving.updated_wall
                )

        return self._guarded(op)

    # -- for DraftSync --------------------------------------------------------------------------

    def _snapshot(self, owner: str) -> tuple[LocalDraft, str] | None:
        return self._guarded(lambda conn: _read(conn, owner))

    def _attach(self, owner: str, local_id: str, expected: str | None, server_id: str) -> bool:
        """Set the server id only if the draft is still the one pushed and nobody attached another."""

        def op(conn: sqlite3.Connection) -> bool:
            with conn:
                cursor = conn.execute(
                    "UPDATE drafts SET server_id = ? WHERE owner = ? AND local_id = ? AND server_id IS ?",
                    (server_id, owner, local_id, expected),
                )
            return cursor.rowcount == 1

        return self._guarded(op)


def _migrate(conn: sqlite3.Connection) -> None:
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        rows = conn.execute("SELECT version FROM schema_version").fetchall()
        try:
            version = int(rows[0][0]) if rows else 0
        except (TypeError, ValueError):
            raise sqlite3.DatabaseError("unreadable schema version") from None
        if len(rows) > 1 or version < 0:
            raise sqlite3.DatabaseError("unreadable schema version")
        if version > SCHEMA_VERSION:
            raise _Unusable(f"schema version {version} is newer than this sessionkeeper's")
        for script in _MIGRATIONS[version:]:
            conn.execute(script)
        if not rows:
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        elif version != SCHEMA_VERSION:
            conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))


def _read(conn: sqlite3.Connection, owner: str) -> tuple[LocalDraft, str] | None:
    row = conn.execute(_SELECT, (owner,)).fetchone()
    if row is None:
        return None
    step, encoded, server_id, revision, updated_wall, local_id = row
    try:
        data = json.loads(encoded)
    except (TypeError, ValueError):
        data = None
    if not isinstance(data, dict):
        # A row sqlite kept but that is not ours to read: no draft, and the next save replaces it.
        return None
    return LocalDraft(owner, step, data, server_id, int(revision), float(updated_wall)), local_id


def _code(exc: sqlite3.DatabaseError) -> int | None:
    """The primary result code, or None for an error raised here rather than by sqlite."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _squash(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


_SECRET_KEYS = frozenset(_squash(key) for key in SECRET_KEYS)


def _without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _without_secrets(item)
            for key, item in value.items()
            if not (isinstance(key, str) and _squash(key) in _SECRET_KEYS)
        }
    if isinstance(value, list | tuple):
        return [_without_secrets(item) for item in value]
    return value


class DraftSync:
    """Pushes an owner's local draft to the server: the local copy wins, the server's follows."""

    # The session middleware has already tried what can be tried (refresh, re-auth, one replay):
    # these mean "not now", and a later push retries.
    _NOT_NOW = (BackendUnreachable, BackendFailed, NotAuthenticated)

    def __init__(
        self,
        store: DraftStore,
        rest: RestClient | Callable[[], RestClient],
        graphql: GraphQLClient | Callable[[], GraphQLClient] | None = None,
    ) -> None:
        """`rest` is the REST client, or what makes it on the first push (it is made on first use).
        `graphql` is the GraphQL client (or what makes it, on the first seat held again) that holds
        a draft's seat for a recreated server copy; without it a seat is never held again."""
        self.store = store
        self._rest = rest
        self._graphql = graphql
        self._locks: dict[str, asyncio.Lock] = {}
        # Server copies made for a local draft whose seat could not be held again yet: (owner,
        # local id) -> server id, used again by the next push.
        self._unheld: dict[tuple[str, str], str] = {}

    @property
    def rest(self) -> RestClient:
        if callable(self._rest):
            self._rest = self._rest()
        return self._rest

    @property
    def graphql(self) -> GraphQLClient | None:
        if callable(self._graphql):
            self._graphql = self._graphql()
        return self._graphql

    async def push(self, owner: str) -> Draft | None:
        """Send `owner`'s draft: PUT to its server copy, or POST when it has none or the server lost
        it (404: the guest session was renewed, or the draft is someone else's now), recording the
        new server id. Returns the server's draft, or None if there is no local draft or the
        backend cannot take it now (unreachable, 5xx, session gone); the local draft is untouched.

        Any other ApiError (InvalidRequest, e.g. data over 16 KiB; MalformedResponse) is raised:
        retrying will not help, and the caller should say so. The local draft is untouched then too.

        A draft that holds a seat (at SEAT_HELD_STEP, with `seat` and `flight_id`) gets it held
        again for a new server copy: the server's holds belong to the owner, and a guest whose
        session ended is a new owner now, whose old holds ended with the old session. Until that
        hold is made the new copy is not attached, so a push that could not make it (backend
        unreachable, 5xx) leaves things as they were and the next push tries both again. If the
        seat is taken now (`seat_unavailable`), the draft gives it up: back to the `seats` step,
        without `seat`, with SEAT_RELEASED naming it, and the server's copy is told so too.
        """
        # One push per owner at a time: two concurrent first pushes would create two server drafts.
        lock = self._locks.setdefault(owner, asyncio.Lock())
        async with lock:
            snapshot = self.store._snapshot(owner)
            if snapshot is None:
                return None
            local, local_id = snapshot
            try:
                if local.server_id is not None:
                    try:
                        return await self.rest.update_draft(local.server_id, local.step, local.data)
                    except NotFound:
                        pass  # rule 11: the server lost its copy; recreate it below
                draft = await self._new_copy(owner, local, local_id)
                try:
                    taken = await self._hold_again(local, draft.id)
                except self._NOT_NOW:
                    # Made but not held: the next push uses this copy again, rather than leave
                    # one behind on the server per try (50 a owner at most).
                    self._unheld[(owner, local_id)] = draft.id
                    raise
                except ApiError:
                    # The copy stands; what refused the seat will refuse it again: not retried.
                    self.store._attach(owner, local_id, local.server_id, draft.id)
                    raise
            except self._NOT_NOW:
                return None
            self._unheld.pop((owner, local_id), None)
            if not self.store._attach(owner, local_id, local.server_id, draft.id) or taken is None:
                return draft
            return await self._give_up_seat(owner, local_id, draft, taken)

    async def _new_copy(self, owner: str, local: LocalDraft, local_id: str) -> Draft:
        """A server copy for a draft that has none (or lost it): the one an earlier push made and
        could not hold the seat for, if the server still has it, else a new one."""
        made = self._unheld.get((owner, local_id))
        if made is not None:
            try:
                return await self.rest.update_draft(made, local.step, local.data)
            except NotFound:
                del self._unheld[(owner, local_id)]
        return await self.rest.create_draft(local.step, local.data)

    async def _hold_again(self, local: LocalDraft, server_id: str) -> str | None:
        """Hold the draft's seat for its new server copy; the seat if someone else has it now."""
        seat, flight_id = local.data.get("seat"), local.data.get("flight_id")
        if (
            local.step != SEAT_HELD_STEP
            or not (isinstance(seat, str) and seat)
            or not (isinstance(flight_id, str) and flight_id)
        ):
            return None
        graphql = self.graphql  # made only now: most drafts never need it here
        if graphql is None:
            return None
        try:
            await graphql.hold_seat(flight_id, seat, server_id)
        except InvalidRequest as exc:
            if exc.code == "seat_unavailable":
                return seat
            raise
        return None

    async def _give_up_seat(self, owner: str, local_id: str, draft: Draft, seat: str) -> Draft | None:
        """The seat is someone else's: the draft goes back to choosing one, here and on the server."""
        snapshot = self.store._snapshot(owner)
        if snapshot is None or snapshot[1] != local_id or snapshot[0].data.get("seat") != seat:
            return draft  # another draft, or another seat, since: nothing of this seat to give up
        current = snapshot[0]
        data = {key: value for key, value in current.data.items() if key != "seat"}
        try:
            cleared = self.store.save(
                owner, "seats", {**data, SEAT_RELEASED: seat}, based_on=current.revision
            )
        except DraftConflict:
            return draft  # another instance saved since: its draft stands; the next push sends it
        try:
            return await self.rest.update_draft(draft.id, cleared.step, cleared.data)
        except self._NOT_NOW:
            return None  # the local draft says it; the next push tells the server


_MERGE_TRIES = 20  # a save merged into the latest draft, tried again while other instances save


class BookingDrafts:
    """The draft rules of the booking flow (rule 11), for whoever holds the session now.

    `holder()` names the signed-in user, or None for a guest: every read and write goes to that
    owner's draft, so a screen can never show or change someone else's. A field change is saved
    locally at once (`save`); a step change is also pushed to the server (`push`). When a guest
    signs in, the guest's draft goes with them (`hand_to_user`) unless they already have one.
    A screen's save names the revision it shows, so a window left behind never overwrites what
    another window saved since (DraftConflict; see the module's docstring).
    """

    def __init__(self, store: DraftStore, sync: DraftSync | None, holder: Callable[[], str | None]) -> None:
        self.store = store
        self.sync = sync
        self._holder = holder

    @property
    def owner(self) -> str:
        return owner_key(self._holder())

    def current(self) -> LocalDraft | None:
        return self.store.load(self.owner)

    def saved_for(self, username: str | None) -> LocalDraft | None:
        """Someone's draft, by name: the signed-out screen names the draft a user left behind."""
        return self.store.load(owner_key(username))

    def save(self, step: str, updates: dict[str, Any] | None = None, *, based_on: Basis = ANY) -> LocalDraft:
        """Merge `updates` into the holder's draft and move it to `step`. Raises DraftStoreError.

        `based_on` is the revision of the draft the caller shows (None: none): if the stored draft
        is another (another instance saved since), nothing is written and DraftConflict carries it.
        ANY (the default) merges into the latest draft, whoever saved it.
        """
        owner = self.owner
        for _ in range(_MERGE_TRIES):
            current = self.store.load(owner)
            if based_on is not ANY and current is not None and current.revision != based_on:
                raise DraftConflict(current, based_on)  # stale before anything was merged
            data = {**(current.data if current else {}), **(updates or {})}
            # The write is based on the draft just merged into, whatever the caller's basis: if
            # another instance saved in between, the merge would drop what it saved.
            try:
                saved = self.store.save(owner, step, data, based_on=current.revision if current else None)
            except DraftConflict:
                if based_on is not ANY:
                    raise
                continue  # ANY: merge into the newer one
            return saved
        raise DraftStoreError("draft storage failed: the draft kept changing in another window")

    async def push(self) -> str | None:
        """Send the holder's draft to the server; its server id, or None when the server cannot
        take it now (the local draft is kept either way). Raises the ApiErrors retrying won't fix."""
        if self.sync is not None:
            await self.sync.push(self.owner)
        draft = self.current()
        return draft.server_id if draft else None

    def hand_to_user(self, username: str) -> LocalDraft | None:
        """A guest signed in: their draft becomes the user's, unless the user has one already."""
        user = owner_key(username)
        if self.store.load(GUEST) is not None and self.store.load(user) is None:
            return self.store.move(GUEST, user)
        return self.store.load(user)

    def discard(self) -> None:
        """The booking is confirmed: the holder's draft is done."""
        self.store.discard(self.owner)
