"""Breakpoints on the wire (issue 20, item 3), against the real mock backend on a loopback port: the
next call held before it leaves (the server has not seen it) or once the server answered (the
server extended the session; the client has not heard), then released, aborted or answered by
the tester. And a race the anchors' trackers hurt on: a 401 that arrives for a call sent before a
re-auth is replayed with the new token, with no second re-auth."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sessionkeeper.api.errors import ApiError
from sessionkeeper.api.wire import Breakpoint, Decision, Exchange
from tests.api.world import World, world


async def until_held(w: World) -> Exchange:
    for _ in range(500):
        if w.client.wire.holds:
            return w.client.wire.holds[0].exchange
        await asyncio.sleep(0.01)
    raise AssertionError("nothing was held")


async def settle(task: asyncio.Task[Any]) -> Any:
    return await asyncio.wait_for(task, 10)


async def test_held_before_it_leaves_the_server_never_sees_it_until_released() -> None:
    async with world("rest") as w:
        w.client.wire.arm(Breakpoint("out", "call"))
        calls = (await w.counters())["api_calls"]
        task = asyncio.create_task(w.call())
        held = await until_held(w)
        assert held.held == "out" and held.path.endswith("/api/session") and held.token is not None
        assert (await w.counters())["api_calls"] == calls  # not sent
        assert w.client.wire.decide(Decision("release")) is held
        await settle(task)
        assert (await w.counters())["api_calls"] == calls + 1
        assert held.held is None and held.broken == "held before it left, then released"
        assert held.status == 200 and held.verdict == "accepted"


async def test_aborted_before_it_leaves_is_a_transport_error_and_moves_nothing() -> None:
    async with world("rest") as w:
        await w.advance(10)
        before = w.client.manager.view().deadline
        calls = (await w.counters())["api_calls"]
        w.client.wire.arm(Breakpoint("out", "call"))
        task = asyncio.create_task(w.call())
        await until_held(w)
        w.client.wire.decide(Decision("abort"))
        with pytest.raises(ApiError):
            await settle(task)
        assert (await w.counters())["api_calls"] == calls
        assert w.client.manager.view().deadline == before


async def test_held_once_answered_the_server_extended_and_the_client_moves_only_when_released() -> None:
    async with world("rest") as w:
        await w.advance(20)
        before = w.client.manager.view().deadline
        w.client.wire.arm(Breakpoint("back", "call"))
        task = asyncio.create_task(w.call())
        held = await until_held(w)
        assert held.held == "back" and held.status == 200  # the server's answer, not delivered
        [session] = [s for s in (await w.state())["sessions"] if not s["revoked"]]
        assert session["expires_in_s"] > 55  # extended there
        assert w.client.manager.view().deadline == before  # not here
        w.client.wire.decide(Decision("release"))
        await settle(task)
        after = w.client.manager.view().deadline
        assert before is not None and after is not None and after > before + 15


async def test_answered_401_by_the_tester_the_client_recovers_and_sends_it_again() -> None:
    async with world("rest") as w:
        calls = (await w.counters())["api_calls"]
        w.client.wire.arm(Breakpoint("out", "call"))
        task = asyncio.create_task(w.call())
        held = await until_held(w)
        w.client.wire.decide(Decision("answer", 401))
        await settle(task)  # recovered (a new guest session) and sent again
        assert held.status == 401 and held.broken == "held before it left, then answered 401 by the tester"
        counters = await w.counters()
        assert counters["guest_sessions"] == 2 and counters["rejected"] == 0  # the 401 was the tester's
        assert counters["api_calls"] == calls + 2  # the new guest session and the replay
        [replay] = [x for x in w.client.wire.exchanges if x.path == held.path and x.number > held.number]
        assert replay.status == 200 and replay.generation == (held.generation or 0) + 1


async def test_a_401_for_a_call_sent_before_a_reauth_is_replayed_with_no_second_reauth() -> None:
    async with world("rest") as w:
        await w.client.login("ada", "lovelace")
        w.client.wire.arm(Breakpoint("back", "call"))
        slow = asyncio.create_task(w.call())  # sent with ada's first token; its answer held
        held = await until_held(w)
        first_generation = held.generation
        await w.revoke_all()
        await w.call()  # 401, a re-auth, the replay: the session now has a new token
        assert (await w.counters())["reauths"] == 1
        w.client.wire.decide(Decision("answer", 401))  # the old call's answer arrives: a 401
        await settle(slow)
        assert (await w.counters())["reauths"] == 1  # the old rejection started no second re-auth
        last = list(w.client.wire.exchanges)[-1]  # the old call, sent again
        assert last.path == held.path and last.status == 200 and last.generation != first_generation
        assert w.client.manager.signed_in


async def test_call_n_of_a_burst_is_held_and_the_calls_before_and_after_it_go_on() -> None:
    async with world("rest") as w:
        w.client.wire.arm(Breakpoint("out", "call", nth=5))
        calls = [asyncio.create_task(w.call()) for _ in range(10)]
        held = await until_held(w)
        numbers = sorted(x.number for x in w.client.wire.exchanges if x.generation is not None)
        assert held.number == numbers[4]  # the fifth call to reach the wire
        for _ in range(200):
            if sum(task.done() for task in calls) == 9:
                break
            await asyncio.sleep(0.01)
        assert sum(task.done() for task in calls) == 9  # all but the held one answered
        assert not w.client.wire.breakpoints  # spent
        w.client.wire.decide(Decision("release"))
        await asyncio.wait_for(asyncio.gather(*calls), 10)
        assert held.status == 200 and held.broken == "held before it left, then released"
