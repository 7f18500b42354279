"""Only the session's routes move the deadline (issue 9, item 8).

The server checks and extends a token only on the routes it gates: every path under `/api/` but
`POST /api/session/guest|login|reauth`, and `POST /graphql` unless the query is introspection
only and comes without a token. An answer from any other route says nothing about the session, so
the middleware sends such a request without a token and lets its answer move nothing (rule 1).

Against the real mock backend on a loopback port: what the server saw (the requests' headers,
recorded below the middleware, and the session's own expiry in `/__qa/state`) and what the
client believes (its deadline, its timeline).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import graphql
import httpx
import pytest

from sessionkeeper.api.backend.serve import EmbeddedBackend
from sessionkeeper.api.client import BackendClient
from sessionkeeper.api.middleware import GatedRoutes, graphql_introspection_only
from sessionkeeper.session.clock import FakeClock
from sessionkeeper.session.engine import State
from sessionkeeper.session.events import SessionKind
from sessionkeeper.session.policy import Policy
from sessionkeeper.session.timeline import Timeline
from tests.api.world import TTL, WARN, World
from tests.transports import PassThrough

AWAY = 500.0  # seconds on both clocks before each call: far enough that a moved deadline shows
SLACK = 5.0  # the server's clock also runs in real time while the test runs


def body(query: str) -> bytes:
    return json.dumps({"query": query}).encode()


# -- the route predicate ----------------------------------------------------------------------

REAL = body("{ fares(flightId: $id) { code } }")
INTROSPECTION = body("{ __schema { queryType { name } } }")
MIXED = body("{ __typename me { name } }")


@pytest.mark.parametrize(
    ("path", "request_body", "gated"),
    [
        ("/api/airports", b"", True),
        ("/api/flights/LHR-CDG-20250601-1", b"", True),
        ("/api", b"", True),  # the server gates the prefix itself too
        ("/api/", b"", True),
        ("/api/session", b"", True),  # GET whoami and DELETE sign-out
        ("/api/session/refresh", b"", True),
        ("/api/session/guests", b"", True),
        ("/api/session/guest/", b"", True),  # compared exactly, as the server does
        ("/api/nowhere", b"", True),  # the server answers 401 to an unknown /api route without a token
        ("/api/session/guest", b"", False),
        ("/api/session/login", b'{"username": "ada"}', False),
        ("/api/session/reauth", b'{"reauth_key": "k"}', False),
        ("/api/airports", INTROSPECTION, True),  # only /graphql reads the body
        ("/openapi.json", b"", False),
        ("/__qa/state", b"", False),
        ("/", b"", False),
        ("/apiary", b"", False),
        ("/v1/api/airports", b"", False),
        ("/graphql", REAL, True),
        ("/graphql", MIXED, True),
        ("/graphql", b"", True),  # a GET, or no body: the server wants a token
        ("/graphql", b"{__typename", True),  # not JSON: the server decides, so it gets the token
        ("/graphql", INTROSPECTION, False),
        ("/graphql/", INTROSPECTION, False),
        ("/graphql/", REAL, False),  # not the server's GraphQL route
    ],
)
def test_the_default_routes_are_the_ones_the_server_gates(
    path: str, request_body: bytes, gated: bool
) -> None:
    assert GatedRoutes().gated(path, request_body) is gated


@pytest.mark.parametrize(
    ("path", "gated"),
    [
        ("/shop/api/airports", True),
        ("/shop/api/session", True),
        ("/shop/api/session/login", False),
        ("/shop/api/session/guest", False),
        ("/shop/openapi.json", False),
        ("/api/airports", False),  # outside the backend's base path: not its route
        ("/shop/graphql", True),
        ("/graphql", False),
    ],
)
def test_routes_under_a_base_path_are_gated_below_it(path: str, gated: bool) -> None:
    assert GatedRoutes.under("/shop/").gated(path, REAL) is gated


def test_routes_under_the_root_are_the_defaults() -> None:
    assert GatedRoutes.under("/") == GatedRoutes.under("") == GatedRoutes()


@pytest.mark.parametrize(
    ("request_body", "expected"),
    [
        (body("{ __typename }"), True),
        (body("query { __schema { types { name } } }"), True),
        (body('query Q { __type(name: "Flight") { name fields { name } } }'), True),
        (body("{ kind: __typename }"), True),  # an alias: still the meta field
        (body("query A { __typename } query B { __schema { queryType { name } } }"), True),
        (body(graphql.get_introspection_query(descriptions=True)), True),  # fragments below the top
        (json.dumps({"query": "{ __typename }", "variables": {}, "operationName": None}).encode(), True),
        (body("{ __typename me { name } }"), False),  # mixed
        (body("query A { __typename } query B { me { name } }"), False),  # one real operation
        (body("{ me { __typename } }"), False),  # meta field below a real one
        (body("mutation { __typename }"), False),  # the server lets only queries through
        (body("subscription { __typename }"), False),
        (body("{ ...F } fragment F on Query { __typename }"), False),  # top-level spread: gated
        (body("{ ... on Query { __typename } }"), False),  # top-level inline fragment: gated
        (body("fragment F on Query { __typename }"), False),  # no operation at all
        (body("{ __typename "), False),  # not valid GraphQL
        (body("{ " + "__typename " * 2000 + "}"), False),  # too big to read: gated
        (body("{" * 3000 + "__typename" + "}" * 3000), False),
        (b"{__typename", False),  # not JSON
        (b'{"query": "{ __typename }"', False),
        (b"[" * 100_000 + b'"__"' + b"]" * 100_000, False),  # nested past the recursion limit
        (b"\xff__\xfe", False),  # not UTF-8
        (b'{"query": 5, "__": 1}', False),
        (b'[{"query": "{ __typename }"}]', False),  # a batch: gated
        (b'{"__query": "{ __typename }"}', False),
        (b"", False),
        (REAL, False),
    ],
)
def test_only_an_introspection_only_document_is_introspection(request_body: bytes, expected: bool) -> None:
    assert graphql_introspection_only(request_body) is expected


def test_the_common_path_never_parses_graphql(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("parsed a body with no __ in it")

    monkeypatch.setattr(graphql, "parse", boom)
    assert GatedRoutes().gated("/graphql", REAL) is True
    assert GatedRoutes().gated("/api/airports", INTROSPECTION) is True  # REST bodies are never read
    with pytest.raises(AssertionError):
        GatedRoutes().gated("/graphql", INTROSPECTION)  # the patch is where the predicate looks


async def test_the_client_gates_the_routes_below_its_base_url() -> None:
    for url, routes in [
        ("http://127.0.0.1:9", GatedRoutes()),
        ("http://127.0.0.1:9/", GatedRoutes()),
        ("https://example.test/shop/", GatedRoutes.under("/shop")),
    ]:
        client = BackendClient(url, clock=FakeClock(), auto_wake=False)
        try:
            assert client.auth.routes == routes
        finally:
            await client.aclose()


# -- through the real client and the real backend ---------------------------------------------


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    authorization: str | None


class Recording(PassThrough):
    """The connection layer below the middleware: what actually left, headers and all."""

    def __init__(self, seen: list[Seen]) -> None:
        super().__init__()
        self._seen = seen

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._seen.append(Seen(request.method, request.url.path, request.headers.get("authorization")))
        return await super().handle_async_request(request)


@dataclass
class Watched:
    w: World
    seen: list[Seen]
    session_id: str  # the client's session, as /__qa/state names it

    @property
    def http(self) -> httpx.AsyncClient:
        """The REST client's httpx client: the session middleware is its auth."""
        return self.w.client.rest.http

    async def server_session(self) -> dict[str, Any]:
        sessions: list[dict[str, Any]] = (await self.w.state())["sessions"]
        [session] = [s for s in sessions if s["id"] == self.session_id]
        return session


