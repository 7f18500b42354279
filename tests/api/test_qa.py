"""QA control as a typed client (api.qa.control): the live backend's /__qa answers read into types; a
backend that is gone, slow or garbled raises the project's errors, never httpx's; and the named QA
actions move both clocks, set faults, and leave the client untouched when the server refused.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from sessionkeeper.api.backend.serve import EmbeddedBackend
from sessionkeeper.api.client import BackendClient
from sessionkeeper.api.errors import BackendFailed, BackendUnreachable, MalformedResponse
from sessionkeeper.api.network import Scope
from sessionkeeper.api.qa.actions import ACTIONS
from sessionkeeper.api.qa.control import QAControl
from sessionkeeper.api.qa.desk import QADesk
from sessionkeeper.session.clock import FakeClock, QAClock
from sessionkeeper.session.policy import Policy
from sessionkeeper.session.timeline import Timeline

TTL = 60.0


@pytest.fixture
async def backend() -> AsyncIterator[EmbeddedBackend]:
    async with EmbeddedBackend(ttl_s=TTL) as running:
        yield running


@pytest.fixture
async def desk(backend: EmbeddedBackend) -> AsyncIterator[QADesk]:
    clock = QAClock(FakeClock())
    client = BackendClient(
        backend.url, clock=clock, policy=Policy(ttl_s=TTL, warn_s=20.0), timeline=Timeline(), auto_wake=False
    )
    control = QAControl(backend.url)
    await client.start()
    try:
        yield QADesk(control, client, clock, full_ttl_s=TTL)
    finally:
        await client.aclose()
        await control.aclose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Answering(httpx.AsyncBaseTransport):
    def __init__(self, response: httpx.Response | None = None, error: Exception | None = None) -> None:
        self.response, self.error = response, error

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.error is not None:
            raise self.error
        assert self.response is not None
        return self.response


async def test_state_reads_the_servers_truth_into_types(desk: QADesk) -> None:
    state = await desk.control.state()
    assert state.ttl_s == TTL and state.faults.refresh == "ok" and not state.faults.down
    session = state.live_session(None)
    assert session is not None and session.kind == "guest" and 0 < session.expires_in_s <= TTL
    assert state.counters["guest_sessions"] == 1


@pytest.mark.parametrize(
    ("transport", "error"),
    [
        (Answering(error=httpx.ConnectError("refused")), BackendUnreachable),
        (Answering(error=httpx.ReadTimeout("slow")), BackendUnreachable),
        (Answering(httpx.Response(503, json={"error": "down"})), BackendFailed),
        (Answering(httpx.Response(200, text="<html>")), MalformedResponse),
        (Answering(httpx.Response(200, json={"now": "soon"})), MalformedResponse),
        (Answering(httpx.Response(200, json=[1, 2])), MalformedResponse),
    ],
    ids=["refused", "timeout", "503", "not json", "wrong shape", "not an object"],
)
async def test_a_backend_that_is_gone_slow_or_garbled_raises_the_projects_errors(
    transport: httpx.AsyncBaseTransport, error: type[Exception]
) -> None:
    control = QAControl("http://127.0.0.1:1", transport=transport)
    with pytest.raises(error):
        await control.state()
    await control.aclose()


async def test_a_closed_port_is_unreachable_not_a_connect_error() -> None:
    control = QAControl(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(BackendUnreachable, match="unreachable"):
        await control.reset()
    await control.aclose()


async def test_skip_moves_both_clocks_together(desk: QADesk) -> None:
    before = await desk.control.state()
    assert await desk.run("skip", 30) == "skipped ahead 30 s on both clocks"
    after = await desk.control.state()
    assert after.now - before.now == pytest.approx(30.0, abs=0.5)  # the server clock is real underneath
    assert desk.clock.offset == 30.0


async def test_an_action_the_server_cannot_hear_moves_nothing_on_the_client(desk: QADesk) -> None:
    dead = QADesk(QAControl(f"http://127.0.0.1:{free_port()}"), desk.client, desk.clock, full_ttl_s=TTL)
    view = desk.client.manager.view()
    for name in ("skip", "to_warning", "past_expiry", "background"):
        with pytest.raises(BackendUnreachable):
            await dead.run(name, 30)
    assert desk.clock.offset == 0 and desk.client.manager.view() == view
    await dead.control.aclose()


async def test_fault_switches_toggle_or_take_a_side(desk: QADesk) -> None:
    await desk.run("down")
    assert (await desk.control.faults()).down
    await desk.run("down")
    assert not (await desk.control.faults()).down
    await desk.run("refresh_503", on=True)
    await desk.run("refresh_503", on=True)  # said twice: still on
    assert (await desk.control.faults()).refresh == "error"
    await desk.run("short_ttl")
    assert (await desk.control.faults()).ttl_s == TTL / 2
    await desk.run("offline", on=True)
    assert not desk.client.network.online
    await desk.run("reset")
    faults = await desk.control.faults()
    assert faults.refresh == "ok" and faults.ttl_s == TTL and desk.client.network.online


async def test_every_action_has_a_unique_name_and_key_and_unknown_names_are_refused(desk: QADesk) -> None:
    assert len({a.name for a in ACTIONS}) == len({a.key for a in ACTIONS}) == len(ACTIONS)
    with pytest.raises(KeyError):
        await desk.run("teleport")
    with pytest.raises(ValueError, match="non-negative"):
        await desk.run("skip", -5)


async def test_a_burst_is_summed_up_in_one_timeline_entry(desk: QADesk) -> None:
    result = await desk.run("burst", 40)
    assert result == "burst of 40: 40 ok, 0 failed; server refreshes +0"
    names = desk.client.manager.timeline.names()
    assert names.count("burst") == 1 and "call_sent" not in names


async def test_slow_calls_let_a_refresh_rotate_the_token_under_calls_in_flight(desk: QADesk) -> None:
    """Edge case 15 from the keyboard: calls held on their way out carry the old token; the
    refresh made meanwhile is not held, rotates it, and the calls succeed in the grace period."""
    manager = desk.client.manager
    manager.set_active_flow(True)
    await desk.run("slow_calls", on=True)
    desk.client.network.hold_s = 1.0  # the same, quicker
    before = (await desk.control.state()).counters
    burst = asyncio.ensure_future(desk.run("burst", 10))

    async def held() -> None:
        while desk.client.network.holding < 10:  # all ten sent with the old token, and held
            await asyncio.sleep(0.001)

    await asyncio.wait_for(held(), timeout=5)
    await desk.run("to_warning")
    manager.answer_prompt(stay=True)  # the refresh leaves at once, overtaking the held calls
    assert "10 ok, 0 failed" in await burst
    after = (await desk.control.state()).counters
    assert after["refreshes"] - before["refreshes"] == 1 and after["rejected"] == before["rejected"]
    assert manager.view().generation == 2


# -- issue 20, item 5: flaky faults, narrowed to a path and a probability ------------------------


async def test_a_server_fault_turned_on_with_a_scope_applies_only_there(desk: QADesk) -> None:
    words = await desk.run("down", on=True, scope=Scope(0.3, "/graphql"))
    assert words == "fault: backend DOWN: 503 on 30 % of /graphql calls"
    assert (await desk.control.faults()).scopes == {"down": Scope(0.3, "/graphql")}
    for _ in range(5):
        await desk.client.rest.airports()  # REST is outside the scope: never down
    await desk.run("down", on=False)
    await desk.run("latency", on=True)  # the panel's scope: everywhere by default
    assert (await desk.control.faults()).scopes == {"down": Scope(0.3, "/graphql")}  # kept, off


async def test_a_client_fault_with_a_path_reaches_only_those_calls(desk: QADesk) -> None:
    desk.next_scope()
    desk.next_scope()  # the panel's % twice: 30 % of /graphql
    assert desk.scope == Scope(0.3, "/graphql")
    network = desk.client.network
    network.chance = lambda: 0.1  # every draw under 30 %: each GraphQL call hit
    words = await desk.run("offline", on=True)
    assert words == "client OFFLINE: calls fail in transport on 30 % of /graphql calls"
    assert not network.offline_everywhere  # a flaky link: the app does not say "offline"
    await desk.client.rest.airports()
    with pytest.raises(BackendUnreachable):
        await desk.client.graphql.me()
    network.chance = lambda: 0.9  # a draw over 30 %: not hit
    await desk.client.graphql.me()
    await desk.run("reset")
    assert network.online and network.scopes == {}


async def test_lose_answers_everywhere_is_30_percent_and_the_recorder_hears_a_scope(desk: QADesk) -> None:
    heard: list[tuple[str, Scope | None]] = []
    desk.listeners.append(lambda name, n, on, scope: heard.append((name, scope)))
    await desk.run("lose_answers", on=True)
    assert desk.client.network.scope("lose") == Scope(0.3)
    await desk.run("malformed", on=True, scope=Scope(0.5, "/api/flights"))
    await desk.run("revoke")
    flights = Scope(0.5, "/api/flights")
    assert heard == [("lose_answers", Scope(0.3)), ("malformed", flights), ("revoke", None)]
    with pytest.raises(ValueError, match="not a fault"):
        await desk.run("skip", 10, scope=Scope(0.5))


async def test_a_skip_goes_on_past_a_refresh_held_at_a_breakpoint(desk: QADesk) -> None:
    await desk.run("hold_renewal")
    await desk.run("skip", 1)
    desk.client.manager.user_activity()  # active since the session began: rule 4 refreshes
    words = await asyncio.wait_for(desk.run("skip", 44), 10)  # past the warning: a refresh, held
    assert "1 wake-up fired" in words and desk.client.wire.holds
    await desk.run("release")
    await desk.client.settle()
    assert desk.client.manager.view().state.value == "active"
