"""QA control: the backend's `/__qa` routes as a typed client, and every QA action by name.

`QAControl` talks to `/__qa` (no token, not through the session middleware) over one client it
keeps, and raises the project's errors (`api.errors`), so a QA action against a backend that is
down or slow is a message, never a crash. `QADesk` is the QA actions themselves: the QA panel,
the command palette and scripted scenarios all run them by name through `QADesk.run`, and each
answers in a line fit for the panel.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from api.errors import (
    ApiError,
    BackendFailed,
    BackendUnreachable,
    InvalidRequest,
    MalformedResponse,
    RedirectNotFollowed,
)
from api.network import DEFAULT_CALL_DEADLINE_S, AnswerTooLarge, BoundedTransport, http_transport

if TYPE_CHECKING:
    from api.client import BackendClient
    from session.clock import QAClock


@dataclass(frozen=True, slots=True)
class Faults:
    refresh: str  # "ok" | "error" (503) | "reject" (401)
    latency_ms: int
    down: bool
    graphql_auth_error: str  # "extensions" | "http"
    ttl_s: float


@dataclass(frozen=True, slots=True)
class ServerSession:
    id: str  # opaque; never the token
    kind: str
    user: str | None
    expires_in_s: float
    revoked: bool
    ended: str | None

    @property
    def alive(self) -> bool:
        return self.expires_in_s > 0 and not self.revoked and self.ended is None


@dataclass(frozen=True, slots=True)
class ServerState:
    """`GET /__qa/state`: the server's truth."""

    now: float
    ttl_s: float
    faults: Faults
    sessions: tuple[ServerSession, ...]
    counters: dict[str, int]

    def live_session(self, user: str | None) -> ServerSession | None:
        """The server's record of the client's session, if it is alive there. Tokens are never
        shown, so it is matched by who holds it (the user, or a guest) and freshness."""
        mine = [s for s in self.sessions if s.alive and (s.user == user if user else s.kind == "guest")]
        return max(mine, key=lambda s: s.expires_in_s, default=None)


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
                faults=_faults(body["faults"]),
                sessions=tuple(
                    ServerSession(
                        id=str(s["id"]),
                        kind=str(s["kind"]),
                        user=None if s.get("user") is None else str(s["user"]),
                        expires_in_s=float(s["expires_in_s"]),
                        revoked=bool(s["revoked"]),
                        ended=None if s.get("ended") is None else str(s["ended"]),
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

    async def revoke_all(self) -> list[str]:
        body = await self._request("POST", "/__qa/revoke", {"all": True})
        revoked = body.get("revoked")
        if not isinstance(revoked, list):
            raise MalformedResponse("/__qa/revoke: unexpected answer")
        return [str(x) for x in revoked]

    async def reset(self) -> None:
        await self._request("POST", "/__qa/reset", {})

    async def _request(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        try:
            response = await self._http.request(method, path, json=body)
        except httpx.TimeoutException:
            raise BackendUnreachable("the server did not answer in time") from None
        except httpx.TransportError:
            raise BackendUnreachable("the server is unreachable") from None
        except AnswerTooLarge as exc:
            raise MalformedResponse(f"{path}: {exc}") from None
        if 300 <= response.status_code < 400:
            raise RedirectNotFollowed(response.status_code)
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
        )
    except (KeyError, TypeError, ValueError):
        raise MalformedResponse("/__qa/faults: unexpected answer") from None


def _number(body: dict[str, Any], key: str, path: str) -> float:
    value = body.get(key)
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedResponse(f"{path}: unexpected answer")
    return float(value)


# -- the QA actions ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QAAction:
    """One QA action: `name` is how scenarios and the palette call it, `key` the panel's key."""

    name: str
    key: str
    short: str  # in the panel's key list
    title: str  # for the command palette; "N" is the panel's amount
    help: str
    amount: bool = False  # takes N (seconds, or calls for a burst)
    switch: bool = False  # a fault or switch: on/off (toggled when not said)


ACTIONS: tuple[QAAction, ...] = (
    QAAction(
        "skip",
        "k",
        "skip N",
        "QA: skip ahead N seconds",
        "both clocks, the client's and the server's",
        amount=True,
    ),
    QAAction(
        "to_warning", "w", "to warning", "QA: skip to the warning window", "both clocks, just inside it"
    ),
    QAAction(
        "past_expiry", "x", "past expiry", "QA: skip just past the deadline", "both clocks, 1 s past it"
    ),
    QAAction(
        "background",
        "g",
        "background N",
        "QA: background for N seconds",
        "as a focus loss, then back",
        amount=True,
    ),
    QAAction(
        "refresh_503", "e", "refresh 503", "QA: refresh answers 503", "fault on the server", switch=True
    ),
    QAAction(
        "refresh_401", "j", "refresh 401", "QA: refresh answers 401", "fault on the server", switch=True
    ),
    QAAction(
        "latency", "l", "latency", "QA: 1.5 s latency on every answer", "fault on the server", switch=True
    ),
    QAAction("down", "d", "down", "QA: backend down (503 everywhere)", "fault on the server", switch=True),
    QAAction(
        "graphql_401",
        "a",
        "gql 401",
        "QA: GraphQL auth errors as HTTP 401",
        "instead of 200 + UNAUTHENTICATED",
        switch=True,
    ),
    QAAction("short_ttl", "t", "TTL/2", "QA: server TTL halved", "the client is not told", switch=True),
    QAAction(
        "malformed",
        "m",
        "malformed",
        "QA: malformed answers",
        "client side: domain answers garbled",
        switch=True,
    ),
    QAAction("revoke", "v", "revoke", "QA: revoke the session server-side", "every live session"),
    QAAction("offline", "o", "offline", "QA: client offline", "calls fail in transport", switch=True),
    QAAction(
        "slow_calls",
        "c",
        "slow calls",
        "QA: calls held 3 s before they leave",
        "client side, token already on; a refresh meanwhile overtakes them (edge case 15)",
        switch=True,
    ),
    QAAction(
        "burst", "u", "burst N", "QA: burst of N calls", "half REST, half GraphQL, all at once", amount=True
    ),
    QAAction(
        "burst_at_expiry",
        "y",
        "burst at expiry",
        "QA: burst of N calls at expiry",
        "just past the client's deadline",
        amount=True,
    ),
    QAAction(
        "reset", "0", "reset", "QA: reset the server", "sessions, counters and faults; client back online"
    ),
)
ACTIONS_BY_NAME = {action.name: action for action in ACTIONS}
# N for the QA actions that take one; +/- step through them. Each shipped scenario's N is one of
# these, so that its recipe can be played from the keyboard (tui.scenario.recipes).
AMOUNTS = (10, 30, 60, 120, 300, 500, 900, 3600)
SLOW_CALLS_S = 3.0


class QADesk:
    """Carries out the QA actions on both sides: the client (its QA clock, the session manager, the
    network switch) and the server (through `QAControl`). The server is asked first, so an action
    the server refuses or cannot hear moves nothing on the client either."""

    def __init__(
        self,
        control: QAControl,
        client: BackendClient,
        clock: QAClock,
        *,
        full_ttl_s: float,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.control = control
        self.client = client
        self.clock = clock
        self.full_ttl_s = full_ttl_s
        self.amount_index = 1  # N = 30: kept for the life of the app, not per panel
        self._on_change = on_change or (lambda: None)
        # Told of each action done (its name, N if it takes one, a switch's state after it): the
        # scenario recorder writes them down (tui.scenario.record).
        self.listeners: list[Callable[[str, float | None, bool | None], None]] = []
        self._switched: bool | None = None  # the state the last switch action left
        self.burst_running = False
        self.burst_answered = self.burst_size = 0  # progress of the burst in flight

    @property
    def amount(self) -> int:
        return AMOUNTS[self.amount_index]

    def change_amount(self, step: int) -> int:
        self.amount_index = max(0, min(len(AMOUNTS) - 1, self.amount_index + step))
        return self.amount

    async def run(self, name: str, amount: float | None = None, on: bool | None = None) -> str:
        """Run the action called `name`; what happened, in one line. Raises KeyError for an
        unknown name, ValueError for a bad amount, and ApiError when the server could not do it."""
        action = ACTIONS_BY_NAME[name]
        n = float(self.amount if amount is None else amount)
        if action.amount and not (math.isfinite(n) and n >= 0):
            raise ValueError(f"{name}: N must be a non-negative number, got {amount!r}")
        handlers: dict[str, Callable[[], Awaitable[str]]] = {
            "skip": lambda: self.skip(n),
            "to_warning": self.to_warning,
            "past_expiry": self.past_expiry,
            "background": lambda: self.background(n),
            "refresh_503": lambda: self._refresh_fault("error", on),
            "refresh_401": lambda: self._refresh_fault("reject", on),
            "latency": lambda: self._latency(on),
            "down": lambda: self._down(on),
            "graphql_401": lambda: self._graphql_style(on),
            "short_ttl": lambda: self._short_ttl(on),
            "malformed": lambda: self._malformed(on),
            "revoke": self.revoke,
            "offline": lambda: self._offline(on),
            "slow_calls": lambda: self._slow_calls(on),
            "burst": lambda: self.burst(int(n)),
            "burst_at_expiry": lambda: self.burst_at_expiry(int(n)),
            "reset": self.reset,
        }
        self._switched = None
        try:
            words = await handlers[name]()
        finally:
            self._on_change()
        for listener in list(self.listeners):
            listener(name, n if action.amount else None, self._switched if action.switch else None)
        return words

    # -- time --------------------------------------------------------------------------------------

    async def skip(self, seconds: float) -> str:
        await self._skip_both(seconds, seconds)
        return f"skipped ahead {seconds:g} s on both clocks"

    async def _skip_both(self, client_s: float, server_s: float) -> None:
        await self.control.advance_clock(max(0.0, server_s))
        self.clock.skip_ahead(max(0.0, client_s))
        self.client.manager.clock_jumped()

    async def to_warning(self) -> str:
        view = self.client.manager.view()
        if view.remaining_s is None or view.remaining_s <= 0:
            return "no live session to skip in: nothing done"
        seconds = max(0.0, view.remaining_s - view.warn_s + 0.5)
        await self._skip_both(seconds, seconds)
        return f"skipped {seconds:.1f} s: into the warning window"

    async def past_expiry(self) -> str:
        view = self.client.manager.view()
        seconds = (view.remaining_s or 0.0) + 1.0
        await self._skip_both(seconds, seconds)
        return f"skipped {seconds:.1f} s: past the deadline"

    async def background(self, seconds: float) -> str:
        await self.go_away(seconds)
        self.come_back(seconds)
        return f"backgrounded for {seconds:g} s, then came back"

    async def go_away(self, seconds: float) -> None:
        """The first half of `background`: the app in the background (the countdown paused), the
        server's clock already `seconds` ahead. A live demo shows the pause between the halves."""
        # The server's clock first: if it cannot be moved, the client is not left backgrounded.
        await self.control.advance_clock(seconds)
        self.client.manager.background()

    def come_back(self, seconds: float) -> None:
        """The second half: the client's clock catches up with the server's, and the app returns."""
        self.clock.skip_ahead(seconds)
        self.client.manager.resume()
        self._on_change()

    # -- faults and switches --------------------------------------------------------------------------

    async def _refresh_fault(self, mode: str, on: bool | None) -> str:
        current = (await self.control.faults()).refresh
        turn_on = (current != mode) if on is None else on
        new = mode if turn_on else "ok"
        await self.control.set_faults(refresh=new)
        self._switched = turn_on
        words = {"ok": "answers normally", "error": "answers 503", "reject": "answers 401"}
        return f"fault: refresh {words[new]}"

    async def _latency(self, on: bool | None) -> str:
        current = (await self.control.faults()).latency_ms
        turn_on = (current == 0) if on is None else on
        await self.control.set_faults(latency_ms=1500 if turn_on else 0)
        self._switched = turn_on
        return "fault: 1.5 s latency on every answer" if turn_on else "fault cleared: no latency"

    async def _down(self, on: bool | None) -> str:
        current = (await self.control.faults()).down
        turn_on = (not current) if on is None else on
        await self.control.set_faults(down=turn_on)
        self._switched = turn_on
        return "fault: backend DOWN (503 everywhere)" if turn_on else "fault cleared: backend up"

    async def _graphql_style(self, on: bool | None) -> str:
        current = (await self.control.faults()).graphql_auth_error
        turn_on = (current != "http") if on is None else on
        await self.control.set_faults(graphql_auth_error="http" if turn_on else "extensions")
        self._switched = turn_on
        return (
            "GraphQL auth errors now answer HTTP 401"
            if turn_on
            else "GraphQL auth errors now answer 200 + UNAUTHENTICATED"
        )

    async def _short_ttl(self, on: bool | None) -> str:
        current = (await self.control.faults()).ttl_s
        turn_on = (current >= self.full_ttl_s) if on is None else on
        new = self.full_ttl_s / 2 if turn_on else self.full_ttl_s
        await self.control.set_faults(ttl_s=new)
        self._switched = turn_on
        return f"server TTL = {new:g} s (the client is not told)"

    async def _malformed(self, on: bool | None) -> str:
        network = self.client.network
        network.garble = self._switched = (not network.garble) if on is None else on
        return "the backend's answers now arrive MALFORMED" if network.garble else "answers normal again"

    async def _offline(self, on: bool | None) -> str:
        network = self.client.network
        network.online = (not network.online) if on is None else not on
        self._switched = not network.online
        return "client OFFLINE: calls fail in transport" if not network.online else "client back online"

    async def _slow_calls(self, on: bool | None) -> str:
        network = self.client.network
        turn_on = (network.hold_s == 0) if on is None else on
        network.hold_s = SLOW_CALLS_S if turn_on else 0.0
        self._switched = turn_on
        if turn_on:
            return f"calls now wait {SLOW_CALLS_S:g} s before they leave (session calls do not)"
        return "calls leave at once again"

    # -- the session -------------------------------------------------------------------------------------

    async def revoke(self) -> str:
        revoked = await self.control.revoke_all()
        return f"revoked server-side: {', '.join(revoked) or 'nothing was live'}"

    async def reset(self) -> str:
        await self.control.reset()
        self.client.network.online = True
        self.client.network.garble = False
        self.client.network.hold_s = 0.0
        return "server reset: sessions, counters and faults back to the start; client online"

    async def burst_at_expiry(self, n: int) -> str:
        """Both clocks to just past the client's deadline (the server still holds the session a
        second longer, as it would), then the burst, before the client's own wake-up runs."""
        remaining = self.client.manager.view().remaining_s
        if remaining is None:
            return "no session to burst at: nothing done"
        await self.control.advance_clock(max(0.0, remaining - 1.0))
        self.clock.skip_ahead(remaining + 0.5)
        return await self.burst(n)

    async def burst(self, n: int) -> str:
        """N calls at once, half REST and half GraphQL; one timeline entry sums them up."""
        if self.burst_running:
            return "a burst is already running"
        client = self.client
        before = (await self.control.state()).counters.get("refreshes", 0)
        self.burst_running, self.burst_answered, self.burst_size = True, 0, n
        self._on_change()

        async def one(call: Awaitable[object]) -> object:
            try:
                return await call
            finally:
                self.burst_answered += 1

        try:
            with client.manager.timeline.summarising("burst", calls=n):
                results = await asyncio.gather(
                    *(one(client.rest.whoami() if i % 2 == 0 else client.graphql.me()) for i in range(n)),
                    return_exceptions=True,
                )
        finally:
            self.burst_running = False
        failed = [r for r in results if isinstance(r, BaseException)]
        kinds = sorted({type(r).__name__ for r in failed})
        try:
            refreshes = f"+{(await self.control.state()).counters.get('refreshes', 0) - before}"
        except ApiError:
            refreshes = "unknown (the server did not answer)"
        failures = f"{len(failed)} failed {kinds}" if failed else "0 failed"
        return f"burst of {n}: {n - len(failed)} ok, {failures}; server refreshes {refreshes}"
