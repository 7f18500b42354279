"""The stored session, as the manager keeps it (rule 10): read once at start, written when the
token changes and at most every 15 s for an extension alone, forgotten at sign-out.

The disk never takes a call down with it: a write that fails leaves the session going on in memory,
with one `session_store_failed` on the timeline until a write works again
(`session_store_recovered`), and `problem` saying why meanwhile; a failed write is tried again at
the next chance, throttle or not. A damaged stored session reads as none (`session_store_corrupt`:
the file was moved aside), an unreadable one too (`session_store_unreadable`).
"""

from __future__ import annotations

from collections.abc import Callable

from sessionkeeper.session.clock import Clock, skip_offset
from sessionkeeper.session.secrets import Secret
from sessionkeeper.session.store import SessionStore, StoredSession, StoreError

# How often, at most, an extension alone rewrites the stored session (token changes always do).
STORE_EVERY_S = 15.0

Record = Callable[..., None]


class StoredSessionKeeper:
    def __init__(self, store: SessionStore | None, clock: Clock, record: Record) -> None:
        """`record(name, **detail)` puts an entry on the timeline."""
        self.store = store
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
        # The real calendar time names a damaged file moved aside; a QA skip ahead is not mixed in.
        result = store.read(now_wall=self._clock.wall() - skip_offset(self._clock))
        if result.damaged:
            moved_to = result.moved_to.name if result.moved_to is not None else None
            self._record("session_store_corrupt", moved_to=moved_to, reason=result.reason)
        elif result.reason is not None:
            self._record("session_store_unreadable", reason=result.reason)
        return result.stored

    def save(
        self,
        token: Secret | None,
        snapshot: Callable[[], StoredSession | None],
        *,
        force: bool = False,
        now: float | None = None,
    ) -> None:
        """Store the session `snapshot()` makes, if it is due: a new token, a failing disk, `force`,
        or 15 s since the last write. Decided before any other work: it is on every accepted call's
        path, and nearly always not due. `now`: the clock's reading, when the caller has just made it."""
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
            store.save(stored)
        except StoreError:
            # The call that got here was accepted: the session goes on in memory. The store told
            # the timeline (once), `problem` says why, and the next save tries again.
            return
        self._saved_token, self._saved_at = token, now

    def clear(self) -> None:
        """Forget the stored session (a sign-out); never raises."""
        if self.store is not None:
            self.store.clear()

    def clear_if_stuck(self) -> None:
        """At close, with no session: a sign-out that could not forget the stored one tries again."""
        if self.store is not None and self.store.error is not None:
            self.store.clear()

    def _health_changed(self, error: str | None) -> None:
        if error is None:
            self._record("session_store_recovered")
        else:
            self._record("session_store_failed", error=error)
