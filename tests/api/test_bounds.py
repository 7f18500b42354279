"""Every exchange is bounded in time and size, and a redirect is never taken for an answer (issue 16).

Against `Misbehaving`, a loopback server that drips, floods or redirects on purpose, with a deadline
of half a second: a REST call, a GraphQL call, a QA call and the session's own flights each end as
"no answer" within the deadline and a margin; calls waiting behind a dripping flight are let go
with its failure; an answer over its bound is refused having read about the bound, and the
session takes it for no verdict; a token that could not be stored or sent is never kept; a
redirect moves no deadline and is an error. The waits are real loopback I/O, each well under 2 s.
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import httpx
import pytest

from sessionkeeper.api.client import BackendClient
from sessionkeeper.api.errors import BackendFailed, BackendUnreachable, MalformedResponse
from sessionkeeper.api.middleware import SessionAuth
from sessionkeeper.api.qa.control import QAControl
from sessionkeeper.api.session_port import HttpSessionPort
from sessionkeeper.session.clock import FakeClock
from sessionkeeper.session.decisions import Link
from sessionkeeper.session.manager import SessionUnavailable
from sessionkeeper.session.policy import Policy
from sessionkeeper.session.port import BackendUnavailable
from sessionkeeper.session.secrets import Secret
from sessionkeeper.session.store import SessionStore
from sessionkeeper.session.timeline import Timeline
from tests.api.misbehaving import Misbehaving, Reply, answer, drip_body, drip_headers, flood
from tests.api.world import TTL, WARN
from tests.transports import PassThrough

DEADLINE = 0.5
MARGIN = 1.0  # loopback, two busy cores: the deadline plus this, and the call must be over
ANSWER_BOUND = 4 * 1024 * 1024  # api.network.MAX_ANSWER_BYTES
SESSION_BOUND = 64 * 1024  # api.network.MAX_SESSION_ANSWER_BYTES
READ_SIZE = 64 * 1024  # httpcore reads this much at a time: a bound is passed by at most one read
# For the size tests: the paced flood takes its time to reach 4 MiB; only the bound may stop it.
ROOMY = 5.0
DRIPS = [drip_body(), drip_headers()]
DRIP_IDS = ["drips-its-body", "drips-its-headers"]


class Counting(PassThrough):
    """httpx's own transport, counting the body bytes the client took off the wire."""

    def __init__(self) -> None:
        super().__init__()
        self.read = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_CountedStream(response.stream, self),
            extensions=response.extensions,
        )


