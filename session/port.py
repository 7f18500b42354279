"""The port through which the manager obtains, refreshes and re-authenticates sessions.

`api/` fills it in over HTTP; tests fill it in with an in-memory fake. Errors a port may raise
are defined here so the manager can tell a rejection from an outage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sessionkeeper.session.events import SessionKind
from sessionkeeper.session.secrets import Secret


@dataclass(frozen=True, slots=True)
class IssuedSession:
    token: Secret
    kind: SessionKind
    reauth_key: Secret | None = None
    user: Mapping[str, Any] = field(default_factory=dict)


class SessionRejected(Exception):
    """The server refused the credential (401): the session or the key is gone."""


class LifetimeReached(SessionRejected):
    """The server refused a refresh or a re-auth because the session reached its absolute lifetime
    (`lifetime_reached`, counted from sign-in): only the password renews it (rule 15)."""


class BackendUnavailable(Exception):
    """No verdict from the server: a transport failure (`transport`) or a 5xx."""

    def __init__(self, message: str, *, transport: bool) -> None:
        super().__init__(message)
        self.transport = transport


class SessionPort(Protocol):
    async def start_guest(self) -> IssuedSession: ...

    async def login(
        self, username: str, password: Secret, guest_token: Secret | None = None
    ) -> IssuedSession:
        """`guest_token`: the live guest session being upgraded (the server ends it)."""
        ...

    async def refresh(self, token: Secret) -> Secret: ...

    async def reauth(self, reauth_key: Secret) -> IssuedSession: ...

    async def sign_out(self, token: Secret) -> None: ...
