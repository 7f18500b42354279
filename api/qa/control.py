"""The backend's `/__qa` routes as a typed client. `QAControl` talks to `/__qa` (no token, not
through the session middleware) over one client it keeps, and raises the project's errors
(`sessionkeeper.api.errors`), so a QA action against a backend that is down or slow is a message,
never a crash."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from sessionkeeper.session.secrets import Secret

from sessionkeeper.api.errors import (
    BackendFailed,
    BackendUnreachable,
    InvalidRequest,
    MalformedResponse,
    RedirectNotFollowed,
)
from sessionkeeper.api.network import (
    DEFAULT_CALL_DEADLINE_S,
    AnswerTooLarge,
    BoundedTransport,
    Scope,
    http_transport,
)


@dataclass(frozen=True, slots=True)
class Faults:
    refresh: str  # "ok" | "error" (503) | "reject" (401)
    latency_ms: int
    down: bool
    graphql_auth_error: str  # "extensions" | "http"
    ttl_s: float
    # The server's faults narrowed to a path and a probability (by name: refresh, latency, down).
    scopes: dict[str, Scope] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ServerSession:
    id: str  # opaque; never the token
    kind: str
    user: str | None
    expires_in_s: float
    revoked: bool
    ended: str | None
    lifetime_left_s: float | None = None  # to the absolute lifetime (rule 15); None: not said

    @property
    def alive(self) -> bool:
        return self.expires_in_s > 0 and not self.revoked and self.ended is None


@dataclass(frozen=True, slots=True)
class ServerState:
    """`GET /__qa/state`: the server's truth."""

    now: float
    ttl_s: float
    lifetime_s: float | None  # the absolute lifetime, from sign-in; None: not said
    faults: Faults
    sessions: tuple[ServerSession, ...]
    counters: dict[str, int]

    def live_session(self, user: str | None, session_id: str | None = None) -> ServerSession | None:
        """The server's record of the client's session, if it is alive there: by its id when the
        client knows it (`QAControl.whose`: two windows can hold sessions of one user); else by
        who holds it (the user, or a guest) and freshness."""
        if session_id is not None:
            return next((s for s in self.sessions if s.id == session_id and s.alive), None)
        mine = [s for s in self.sessions if s.alive and (s.user == user if user else s.kind == "guest")]
        return max(mine, key=lambda s: s.expires_in_s, default=None)

    def others_alive(self, session_id: str | None) -> list[ServerSession]:
        """Live sessions on the server that are not the client's own (`session_id`)."""
        return [s for s in self.sessions if s.alive and s.id != session_id]