@asynccontextmanager
async def watched_world() -> AsyncIterator[Watched]:
    seen: list[Seen] = []
    clock = FakeClock()
    async with EmbeddedBackend(ttl_s=TTL) as backend:
        client = BackendClient(
            backend.url,
            clock=clock,
            policy=Policy(ttl_s=TTL, warn_s=WARN),
            timeline=Timeline(),
            auto_wake=False,
            inner_transport=lambda: Recording(seen),
        )
        async with httpx.AsyncClient(base_url=backend.url) as qa:
            try:
                await client.start()
                w = World(backend, client, clock, qa, "rest")
                [session] = (await w.state())["sessions"]
                yield Watched(w, seen, session["id"])
            finally:
                await client.aclose()


Call = Callable[[Watched], Awaitable[int]]  # makes one request; answers its status


async def openapi(x: Watched) -> int:
    return (await x.http.get("/openapi.json")).status_code


async def guest(x: Watched) -> int:
    return (await x.http.post("/api/session/guest")).status_code


async def login(x: Watched) -> int:
    response = await x.http.post("/api/session/login", json={"username": "ada", "password": "lovelace"})
    return response.status_code


async def reauth_rejected(x: Watched) -> int:
    return (await x.http.post("/api/session/reauth", json={"reauth_key": "not-a-key"})).status_code


