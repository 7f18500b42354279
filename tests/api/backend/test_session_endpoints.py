"""docs/backend.md section 2, row by row, plus sliding expiry and rotation-with-grace.

Time moves through POST /__qa/clock (the server's own clock), never by sleeping.
"""

from __future__ import annotations

import httpx

from tests.api.backend.helpers import (
    GRACE_S,
    TTL_S,
    advance,
    assert_rest_rejected,
    bearer,
    guest_token,
    login,
    qa_state,
)

# -- POST /api/session/guest ----------------------------------------------------------------


async def test_guest_answers_201_with_a_token_and_kind_guest(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/session/guest")
    assert r.status_code == 201
    body = r.json()
    assert body["kind"] == "guest"
    assert isinstance(body["token"], str) and len(body["token"]) >= 32


async def test_each_guest_call_makes_a_distinct_session(client: httpx.AsyncClient) -> None:
    assert await guest_token(client) != await guest_token(client)
    state = await qa_state(client)
    assert [s["id"] for s in state["sessions"]] == ["s1", "s2"]


# -- POST /api/session/login ----------------------------------------------------------------


async def test_login_answers_token_kind_user_reauth_key_and_user(
    client: httpx.AsyncClient,
) -> None:
    body = await login(client, "grace", "hopper")
    assert body["kind"] == "user"
    assert body["token"] and body["reauth_key"] and body["token"] != body["reauth_key"]
    assert body["user"] == {
        "username": "grace",
        "name": "Grace Hopper",
        "email": "grace@example.com",
    }


async def test_login_with_a_wrong_password_is_401_invalid_credentials(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/api/session/login", json={"username": "ada", "password": "nope"})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_credentials"


async def test_login_with_an_unknown_user_is_401_invalid_credentials(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/api/session/login", json={"username": "bob", "password": "x"})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_credentials"


async def test_login_with_a_malformed_body_is_422(client: httpx.AsyncClient) -> None:
    for body in ({"username": "ada"}, {"username": "ada", "password": 1}, ["ada"]):
        r = await client.post("/api/session/login", json=body)
        assert r.status_code == 422, body
        assert r.json()["error"] == "invalid_body"


async def test_login_with_a_live_guest_token_ends_the_guest_and_moves_its_drafts(
    client: httpx.AsyncClient,
) -> None:
    guest = await guest_token(client)
    r = await client.post("/api/drafts", json={"step": "seats", "data": {"a": 1}}, headers=bearer(guest))
    draft_id = r.json()["id"]
    user = await login(client, headers=bearer(guest))
    assert user["token"] != guest  # renew on privilege change
    assert_rest_rejected(await client.get("/api/airports", headers=bearer(guest)))
    r = await client.get(f"/api/drafts/{draft_id}", headers=bearer(user["token"]))
    assert r.status_code == 200
    assert r.json()["owner"] == "user" and r.json()["user"] == "ada"
    ended = {s["id"]: s for s in (await qa_state(client))["sessions"]}["s1"]
    assert ended["revoked"] is True and ended["ended"] == "upgraded_to_user"


async def test_failed_login_leaves_the_guest_session_alone(client: httpx.AsyncClient) -> None:
    guest = await guest_token(client)
    r = await client.post(
        "/api/session/login", json={"username": "ada", "password": "no"}, headers=bearer(guest)
    )
    assert r.status_code == 401
    assert (await client.get("/api/airports", headers=bearer(guest))).status_code == 200


# -- POST /api/session/refresh --------------------------------------------------------------


async def test_refresh_answers_a_new_token_on_the_same_session(client: httpx.AsyncClient) -> None:
    old = await guest_token(client)
    r = await client.post("/api/session/refresh", headers=bearer(old))
    assert r.status_code == 200
    new = r.json()["token"]
    assert new != old
    assert set(r.json()) == {"token"}
    who = await client.get("/api/session", headers=bearer(new))
    assert who.json()["session_id"] == "s1"
    assert len((await qa_state(client))["sessions"]) == 1


async def test_old_token_works_during_grace_and_extends_the_session(
    client: httpx.AsyncClient,
) -> None:
    old = await guest_token(client)
    await client.post("/api/session/refresh", headers=bearer(old))
    await advance(client, GRACE_S - 1)
    assert (await client.get("/api/airports", headers=bearer(old))).status_code == 200
    state = await qa_state(client)
    assert state["sessions"][0]["expires_in_s"] == TTL_S  # extended by the old token


async def test_old_token_after_grace_is_401_session_expired(client: httpx.AsyncClient) -> None:
    old = await guest_token(client)
    new = (await client.post("/api/session/refresh", headers=bearer(old))).json()["token"]
    await advance(client, GRACE_S)
    assert_rest_rejected(await client.get("/api/airports", headers=bearer(old)))
    assert (await client.get("/api/airports", headers=bearer(new))).status_code == 200


async def test_refresh_moves_the_deadline_to_now_plus_ttl(client: httpx.AsyncClient) -> None:
    token = await guest_token(client)
    await advance(client, 40)
    await client.post("/api/session/refresh", headers=bearer(token))
    assert (await qa_state(client))["sessions"][0]["expires_in_s"] == TTL_S


async def test_refresh_of_an_expired_session_is_401_session_expired(
    client: httpx.AsyncClient,
) -> None:
    token = await guest_token(client)
    await advance(client, TTL_S)
    assert_rest_rejected(await client.post("/api/session/refresh", headers=bearer(token)))


async def test_refresh_with_a_token_never_issued_is_401_invalid_token(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/api/session/refresh", headers=bearer("made-up"))
    assert_rest_rejected(r, "invalid_token")


async def test_refresh_with_a_rotated_out_token_is_401_session_expired(
    client: httpx.AsyncClient,
) -> None:
    old = await guest_token(client)
    await client.post("/api/session/refresh", headers=bearer(old))
    await advance(client, GRACE_S + 1)
    assert_rest_rejected(await client.post("/api/session/refresh", headers=bearer(old)))


# -- POST /api/session/reauth ---------------------------------------------------------------


async def test_reauth_gives_a_new_session_and_a_rotated_key(client: httpx.AsyncClient) -> None:
    first = await login(client)
    r = await client.post("/api/session/reauth", json={"reauth_key": first["reauth_key"]})
    assert r.status_code == 200
    body = r.json()
    assert body["kind"] == "user" and body["user"]["username"] == "ada"
    assert body["token"] != first["token"]
    assert body["reauth_key"] != first["reauth_key"]
    who = await client.get("/api/session", headers=bearer(body["token"]))
    assert who.json()["session_id"] == "s2"


async def test_a_used_reauth_key_is_dead(client: httpx.AsyncClient) -> None:
    key = (await login(client))["reauth_key"]
    assert (await client.post("/api/session/reauth", json={"reauth_key": key})).status_code == 200
    r = await client.post("/api/session/reauth", json={"reauth_key": key})
    assert r.status_code == 401
    assert r.json()["error"] == "reauth_rejected"


async def test_reauth_key_outlives_the_session_ttl(client: httpx.AsyncClient) -> None:
    key = (await login(client))["reauth_key"]
    await advance(client, TTL_S * 100)
    r = await client.post("/api/session/reauth", json={"reauth_key": key})
    assert r.status_code == 200


async def test_reauth_with_an_unknown_key_is_401_reauth_rejected(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/api/session/reauth", json={"reauth_key": "guess"})
    assert r.status_code == 401
    assert r.json()["error"] == "reauth_rejected"


async def test_a_token_is_not_a_reauth_key(client: httpx.AsyncClient) -> None:
    token = (await login(client))["token"]
    r = await client.post("/api/session/reauth", json={"reauth_key": token})
    assert r.status_code == 401


# -- DELETE /api/session --------------------------------------------------------------------


async def test_sign_out_is_204_and_revokes_token_and_reauth_key(
    client: httpx.AsyncClient,
) -> None:
    user = await login(client)
    r = await client.delete("/api/session", headers=bearer(user["token"]))
    assert r.status_code == 204
    assert r.content == b""
    assert_rest_rejected(await client.get("/api/airports", headers=bearer(user["token"])))
    r = await client.post("/api/session/reauth", json={"reauth_key": user["reauth_key"]})
    assert r.status_code == 401


async def test_sign_out_revokes_tokens_still_in_grace(client: httpx.AsyncClient) -> None:
    old = await guest_token(client)
    new = (await client.post("/api/session/refresh", headers=bearer(old))).json()["token"]
    assert (await client.delete("/api/session", headers=bearer(new))).status_code == 204
    assert_rest_rejected(await client.get("/api/airports", headers=bearer(old)))


async def test_sign_out_without_a_valid_token_is_401(client: httpx.AsyncClient) -> None:
    assert_rest_rejected(await client.delete("/api/session"), "invalid_token")
    assert_rest_rejected(await client.delete("/api/session", headers=bearer("x")), "invalid_token")


# -- every other /api request needs a Bearer token; a valid one slides the session ----------


async def test_missing_or_non_bearer_authorization_is_401_invalid_token(
    client: httpx.AsyncClient,
) -> None:
    assert_rest_rejected(await client.get("/api/airports"), "invalid_token")
    r = await client.get("/api/airports", headers={"Authorization": "Basic YWRhOmxvdmVsYWNl"})
    assert_rest_rejected(r, "invalid_token")
    assert_rest_rejected(await client.get("/api/airports", headers=bearer("")), "invalid_token")


async def test_an_accepted_request_slides_the_deadline_to_now_plus_ttl(
    client: httpx.AsyncClient,
) -> None:
    token = await guest_token(client)
    for _ in range(5):  # 5 x 50 s: far past one TTL, alive because each call slides it
        await advance(client, 50)
        assert (await client.get("/api/airports", headers=bearer(token))).status_code == 200
        assert (await qa_state(client))["sessions"][0]["expires_in_s"] == TTL_S


async def test_a_session_expires_exactly_ttl_after_its_last_accepted_request(
    client: httpx.AsyncClient,
) -> None:
    token = await guest_token(client)
    await advance(client, TTL_S - 1)
    assert (await client.get("/api/airports", headers=bearer(token))).status_code == 200
    await advance(client, TTL_S)
    assert_rest_rejected(await client.get("/api/airports", headers=bearer(token)))
    state = await qa_state(client)
    assert state["sessions"][0]["expires_in_s"] <= 0  # still listed


async def test_an_expired_session_does_not_come_back(client: httpx.AsyncClient) -> None:
    token = await guest_token(client)
    await advance(client, TTL_S + 1)
    for _ in range(3):
        assert_rest_rejected(await client.get("/api/airports", headers=bearer(token)))
    assert (await qa_state(client))["sessions"][0]["expires_in_s"] == -1


async def test_a_rejected_request_extends_nothing(client: httpx.AsyncClient) -> None:
    token = await guest_token(client)
    await advance(client, 10)
    await client.get("/api/airports", headers=bearer("forged"))
    assert (await qa_state(client))["sessions"][0]["expires_in_s"] == TTL_S - 10
    assert token


async def test_a_4xx_that_is_not_an_auth_rejection_still_extends(
    client: httpx.AsyncClient,
) -> None:
    """The client treats such answers as 'the server accepted the token' (rule 2)."""
    token = await guest_token(client)
    cases = [
        client.get("/api/no-such-route", headers=bearer(token)),
        client.put("/api/airports", headers=bearer(token)),
        client.post("/api/drafts", content=b"{", headers=bearer(token)),
        client.get("/api/drafts/d999", headers=bearer(token)),
        client.post("/api/drafts", content=b"x" * 70_000, headers=bearer(token)),
    ]
    for request in cases:
        await advance(client, 10)
        r = await request
        assert 400 <= r.status_code < 500 and r.status_code != 401, r.text
        assert (await qa_state(client))["sessions"][0]["expires_in_s"] == TTL_S


async def test_unknown_api_route_without_a_token_is_401_not_404(
    client: httpx.AsyncClient,
) -> None:
    assert_rest_rejected(await client.get("/api/nothing-here"), "invalid_token")


async def test_who_am_i_reports_kind_and_user(client: httpx.AsyncClient) -> None:
    token = (await login(client))["token"]
    r = await client.get("/api/session", headers=bearer(token))
    assert r.json() == {
        "session_id": "s1",
        "kind": "user",
        "user": {"username": "ada", "name": "Ada Lovelace", "email": "ada@example.com"},
    }


async def test_public_endpoints_neither_check_nor_extend_a_token(
    client: httpx.AsyncClient,
) -> None:
    token = await guest_token(client)
    await advance(client, 10)
    r = await client.post("/api/session/guest", headers=bearer("forged"))
    assert r.status_code == 201
    r = await client.post("/api/session/reauth", json={"reauth_key": "x"}, headers=bearer(token))
    assert r.status_code == 401 and r.json()["error"] == "reauth_rejected"
    assert (await qa_state(client))["sessions"][0]["expires_in_s"] == TTL_S - 10
