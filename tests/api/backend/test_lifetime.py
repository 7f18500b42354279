"""The absolute lifetime (rule 15): a session ends a fixed time after the sign-in it descends from,
however active; a refresh or a re-auth on the reauth key alone past it is refused with
`lifetime_reached`, over REST and GraphQL alike; only a password sign-in starts a new lifetime."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from sessionkeeper.api.backend.app import create_app
from tests.api.backend.helpers import (
    GRACE_S,
    TODAY,
    TTL_S,
    FakeClock,
    advance,
    assert_rest_rejected,
    assert_unauthenticated,
    bearer,
    gql,
    guest_token,
    login,
    qa_state,
)

LIFETIME_S = 150.0  # two and a half TTLs: a session kept alive by calls still meets it


@pytest.fixture
def app(clock: FakeClock) -> FastAPI:
    return create_app(ttl_s=TTL_S, grace_s=GRACE_S, lifetime_s=LIFETIME_S, clock=clock, today=lambda: TODAY)


async def keep_alive(client: httpx.AsyncClient, token: str, seconds: float) -> None:
    """Calls every 30 s (well inside the TTL) for `seconds`."""
    for _ in range(int(seconds // 30)):
        await advance(client, 30)
        assert (await client.get("/api/airports", headers=bearer(token))).status_code == 200


async def test_an_active_session_ends_at_its_lifetime_with_a_distinct_reason(
    client: httpx.AsyncClient,
) -> None:
    token = (await login(client))["token"]
    await keep_alive(client, token, 120)
    state = await qa_state(client)
    assert state["lifetime_s"] == LIFETIME_S
    assert state["sessions"][0]["lifetime_left_s"] == pytest.approx(30)
    # The sliding deadline never reaches past the lifetime's end.
    assert state["sessions"][0]["expires_in_s"] == pytest.approx(30)
    await advance(client, 30)
    assert_rest_rejected(await client.get("/api/airports", headers=bearer(token)), "lifetime_reached")
    assert_unauthenticated(await gql(client, token, "{ me { name } }"), "lifetime_reached")


async def test_a_refresh_past_the_lifetime_is_refused_as_lifetime_reached(client: httpx.AsyncClient) -> None:
    token = (await login(client))["token"]
    await keep_alive(client, token, 120)
    assert (await client.post("/api/session/refresh", headers=bearer(token))).status_code == 200
    await advance(client, 30)
    r = await client.post("/api/session/refresh", headers=bearer(token))
    assert_rest_rejected(r, "lifetime_reached")


async def test_a_reauth_keeps_the_sign_in_time_and_is_refused_past_the_lifetime(
    client: httpx.AsyncClient,
) -> None:
    first = await login(client)
    await advance(client, 100)
    again = await client.post("/api/session/reauth", json={"reauth_key": first["reauth_key"]})
    assert again.status_code == 200
    state = await qa_state(client)
    assert state["sessions"][-1]["lifetime_left_s"] == pytest.approx(50)  # counted from the sign-in
    await advance(client, 55)
    r = await client.post("/api/session/reauth", json={"reauth_key": again.json()["reauth_key"]})
    assert r.status_code == 401 and r.json()["error"] == "lifetime_reached"
    # The password starts a new lifetime.
    fresh = await login(client)
    assert (await client.get("/api/airports", headers=bearer(fresh["token"]))).status_code == 200
    assert (await qa_state(client))["sessions"][-1]["lifetime_left_s"] == pytest.approx(LIFETIME_S)


async def test_a_guest_session_has_a_lifetime_too(client: httpx.AsyncClient) -> None:
    token = await guest_token(client)
    await keep_alive(client, token, 120)
    await advance(client, 30)
    assert_rest_rejected(await client.get("/api/airports", headers=bearer(token)), "lifetime_reached")
    assert (await client.post("/api/session/guest")).status_code == 201  # a new one, as ever


async def test_qa_can_shorten_the_lifetime_and_reset_restores_it(client: httpx.AsyncClient) -> None:
    token = (await login(client))["token"]
    r = await client.post("/__qa/faults", json={"lifetime_s": 20})
    assert r.json()["lifetime_s"] == 20
    await advance(client, 21)
    assert_rest_rejected(await client.get("/api/airports", headers=bearer(token)), "lifetime_reached")
    await client.post("/__qa/reset")
    assert (await qa_state(client))["lifetime_s"] == LIFETIME_S
