"""The session middleware, at two layers: its auth flow stepped by hand, then through real clients.

Also: gql never retries an auth failure on its own, and no token or reauth key reaches a log record,
an exception message or the timeline.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sessionkeeper.api.backend.app import create_app
from sessionkeeper.api.backend.serve import EmbeddedBackend
from sessionkeeper.api.client import BackendClient
from sessionkeeper.api.errors import BackendUnreachable, LoginFailed, MalformedResponse, NotAuthenticated
from sessionkeeper.api.middleware import SessionAuth, graphql_unauthenticated
from sessionkeeper.session.clock import FakeClock
from sessionkeeper.session.engine import State
from sessionkeeper.session.events import SessionKind
from sessionkeeper.session.manager import SessionManager
from sessionkeeper.session.policy import Policy
from sessionkeeper.session.timeline import Timeline
from tests.session.fake_backend import FakeBackend
from tests.transports import PassThrough

UNAUTH = {"data": None, "errors": [{"message": "no", "extensions": {"code": "UNAUTHENTICATED"}}]}


async def flow_world() -> tuple[SessionAuth, SessionManager, FakeBackend, FakeClock]:
    clock = FakeClock()
    backend = FakeBackend(clock)
    manager = SessionManager(port=backend, clock=clock, policy=Policy(), auto_wake=False)
    await manager.start()
    return SessionAuth(manager), manager, backend, clock


def answer(request: httpx.Request, status: int, body: object = None) -> httpx.Response:
    return httpx.Response(status, json=body if body is not None else {}, request=request)


# -- the auth flow, stepped by hand -----------------------------------------------------------


async def test_flow_attaches_the_token_and_moves_the_deadline_from_the_send_time() -> None:
    auth, manager, _, clock = await flow_world()
    clock.advance(100)
    flow = auth.async_auth_flow(httpx.Request("GET", "http://x/api/airports"))
    request = await flow.__anext__()
    assert request.headers["Authorization"] == f"Bearer {manager._token.reveal()}"  # type: ignore[union-attr]
    clock.advance(2)  # the answer takes 2 s
    with pytest.raises(StopAsyncIteration):
        await flow.asend(answer(request, 200))
    assert manager.engine.deadline == clock.now() - 2 + 900


@pytest.mark.parametrize("status", [400, 404, 409, 422])
async def test_flow_counts_a_non_auth_4xx_as_accepted(status: int) -> None:
    auth, manager, _, clock = await flow_world()
    clock.advance(50)
    flow = auth.async_auth_flow(httpx.Request("POST", "http://x/api/bookings", json={}))
    request = await flow.__anext__()
    with pytest.raises(StopAsyncIteration):
        await flow.asend(answer(request, status, {"error": "invalid_input"}))
    assert manager.view().remaining_s == 900


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_flow_moves_nothing_on_a_5xx(status: int) -> None:
    auth, manager, _, clock = await flow_world()
    clock.advance(50)
    flow = auth.async_auth_flow(httpx.Request("GET", "http://x/api/airports"))
    request = await flow.__anext__()
    with pytest.raises(StopAsyncIteration):
        await flow.asend(answer(request, status))
    assert manager.view().remaining_s == 850


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_flow_moves_nothing_on_a_redirect_and_ends_the_call_with_an_error(status: int) -> None:
    auth, manager, _, clock = await flow_world()
    clock.advance(50)
    flow = auth.async_auth_flow(httpx.Request("GET", "http://x/api/airports"))
    request = await flow.__anext__()
    redirect = httpx.Response(status, headers={"Location": "http://elsewhere/api/airports"}, request=request)
    words = rf"^the server answered with a redirect \(HTTP {status}\), which this client does not follow$"
    with pytest.raises(MalformedResponse, match=words):
        await flow.asend(redirect)
    assert manager.view().remaining_s == 850  # the server did not accept the token here
    failed = [x.detail for x in manager.timeline if x.name == "call_failed"]
    assert failed == [{"call": "GET /api/airports", "status": status, "transport": False}]


async def test_every_client_leaves_redirects_unfollowed() -> None:
    client = BackendClient("http://127.0.0.1:9", clock=FakeClock(), auto_wake=False)
    assert client.rest.http.follow_redirects is False
    assert client.port._client.follow_redirects is False
    await client.aclose()


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/api/airports", 401, {"error": "session_expired"}),
        ("/graphql", 200, UNAUTH),
        ("/graphql", 401, UNAUTH),
    ],
    ids=["rest-401", "graphql-200-unauthenticated", "graphql-401"],
)
async def test_flow_recovers_from_every_shape_of_rejection_and_replays_once(
    path: str, status: int, body: object
) -> None:
    auth, manager, backend, _ = await flow_world()
    flow = auth.async_auth_flow(httpx.Request("POST", f"http://x{path}", json={"query": "{ me { name } }"}))
    first = await flow.__anext__()
    old = first.headers["Authorization"]
    replay = await flow.asend(answer(first, status, body))
    assert replay.headers["Authorization"] != old
    assert replay.content == first.content  # the same request, sent again
    assert backend.counters["guest_sessions"] == 2  # one recovery
    with pytest.raises(StopAsyncIteration):
        await flow.asend(answer(replay, status, body))  # a second rejection is final
    assert backend.counters["guest_sessions"] == 2
    assert manager.timeline.names().count("call_given_up") == 1


async def test_flow_replays_a_call_made_with_a_rotated_out_token_without_recovering() -> None:
    auth, manager, backend, clock = await flow_world()
    flow = auth.async_auth_flow(httpx.Request("GET", "http://x/api/airports"))
    first = await flow.__anext__()
    manager.set_active_flow(True)
    clock.advance(850)
    manager.tick()
    manager.answer_prompt(stay=True)
    await manager.wait_for_flight()
    replay = await flow.asend(answer(first, 401, {"error": "session_expired"}))
    assert replay.headers["Authorization"] == f"Bearer {manager._token.reveal()}"  # type: ignore[union-attr]
    assert (backend.counters["refreshes"], backend.counters["guest_sessions"]) == (1, 1)


async def test_graphql_errors_other_than_unauthenticated_are_not_rejections() -> None:
    auth, _, backend, _ = await flow_world()
    flow = auth.async_auth_flow(httpx.Request("POST", "http://x/graphql", json={"query": "{ a }"}))
    request = await flow.__anext__()
    error = {"message": "UNAUTHENTICATED is a word", "extensions": {"code": "NOT_FOUND"}}
    body = {"data": None, "errors": [error]}
    with pytest.raises(StopAsyncIteration):
        await flow.asend(answer(request, 200, body))
    assert backend.counters["guest_sessions"] == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (json.dumps(UNAUTH).encode(), True),
        (b'{"errors": [{"extensions": {"code": "UNAUTHENTICATED"}}, {"message": "x"}]}', True),
        (b'{"errors": [{"message": "x"}, {"extensions": {"code": "UNAUTHENTICATED"}}]}', True),
        (b'{"data": {"note": "UNAUTHENTICATED"}}', False),
        (b'{"errors": "UNAUTHENTICATED"}', False),
        (b"UNAUTHENTICATED{not json", False),
        (b'["UNAUTHENTICATED"]', False),
        (b"", False),
    ],
)
def test_graphql_unauthenticated_reads_only_the_error_code(body: bytes, expected: bool) -> None:
    assert graphql_unauthenticated(body) is expected


# -- through the real clients ------------------------------------------------------------------


class GraphQLAlwaysUnauthenticated(PassThrough):
    """Answers every GraphQL request as the server would a dead token; counts them."""

    def __init__(self) -> None:
        super().__init__()
        self.graphql_requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/graphql":
            self.graphql_requests += 1
            return httpx.Response(200, json=UNAUTH, request=request)
        return await super().handle_async_request(request)


async def test_gql_never_retries_an_auth_failure_on_its_own() -> None:
    transports: list[GraphQLAlwaysUnauthenticated] = []

    def inner() -> httpx.AsyncBaseTransport:
        transports.append(GraphQLAlwaysUnauthenticated())
        return transports[-1]

    async with EmbeddedBackend() as backend:
        client = BackendClient(backend.url, clock=FakeClock(), auto_wake=False, inner_transport=inner)
        await client.start()
        with pytest.raises(NotAuthenticated):
            await client.graphql.me()
        assert sum(t.graphql_requests for t in transports) == 2  # the call and its one replay
        await client.aclose()


async def counters(qa: httpx.AsyncClient) -> dict[str, int]:
    state = (await qa.get("/__qa/state")).json()
    result: dict[str, int] = state["counters"]
    return result


def changed(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in after if after[name] != before.get(name)}


@pytest.fixture
def every_log_record() -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


async def test_no_secret_reaches_a_log_record_an_exception_or_the_timeline(
    every_log_record: list[logging.LogRecord], tmp_path: Path
) -> None:
    issued: list[str] = []

    def token_factory() -> str:
        import secrets

        issued.append(secrets.token_urlsafe(24))
        return issued[-1]

    messages: list[str] = []
    app = create_app(ttl_s=900, token_factory=token_factory)
    async with EmbeddedBackend(app=app, log_level="debug") as backend:
        clock = FakeClock()
        timeline = Timeline(tmp_path / "timeline.jsonl")
        client = BackendClient(backend.url, clock=clock, policy=Policy(), timeline=timeline, auto_wake=False)
        await client.start()
        await client.rest.airports()
        with pytest.raises(LoginFailed) as wrong:
            await client.login("ada", "not-the-password")
        messages.append(str(wrong.value))
        await client.login("ada", "lovelace")
        async with httpx.AsyncClient(base_url=backend.url) as qa:
            await qa.post("/__qa/revoke", json={"all": True})
            await client.graphql.me()  # rejected, re-authenticated, replayed
            await qa.post("/__qa/faults", json={"refresh": "reject"})
            clock.advance(901)
            await qa.post("/__qa/clock", json={"advance_s": 901})
            await client.rest.whoami()  # refresh rejected, re-auth, call
            await qa.post("/__qa/revoke", json={"all": True})
            await qa.post("/__qa/faults", json={"refresh": "ok"})
            # Revoked, and no reauth key to recover with: the re-auth fails before it reaches the
            # server, the user is signed out (rule 7), and the call raises; it is not replayed.
            client.manager._reauth_key = None
            before, events = await counters(qa), len(timeline)
            signed_out = r"^signed out: re-authentication was rejected$"
            with pytest.raises(NotAuthenticated, match=signed_out) as ended:
                await client.rest.whoami()
            messages.append(repr(ended.value) + str(ended.value))
            assert changed(before, await counters(qa)) == {"api_calls": 1, "rejected": 1}
            entries = list(timeline)[events:]
            outcome = [(x.name, x.detail) for x in entries if x.name in {"reauth_failed", "signed_out"}]
            assert outcome == [
                ("reauth_failed", {"rejected": True, "transport": False}),
                ("signed_out", {"reason": "recovery_failed"}),
            ]
            assert [x.name for x in entries].count("call_sent") == 1  # no replay went out
            assert "token_issued" not in [x.name for x in entries]
            view = client.manager.view()
            assert view.state is State.SIGNED_OUT
            assert (view.kind, view.deadline, view.remaining_s) == (None, None, None)
            assert (client.manager.signed_in, client.manager._token, client.profile) == (False, None, None)
            assert client.manager.former_user["username"] == "ada"
            # The next call goes out as a new guest, silently (rule 5): the user's profile is gone.
            before = await counters(qa)
            assert await client.graphql.me() is None
            assert changed(before, await counters(qa)) == {
                "api_calls": 1,
                "graphql_calls": 1,
                "guest_sessions": 1,
            }
            view = client.manager.view()
            assert (view.state, view.kind, view.remaining_s) == (State.ACTIVE, SessionKind.GUEST, 900)
            assert (client.manager.signed_in, client.profile) == (False, None)
            client.network.online = False
            with pytest.raises(BackendUnreachable) as offline:
                await client.rest.airports()
            messages.append(str(offline.value))
        await client.aclose()
    assert len(issued) >= 6
    texts = [r.getMessage() for r in every_log_record]
    texts += [str(r.args) for r in every_log_record]
    texts += messages
    texts.append((tmp_path / "timeline.jsonl").read_text())
    texts.append(repr(client.manager.view()))
    leaked = [secret for secret in issued for text in texts if secret in text]
    assert leaked == []
    assert "lovelace" not in "".join(texts)
    assert any("fp:" in t for t in texts)
