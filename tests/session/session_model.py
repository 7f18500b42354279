"""A small model of the server's session truth (docs/backend.md section 2), for property tests.

Written from the contract alone and sharing no code with `session/` (nor with `fake_backend.py`):
if the engine and this model agreed by construction, one bug could hide in both. It has no clock
of its own; every operation is told the time `now` at which the server processes it.

- A session lives `ttl_s` after the last request that used it (sliding expiry).
- Tokens map to sessions. A refresh rotates the token: the new one is on the same session, the old
  one keeps working (on the same session) for `grace_s` more.
- A user session comes with a reauth key; using it rotates it and opens a new session.
- Revocation kills a session and its reauth key.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal

RefreshFault = Literal["ok", "error", "reject"]


@dataclass
class ModelSession:
    sid: int
    kind: Literal["guest", "user"]
    user: str | None
    deadline: float
    revoked: bool = False
    ended: bool = False  # the server declared it gone (a refresh answered 401 by the fault)

    def alive(self, now: float) -> bool:
        return not self.revoked and not self.ended and now < self.deadline


@dataclass
class ModelToken:
    sid: int
    retired_until: float | None = None  # set when rotated out: the end of its grace period


@dataclass(frozen=True)
class RefreshAnswer:
    status: Literal["ok", "error", "rejected"]  # 200, 503, 401
    token: str | None = None


@dataclass(frozen=True)
class IssuedAnswer:
    token: str
    reauth_key: str | None


@dataclass
class ModelServer:
    ttl_s: float
    grace_s: float
    refresh_fault: RefreshFault = "ok"
    sessions: dict[int, ModelSession] = field(default_factory=dict)
    tokens: dict[str, ModelToken] = field(default_factory=dict)
    reauth_keys: dict[str, int] = field(default_factory=dict)  # key -> the session it came with
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- lookups --------------------------------------------------------------------------------

    def session_of(self, token: str | None) -> ModelSession | None:
        """The session a token was issued on, whatever its state."""
        if token is None or token not in self.tokens:
            return None
        return self.sessions[self.tokens[token].sid]

    def valid_session(self, token: str | None, now: float) -> ModelSession | None:
        """The session a request with this token would be accepted on at `now`, or None."""
        if token is None:
            return None
        record = self.tokens.get(token)
        if record is None:
            return None
        if record.retired_until is not None and now >= record.retired_until:
            return None
        session = self.sessions[record.sid]
        return session if session.alive(now) else None

    # -- requests -------------------------------------------------------------------------------

    def call(self, token: str, now: float) -> bool:
        """Any authenticated REST or GraphQL request: True if accepted (the session slides)."""
        session = self.valid_session(token, now)
        if session is None:
            return False
        session.deadline = now + self.ttl_s
        return True

    def refresh(self, token: str, now: float) -> RefreshAnswer:
        if self.refresh_fault == "error":
            return RefreshAnswer("error")  # 503 before looking at the token: nothing changes
        session = self.valid_session(token, now)
        if session is None:
            return RefreshAnswer("rejected")
        if self.refresh_fault == "reject":
            # The 401 is the server's truth: it no longer holds this session. Its reauth key is
            # kept (it was not revoked), so a user can re-authenticate (edge case 9).
            session.ended = True
            return RefreshAnswer("rejected")
        record = self.tokens[token]
        end = now + self.grace_s
        record.retired_until = end if record.retired_until is None else min(record.retired_until, end)
        session.deadline = now + self.ttl_s
        return RefreshAnswer("ok", self._new_token(session.sid))

    def new_guest(self, now: float) -> IssuedAnswer:
        sid = self._new_session("guest", None, now)
        return IssuedAnswer(self._new_token(sid), None)

    def login(self, user: str, now: float, guest_token: str | None = None) -> IssuedAnswer:
        """A new user session; the guest session the client held, if any, ends (its drafts move)."""
        guest = self.valid_session(guest_token, now)
        if guest is not None and guest.kind == "guest":
            guest.ended = True
        return self._user_session(user, now)

    def reauth(self, key: str | None, now: float) -> IssuedAnswer | None:
        """A new session for the key's user, with a rotated key; None (401) if the key is not valid."""
        if key is None or key not in self.reauth_keys:
            return None
        sid = self.reauth_keys.pop(key)
        user = self.sessions[sid].user
        assert user is not None
        return self._user_session(user, now)

    def sign_out(self, token: str, now: float) -> bool:
        """DELETE /api/session: revokes the token's session and its reauth key (401 if not valid)."""
        session = self.valid_session(token, now)
        if session is None:
            return False
        self.revoke(session.sid)
        return True

    # -- QA -------------------------------------------------------------------------------------

    def revoke(self, sid: int) -> None:
        self.sessions[sid].revoked = True
        for key, owner in list(self.reauth_keys.items()):
            if owner == sid:
                del self.reauth_keys[key]

    def revoke_all(self) -> None:
        for sid in list(self.sessions):
            self.revoke(sid)

    # -- internals ------------------------------------------------------------------------------

    def _new_session(self, kind: Literal["guest", "user"], user: str | None, now: float) -> int:
        sid = next(self._serial)
        self.sessions[sid] = ModelSession(sid, kind, user, now + self.ttl_s)
        return sid

    def _new_token(self, sid: int) -> str:
        token = f"t{next(self._serial)}"
        self.tokens[token] = ModelToken(sid)
        return token

    def _user_session(self, user: str, now: float) -> IssuedAnswer:
        sid = self._new_session("user", user, now)
        key = f"k{next(self._serial)}"
        self.reauth_keys[key] = sid
        return IssuedAnswer(self._new_token(sid), key)