async def reauth_accepted(x: Watched) -> int:
    signed_in = await x.w.qa.post("/api/session/login", json={"username": "grace", "password": "hopper"})
    key = signed_in.json()["reauth_key"]
    return (await x.http.post("/api/session/reauth", json={"reauth_key": key})).status_code


async def introspection_over_rest_client(x: Watched) -> int:
    response = await x.http.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})
    assert response.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    return response.status_code


async def introspection_over_gql(x: Watched) -> int:
    data = await x.w.client.graphql.execute('{ __typename __type(name: "Query") { name } }')
    assert data == {"__typename": "Query", "__type": {"name": "Query"}}
    return 200


async def client_warm_up(x: Watched) -> int:
    # What the app runs in the background once the countdown is drawn: it must leave the session
    # exactly as it was, while its query really goes out (and opens gql's connection).
    await x.w.client.warm_up()
    return 200


UNGATED: dict[str, tuple[Call, int]] = {
    "client-warm-up": (client_warm_up, 200),
    "openapi": (openapi, 200),
    "guest": (guest, 201),
    "login": (login, 200),
    "reauth-rejected": (reauth_rejected, 401),  # a 401 from a public route is no session rejection
    "reauth-accepted": (reauth_accepted, 200),
    "graphql-introspection-rest-client": (introspection_over_rest_client, 200),
    "graphql-introspection-gql": (introspection_over_gql, 200),
}


@pytest.mark.parametrize("name", sorted(UNGATED))
async def test_an_ungated_call_carries_no_token_and_moves_nothing(name: str) -> None:
    call, status = UNGATED[name]
    async with watched_world() as x:
        manager = x.w.client.manager
        await x.w.advance(AWAY)
        before = manager.view()
        assert before.remaining_s == TTL - AWAY
        events, sent = len(manager.timeline.names()), len(x.seen)

        assert await call(x) == status

        after = manager.view()
        assert (after.deadline, after.remaining_s, after.generation, after.kind, after.state) == (
            before.deadline,
            TTL - AWAY,
            before.generation,
            SessionKind.GUEST,
            State.ACTIVE,
        )
        assert manager.timeline.names()[events:] == []  # nothing sent, answered or recovered
        requests = x.seen[sent:]
        assert requests, "the call reached the connection layer"
        assert [r.authorization for r in requests] == [None] * len(requests)
        # The server's truth agrees: the client's session was neither extended nor ended
        # (a login sent with the guest's token would have ended it: "upgraded_to_user").
        session = await x.server_session()
        assert TTL - AWAY - SLACK < session["expires_in_s"] <= TTL - AWAY
        assert (session["revoked"], session["ended"]) == (False, None)
        assert (await x.w.counters())["rejected"] == 0  # no token was refused either


