"""What went over the wire: every exchange with the backend, kept for the QA inspector and exported
as a HAR 1.2 file (issue 20).

`WireTransport` sits in each connection stack of the client (the REST client's, gql's and the
session port's), above the network switch and the bounded transport: it sees each request as it
leaves (its token attached) and each answer as read whole, or the error that ended it. The
session middleware then says how the exchange settled (`WireLog.settled`): the deadline before and
after, and its verdict.

Secrets never enter the log (rule 12): the Authorization header keeps its scheme and the token's
fingerprint; Cookie and Set-Cookie are redacted; in a JSON body every value under a secret's key
(token, reauth key, password, card number, CVC) is replaced, a token or reauth key by its
fingerprint; any other body has the session's current token and reauth key replaced. Bodies are
kept up to `MAX_BODY_CHARS`. So the HAR export, built from the log alone, holds no secret either.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from sessionkeeper.api.network import is_session_call
from sessionkeeper.session.clock import Clock
from sessionkeeper.session.manager import SessionManager, Ticket
from sessionkeeper.session.private_files import make_dirs, replace_private
from sessionkeeper.session.secrets import Fingerprinter, Secret

EXCHANGE_EXTENSION = "sessionkeeper.exchange"
MAX_EXCHANGES = 2000  # the oldest go first: a long QA session keeps its last 2,000 exchanges
MAX_BODY_CHARS = 16_384
# Keys whose values are secrets, wherever they sit in a JSON body. A token's and a reauth key's
# values become their fingerprints (the inspector then matches them to the countdown's); the rest
# become REDACTED.
FINGERPRINTED_KEYS = frozenset({"token", "reauth_key", "access_token", "refresh_token"})
REDACTED_KEYS = frozenset({"password", "card_number", "cvc"})
REDACTED_HEADERS = frozenset({"cookie", "set-cookie", "proxy-authorization"})
REDACTED = "[redacted]"
KINDS = ("rest", "graphql", "session")


@dataclass
class Exchange:
    """One request and what came of it, secrets already replaced."""

    number: int
    kind: str  # "rest", "graphql" or "session" (the session's own flights: guest, login, refresh…)
    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: str
    sent_at: float  # the app's clock (`Clock.now`): only differences mean anything
    sent_wall: float  # seconds since the epoch, for the HAR's startedDateTime
    generation: int | None = None  # the token generation it carried (a gated call's)
    token: str | None = None  # that token's fingerprint
    waited_for: str | None = None  # the session flight it waited for before it could go
    status: int | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: str = ""
    response_size: int = 0
    answered_at: float | None = None
    error: str | None = None  # a transport error, a deadline, an answer too large
    verdict: str | None = None  # how the middleware settled it: accepted, failed, rejected
    deadline_before: float | None = None  # the client's deadline (app clock) as it went out
    deadline_after: float | None = None  # and once it settled
    held: str | None = None  # held at a breakpoint now: "out" (not sent yet) or "back" (answered)
    broken: str | None = None  # what a breakpoint did to it: "released", "aborted", "answered 401"…

    @property
    def path(self) -> str:
        return httpx.URL(self.url).path

    @property
    def moved(self) -> bool:
        """Whether the client's deadline moved while it was out (an accepted call, a new token)."""
        return self.deadline_after is not None and (
            self.deadline_before is None or abs(self.deadline_after - self.deadline_before) > 1e-6
        )

    @property
    def remaining_before(self) -> float | None:
        """Seconds the client had left as it went out."""
        return None if self.deadline_before is None else self.deadline_before - self.sent_at

    @property
    def remaining_after(self) -> float | None:
        """Seconds the client had left once it settled."""
        if self.deadline_after is None:
            return None
        return self.deadline_after - (self.answered_at if self.answered_at is not None else self.sent_at)

    @property
    def done(self) -> bool:
        return self.answered_at is not None or self.error is not None


