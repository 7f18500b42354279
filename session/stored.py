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
from sessionkeeper.session.shared import SharedSession, identity
from sessionkeeper.session.store import LoadResult, SessionStore, StoredSession, StoreError

# How often, at most, an extension alone rewrites the stored session (token changes always do).
STORE_EVERY_S = 15.0

Record = Callable[..., None]


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
        # The real calendar time names a damaged file moved aside; a QA skip ahead is not mixed in.
        result = store.read(now_wall=self._clock.wall() - skip_offset(self._clock))
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
        if not (force or fresh_token or failing or now - self._saved_at >= STORE_EVERY_S):
            return
        stored = snapshot()
        if stored is None:
            return
        try:
            if self.shared is None:
                store.save(stored)
            elif not self._save_shared(store, self.shared, stored, winning=winning):
                return
        except StoreError:
            # The call that got here was accepted: the session goes on in memory. The store told
            # the timeline (once), `problem` says why, and the next save tries again.
            return
        self._saved_token, self._saved_at = token, now

    def _save_shared(
        self, store: SessionStore, shared: SharedSession, stored: StoredSession, *, winning: bool
    ) -> bool:
        """Write `stored` holding the lock, unless another instance changed the stored session
        since this one last saw it (False: not written; the next look takes the change on)."""
        with shared.locked():
            merged = False
            if not winning and shared.changed() and not _in_the_way(store):
                theirs = store.read(now_wall=self._clock.wall() - skip_offset(self._clock)).stored
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

    def adopted(self, token: Secret, now: float) -> None:
        """The stored session was just read and taken on: nothing of it needs writing back."""
        self._saved_token, self._saved_at = token, now

    def clear(self, token: Secret | None = None) -> None:
        """Forget the stored session (a sign-out of the session `token`); never raises. Shared:
        a session another instance stored since this one last looked (not `token`) is not this
        sign-out's to forget; it is left, and taken on at the next look."""
        store = self.store
        if store is None:
            return
        shared = self.shared
        if shared is None:
            store.clear()
            return
        with shared.locked():
            if shared.changed() and not _in_the_way(store):
                theirs = store.read(now_wall=self._clock.wall() - skip_offset(self._clock)).stored
                if theirs is not None and theirs.token != token:
                    return
            store.clear()
            shared.look()

    def clear_if_stuck(self) -> None:
        """At close, with no session: a sign-out that could not forget the stored one tries again."""
        if self.store is not None and self.store.error is not None:
            self.store.clear()

    def _health_changed(self, error: str | None) -> None:
        if error is None:
            self._record("session_store_recovered")
        else:
            self._record("session_store_failed", error=error)


def _in_the_way(store: SessionStore) -> bool:
    """Something that is no stored session at all is at its name (a directory, a link): no other
    instance's change to respect; the write goes ahead, and fails or replaces it as it would alone."""
    found = identity(store.path)
    return found is not None and found.size < 0