class _CountedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, counter: Counting) -> None:
        self._inner = inner
        self._counter = counter

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self._counter.read += len(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class Setup:
    """A client of the misbehaving server, with a fake session clock and a real stored session."""

    def __init__(self, server: Misbehaving, tmp_path: Path, *, deadline: float = DEADLINE) -> None:
        self.clock = FakeClock()
        self.counters: list[Counting] = []
        self.store_path = tmp_path / "session.json"
        self.timeline = Timeline()

        def inner() -> httpx.AsyncBaseTransport:
            self.counters.append(Counting())
            return self.counters[-1]

        self.client = BackendClient(
            server.url,
            clock=self.clock,
            policy=Policy(ttl_s=TTL, warn_s=WARN),
            store=SessionStore(self.store_path, scope=server.url),
            timeline=self.timeline,
            auto_wake=False,
            inner_transport=inner,
            call_deadline=deadline,
        )

    @property
    def bytes_read(self) -> int:
        return sum(counter.read for counter in self.counters)


async def timed(call: Awaitable[object]) -> tuple[BaseException | None, float]:
    """Await `call` (bounded by the deadline and a margin, so a hang fails the test rather than
    the run); what it raised, and how long it took."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(DEADLINE + MARGIN):
            await call
    except TimeoutError:
        pytest.fail(f"still waiting {DEADLINE + MARGIN:g} s on, past a {DEADLINE:g} s deadline")
    except Exception as exc:
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


# -- the deadline: a dripping answer is no answer ---------------------------------------------


@pytest.mark.parametrize("drip", DRIPS, ids=DRIP_IDS)
async def test_a_rest_call_to_a_dripping_backend_is_no_answer_within_the_deadline(
    drip: Reply, tmp_path: Path
) -> None:
    async with Misbehaving({"/api/airports": drip}) as server:
        setup = Setup(server, tmp_path)
        client = setup.client
        await client.start()
        deadline = client.manager.engine.deadline
        setup.clock.advance(100)
        error, took = await timed(client.rest.airports())
        assert isinstance(error, BackendUnreachable), error
        assert took < DEADLINE + MARGIN
        assert client.manager.engine.deadline == deadline  # rule 2: no answer moves nothing
        assert client.manager.view().link is Link.UNREACHABLE
        failed = [x.detail for x in setup.timeline if x.name == "call_failed"]
        assert failed == [{"call": "GET /api/airports", "status": None, "transport": True}]
        await client.aclose()


@pytest.mark.parametrize("drip", DRIPS, ids=DRIP_IDS)
async def test_a_graphql_call_to_a_dripping_backend_is_no_answer_within_the_deadline(
    drip: Reply, tmp_path: Path
) -> None:
    async with Misbehaving({"/graphql": drip}) as server:
        setup = Setup(server, tmp_path)
        client = setup.client
        await client.start()
        await client.graphql.connect()  # gql's set-up, off the clock
        deadline = client.manager.engine.deadline
        setup.clock.advance(100)
        error, took = await timed(client.graphql.me())
        assert isinstance(error, BackendUnreachable), error
        assert took < DEADLINE + MARGIN
        assert client.manager.engine.deadline == deadline
        assert client.manager.view().link is Link.UNREACHABLE
        await client.aclose()


@pytest.mark.parametrize("drip", DRIPS, ids=DRIP_IDS)
async def test_a_guest_flight_to_a_dripping_backend_is_no_answer_within_the_deadline(
    drip: Reply, tmp_path: Path
) -> None:
    async with Misbehaving({"/api/session/guest": drip}) as server:
        setup = Setup(server, tmp_path)
        started = time.monotonic()
        outcome = await asyncio.wait_for(setup.client.manager.start(), DEADLINE + MARGIN)
        assert time.monotonic() - started < DEADLINE + MARGIN
        assert outcome is not None and not outcome.ok
        assert isinstance(outcome.error, BackendUnavailable) and outcome.error.transport
        view = setup.client.manager.view()
        assert view.link is Link.UNREACHABLE and view.kind is None
        assert not setup.store_path.exists()
        await setup.client.aclose()


async def test_calls_waiting_behind_a_dripping_refresh_are_let_go_with_its_failure(tmp_path: Path) -> None:
    async with Misbehaving({"/api/session/refresh": drip_body()}) as server:
        setup = Setup(server, tmp_path)
        client = setup.client
        await client.start()
        setup.clock.advance(TTL + 1)  # past the deadline: the next call refreshes first
        calls = [asyncio.ensure_future(client.rest.airports()) for _ in range(5)]
        error, took = await timed(asyncio.gather(*calls, return_exceptions=True))
        assert error is None and took < DEADLINE + MARGIN
        results = [call.result() if not call.exception() else call.exception() for call in calls]
        assert all(isinstance(r, BackendUnreachable) for r in results), results
        assert server.hits["/api/session/refresh"] == 1  # one flight, shared (rule 8)
        assert server.hits["/api/airports"] == 0  # none went out with a lapsed token
        assert client.manager.view().link is Link.UNREACHABLE
        names = setup.timeline.names()
        assert names.count("refresh_failed") == 1
        await client.aclose()


async def test_a_qa_call_to_a_dripping_backend_is_no_answer_within_the_deadline() -> None:
    async with Misbehaving({"/__qa/state": drip_body()}) as server:
        qa = QAControl(server.url, deadline_s=DEADLINE)
        error, took = await timed(qa.state())
        assert isinstance(error, BackendUnreachable), error
        assert took < DEADLINE + MARGIN
        await qa.aclose()


# -- the size: an answer over its bound is refused unread --------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["huge-content-length", "chunked-without-end"])
async def test_a_huge_guest_answer_is_refused_having_read_about_the_bound(
    chunked: bool, tmp_path: Path
) -> None:
    async with Misbehaving({"/api/session/guest": flood(chunked=chunked)}) as server:
        setup = Setup(server, tmp_path, deadline=ROOMY)
        outcome = await asyncio.wait_for(setup.client.manager.start(), 3.0)
        assert outcome is not None and not outcome.ok
        error = outcome.error
        assert isinstance(error, BackendUnavailable) and not error.transport  # retried with backoff
        assert "larger than 64 KiB" in str(error)
        assert setup.bytes_read <= (0 if not chunked else SESSION_BOUND + READ_SIZE)
        assert server.written["/api/session/guest"] < 16 * 1024 * 1024  # of 200 MB
        view = setup.client.manager.view()
        assert view.kind is None and view.link is Link.FAILING
        assert not setup.store_path.exists()
        await setup.client.aclose()


@pytest.mark.parametrize("chunked", [False, True], ids=["huge-content-length", "chunked-without-end"])
async def test_a_huge_domain_answer_is_malformed_and_no_verdict(chunked: bool, tmp_path: Path) -> None:
    routes = {"/api/airports": flood(chunked=chunked), "/graphql": flood(chunked=chunked)}
    async with Misbehaving(routes) as server:
        setup = Setup(server, tmp_path, deadline=ROOMY)
        client = setup.client
        await client.start()
        await client.graphql.connect()
        deadline = client.manager.engine.deadline
        setup.clock.advance(100)
        for call in (client.rest.airports, client.graphql.me):
            before = setup.bytes_read
            with pytest.raises(MalformedResponse, match=r"^the answer was larger than 4 MiB$"):
                await asyncio.wait_for(call(), 3.0)
            assert setup.bytes_read - before <= (0 if not chunked else ANSWER_BOUND + READ_SIZE)
        # No verdict, like a 5xx: nothing moved, and the server is not "unreachable".
        assert client.manager.engine.deadline == deadline
        assert client.manager.view().link is Link.FAILING
        failed = [x.detail for x in setup.timeline if x.name == "call_failed"]
        assert failed == [
            {"call": "GET /api/airports", "status": 200, "transport": False},
            {"call": "POST /graphql", "status": 200, "transport": False},
        ]
        await client.aclose()


async def test_a_compressed_answer_is_bounded_by_what_it_decodes_to(tmp_path: Path) -> None:
    bomb = gzip.compress(b'{"airports": [' + b" " * (ANSWER_BOUND + 1) + b"]}")
    assert len(bomb) < 64 * 1024
    headers = (("Content-Encoding", "gzip"), ("Content-Type", "application/json"))
    async with Misbehaving({"/api/airports": Reply("answer", 200, bomb, headers)}) as server:
        setup = Setup(server, tmp_path)
        await setup.client.start()
        with pytest.raises(MalformedResponse, match=r"larger than 4 MiB"):
            await asyncio.wait_for(setup.client.rest.airports(), 3.0)
        await setup.client.aclose()


@pytest.mark.parametrize(
    ("token", "why"),
    [
        ("t" * (1024 * 1024), "larger than 64 KiB"),  # the tester's 1 MB token
        ("t" * 4097, "longer than 4096 characters"),
        ("tok en", "characters an HTTP header cannot carry"),
        ("tok\r\nX-Injected: 1", "characters an HTTP header cannot carry"),
        ("tök", "characters an HTTP header cannot carry"),
    ],
    ids=["1-MiB", "4097-chars", "space", "newline", "non-ascii"],
)
async def test_a_token_that_could_not_be_stored_or_sent_is_refused_and_never_stored(
    token: str, why: str, tmp_path: Path
) -> None:
    guest = answer(201, {"token": token, "kind": "guest"})
    async with Misbehaving({"/api/session/guest": guest}) as server:
        setup = Setup(server, tmp_path)
        outcome = await asyncio.wait_for(setup.client.manager.start(), 3.0)
        assert outcome is not None and not outcome.ok
        assert isinstance(outcome.error, BackendUnavailable) and not outcome.error.transport
        assert why in str(outcome.error) and token not in str(outcome.error)
        assert setup.client.manager.view().kind is None
        assert not setup.store_path.exists()
        assert token not in "".join(x.as_json() for x in setup.timeline)
        await setup.client.aclose()


async def test_a_reauth_key_too_long_to_keep_fails_the_sign_in_and_is_never_stored(tmp_path: Path) -> None:
    key = "k" * 4097
    user = {"username": "ada", "name": "Ada Lovelace", "tier": "gold"}
    login = answer(200, {"token": "tok-user", "kind": "user", "reauth_key": key, "user": user})
    async with Misbehaving({"/api/session/login": login}) as server:
        setup = Setup(server, tmp_path)
        await setup.client.start()
        with pytest.raises(BackendFailed, match="reauth_key is longer than 4096 characters"):
            await setup.client.login("ada", "lovelace")
        assert not setup.client.manager.signed_in
        assert key not in setup.store_path.read_text()  # the guest session is stored, nothing more
        await setup.client.aclose()


def test_the_bounds_are_the_ones_documented_here() -> None:
    from sessionkeeper.api import network

    assert (network.MAX_ANSWER_BYTES, network.MAX_SESSION_ANSWER_BYTES) == (ANSWER_BOUND, SESSION_BOUND)
    assert network.DEFAULT_CALL_DEADLINE_S == 15.0
    from sessionkeeper.session.store import MAX_BYTES

    # A stored session holds a token, a reauth key and a user from one session answer: always storable.
    assert SESSION_BOUND * 3 + 2 * 4096 < MAX_BYTES


# -- redirects: never followed, never a verdict ------------------------------------------------


REDIRECT_WORDS = r"the server answered with a redirect \(HTTP 307\), which this client does not follow"


async def test_a_redirect_on_a_gated_call_moves_nothing_is_not_followed_and_is_an_error(
    tmp_path: Path,
) -> None:
    routes = {
        "/api/airports": answer(307, {"airports": []}, Location="/api/elsewhere"),
        # A JSON body gql would take for a result, were the status not looked at.
        "/graphql": answer(307, {"data": {"me": None}}, Location="/api/elsewhere"),
    }
    async with Misbehaving(routes) as server:
        setup = Setup(server, tmp_path)
        client = setup.client
        await client.start()
        await client.graphql.connect()
        deadline = client.manager.engine.deadline
        setup.clock.advance(100)
        with pytest.raises(MalformedResponse, match=REDIRECT_WORDS):
            await client.rest.airports()
        with pytest.raises(MalformedResponse, match=REDIRECT_WORDS):
            await client.graphql.me()
        assert client.manager.engine.deadline == deadline  # a 307 is not the server's acceptance
        assert server.hits["/api/elsewhere"] == 0  # never followed
        failed = [x.detail for x in setup.timeline if x.name == "call_failed"]
        assert [f["status"] for f in failed] == [307, 307] and not any(f["transport"] for f in failed)
        await client.aclose()


async def test_a_redirect_answering_a_refresh_fails_the_flight_and_is_not_followed(tmp_path: Path) -> None:
    refresh = answer(307, {"token": "tok-elsewhere"}, Location="/api/session/elsewhere")
    async with Misbehaving({"/api/session/refresh": refresh}) as server:
        port = HttpSessionPort(server.url)
        with pytest.raises(BackendUnavailable, match=REDIRECT_WORDS) as refused:
            await port.refresh(Secret("tok-0001"))
        assert not refused.value.transport  # an answer, not a verdict: retried with backoff
        await port.aclose()
        setup = Setup(server, tmp_path)
        client = setup.client
        await client.start()
        setup.clock.advance(TTL + 1)
        with pytest.raises(BackendFailed):
            await client.rest.airports()
        assert server.hits["/api/session/elsewhere"] == 0
        entries = [x for x in setup.timeline if x.name == "refresh_failed"]
        assert [x.detail for x in entries] == [{"rejected": False, "transport": False}]
        assert "tok-elsewhere" not in setup.store_path.read_text()
        await client.aclose()


async def test_a_redirect_answering_a_qa_call_is_an_error() -> None:
    async with Misbehaving({"/__qa/state": answer(307, {}, Location="/__qa/elsewhere")}) as server:
        qa = QAControl(server.url, deadline_s=DEADLINE)
        with pytest.raises(MalformedResponse, match=REDIRECT_WORDS):
            await qa.state()
        assert server.hits["/__qa/elsewhere"] == 0
        await qa.aclose()


# -- the session port never goes through the middleware -----------------------------------------


async def test_a_session_port_whose_client_uses_the_middleware_is_refused_when_built() -> None:
    async with Misbehaving() as server:
        setup_client = BackendClient(server.url, clock=FakeClock(), auto_wake=False)
        through_middleware = httpx.AsyncClient(**setup_client.auth.client_kwargs())
        with pytest.raises(ValueError, match="must not use the session middleware"):
            HttpSessionPort(server.url, client=through_middleware)
        following = httpx.AsyncClient(follow_redirects=True)
        with pytest.raises(ValueError, match="must not follow redirects"):
            HttpSessionPort(server.url, client=following)
        await through_middleware.aclose()
        await following.aclose()
        await setup_client.aclose()


async def test_a_port_slipped_through_the_middleware_fails_its_refresh_at_once_instead_of_hanging(
    tmp_path: Path,
) -> None:
    async with Misbehaving() as server:
        setup = Setup(server, tmp_path)
        client = setup.client
        await client.start()
        # Past the check at build: the port's own client swapped for one through the middleware.
        await client.port._client.aclose()
        through: httpx.AsyncClient = httpx.AsyncClient(base_url=server.url, **client.auth.client_kwargs())
        client.port._client = through
        assert isinstance(through.auth, SessionAuth)
        setup.clock.advance(TTL + 1)  # the next call refreshes first, through the middleware
        error, took = await timed(client.rest.airports())
        assert took < DEADLINE  # at once: nothing waited, not even for the deadline
        assert isinstance(error, RuntimeError) and not isinstance(error, SessionUnavailable), error
        assert "inside the session's own refresh" in str(error)
        assert server.hits["/api/session/refresh"] == 0  # refused before it went out
        assert not client.manager.flight_in_progress
        await client.aclose()
