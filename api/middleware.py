"""The one session middleware: an `httpx.Auth` shared by the REST client and gql's httpx transport.

For each request it asks the session manager for a token (obtaining, refreshing or recovering a
session first if the engine says so, and waiting for any flight in progress), attaches it, records
the send time, reads the answer and tells the manager what happened:
- accepted (2xx, or a 4xx that is not an auth rejection): the deadline moves from the send time;
- a 5xx: nothing moves;
- an auth rejection in any shape (REST 401; GraphQL 200 with `UNAUTHENTICATED`; GraphQL 401):
  the manager recovers in its single flight, and the request is sent once more; a second
  rejection is final.
Transport failures never reach an auth flow (httpx closes it), so `transport()` wraps the
connection layer to report them; the two are halves of the same object.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, Generator
from typing import Any

import httpx

from session.manager import SessionManager, Ticket

log = logging.getLogger(__name__)

TICKET_EXTENSION = "sessionkeeper.ticket"
# Calls in flight at once, per app. Far below httpx's 100 connections per transport, so none ever
# queues in its pool; and few enough that a burst of 900 calls leaves the event loop free to
# answer a key within a fifth of a second (measured in the app: 7 s of lag with 100).
MAX_IN_FLIGHT = 16
_UNAUTHENTICATED = b"UNAUTHENTICATED"


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


class SessionAuth(httpx.Auth):
    """Attach the session's token to every call and keep the client's deadline true."""

    requires_request_body = True  # a rejected request is sent again

    def __init__(
        self, manager: SessionManager, *, graphql_path: str = "/graphql", max_in_flight: int = MAX_IN_FLIGHT
    ) -> None:
        self.manager = manager
        self.graphql_path = graphql_path
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
        label = f"{request.method} {request.url.path}"
        is_graphql = request.url.path.rstrip("/").endswith(self.graphql_path)
        attempt = 1
        async with self._slots:  # held across the yields, until the call is answered for good
            while True:
                # acquire() stamps the send time as it returns; nothing awaits between it and the send.
                ticket = await self.manager.acquire()
                request.headers["Authorization"] = f"Bearer {ticket.token.reveal()}"
                request.extensions = {**request.extensions, TICKET_EXTENSION: ticket}
                self.manager.sent(ticket, label)
                response = yield request
                if await self._rejected(response, is_graphql):
                    if not await self.manager.rejected(ticket, attempt, label):
                        return  # final: the caller sees the rejection
                    attempt += 1
                    continue
                if response.status_code >= 500:
                    # Rule 2: the server may never have seen it; nothing moves.
                    self.manager.failed(ticket, transport=False, label=label, status=response.status_code)
                else:
                    self.manager.accepted(ticket, label, response.status_code)
                return

    async def _rejected(self, response: httpx.Response, is_graphql: bool) -> bool:
        if response.status_code == 401:
            return True
        if is_graphql and response.status_code == 200:
            await response.aread()
            return graphql_unauthenticated(response.content)
        return False

    def transport(self, inner: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncBaseTransport:
        """The connection layer for a client using this auth: it reports transport failures."""
        return _ReportingTransport(inner or httpx.AsyncHTTPTransport(), self.manager)

    def client_kwargs(self, inner: httpx.AsyncBaseTransport | None = None) -> dict[str, Any]:
        """What an `httpx.AsyncClient` (or gql's HTTPXAsyncTransport) needs to use this middleware."""
        return {"auth": self, "transport": self.transport(inner)}


class _ReportingTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, manager: SessionManager) -> None:
        self._inner = inner
        self._manager = manager

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except httpx.TransportError:
            ticket = request.extensions.get(TICKET_EXTENSION)
            if isinstance(ticket, Ticket):
                self._manager.failed(ticket, transport=True, label=f"{request.method} {request.url.path}")
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()
