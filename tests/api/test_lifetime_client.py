"""Rule 15 on the client: past the session's absolute lifetime the server refuses the refresh and
the re-auth with `lifetime_reached`; the client signs out saying so, and never renews the session
silently past the cap. Against the real mock backend on loopback, over REST and over GraphQL."""

from __future__ import annotations

import pytest

from sessionkeeper.api.errors import NotAuthenticated
from sessionkeeper.session import decisions as d
from sessionkeeper.session.engine import State
from tests.api.world import TTL, world

LIFETIME = 2 * TTL


@pytest.mark.parametrize("protocol", ["rest", "graphql"])
async def test_past_the_lifetime_the_user_is_signed_out_in_its_words_and_no_session_is_renewed(
    protocol: str,
) -> None:
    async with world(protocol) as w:
        await w.faults(lifetime_s=LIFETIME)
        await w.client.login("ada", "lovelace")
        decisions: list[d.Decision] = []
        w.client.manager.subscribe(decisions.append)
        # Calls keep the session live up to the cap; the server never grants a deadline past it.
        for _ in range(3):
            await w.advance(TTL * 0.6)
            await w.call()
        before = await w.counters()
        await w.advance(TTL * 0.6)  # 2.4 TTL since sign-in: past the cap
        with pytest.raises(NotAuthenticated, match="reached its lifetime"):
            await w.call()
        after = await w.counters()
        assert w.client.manager.view().state is State.SIGNED_OUT
        assert [x for x in decisions if isinstance(x, d.SignOut)] == [
            d.SignOut(d.SignOutReason.LIFETIME_REACHED)
        ]
        # One re-auth was tried and refused; nothing else renewed it.
        keys = ("reauths", "reauth_failures", "refreshes", "logins")
        assert {k: after.get(k, 0) - before.get(k, 0) for k in keys} == {
            "reauths": 1,
            "reauth_failures": 1,
            "refreshes": 0,
            "logins": 0,
        }
        live = [s for s in (await w.state())["sessions"] if s["user"] == "ada" and s["expires_in_s"] > 0]
        assert live == []
        failed = [x for x in w.client.manager.timeline if x.name == "reauth_failed"]
        assert failed[-1].detail == {"rejected": True, "transport": False, "lifetime_reached": True}
        # The cap is learned from the refusal: at most the time from the sign-in to it.
        learned = w.client.manager.lifetime_s
        assert learned is not None and LIFETIME <= learned <= LIFETIME + TTL
        assert [x.detail for x in w.client.manager.timeline if x.name == "lifetime_learned"] == [
            {"lifetime_s": round(learned, 3)}
        ]
        # The password renews it: a new sign-in starts a new lifetime, whose end the client now
        # knows (the countdown shows it in the last minutes; the deadline never passes it).
        await w.client.login("ada", "lovelace")
        await w.call()
        view = w.client.manager.view()
        assert view.state is State.ACTIVE
        assert view.lifetime_left_s == pytest.approx(learned, abs=1.0)
