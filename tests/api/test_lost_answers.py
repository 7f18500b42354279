"""An answer lost on its way back (issue 20, item 4), against the real mock backend: the server takes
the call and extends the session, the client hears nothing (a transport error), so its deadline stays
where it was, earlier than the server's: the safe side. Lost as the next one, or each with a
probability, for the paths that hold a filter; never a session call's."""

from __future__ import annotations

import random

import pytest

from sessionkeeper.api.errors import ApiError
from sessionkeeper.api.network import Scope
from sessionkeeper.api.operations import ME
from tests.api.world import World, world


async def server_remaining(w: World) -> float:
    state = await w.state()
    [session] = [s for s in state["sessions"] if not s["revoked"]]
    return float(session["expires_in_s"])


async def test_the_server_extends_the_session_the_client_never_hears_and_stays_earlier() -> None:
    async with world("rest") as w:
        await w.advance(20)
        before = w.client.manager.view().deadline
        calls = (await w.counters())["api_calls"]
        w.client.network.lose_next = 1
        with pytest.raises(ApiError):
            await w.client.rest.airports()
        assert (await w.counters())["api_calls"] == calls + 1  # the server took it
        assert w.client.manager.view().deadline == before  # the client moved nothing
        client_left = w.client.manager.view().remaining_s
        assert client_left is not None
        assert await server_remaining(w) > client_left + 15  # the server's is 20 s later
        [lost] = [x for x in w.client.wire.exchanges if x.error and "lost on its way back" in x.error]
        assert lost.error is not None and "answered 200" in lost.error and not lost.moved
        await w.client.rest.airports()  # the next answer arrives: the two agree again
        assert abs(await server_remaining(w) - (w.client.manager.view().remaining_s or 0)) < 1


async def test_with_a_probability_and_a_path_filter_only_those_answers_are_lost() -> None:
    async with world("rest") as w:
        network = w.client.network
        network.losing = True
        network.narrow("lose", Scope(0.3, "/graphql"))
        network.chance = random.Random(7).random
        expected = random.Random(7)
        lost = 0
        for _ in range(20):
            await w.client.rest.airports()  # REST: never lost, and draws no chance
            losing = expected.random() < 0.3
            try:
                await w.client.graphql.execute(ME)
            except ApiError:
                lost += 1
                assert losing
            else:
                assert not losing
        assert lost == network.lost and 2 <= lost <= 12
        assert w.client.manager.view().token_usable  # no session call was ever lost
