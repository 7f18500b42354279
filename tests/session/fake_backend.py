"""An in-memory backend that follows docs/backend.md section 2, for testing the manager without HTTP.

Its truth is its own: sessions slide on every accepted call, refresh rotates with a grace period,
reauth keys rotate on use. It reads the same fake clock as the client, as a real server's clock
would run beside it.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sessionkeeper.session.clock import Clock
from sessionkeeper.session.events import SessionKind
from sessionkeeper.session.port import BackendUnavailable, IssuedSession, SessionRejected
from sessionkeeper.session.secrets import Secret

USERS = {"ada": ("lovelace", {"username": "ada", "name": "Ada Lovelace", "tier": "gold"})}


@dataclass
class ServerSession:
    sid: str
    kind: SessionKind
    user: str | None
    deadline: float
    revoked: bool = False


@dataclass
class TokenRecord:
    sid: str
    valid_until: float | None = None  # set when rotated out: the grace period's end


@dataclass
class FakeBackend:
    clock: Clock
    ttl_s: float = 900.0
    grace_s: float = 30.0
    refresh_fault: str = "ok"  # "ok" | "error" (503) | "reject" (401)
    offline: bool = False  # every request fails in transport
    refresh_gate: asyncio.Event | None = None  # when set, refreshes wait for it (to pile callers up)
    sessions: dict[str, ServerSession] = field(default_factory=dict)
    tokens: dict[str, TokenRecord] = field(default_factory=dict)
    reauth_keys: dict[str, str] = field(default_factory=dict)  # key -> user
    counters: Counter[str] = field(default_factory=Counter)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- the port ---------------------------------------------------------------------------------

    async def start_guest(self) -> IssuedSession:
        self._reachable()
        self.counters["guest_sessions"] += 1
        sid = self._new_session(SessionKind.GUEST, None)
        return IssuedSession(Secret(self._new_token(sid)), SessionKind.GUEST)

    async def login(
        self, username: str, password: Secret, guest_token: Secret | None = None
    ) -> IssuedSession:
        self._reachable()
        self.counters["logins"] += 1
        expected = USERS.get(username)
        if expected is None or expected[0] != password.reveal():
            raise SessionRejected("invalid_credentials")
        return self._user_session(username)

    async def refresh(self, token: Secret) -> Secret:
        self._reachable()
        self.counters["refreshes"] += 1
        if self.refresh_gate is not None:
            await self.refresh_gate.wait()
        if self.refresh_fault == "error":
            self.counters["refresh_failures"] += 1
            raise BackendUnavailable("503 refresh_unavailable", transport=False)
        session = self._valid(token.reveal())
        if session is None or self.refresh_fault == "reject":
            self.counters["refresh_failures"] += 1
            self.counters["rejected"] += 1
            raise SessionRejected("session_expired")
        now = self.clock.now()
        self.tokens[token.reveal()].valid_until = now + self.grace_s
        session.deadline = now + self.ttl_s
        return Secret(self._new_token(session.sid))

    async def reauth(self, reauth_key: Secret) -> IssuedSession:
        self._reachable()
        self.counters["reauths"] += 1
        user = self.reauth_keys.pop(reauth_key.reveal(), None)
        if user is None:
            raise SessionRejected("reauth_rejected")
        return self._user_session(user)

    async def sign_out(self, token: Secret) -> None:
        self._reachable()
        session = self._valid(token.reveal())
        if session is None:
            raise SessionRejected("session_expired")
        self.revoke(session.sid)

    # -- what a domain call does --------------------------------------------------------------------

    def call(self, token: Secret) -> bool:
        """An API call: True if accepted (and the session slides), False if rejected (401)."""
        self._reachable()
        self.counters["api_calls"] += 1
        session = self._valid(token.reveal())
        if session is None:
            self.counters["rejected"] += 1
            return False
        session.deadline = self.clock.now() + self.ttl_s
        return True

    # -- QA -----------------------------------------------------------------------------------------

    def revoke(self, sid: str) -> None:
        session = self.sessions[sid]
        session.revoked = True
        for key, user in list(self.reauth_keys.items()):
            if session.user is not None and user == session.user:
                del self.reauth_keys[key]

    def session_of(self, token: Secret | None) -> ServerSession | None:
        if token is None:
            return None
        record = self.tokens.get(token.reveal())
        return self.sessions[record.sid] if record else None

    def live_sessions(self) -> list[ServerSession]:
        now = self.clock.now()
        return [s for s in self.sessions.values() if not s.revoked and now < s.deadline]

    # -- internals ----------------------------------------------------------------------------------

    def _reachable(self) -> None:
        if self.offline:
            raise BackendUnavailable("connection refused", transport=True)

    def _new_session(self, kind: SessionKind, user: str | None) -> str:
        sid = f"s{next(self._ids)}"
        self.sessions[sid] = ServerSession(sid, kind, user, self.clock.now() + self.ttl_s)
        return sid

    def _new_token(self, sid: str) -> str:
        token = f"tok-{sid}-{next(self._ids)}-secretvalue"
        self.tokens[token] = TokenRecord(sid)
        return token

    def _user_session(self, username: str) -> IssuedSession:
        sid = self._new_session(SessionKind.USER, username)
        key = f"key-{next(self._ids)}-secretvalue"
        self.reauth_keys[key] = username
        profile: dict[str, Any] = dict(USERS[username][1])
        return IssuedSession(Secret(self._new_token(sid)), SessionKind.USER, Secret(key), profile)

    def _valid(self, token: str) -> ServerSession | None:
        record = self.tokens.get(token)
        if record is None:
            return None
        session = self.sessions[record.sid]
        now = self.clock.now()
        if session.revoked or now >= session.deadline:
            return None
        if record.valid_until is not None and now >= record.valid_until:
            return None
        return session
