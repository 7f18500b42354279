"""The one session middleware: an `httpx.Auth` shared by the REST client and gql's httpx transport.

It acts only on the routes the session gates (`GatedRoutes`: every path under `/api/` but the
public session endpoints guest, login and reauth; and `/graphql` unless the document is
introspection only). A request to any other route (`/openapi.json`, `POST /api/session/login`,
an introspection query) goes out as it came: no token is taken or attached and nothing is
reported, so its answer moves no deadline. The server never extends a session for it, and the
client must not believe it did (rule 1).

For each gated request it asks the session manager for a token (obtaining, refreshing or
recovering a session first if the engine says so, and waiting for any flight in progress),
attaches it, records the send time, reads the answer and tells the manager what happened:
- accepted (2xx, or a 4xx that is not an auth rejection): the deadline moves from the send time;
- anything else, a 5xx or a redirect (3xx): nothing moves (rule 2: the server did not accept it);
- an auth rejection in any shape (REST 401; GraphQL 200 with `UNAUTHENTICATED`; GraphQL 401):
  the manager recovers in its single flight, and the request is sent once more; a second
  rejection is final.
Transport failures never reach an auth flow (httpx closes it), so `transport()` wraps the
connection layer to report them, for requests that carry a session ticket only; the two are
halves of the same object. An answer refused for its size (`api.network.AnswerTooLarge`) is
reported there too, as no verdict: the server answered, with nothing this client will read.

How long a gated call can take is bounded piece by piece, each piece by the exchanges under it
(`api.network.BoundedTransport`: the whole exchange, answer read whole, within the call deadline):
its own exchange, and one replay's after a rejection; any flight it waits for (each of that
flight's exchanges, so a waiting call is let go with the flight's failure); and the wait for a
slot, held only by calls bounded the same way.

A redirect is never followed (the clients do not follow them, and a token must go nowhere but the
backend that issued it). Any call through this auth, gated or not, that is answered with one ends
in `RedirectNotFollowed`: gql would otherwise read a redirect with a JSON body as a result.

The session's own flights (guest, login, refresh, reauth, sign-out) must never come through here:
a refresh would wait for itself. `api.session_port.HttpSessionPort` refuses a client using this
auth, and the manager refuses a call made from inside its flight (`FlightReentry`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from typing import Any

import httpx

from sessionkeeper.api.errors import RedirectNotFollowed
from sessionkeeper.api.network import AnswerTooLarge, BoundedTransport, http_transport
from sessionkeeper.session.manager import SessionManager, Ticket

log = logging.getLogger(__name__)

TICKET_EXTENSION = "sessionkeeper.ticket"
# Calls in flight at once, per app. Far below httpx's 100 connections per transport, so none ever
# queues in its pool; and few enough that a burst of 900 calls leaves the event loop free to
# answer a key within a fifth of a second (measured in the app: 7 s of lag with 100).
MAX_IN_FLIGHT = 16
_UNAUTHENTICATED = b"UNAUTHENTICATED"
# The session endpoints that work without a token: they are how one gets a token. The server
# neither checks nor extends a token sent to them (docs/backend.md, "How a request is handled").
PUBLIC_SESSION_PATHS = frozenset({"/api/session/guest", "/api/session/login", "/api/session/reauth"})
API_PATH = "/api"
GRAPHQL_PATH = "/graphql"
_META_FIELDS = frozenset({"__schema", "__type", "__typename"})
# A bigger document is not read for introspection: it goes out gated, which is always safe
# (the server checks and extends any token it is sent, introspection or not). The full standard
# introspection query is 1.6 kB and 183 tokens; graphql-core parses ~80 tokens a millisecond.
_MAX_INTROSPECTION_CHARS = 8192
_MAX_INTROSPECTION_TOKENS = 1000


def graphql_unauthenticated(body: bytes) -> bool:
    """True when a GraphQL answer carries `errors[].extensions.code == "UNAUTHENTICATED"`."""
    if _UNAUTHENTICATED not in body:  # the cheap test first: nearly every answer fails it
        return False
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, list):
        return False
    for error in errors:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        if isinstance(extensions, dict) and extensions.get("code") == "UNAUTHENTICATED":
            return True
    return False


def graphql_introspection_only(body: bytes) -> bool:
    """True when a GraphQL request body (JSON) asks for introspection only: it has at least one
    operation, every operation is a query, and every top-level selection of each is a
    `__schema`, `__type` or `__typename` field.

    The server answers such a request without a token. Anything this cannot read (not JSON, not
    one request object, not valid GraphQL, too big, fragments at the top level, which the
    server would follow) is False, and so gated. That errs the safe way: the server checks and
    extends any token it is sent, introspection or not, so a gated call's answer always tells
    the truth; while a call wrongly sent without a token would be refused.
    """
    if b"__" not in body:  # the cheap test first: nearly every request fails it
        return False
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return False
    query = payload.get("query") if isinstance(payload, dict) else None
    if not isinstance(query, str) or len(query) > _MAX_INTROSPECTION_CHARS:
        return False
    # Imported here: graphql-core costs ~55 ms to import, and only introspection gets this far.
    from graphql import GraphQLError, parse
    from graphql.language import FieldNode, OperationDefinitionNode, OperationType

    try:
        document = parse(query, no_location=True, max_tokens=_MAX_INTROSPECTION_TOKENS)
    except (GraphQLError, RecursionError):
        return False
    operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
    return bool(operations) and all(
        operation.operation is OperationType.QUERY
        and all(
            isinstance(selection, FieldNode) and selection.name.value in _META_FIELDS
            for selection in operation.selection_set.selections
        )
        for operation in operations
    )


@dataclass(frozen=True, slots=True)
class GatedRoutes:
    """Which requests the session gates: the ones the server checks a token on and extends.

    Every path under `api` (the path itself included) but the `public` ones, and `graphql`
    unless the body is introspection only (see `graphql_introspection_only`). Paths are
    compared exactly, as the server sees them; `under()` puts them below a base URL's path.
    """

    api: str = API_PATH
    public: frozenset[str] = PUBLIC_SESSION_PATHS
    graphql: str = GRAPHQL_PATH

    @classmethod
    def under(cls, base_path: str) -> GatedRoutes:
        """The default routes for a backend served below `base_path` (e.g. "/shop" for
        `https://host/shop`); "" or "/" for one served at the root."""
        base = base_path.rstrip("/")
        if not base:
            return cls()
        return cls(
            api=base + API_PATH,
            public=frozenset(base + path for path in PUBLIC_SESSION_PATHS),
            graphql=base + GRAPHQL_PATH,
        )

    def is_graphql(self, path: str) -> bool:
        return path == self.graphql

    def gated(self, path: str, body: bytes = b"") -> bool:
        """True if a request to `path` with this body needs the session's token."""
        if path == self.api or path.startswith(self.api + "/"):
            return path not in self.public
        if self.is_graphql(path):
            return not graphql_introspection_only(body)
        return False