class Redactor:
    """Replaces secrets in what the log keeps (see the module's docstring)."""

    def __init__(self, manager: SessionManager | None, fingerprinter: Fingerprinter | None) -> None:
        self.manager = manager
        self._fingerprinter = fingerprinter

    def fingerprint(self, value: str) -> str:
        return Secret(value, self._fingerprinter).fingerprint if value else value

    def headers(self, headers: httpx.Headers) -> list[tuple[str, str]]:
        kept = []
        for name, value in headers.multi_items():
            lowered = name.lower()
            if lowered == "authorization":
                scheme, _, credential = value.partition(" ")
                value = f"{scheme} {self.fingerprint(credential.strip())}" if credential else REDACTED
            elif lowered in REDACTED_HEADERS:
                value = REDACTED
            kept.append((name, value))
        return kept

    def body(self, content: bytes) -> str:
        if not content:
            return ""
        text = content.decode("utf-8", errors="replace")
        try:
            parsed = json.loads(text)
        except ValueError:
            clean = self.text(text)
        else:
            clean = json.dumps(self._json(parsed), ensure_ascii=False)
        if len(clean) > MAX_BODY_CHARS:
            clean = clean[:MAX_BODY_CHARS] + f"… ({len(content):,} bytes in all)"
        return clean

    def text(self, text: str) -> str:
        return self.manager.redact(text) if self.manager is not None else text

    def _json(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: self._json(v, k.lower() if isinstance(k, str) else "") for k, v in value.items()}
        if isinstance(value, list):
            return [self._json(v, key) for v in value]
        if key in FINGERPRINTED_KEYS and isinstance(value, str):
            return self.fingerprint(value)
        if key in REDACTED_KEYS and value is not None:
            return REDACTED
        if isinstance(value, str):
            return self.text(value)
        return value


class WireLog:
    """The exchanges so far, newest last (at most `MAX_EXCHANGES`), and a count of changes."""

    def __init__(
        self,
        clock: Clock,
        manager: SessionManager | None = None,
        *,
        fingerprinter: Fingerprinter | None = None,
        graphql_path: str = "/graphql",
        limit: int = MAX_EXCHANGES,
    ) -> None:
        self.clock = clock
        self.manager = manager
        self.redactor = Redactor(manager, fingerprinter)
        self.exchanges: deque[Exchange] = deque(maxlen=limit)
        self._graphql_path = graphql_path
        self._next = 1
        self.version = 0  # counts changes
        self._flight: Exchange | None = None  # the session's own exchange the manager has yet to take in
        self.breakpoints: list[Breakpoint] = []  # armed, in the order they were set
        self.holds: list[Hold] = []  # exchanges held now, oldest first
        if manager is not None:
            self.watch(manager)

    def watch(self, manager: SessionManager) -> None:
        """The session this log's exchanges belong to (made after the log: its port sends through it)."""
        self.manager = manager
        self.redactor.manager = manager
        manager.subscribe(lambda _decision: self._flight_taken_in())

    def kind_of(self, request: httpx.Request) -> str:
        if request.url.path.endswith(self._graphql_path):
            return "graphql"
        return "session" if is_session_call(request) else "rest"

    def _deadline(self) -> float | None:
        return None if self.manager is None else self.manager.view().deadline

    def started(self, request: httpx.Request) -> Exchange:
        ticket = request.extensions.get("sessionkeeper.ticket")
        exchange = Exchange(
            number=self._next,
            kind=self.kind_of(request),
            method=request.method,
            url=self.redactor.text(str(request.url)),
            request_headers=self.redactor.headers(request.headers),
            request_body=self.redactor.body(request.content),
            sent_at=self.clock.now(),
            sent_wall=self.clock.wall(),
            deadline_before=self._deadline(),
        )
        if isinstance(ticket, Ticket):
            exchange.generation = ticket.generation
            exchange.token = ticket.token.fingerprint
            exchange.waited_for = ticket.waited_for
        self._next += 1
        self.exchanges.append(exchange)
        request.extensions[EXCHANGE_EXTENSION] = exchange
        self._changed()
        return exchange

    def answered(self, exchange: Exchange, response: httpx.Response) -> None:
        exchange.status = response.status_code
        exchange.response_headers = self.redactor.headers(response.headers)
        exchange.response_body = self.redactor.body(response.content)
        exchange.response_size = len(response.content)
        exchange.answered_at = self.clock.now()
        if exchange.kind == "session":
            # A flight's answer is taken in by the manager after this returns: its decision
            # (a new deadline, a sign-out) settles it (`_flight_taken_in`).
            self._flight = exchange
        elif exchange.generation is None:
            exchange.deadline_after = self._deadline()  # ungated: no middleware settles it
            exchange.verdict = "ungated"
        self._changed()

    def _flight_taken_in(self) -> None:
        exchange, self._flight = self._flight, None
        if exchange is not None:
            exchange.deadline_after = self._deadline()
            status = exchange.status or 0
            exchange.verdict = "issued" if 200 <= status < 300 else "refused" if status < 500 else "failed"
            self._changed()

    def ended(self, exchange: Exchange, error: BaseException) -> None:
        exchange.error = (
            f"{type(error).__name__}: {self.redactor.text(str(error))}"
            if str(error)
            else type(error).__name__
        )
        exchange.answered_at = self.clock.now()
        exchange.deadline_after = self._deadline()
        self._changed()

    def settled(self, request: httpx.Request, verdict: str, deadline: bool = True) -> None:
        """The middleware's word on a gated exchange, once the manager has heard it; `deadline`:
        take the client's deadline now (not for the word that a rejected call is sent again:
        the recovery between moved it, not this exchange)."""
        exchange = request.extensions.get(EXCHANGE_EXTENSION)
        if isinstance(exchange, Exchange):
            exchange.verdict = verdict
            if deadline:
                exchange.deadline_after = self._deadline()
            self._changed()

    # -- breakpoints -------------------------------------------------------------------------------

    def arm(self, point: Breakpoint) -> None:
        self.breakpoints.append(point)
        self._changed()

    def _stops(self, exchange: Exchange, phase: str) -> bool:
        """Whether an armed breakpoint stops `exchange` at `phase` (counting it if it matches)."""
        for point in self.breakpoints:
            if point.phase == phase and point.matches(exchange):
                point.nth -= 1
                if point.nth <= 0:
                    self.breakpoints.remove(point)
                    return True
                return False
        return False

    async def hold(self, exchange: Exchange, phase: str) -> Decision | None:
        """Held here until the tester decides (or `HOLD_MAX_S`: then released); None if no
        breakpoint stops it."""
        if not self._stops(exchange, phase):
            return None
        hold = Hold(exchange, phase, asyncio.get_running_loop().create_future())
        self.holds.append(hold)
        exchange.held = phase
        self._changed()
        try:
            decision = await asyncio.wait_for(asyncio.shield(hold.decision), HOLD_MAX_S)
        except TimeoutError:
            decision = Decision("release")
        finally:
            if hold in self.holds:
                self.holds.remove(hold)
            exchange.held = None
        exchange.broken = decision.words(phase)
        self._changed()
        return decision

    def decide(self, decision: Decision) -> Exchange | None:
        """The oldest held exchange goes on as `decision` says; None if none is held."""
        while self.holds:
            hold = self.holds.pop(0)
            if not hold.decision.done():
                hold.decision.set_result(decision)
                return hold.exchange
        return None

    def select(self, kind: str | None = None) -> list[Exchange]:
        return [x for x in self.exchanges if kind is None or x.kind == kind]

    def _changed(self) -> None:
        self.version += 1  # a view redraws when it moved (the inspector looks once a second)


