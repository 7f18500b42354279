"""The stored session, as the manager keeps it (rule 10): read once at start, written when the
token changes and at most every 15 s for an extension alone, forgotten at sign-out.

The disk never takes a call down with it: a write that fails leaves the session going on in memory,
with one `session_store_failed` on the timeline until a write works again
(`session_store_recovered`), and `problem` saying why meanwhile; a failed write is tried again at
the next chance, throttle or not. A damaged stored session reads as none (`session_store_corrupt`:
the file was moved aside), an unreadable one too (`session_store_unreadable`).

Shared by every instance on the data dir (rule 14, `session.shared`): a write is made holding the
lock, and only over the stored session this instance last saw, or over the same token (then the
later of the two extensions is kept). Anything else is another instance's change (a sign-in, a
sign-out, a refresh): it is never overwritten, and this instance takes it on at its next look.
A sign-in of this instance's own (`winning`) is the one exception: the person asked for it here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from sessionkeeper.session.clock import Clock, skip_offset
from sessionkeeper.session.events import SessionKind
from sessionkeeper.session.secrets import Secret
from sessionkeeper.session.shared import LockBusy, SharedSession, identity
from sessionkeeper.session.store import LoadResult, SessionStore, StoredSession, StoreError

# How often, at most, an extension alone rewrites the stored session (token changes always do).
STORE_EVERY_S = 15.0
# The same while another instance shares it (rule 14): its deadline is this one's, as of the file.
SHARED_STORE_EVERY_S = 1.0

Record = Callable[..., None]
# Who a stored session belongs to: its kind, and the user's name (None for a guest).
Holder = tuple[SessionKind, str | None]


def holder_of(stored: StoredSession) -> Holder:
    name = stored.user.get("username")
    return stored.kind, name if isinstance(name, str) else None


class StoredSessionKeeper:
    def __init__(
        self,
        store: SessionStore | None,
        clock: Clock,
        record: Record,
        shared: SharedSession | None = None,
    ) -> None:
        """`record(name, **detail)` puts an entry on the timeline; `shared`: the other instances'
        part (None: this instance is alone with its store)."""
        self.store = store
        self.shared = shared if store is not None else None
        self._clock = clock
        self._record = record
        self.every_s = STORE_EVERY_S  # SHARED_STORE_EVERY_S while other instances run (rule 14)
        self.deferred = False  # a write the lock kept back (another instance held it)
        self._winning_pending = False  # ... and it was this instance's own sign-in
        self.clear_pending: tuple[Holder | None] | None = None  # a sign-out's clear kept back
        self._saved_token: Secret | None = None
        self._saved_at = float("-inf")
        if store is not None:
            store.watch(self._health_changed)

    @property
    def problem(self) -> str | None:
        """Why this session would not survive a restart: the stored copy's latest write failed
        ("cannot write session.json: No space left on device"). None when it worked or none was tried.
        """
        return self.store.error if self.store is not None else None

    def load(self) -> StoredSession | None:
        """The stored session to resume, if any; a damaged or unreadable file goes on the timeline."""
        store = self.store
        if store is None:
            return None
        return self.read().stored

    def read(self) -> LoadResult:
        """What the store holds now (see `SessionStore.read`), said on the timeline if damaged or
        unreadable; the shared part notes it as seen."""
        store = self.store
        if store is None:
            return LoadResult(None)
        shared = self.shared
        if shared is not None:
            # Seen before it is read: a write in between is a change the next look reads again.
            shared.look()
        result = self._read_raw(store)
        if shared is not None and result.damaged:
            shared.look()  # moved aside by this read: its absence is no news
        if result.damaged:
            moved_to = result.moved_to.name if result.moved_to is not None else None
            self._record("session_store_corrupt", moved_to=moved_to, reason=result.reason)
        elif result.reason is not None:
            self._record("session_store_unreadable", reason=result.reason)
        return result

    def save(
        self,
        token: Secret | None,
        snapshot: Callable[[], StoredSession | None],
        *,
        force: bool = False,
        now: float | None = None,
        winning: bool = False,
    ) -> None:
        """Store the session `snapshot()` makes, if it is due: a new token, a failing disk, `force`,
        or 15 s since the last write. Decided before any other work: it is on every accepted call's
        path, and nearly always not due. `now`: the clock's reading, when the caller has just made it.
        `winning`: this instance's own sign-in, written over whatever another instance stored."""
        store = self.store
        if store is None or token is None:
            return
        if now is None:
            now = self._clock.now()
        fresh_token = token is not self._saved_token
        failing = store.error is not None  # a failed write is retried at the next chance
        if not (force or fresh_token or failing or now - self._saved_at >= self.every_s):
            return
        stored = snapshot()
        if stored is None:
            return
        winning = winning or self._winning_pending
        try:
            if self.shared is None:
                store.save(stored)
            elif not self._save_shared(store, self.shared, stored, winning=winning):
                # Another instance's change is there: the next look takes it on. Until then the
                # throttle holds, so accepted calls do not each lock and read the file again.
                self._saved_token, self._saved_at = token, now
                return
        except StoreError:
            # The call that got here was accepted: the session goes on in memory. The store told
            # the timeline (once), `problem` says why, and the next save tries again.
            return
        except _Deferred:
            return  # another instance holds the lock this moment: the next save or look writes it
        self._saved_token, self._saved_at = token, now

    def _save_shared(
        self, store: SessionStore, shared: SharedSession, stored: StoredSession, *, winning: bool
    ) -> bool:
        """Write `stored` holding the lock, unless another instance changed the stored session
        since this one last saw it (False: not written; the next look takes the change on). With
        the lock busy, nothing is written now: `deferred`, and the next save or look tries again."""
        try:
            return self._save_locked(store, shared, stored, winning=winning)
        except LockBusy:
            self.deferred = True
            self._winning_pending = winning
            raise _Deferred() from None

    def _save_locked(
        self, store: SessionStore, shared: SharedSession, stored: StoredSession, *, winning: bool
    ) -> bool:
        self.deferred = self._winning_pending = False
        with shared.locked():
            merged = False
            if not winning and shared.changed() and not _in_the_way(store):
                theirs = self._read_raw(store).stored
                if theirs is None and stored.kind is SessionKind.GUEST:
                    pass  # nothing there: only a user's session is signed out by its absence
                elif theirs is None or theirs.token != stored.token:
                    return False
                elif theirs.last_extension_wall > stored.last_extension_wall:
                    stored = dataclasses.replace(stored, last_extension_wall=theirs.last_extension_wall)
                    merged = True
            store.save(stored)
            if not merged:
                # A merge took a later extension of another's: left unseen, so that the next look
                # reads it and the engine takes it on.
                shared.look()
        return True

    def _read_raw(self, store: SessionStore) -> LoadResult:
        # The real calendar time names a damaged file moved aside; a QA skip ahead is not mixed in.
        return store.read(now_wall=self._clock.wall() - skip_offset(self._clock))

    def adopted(self, token: Secret, now: float) -> None:
        """The stored session was just read and taken on: nothing of it needs writing back."""
        self._saved_token, self._saved_at = token, now

    def clear(self, holder: Holder | None = None) -> None:
        """Forget the stored session (a sign-out of `holder`'s session: its kind and username);
        never raises. Shared: a session another instance stored since this one last looked is
        this sign-out's to forget if it is the same person's (renewed there: a refresh, a
        re-auth); someone else's (a sign-in there) is left, and taken on at the next look."""
        store = self.store
        if store is None:
            return
        shared = self.shared
        if shared is None:
            store.clear()
            return
        try:
            with shared.locked():
                if shared.changed() and not _in_the_way(store):
                    theirs = self._read_raw(store).stored
                    if theirs is not None and holder_of(theirs) != holder:
                        self.clear_pending = None
                        return
                store.clear()
                shared.look()
        except LockBusy:
            self.clear_pending = (holder,)  # tried again at the next look (`retry`)
            return
        self.clear_pending = None

    def retry(self, save: Callable[[], None]) -> None:
        """What the lock kept from being done (another instance held it): a sign-out's clear, or
        a write (`save` makes it). Called at each look."""
        if self.clear_pending is not None:
            self.clear(self.clear_pending[0])
        elif self.deferred:
            save()

    def clear_if_stuck(self) -> None:
        """At close, with no session: a sign-out that could not forget the stored one tries again."""
        if self.store is not None and self.store.error is not None:
            self.store.clear()

    def _health_changed(self, error: str | None) -> None:
        if error is None:
            self._record("session_store_recovered")
        else:
            self._record("session_store_failed", error=error)


class _Deferred(Exception):
    """A write kept back by a busy lock."""


def _in_the_way(store: SessionStore) -> bool:
    """Something that is no stored session at all is at its name (a directory, a link): no other
    instance's change to respect; the write goes ahead, and fails or replaces it as it would alone."""
    found = identity(store.path)
    return found is not None and found.size < 0