class SessionAuth(httpx.Auth):
    """Attach the session's token to every gated call and keep the client's deadline true."""

    requires_request_body = True  # a rejected request is sent again; a GraphQL one is read

    def __init__(
        self,
        manager: SessionManager,
        *,
        routes: GatedRoutes | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.manager = manager
        self.routes = routes if routes is not None else GatedRoutes()
        # Told how each gated exchange settled, once the manager has heard it (the wire log).
        self.settled: Callable[[httpx.Request, str, bool], None] = _nobody
        # Calls past this many wait here, before they take a token, rather than in httpcore's
        # connection pool: its queue is scanned against every connection each time one frees
        # (900 queued calls: 20 s of CPU), and a call that waited there would carry a send time
        # seconds older than its real send, making the deadline estimate needlessly short.
        # The replay of a rejected call keeps its slot: it never waits behind new calls.
        self._slots = asyncio.Semaphore(max_in_flight)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("SessionAuth works with httpx.AsyncClient only")
        yield request  # pragma: no cover - makes this a generator, as httpx expects

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        path = request.url.path
        if not self.routes.gated(path, request.content):
            # Not the session's route: the server extends nothing for it, so it takes no token
            # (nor a slot, nor a wait for a flight), carries none, and its answer tells nothing.
            response = yield request
            _refuse_redirect(response)
            return
        label = f"{request.method} {path}"
        is_graphql = self.routes.is_graphql(path)
        manager = self.manager
        attempt = 1
        # A slot, held across the yields until the call is answered for good, and given back
        # however the flow ends (an answer, an exception, httpx closing it).
        await self._slots.acquire()
        try:
            while True:
                # acquire() stamps the send time as it returns; nothing awaits between it and the send.
                ticket = await manager.acquire()
                request.headers["Authorization"] = f"Bearer {ticket.token.reveal()}"
                request.extensions = {**request.extensions, TICKET_EXTENSION: ticket}
                manager.sent(ticket, label)
                response = yield request
                status = response.status_code
                if status == 401 or (is_graphql and status == 200 and await _graphql_rejected(response)):
                    self.settled(request, "rejected", True)  # before the recovery moves the deadline
                    if not await manager.rejected(ticket, attempt, label):
                        return  # final: the caller sees the rejection
                    self.settled(request, "rejected, sent again", False)
                    attempt += 1
                    continue
                if 200 <= status < 300 or 400 <= status < 500:
                    manager.accepted(ticket, label, status)
                    self.settled(request, "accepted", True)
                else:
                    # Rule 2: a 5xx (the server may never have seen it) or a redirect (it did
                    # not accept it here): no verdict on the token, nothing moves.
                    manager.failed(ticket, transport=False, label=label, status=status)
                    self.settled(request, "no verdict", True)
                    _refuse_redirect(response)
                return
        finally:
            self._slots.release()

    def transport(self, inner: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncBaseTransport:
        """The connection layer for a client using this auth: it reports transport failures.
        `inner` is what it stands on; by default httpx's own, bounded (`BoundedTransport`)."""
        return _ReportingTransport(inner or BoundedTransport(http_transport()), self.manager)

    def client_kwargs(self, inner: httpx.AsyncBaseTransport | None = None) -> dict[str, Any]:
        """What an `httpx.AsyncClient` (or gql's HTTPXAsyncTransport) needs to use this middleware."""
        return {"auth": self, "transport": self.transport(inner)}


def _nobody(_request: httpx.Request, _verdict: str, _deadline: bool = True) -> None:
    pass


async def _graphql_rejected(response: httpx.Response) -> bool:
    """A GraphQL answer with status 200 that says UNAUTHENTICATED."""
    await response.aread()
    return graphql_unauthenticated(response.content)


def _refuse_redirect(response: httpx.Response) -> None:
    if 300 <= response.status_code < 400:
        raise RedirectNotFollowed(response.status_code)


class _ReportingTransport(httpx.AsyncBaseTransport):
    """Reports a transport failure (or an answer refused for its size) of a call that went out
    with a session ticket (a gated one); any other request's failure is none of the session's
    business."""

    def __init__(self, inner: httpx.AsyncBaseTransport, manager: SessionManager) -> None:
        self._inner = inner
        self._manager = manager

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except httpx.TransportError:
            self._report(request, transport=True)
            raise
        except AnswerTooLarge as exc:
            # An answer, but no verdict the client can read: like a 5xx, nothing moves.
            self._report(request, transport=False, status=exc.status)
            raise

    def _report(self, request: httpx.Request, *, transport: bool, status: int | None = None) -> None:
        ticket = request.extensions.get(TICKET_EXTENSION)
        if isinstance(ticket, Ticket):
            label = f"{request.method} {request.url.path}"
            self._manager.failed(ticket, transport=transport, label=label, status=status)

    async def aclose(self) -> None:
        await self._inner.aclose()
