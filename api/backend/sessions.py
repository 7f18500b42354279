"""The server's session truth: tokens, sliding deadlines, rotation with grace, reauth keys.

This shares nothing with the client's session engine on purpose: if both came from one
module, one bug would hide in both. Time is read only through the injected `ServerClock`.

Secrets are never kept in the clear: tokens and reauth keys are stored as SHA-256 digests,
so no state dump, repr or log line can reveal one.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sessionkeeper.api.backend.clock import ServerClock

SessionKind = Literal["guest", "user"]
RejectReason = Literal["session_expired", "invalid_token", "lifetime_reached"]
# The absolute lifetime of a session, counted from the sign-in it descends from (rule 15): 8 h, as
# OWASP suggests for a session of ordinary risk.
DEFAULT_LIFETIME_S = 8 * 3600.0
# Why a session was ended before its deadline; shown in /__qa/state.
EndReason = Literal["signed_out", "revoked_by_qa", "upgraded_to_user"]


def default_token_factory() -> str:
    return secrets.token_urlsafe(32)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class AuthRejected(Exception):
    """A token the server will not accept; `reason` is the contract's error code."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason: RejectReason = reason
        self.detail = detail


@dataclass
class Session:
    id: str
    kind: SessionKind
    user: str | None
    created_at: float
    deadline: float
    ended: EndReason | None = None
    # When the sign-in this session descends from happened: its own creation for a guest or a
    # password sign-in; a re-auth (on the reauth key alone) keeps its predecessor's. The absolute
    # lifetime counts from here: a reauth key never buys time past it (NIST SP 800-63B).
    signed_in_at: float = 0.0

    @property
    def revoked(self) -> bool:
        return self.ended is not None

    def owner_key(self) -> str:
        """Who owns this session's drafts: the user, or (for a guest) the session itself."""
        return f"user:{self.user}" if self.user is not None else f"session:{self.id}"


@dataclass
class _TokenRecord:
    session_id: str
    # When a refresh replaced this token; it then lives `grace_s` longer.
    retired_at: float | None = None


@dataclass
class _ReauthRecord:
    username: str
    session_id: str
    signed_in_at: float


@dataclass(frozen=True)
class Issued:
    """What a successful guest/login/refresh/reauth hands out. The secrets stay out of repr."""

    session: Session
    token: str
    reauth_key: str | None = None

    def __repr__(self) -> str:
        return f"Issued(session={self.session.id!r})"


