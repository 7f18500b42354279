"""The parity suite: docs/rules.md's edge cases 1, 2, 3, 8, 9, 12, 13, 14, 15, 16 and 18 as one table of
scenarios, run over REST and over GraphQL against the real mock backend on a loopback port.

Time moves on both sides together (the client's fake clock and `/__qa/clock`); faults come from
`/__qa/faults` and `/__qa/revoke`; each scenario asserts the calls' results, the client's state and
the server's counters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from sessionkeeper.api.errors import BackendFailed, BackendUnreachable
from sessionkeeper.session.engine import State
from sessionkeeper.session.events import SessionKind
from tests.api.world import TTL, WARN, World, world

Scenario = Callable[[World], Awaitable[None]]
SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str) -> Callable[[Scenario], Scenario]:
    def register(fn: Scenario) -> Scenario:
        SCENARIOS[name] = fn
        return fn

    return register


async def sign_in(w: World) -> None:
    await w.client.login("ada", "lovelace")
    assert w.client.manager.signed_in


@scenario("01 token obtained: countdown starts at the TTL")
async def token_obtained(w: World) -> None:
    view = w.client.manager.view()
    assert view.kind is SessionKind.GUEST and view.remaining_s == TTL
    counters = await w.counters()
    assert counters["guest_sessions"] == 1
    [session] = (await w.state())["sessions"]
    # The server's clock runs in real time while the client's fake one stands still: allow 1 s.
    assert session["kind"] == "guest" and view.remaining_s - 1 <= session["expires_in_s"] <= TTL


@scenario("02 accepted call: countdown back to the TTL from the send time")
async def accepted_call(w: World) -> None:
    await w.advance(300)
    assert w.client.manager.view().remaining_s == TTL - 300
    before = await w.counters()
    await w.call()
    assert w.client.manager.view().remaining_s == TTL
    after = await w.counters()
    assert after[w.calls_counter] - before[w.calls_counter] == 1
    [session] = (await w.state())["sessions"]
    remaining = w.client.manager.view().remaining_s
    assert remaining is not None
    assert session["expires_in_s"] >= remaining - 1  # never later


@scenario("03 transport failure and 5xx: countdown not moved")
async def failure_moves_nothing(w: World) -> None:
    await w.advance(300)
    w.client.network.online = False
    with pytest.raises(BackendUnreachable):
        await w.call()
    assert w.client.manager.view().offline
    assert w.client.manager.view().remaining_s == TTL - 300
    w.client.network.online = True
    await w.faults(down=True)
    with pytest.raises(BackendFailed):
        await w.call()
    assert w.client.manager.view().remaining_s == TTL - 300
    await w.faults(down=False)
    await w.call()
    assert w.client.manager.view().remaining_s == TTL and not w.client.manager.view().offline


@scenario("08 refresh answers 503: retries with backoff; no sign-out for it; silent re-auth once it answers")
async def refresh_503(w: World) -> None:
    await sign_in(w)
    manager = w.client.manager
    manager.set_active_flow(True)
    await w.faults(refresh="error")
    await w.advance(TTL - WARN)
    assert manager.view().prompt_visible
    manager.answer_prompt(stay=True)
    await w.client.settle()
    attempts = 1
    while manager.engine.retry_at is not None:
        await w.advance(manager.engine.retry_at - w.clock.now())
        await w.client.settle()
        attempts += 1
    counters = await w.counters()
    assert attempts == 6  # at 840 s, then 1, 2, 4, 8 and 16 s later; 30 s more would pass 900 s
    assert counters["refreshes"] == attempts and counters["refresh_failures"] == attempts
    assert manager.signed_in and manager.view().state is State.WARNING and manager.view().offline
    await w.advance(w.client.manager.engine.deadline - w.clock.now())  # type: ignore[operator]
    # A 503 is no verdict on the session (rule 6): expired and offline, still the same user.
    assert manager.signed_in and manager.view().state is State.EXPIRED and manager.view().offline
    await w.faults(refresh="ok")
    await w.call()  # the next action, once the backend answers: one silent re-auth
    after = await w.counters()
    assert after["reauths"] - counters["reauths"] == 1 and after["refreshes"] == attempts
    assert manager.signed_in and not manager.view().offline


@scenario("09 refresh answers 401: re-auth once, no loop")
async def refresh_401(w: World) -> None:
    await sign_in(w)
    manager = w.client.manager
    manager.set_active_flow(True)
    await w.faults(refresh="reject")
    await w.advance(TTL - WARN)
    manager.answer_prompt(stay=True)
    await w.client.settle()
    counters = await w.counters()
    assert (counters["refreshes"], counters["reauths"], counters["reauth_failures"]) == (1, 1, 0)
    assert manager.signed_in and manager.view().remaining_s == TTL
    assert w.client.profile is not None and w.client.profile.username == "ada"
    await w.call()
    assert (await w.counters())["refreshes"] == 1


@scenario("12 500 concurrent calls at expiry: one refresh, all succeed")
async def burst_at_expiry(w: World) -> None:
    # The calls race the wake-up at the deadline: they arrive before the client's own tick.
    await w.advance(TTL + 1, tick=False)
    before = await w.counters()
    results = await asyncio.wait_for(asyncio.gather(*(w.call() for _ in range(500))), timeout=60)
    assert len(results) == 500
    after = await w.counters()
    assert after["refreshes"] - before["refreshes"] == 1
    # The server's session had expired too: the one refresh was rejected, one new guest session.
    assert after["guest_sessions"] - before["guest_sessions"] == 1
    # Not one call went out before the recovery: under /api/ the server also saw the refresh and
    # the guest session request, and nothing else.
    session_requests = 2 if w.protocol == "rest" else 0
    assert after[w.calls_counter] - before[w.calls_counter] == 500 + session_requests
    assert after["rejected"] - before["rejected"] == 1


@scenario("13 session revoked server-side: one recovery, the call replayed once")
async def revoked(w: World) -> None:
    await sign_in(w)
    before = await w.counters()
    await w.revoke_all()
    profile = await w.call()
    after = await w.counters()
    assert after["reauths"] - before["reauths"] == 1
    assert after["rejected"] - before["rejected"] == 1
    # REST: the call, the reauth (also under /api/) and the one replay. GraphQL: the call, the
    # one replay, and the profile re-sync (`me`) that follows every silent re-auth.
    assert after[w.calls_counter] - before[w.calls_counter] == 3
    names = w.client.manager.timeline.names()
    assert names.count("call_rejected") == 1 and names.count("call_replay") == 1
    assert w.client.manager.signed_in
    assert w.client.manager.engine.ttl_s == TTL  # a revocation says nothing about the TTL
    if w.protocol == "graphql":
        assert profile is not None and profile.username == "ada"


@scenario("14 server TTL shorter than assumed: recovered, the estimate lowered")
async def shorter_ttl(w: World) -> None:
    await w.faults(ttl_s=400)
    await w.call()  # the session now slides by 400 s on the server
    await w.advance(500)
    before = await w.counters()
    await w.call()
    after = await w.counters()
    assert after["rejected"] - before["rejected"] == 1
    assert after["guest_sessions"] - before["guest_sessions"] == 1
    ttl = w.client.manager.engine.ttl_s
    assert ttl < 400  # lowered below the server's real TTL
    [session] = [s for s in (await w.state())["sessions"] if s["expires_in_s"] > 0]
    remaining = w.client.manager.view().remaining_s
    assert remaining is not None
    assert remaining - 1 <= session["expires_in_s"]


@scenario("15 refresh rotated the token while calls were in flight: grace, or one replay")
async def rotation_in_flight(w: World) -> None:
    # This world holds the next request of each client before it leaves, on demand.
    holder = w.held[1] if w.protocol == "rest" else w.held[2]
    manager = w.client.manager
    for past_grace in (False, True):
        holder.armed, holder.held, holder.release = True, asyncio.Event(), asyncio.Event()
        call = asyncio.create_task(w.call())
        await holder.held.wait()  # sent with the current token, not yet at the server
        generation = manager.view().generation
        manager.set_active_flow(True)
        await w.advance(manager.engine.deadline - WARN - w.clock.now())  # type: ignore[operator]
        manager.answer_prompt(stay=True)
        await w.client.settle()
        assert manager.view().generation == generation + 1
        if past_grace:
            await w.advance(31)  # the old token's grace (30 s) is over
        before = await w.counters()
        holder.release.set()
        await call
        after = await w.counters()
        assert after["refreshes"] == before["refreshes"]  # no refresh for a rotated token
        replays = after[w.calls_counter] - before[w.calls_counter] - 1
        assert (after["rejected"] - before["rejected"], replays) == ((1, 1) if past_grace else (0, 0))
        manager.set_active_flow(False)


@scenario("16 backend down / client offline: no sign-out, recovers when back")
async def offline(w: World) -> None:
    await sign_in(w)
    manager = w.client.manager
    w.client.network.online = False
    with pytest.raises(BackendUnreachable):
        await w.call()
    await w.advance(TTL + 10)
    assert manager.signed_in and manager.view().offline
    with pytest.raises(BackendUnreachable):
        await w.call()
    w.client.network.online = True
    await w.faults(down=True)
    with pytest.raises(BackendFailed):
        await w.call()
    assert manager.signed_in
    await w.faults(down=False)
    before = await w.counters()
    await w.call()
    after = await w.counters()
    assert manager.signed_in and not manager.view().offline
    assert after["reauths"] - before["reauths"] == 1


async def revoked_with_style(w: World, style: str) -> None:
    await w.faults(graphql_auth_error=style)
    await sign_in(w)
    before = await w.counters()
    await w.revoke_all()
    await w.call()
    after = await w.counters()
    assert (after["reauths"] - before["reauths"], after["rejected"] - before["rejected"]) == (1, 1)
    assert w.client.manager.signed_in


@scenario("18a auth error as HTTP 200 + UNAUTHENTICATED: same outcome as REST")
async def auth_error_extensions(w: World) -> None:
    await revoked_with_style(w, "extensions")


@scenario("18b auth error as HTTP 401: same outcome as REST")
async def auth_error_http(w: World) -> None:
    await revoked_with_style(w, "http")


# 500 calls at once over loopback, 2.5 to 4.5 s each: slow (rule 8's single flight under 500 callers
# stays in the fast lane in memory: tests/session/test_manager.py).
BURSTS = {name for name in SCENARIOS if name.startswith("12 ")}


@pytest.mark.parametrize("protocol", ["rest", "graphql"])
@pytest.mark.parametrize(
    "name",
    [pytest.param(name, marks=[pytest.mark.slow] if name in BURSTS else []) for name in sorted(SCENARIOS)],
)
async def test_parity(name: str, protocol: str) -> None:
    async with world(protocol, held=name.startswith("15")) as w:
        await SCENARIOS[name](w)


@pytest.mark.slow  # 500 calls at once over loopback, as BURSTS
async def test_mixed_burst_of_rest_and_graphql_at_expiry_causes_one_refresh() -> None:
    async with world("rest") as w:
        await w.advance(TTL + 1, tick=False)
        before = await w.counters()
        rest = [w.client.rest.whoami() for _ in range(250)]
        graphql = [w.client.graphql.me() for _ in range(250)]
        await asyncio.wait_for(asyncio.gather(*rest, *graphql), timeout=60)
        after = await w.counters()
        assert after["refreshes"] - before["refreshes"] == 1
        assert after["api_calls"] - before["api_calls"] >= 250
        assert after["graphql_calls"] - before["graphql_calls"] == 250