class WireTransport(httpx.AsyncBaseTransport):
    """Records every exchange over `inner` in `log`, and stops it where a breakpoint says: before
    it leaves (`out`), or once the server answered and before the client sees it (`back`)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, log: WireLog) -> None:
        self._inner = inner
        self._log = log

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        log = self._log
        exchange = log.started(request)
        try:
            decision = await log.hold(exchange, "out") if log.breakpoints else None
            if decision is not None and decision.kind == "abort":
                raise httpx.ConnectError("aborted at a breakpoint before it left (QA)", request=request)
            if decision is not None and decision.kind == "answer":
                response = decision.response(request)  # the server never sees it
            else:
                response = await self._inner.handle_async_request(request)
                await response.aread()  # read whole already (the bounded transport): from memory
                exchange.status = response.status_code  # what the server said, shown while held
                decision = await log.hold(exchange, "back") if log.breakpoints else None
                if decision is not None and decision.kind == "abort":
                    raise httpx.ReadError(
                        f"the server answered {response.status_code}; the answer was dropped at a"
                        " breakpoint (QA)",
                        request=request,
                    )
                if decision is not None and decision.kind == "answer":
                    response = decision.response(request)
        except BaseException as error:
            log.ended(exchange, error)
            raise
        log.answered(exchange, response)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


# -- breakpoints -------------------------------------------------------------------------------------

HOLD_MAX_S = 300.0  # a hold nobody decides on is released then: a forgotten one never hangs the app
TARGETS = ("call", "flight", "any")


@dataclass
class Breakpoint:
    """Stops the `nth` next exchange that matches `target` at `phase`: "out" (before it leaves) or
    "back" (the server answered; the client has not seen it). `target`: "call" (a REST or
    GraphQL call made with the session's token), "flight" (a refresh or re-auth: the session
    renewed) or "any"."""

    phase: str
    target: str = "call"
    nth: int = 1

    def __post_init__(self) -> None:
        if self.phase not in ("out", "back") or self.target not in TARGETS or self.nth < 1:
            raise ValueError(f"no such breakpoint: {self.phase} {self.target} #{self.nth}")

    def matches(self, exchange: Exchange) -> bool:
        if self.target == "call":
            return exchange.generation is not None
        if self.target == "flight":
            return exchange.path.endswith(("/api/session/refresh", "/api/session/reauth"))
        return True


FORGED = {
    401: b'{"error": "unauthenticated", "detail": "answered at a breakpoint (QA)"}',
    503: b'{"error": "unavailable", "detail": "answered at a breakpoint (QA)"}',
    200: b'{"data": ',  # "malformed": a 200 whose body is not JSON
}


@dataclass(frozen=True)
class Decision:
    """What a held exchange does next: "release" (on as it was), "abort" (a transport error), or
    "answer" with `status` (401, 503, or 200 for a malformed 200), made here."""

    kind: str
    status: int = 0

    def response(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            self.status,
            content=FORGED.get(self.status, b""),
            headers={"content-type": "application/json"},
            request=request,
        )

    def words(self, phase: str) -> str:
        where = "before it left" if phase == "out" else "after the server answered"
        if self.kind == "answer":
            made = "a malformed 200" if self.status == 200 else str(self.status)
            return f"held {where}, then answered {made} by the tester"
        return f"held {where}, then {'released' if self.kind == 'release' else 'aborted'}"


@dataclass
class Hold:
    exchange: Exchange
    phase: str
    decision: asyncio.Future[Decision]


# -- HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) ---------------------------------------


def _iso(wall: float) -> str:
    return dt.datetime.fromtimestamp(wall, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _pairs(items: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in items]


def _mime(headers: list[tuple[str, str]]) -> str:
    return next((v for n, v in headers if n.lower() == "content-type"), "")


def har(
    exchanges: Iterable[Exchange], *, creator: str = "sessionkeeper", version: str = ""
) -> dict[str, Any]:
    """The exchanges as a HAR 1.2 log. An exchange with no answer (a transport error, a deadline)
    has status 0 and its error in `response._error`, as Chrome writes a failed request. The
    session's own facts go in fields of their own, `_sessionkeeper` (HAR allows `_` fields)."""
    entries = []
    for x in exchanges:
        url = httpx.URL(x.url)
        elapsed_ms = max(0.0, ((x.answered_at or x.sent_at) - x.sent_at) * 1000)
        request: dict[str, Any] = {
            "method": x.method,
            "url": x.url,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _pairs(x.request_headers),
            "queryString": _pairs(url.params.multi_items()),
            "headersSize": -1,
            "bodySize": len(x.request_body.encode()),
        }
        if x.request_body:
            request["postData"] = {"mimeType": _mime(x.request_headers), "text": x.request_body}
        response: dict[str, Any] = {
            "status": x.status or 0,
            "statusText": httpx.codes.get_reason_phrase(x.status) if x.status else "",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _pairs(x.response_headers),
            "content": {
                "size": x.response_size,
                "mimeType": _mime(x.response_headers),
                "text": x.response_body,
            },
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": x.response_size if x.status else -1,
        }
        if x.error:
            response["_error"] = x.error
        entries.append(
            {
                "startedDateTime": _iso(x.sent_wall),
                "time": elapsed_ms,
                "request": request,
                "response": response,
                "cache": {},
                "timings": {"send": 0, "wait": elapsed_ms, "receive": 0},
                "_sessionkeeper": {
                    "number": x.number,
                    "kind": x.kind,
                    "generation": x.generation,
                    "token": x.token,
                    "waited_for": x.waited_for,
                    "verdict": x.verdict,
                    "remaining_before_s": x.remaining_before,
                    "remaining_after_s": x.remaining_after,
                    "moved_deadline": x.moved,
                    "breakpoint": x.broken,
                },
            }
        )
    return {"log": {"version": "1.2", "creator": {"name": creator, "version": version}, "entries": entries}}


def write_har_file(exchanges: Iterable[Exchange], path: Path, *, version: str = "") -> None:
    """The exchanges as a HAR 1.2 file at `path`: 0600, written whole or not at all, never
    through a link. Raises OSError."""
    replace_private(path, json.dumps(har(exchanges, version=version), indent=1).encode())


def write_har(log: WireLog, directory: Path, *, version: str = "") -> Path:
    """Everything in `log` as `directory/wire-<date>-<time>.har` (made 0700 if missing; the file
    0600, written whole or not at all, never through a link). Raises OSError."""
    make_dirs(directory)
    stamp = dt.datetime.fromtimestamp(log.clock.wall(), dt.UTC).strftime("%Y%m%d-%H%M%S")
    path = directory / f"wire-{stamp}.har"
    number = 1
    while path.exists():  # two exports within a second
        number += 1
        path = directory / f"wire-{stamp}-{number}.har"
    write_har_file(log.exchanges, path, version=version)
    return path