class ServerSessions:
    def __init__(
        self,
        clock: ServerClock,
        *,
        ttl_s: float,
        grace_s: float,
        lifetime_s: float = DEFAULT_LIFETIME_S,
        token_factory: Callable[[], str] | None = None,
    ) -> None:
        self._clock = clock
        self.ttl_s = ttl_s
        self.grace_s = grace_s
        self.lifetime_s = lifetime_s
        self._new_secret = token_factory if token_factory is not None else default_token_factory
        self._sessions: dict[str, Session] = {}
        self._tokens: dict[str, _TokenRecord] = {}
        self._reauth: dict[str, _ReauthRecord] = {}
        # session id -> digest of its newest token (the one a refresh retires)
        self._current: dict[str, str] = {}
        self._next_id = 1

    # -- reading ----------------------------------------------------------------------

    def all(self) -> list[Session]:
        return list(self._sessions.values())

    def get(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def is_alive(self, session: Session) -> bool:
        return not session.revoked and self._clock.now() < session.deadline

    def lifetime_ends(self, session: Session) -> float:
        """When the session (and any re-auth from it) is over, however active it is."""
        return session.signed_in_at + self.lifetime_s

    def lifetime_left(self, session: Session) -> float:
        return self.lifetime_ends(session) - self._clock.now()

    def expires_in(self, session: Session) -> float:
        return session.deadline - self._clock.now()

    def owner_alive(self, owner_key: str) -> bool:
        """Whether the owner a key names (see `Session.owner_key`) can still reach its things.

        A user always can: their drafts, holds and bookings outlive any one of their sessions, and
        a re-auth reaches them again. A guest is its one session: once that session has expired,
        been revoked or signed out, nobody can ever act as that guest again (a dead session never
        comes back: an expired deadline is never slid, a revoked session stays revoked).
        """
        kind, _, session_id = owner_key.partition(":")
        if kind != "session":
            return True
        session = self._sessions.get(session_id)
        return session is not None and self.is_alive(session)

    def peek(self, token: str) -> Session | None:
        """The live session a token stands for, without extending it; None if not accepted."""
        try:
            return self._check(token)
        except AuthRejected:
            return None

    # -- issuing ----------------------------------------------------------------------

    def create_guest(self) -> Issued:
        session = self._new_session("guest", None)
        return Issued(session, self._issue_token(session))

    def create_user(self, username: str) -> Issued:
        """A password sign-in: a new session, its lifetime counted from now."""
        return self._user_session(username, signed_in_at=self._clock.now())

    def _user_session(self, username: str, *, signed_in_at: float) -> Issued:
        session = self._new_session("user", username, signed_in_at=signed_in_at)
        return Issued(session, self._issue_token(session), self._issue_reauth_key(session))

    def reauth(self, reauth_key: str) -> Issued | None:
        """A valid key buys a new session for its user and is replaced by a new key. The new session
        keeps the sign-in time of the old: past the absolute lifetime a key buys nothing (raises
        AuthRejected `lifetime_reached`, and the key is spent), only the password does."""
        record = self._reauth.pop(_digest(reauth_key), None)
        if record is None:
            return None
        if self._clock.now() >= record.signed_in_at + self.lifetime_s:
            raise AuthRejected("lifetime_reached", "the session reached its absolute lifetime")
        return self._user_session(record.username, signed_in_at=record.signed_in_at)

    def refresh(self, session: Session) -> str:
        """Rotate to a new token on the same session; every older token enters its grace."""
        now = self._clock.now()
        current = self._current.get(session.id)
        if current is not None:
            self._tokens[current].retired_at = now
        session.deadline = self._slid(session, now)
        return self._issue_token(session)

    # -- checking ---------------------------------------------------------------------

    def authenticate(self, token: str) -> Session:
        """Accept a token and slide its session to now + TTL, or raise AuthRejected."""
        session = self._check(token)
        session.deadline = self._slid(session, self._clock.now())
        return session

    def _slid(self, session: Session, now: float) -> float:
        """The deadline an accepted request slides to: now + TTL, never past the lifetime's end."""
        return min(now + self.ttl_s, self.lifetime_ends(session))

    def _check(self, token: str) -> Session:
        record = self._tokens.get(_digest(token))
        if record is None:
            raise AuthRejected("invalid_token", "this token was never issued")
        session = self._sessions[record.session_id]
        now = self._clock.now()
        if session.revoked:
            raise AuthRejected("session_expired", "the session was revoked")
        if now >= self.lifetime_ends(session):
            raise AuthRejected("lifetime_reached", "the session reached its absolute lifetime")
        if now >= session.deadline:
            raise AuthRejected("session_expired", "the session expired")
        if record.retired_at is not None and now >= record.retired_at + self.grace_s:
            raise AuthRejected("session_expired", "the token was rotated out by a refresh")
        return session

    # -- ending -----------------------------------------------------------------------

    def end(self, session: Session, reason: EndReason, *, revoke_reauth_keys: bool) -> None:
        if session.ended is None:
            session.ended = reason
        if revoke_reauth_keys:
            for digest in [d for d, r in self._reauth.items() if r.session_id == session.id]:
                del self._reauth[digest]

    def clear(self) -> None:
        self._sessions.clear()
        self._tokens.clear()
        self._reauth.clear()
        self._current.clear()
        self._next_id = 1

    # -- internals --------------------------------------------------------------------

    def _new_session(
        self, kind: SessionKind, user: str | None, *, signed_in_at: float | None = None
    ) -> Session:
        now = self._clock.now()
        started = now if signed_in_at is None else signed_in_at
        session = Session(
            id=f"s{self._next_id}",
            kind=kind,
            user=user,
            created_at=now,
            deadline=min(now + self.ttl_s, started + self.lifetime_s),
            signed_in_at=started,
        )
        self._next_id += 1
        self._sessions[session.id] = session
        return session

    def _issue_token(self, session: Session) -> str:
        token, digest = self._fresh_secret()
        self._tokens[digest] = _TokenRecord(session.id)
        self._current[session.id] = digest
        return token

    def _issue_reauth_key(self, session: Session) -> str:
        key, digest = self._fresh_secret()
        self._reauth[digest] = _ReauthRecord(session.user or "", session.id, session.signed_in_at)
        return key

    def _fresh_secret(self) -> tuple[str, str]:
        """A secret unused as token or key: the two are different credentials, never mixed."""
        for _ in range(100):
            secret = self._new_secret()
            digest = _digest(secret)
            if digest not in self._tokens and digest not in self._reauth:
                return secret, digest
        raise RuntimeError("the token factory keeps repeating itself")