async def airports(x: Watched) -> int:
    return (await x.http.get("/api/airports")).status_code


async def whoami(x: Watched) -> int:
    return (await x.http.get("/api/session")).status_code


async def graphql_post(x: Watched, content: bytes) -> int:
    headers = {"content-type": "application/json"}
    return (await x.http.post("/graphql", content=content, headers=headers)).status_code


async def graphql_mixed(x: Watched) -> int:
    return await graphql_post(x, MIXED)


async def graphql_invalid(x: Watched) -> int:
    return await graphql_post(x, body("{ __typename "))


async def graphql_not_json(x: Watched) -> int:
    return await graphql_post(x, b"{__typename")


async def graphql_top_level_fragment(x: Watched) -> int:
    return await graphql_post(x, body("{ ...F } fragment F on Query { __typename }"))


async def gql_mixed(x: Watched) -> int:
    data = await x.w.client.graphql.execute("{ __typename me { name } }")
    assert data == {"__typename": "Query", "me": None}  # a guest has no profile
    return 200


GATED: dict[str, tuple[Call, int]] = {
    "rest-airports": (airports, 200),
    "rest-whoami": (whoami, 200),
    "graphql-mixed": (graphql_mixed, 200),
    "graphql-invalid": (graphql_invalid, 200),  # GraphQL's errors come in a 200
    "graphql-not-json": (graphql_not_json, 400),
    "graphql-top-level-fragment": (graphql_top_level_fragment, 200),
    "gql-mixed": (gql_mixed, 200),
}


@pytest.mark.parametrize("name", sorted(GATED))
async def test_a_gated_call_carries_the_token_and_moves_the_deadline(name: str) -> None:
    call, status = GATED[name]
    async with watched_world() as x:
        manager = x.w.client.manager
        await x.w.advance(AWAY)
        sent = len(x.seen)

        assert await call(x) == status

        view = manager.view()
        assert (view.remaining_s, view.deadline) == (TTL, x.w.clock.now() + TTL)
        [request] = x.seen[sent:]
        assert request.authorization == f"Bearer {manager._token.reveal()}"  # type: ignore[union-attr]
        assert manager.timeline.names().count("call_answered") >= 1
        session = await x.server_session()
        assert TTL - SLACK < session["expires_in_s"] <= TTL  # the server extended it too


async def test_an_ungated_call_needs_no_session() -> None:
    async with watched_world() as x:
        manager = x.w.client.manager
        x.w.client.sign_out()
        await x.w.client.settle()
        assert manager.view().state is State.SIGNED_OUT
        before = await x.w.counters()

        assert await openapi(x) == 200
        assert await guest(x) == 201

        # acquire() would have started a guest session for the client: it was never asked.
        assert manager.view().state is State.SIGNED_OUT
        after = await x.w.counters()
        assert after["guest_sessions"] == before["guest_sessions"] + 1  # the one POSTed above


async def test_an_ungated_call_failing_in_transport_or_with_a_5xx_reports_nothing() -> None:
    async with watched_world() as x:
        manager = x.w.client.manager
        events = len(manager.timeline.names())
        await x.w.faults(down=True)
        assert await guest(x) == 503
        x.w.client.network.online = False
        with pytest.raises(httpx.ConnectError):
            await openapi(x)
        view = manager.view()
        assert (view.offline, view.remaining_s) == (False, TTL)
        assert manager.timeline.names()[events:] == []

        # The same failure on a gated route is reported: the checks above could see one.
        with pytest.raises(httpx.ConnectError):
            await airports(x)
        assert manager.view().offline is True
        assert "call_failed" in manager.timeline.names()[events:]