class QAControl:
    """The `/__qa` routes of docs/backend.md section 4."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 5.0,
        deadline_s: float = DEFAULT_CALL_DEADLINE_S,
    ) -> None:
        """`transport`: what the client stands on; by default httpx's own, bounded by
        `BoundedTransport` (`deadline_s` for a whole exchange, answers of a few MiB)."""
        # One client for the life of the app: a QA panel polling every second must not build a
        # client (and its connection pool) per poll. No TLS context: QA is for the local backend.
        if transport is None:
            transport = BoundedTransport(http_transport(tls=False), deadline_s=deadline_s)
        self._http = httpx.AsyncClient(
            base_url=base_url, transport=transport, timeout=timeout, follow_redirects=False
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def state(self) -> ServerState:
        body = await self._request("GET", "/__qa/state")
        try:
            return ServerState(
                now=float(body["now"]),
                ttl_s=float(body["ttl_s"]),
                lifetime_s=None if body.get("lifetime_s") is None else float(body["lifetime_s"]),
                faults=_faults(body["faults"]),
                sessions=tuple(
                    ServerSession(
                        id=str(s["id"]),
                        kind=str(s["kind"]),
                        user=None if s.get("user") is None else str(s["user"]),
                        expires_in_s=float(s["expires_in_s"]),
                        revoked=bool(s["revoked"]),
                        ended=None if s.get("ended") is None else str(s["ended"]),
                        lifetime_left_s=(
                            None if s.get("lifetime_left_s") is None else float(s["lifetime_left_s"])
                        ),
                    )
                    for s in body["sessions"]
                ),
                counters={str(k): int(v) for k, v in dict(body["counters"]).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedResponse(f"/__qa/state: unexpected answer ({type(exc).__name__})") from None

    async def advance_clock(self, seconds: float) -> float:
        body = await self._request("POST", "/__qa/clock", {"advance_s": seconds})
        return _number(body, "now", "/__qa/clock")

    async def faults(self) -> Faults:
        return _faults(await self._request("GET", "/__qa/faults"))

    async def set_faults(self, **faults: Any) -> Faults:
        return _faults(await self._request("POST", "/__qa/faults", faults))

    async def whose(self, token: Secret) -> str | None:
        """The id of the session `token` belongs to (GET /__qa/session); None when the server
        accepts it no longer. The token goes in the Authorization header only, never a log."""
        response = await self._send(
            "GET", "/__qa/session", headers={"Authorization": f"Bearer {token.reveal()}"}
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise BackendFailed(f"/__qa/session: HTTP {response.status_code}", response.status_code)
        try:
            found = response.json().get("id")
        except (ValueError, AttributeError):
            found = None
        if not isinstance(found, str):
            raise MalformedResponse("/__qa/session: unexpected answer")
        return found

    async def revoke(self, session_id: str) -> list[str]:
        """End one session server-side (its reauth key kept, so the client can recover)."""
        return await self._revoke({"session_id": session_id})

    async def revoke_all(self) -> list[str]:
        return await self._revoke({"all": True})

    async def _revoke(self, which: dict[str, Any]) -> list[str]:
        body = await self._request("POST", "/__qa/revoke", which)
        revoked = body.get("revoked")
        if not isinstance(revoked, list):
            raise MalformedResponse("/__qa/revoke: unexpected answer")
        return [str(x) for x in revoked]

    async def reset(self) -> None:
        await self._request("POST", "/__qa/reset", {})

    async def _send(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """One exchange, its failures said as the project's errors; any status but a redirect."""
        try:
            response = await self._http.request(method, path, json=body, headers=headers)
        except httpx.TimeoutException:
            raise BackendUnreachable("the server did not answer in time") from None
        except httpx.TransportError:
            raise BackendUnreachable("the server is unreachable") from None
        except AnswerTooLarge as exc:
            raise MalformedResponse(f"{path}: {exc}") from None
        if 300 <= response.status_code < 400:
            raise RedirectNotFollowed(response.status_code)
        return response

    async def _request(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = await self._send(method, path, body)
        if response.status_code >= 500:
            raise BackendFailed(f"{path}: HTTP {response.status_code}", response.status_code)
        if response.status_code >= 400:
            raise InvalidRequest(f"{path}: HTTP {response.status_code}", response.status_code)
        try:
            answer = response.json()
        except ValueError:
            raise MalformedResponse(f"{path}: the answer is not JSON") from None
        if not isinstance(answer, dict):
            raise MalformedResponse(f"{path}: the answer is not a JSON object")
        return answer


def _faults(body: Any) -> Faults:
    try:
        return Faults(
            refresh=str(body["refresh"]),
            latency_ms=int(body["latency_ms"]),
            down=bool(body["down"]),
            graphql_auth_error=str(body["graphql_auth_error"]),
            ttl_s=float(body["ttl_s"]),
            scopes={
                str(name): Scope(float(x["rate"]), str(x["path"]))
                for name, x in dict(body.get("scopes") or {}).items()
            },
        )
    except (KeyError, TypeError, ValueError):
        raise MalformedResponse("/__qa/faults: unexpected answer") from None


def _number(body: dict[str, Any], key: str, path: str) -> float:
    value = body.get(key)
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedResponse(f"{path}: unexpected answer")
    return float(value)


# -- the QA actions ----------------------------------------------------------------------------
