"""docs/backend.md section 4 (/__qa/*), row by row, and the exact meaning of each counter."""

from __future__ import annotations

import time

import httpx
import pytest

from sessionkeeper.api.backend.sessions import DEFAULT_LIFETIME_S
from tests.api.backend.helpers import (
    GRACE_S,
    TTL_S,
    advance,
    assert_rest_rejected,
    assert_unauthenticated,
    bearer,
    gql,
    guest_token,
    login,
    qa_state,
)

ME = "{ me { name } }"


# -- GET /__qa/state ------------------------------------------------------------------------


async def test_state_has_the_contract_shape(client: httpx.AsyncClient) -> None:
    await guest_token(client)
    await login(client)
    state = await qa_state(client)
    assert isinstance(state["now"], float)
    assert state["ttl_s"] == TTL_S and state["grace_s"] == GRACE_S
    assert state["lifetime_s"] == DEFAULT_LIFETIME_S
    assert state["faults"] == {
        "refresh": "ok",
        "latency_ms": 0,
        "down": False,
        "graphql_auth_error": "extensions",
        "ttl_s": TTL_S,
        "lifetime_s": DEFAULT_LIFETIME_S,
        "scopes": {},
    }
    common = {"expires_in_s": TTL_S, "lifetime_left_s": DEFAULT_LIFETIME_S, "revoked": False, "ended": None}
    assert state["sessions"] == [
        {"id": "s1", "kind": "guest", "user": None, **common},
        {"id": "s2", "kind": "user", "user": "ada", **common},
    ]
    assert {
        "api_calls",
        "graphql_calls",
        "refreshes",
        "refresh_failures",
        "logins",
        "reauths",
        "guest_sessions",
        "rejected",
    } <= set(state["counters"])


async def test_qa_needs_no_token_and_a_bad_one_is_ignored(client: httpx.AsyncClient) -> None:
    assert (await client.get("/__qa/state", headers=bearer("forged"))).status_code == 200
    assert (await client.post("/__qa/clock", json={"advance_s": 1})).status_code == 200


# -- POST /__qa/clock -----------------------------------------------------------------------


async def test_clock_moves_forward_and_answers_now(client: httpx.AsyncClient) -> None:
    before = (await qa_state(client))["now"]
    r = await client.post("/__qa/clock", json={"advance_s": 61.5})
    assert r.status_code == 200
    assert r.json() == {"now": before + 61.5}


@pytest.mark.parametrize("value", [-1, "10", None, True, "inf"])
async def test_clock_rejects_bad_values_with_422(client: httpx.AsyncClient, value: object) -> None:
    r = await client.post("/__qa/clock", json={"advance_s": value})
    assert r.status_code == 422
    assert "advance_s" in r.json()["detail"]


async def test_clock_rejects_nan_and_infinity(client: httpx.AsyncClient) -> None:
    for raw in (b'{"advance_s": NaN}', b'{"advance_s": Infinity}'):
        r = await client.post("/__qa/clock", content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 422, raw


# -- POST /__qa/faults ----------------------------------------------------------------------


async def test_faults_answers_all_current_faults(client: httpx.AsyncClient) -> None:
    r = await client.post("/__qa/faults", json={"refresh": "error", "latency_ms": 5})
    assert r.json() == {
        "refresh": "error",
        "latency_ms": 5,
        "down": False,
        "graphql_auth_error": "extensions",
        "ttl_s": TTL_S,
        "lifetime_s": DEFAULT_LIFETIME_S,
        "scopes": {},
    }
    assert (await client.get("/__qa/faults")).json() == r.json()


async def test_refresh_error_fault_answers_503_and_keeps_the_token(
    client: httpx.AsyncClient,
) -> None:
    token = await guest_token(client)
    await client.post("/__qa/faults", json={"refresh": "error"})
    r = await client.post("/api/session/refresh", headers=bearer(token))
    assert r.status_code == 503 and r.json()["error"] == "refresh_unavailable"
    assert (await client.get("/api/airports", headers=bearer(token))).status_code == 200


async def test_refresh_reject_fault_answers_401_session_expired(client: httpx.AsyncClient) -> None:
    token = await guest_token(client)
    await client.post("/__qa/faults", json={"refresh": "reject"})
    assert_rest_rejected(await client.post("/api/session/refresh", headers=bearer(token)))
    await client.post("/__qa/faults", json={"refresh": "ok"})
    assert (await client.post("/api/session/refresh", headers=bearer(token))).status_code == 200


async def test_latency_fault_delays_api_and_graphql_but_not_qa(client: httpx.AsyncClient) -> None:
    token = await guest_token(client)
    await client.post("/__qa/faults", json={"latency_ms": 150})
    for request in (
        client.get("/api/airports", headers=bearer(token)),
        gql(client, token, ME),
    ):
        started = time.monotonic()
        assert (await request).status_code == 200
        assert time.monotonic() - started >= 0.15
    started = time.monotonic()
    await client.get("/__qa/state")
    assert time.monotonic() - started < 0.15


async def test_down_fault_answers_503_to_api_and_graphql_but_not_qa(
    client: httpx.AsyncClient,
) -> None:
    token = await guest_token(client)
    await client.post("/__qa/faults", json={"down": True})
    for r in (
        await client.post("/api/session/guest"),
        await client.get("/api/airports", headers=bearer(token)),
        await gql(client, token, ME),
    ):
        assert r.status_code == 503 and r.json() == {
            "error": "backend_down",
            "detail": "the backend is down (QA fault)",
            "fields": None,
        }
    assert (await client.get("/__qa/state")).status_code == 200
    await client.post("/__qa/faults", json={"down": False})
    assert (await client.get("/api/airports", headers=bearer(token))).status_code == 200


async def test_down_fault_extends_no_session(client: httpx.AsyncClient) -> None:
    token = await guest_token(client)
    await client.post("/__qa/faults", json={"down": True})
    await advance(client, 30)
    await client.get("/api/airports", headers=bearer(token))
    assert (await qa_state(client))["sessions"][0]["expires_in_s"] == TTL_S - 30


async def test_ttl_fault_applies_from_the_next_extension_on(client: httpx.AsyncClient) -> None:
    token = await guest_token(client)
    r = await client.post("/__qa/faults", json={"ttl_s": 20})
    assert r.json()["ttl_s"] == 20
    # the deadline already granted is kept ...
    assert (await qa_state(client))["sessions"][0]["expires_in_s"] == TTL_S
    # ... and the next accepted request slides it by the new TTL
    await client.get("/api/airports", headers=bearer(token))
    state = await qa_state(client)
    assert state["ttl_s"] == 20 and state["sessions"][0]["expires_in_s"] == 20
    await advance(client, 20)
    assert_rest_rejected(await client.get("/api/airports", headers=bearer(token)))
    new = await guest_token(client)
    assert {s["id"]: s for s in (await qa_state(client))["sessions"]}["s2"]["expires_in_s"] == 20
    assert new


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"refresh": "sometimes"}, "refresh"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"latency_ms": 1.5}, "latency_ms"),
        ({"latency_ms": "10"}, "latency_ms"),
        ({"down": "yes"}, "down"),
        ({"down": 1}, "down"),
        ({"graphql_auth_error": "xml"}, "graphql_auth_error"),
        ({"ttl_s": 0}, "ttl_s"),
        ({"ttl_s": -5}, "ttl_s"),
        ({"explode": True}, "explode"),
    ],
)
async def test_faults_reject_unknown_names_and_bad_values_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    r = await client.post("/__qa/faults", json=body)
    assert r.status_code == 422
    assert [f["field"] for f in r.json()["fields"]] == [f"body.{field}"]
    assert (await client.get("/__qa/faults")).json()["refresh"] == "ok"  # nothing half-applied


# -- POST /__qa/revoke ----------------------------------------------------------------------


async def test_revoke_one_session_by_id(client: httpx.AsyncClient) -> None:
    first, second = await guest_token(client), await guest_token(client)
    r = await client.post("/__qa/revoke", json={"session_id": "s1"})
    assert r.json() == {"revoked": ["s1"]}
    assert_rest_rejected(await client.get("/api/airports", headers=bearer(first)))
    assert_unauthenticated(await gql(client, first, ME))
    assert (await client.get("/api/airports", headers=bearer(second))).status_code == 200
    s1 = (await qa_state(client))["sessions"][0]
    assert s1["revoked"] is True and s1["ended"] == "revoked_by_qa"


async def test_revoke_all(client: httpx.AsyncClient) -> None:
    tokens = [await guest_token(client) for _ in range(3)]
    assert (await client.post("/__qa/revoke", json={"all": True})).json() == {"revoked": ["s1", "s2", "s3"]}
    for token in tokens:
        assert_rest_rejected(await client.get("/api/airports", headers=bearer(token)))


async def test_revoke_keeps_reauth_keys_unless_asked(client: httpx.AsyncClient) -> None:
    """A revoked user recovers by re-auth (edge case 13); `reauth_keys: true` prevents it."""
    user = await login(client)
    await client.post("/__qa/revoke", json={"session_id": "s1"})
    r = await client.post("/api/session/reauth", json={"reauth_key": user["reauth_key"]})
    assert r.status_code == 200
    await client.post("/__qa/revoke", json={"all": True, "reauth_keys": True})
    r = await client.post("/api/session/reauth", json={"reauth_key": r.json()["reauth_key"]})
    assert r.status_code == 401 and r.json()["error"] == "reauth_rejected"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"session_id": "s99"}, 404),
        ({}, 422),
        ({"all": False}, 422),
        ({"all": True, "session_id": "s1"}, 422),
        ({"all": "yes"}, 422),
    ],
)
async def test_revoke_rejects_unknown_ids_and_ambiguous_bodies(
    client: httpx.AsyncClient, body: dict[str, object], status: int
) -> None:
    await guest_token(client)
    r = await client.post("/__qa/revoke", json=body)
    assert r.status_code == status
    assert r.json()["error"] in ("session_not_found", "invalid_body")


# -- POST /__qa/reset -----------------------------------------------------------------------


async def test_reset_clears_sessions_counters_faults_and_keys(client: httpx.AsyncClient) -> None:
    user = await login(client)
    await client.post("/__qa/faults", json={"down": True, "ttl_s": 5, "refresh": "error"})
    await advance(client, 100)
    now = (await qa_state(client))["now"]
    r = await client.post("/__qa/reset")
    assert r.status_code == 200 and r.json() == {"reset": True, "now": now}
    state = await qa_state(client)
    assert state["sessions"] == []
    assert set(state["counters"].values()) == {0}
    assert state["faults"]["down"] is False and state["faults"]["refresh"] == "ok"
    assert state["ttl_s"] == TTL_S and state["now"] == now  # the clock never runs back
    # the server forgot the token: it now counts as never issued
    assert_rest_rejected(await client.get("/api/airports", headers=bearer(user["token"])), "invalid_token")
    r = await client.post("/api/session/reauth", json={"reauth_key": user["reauth_key"]})
    assert r.status_code == 401
    assert (await guest_token(client)) and (await qa_state(client))["sessions"][0]["id"] == "s1"


# -- counters -------------------------------------------------------------------------------


async def test_counters_count_exactly_what_the_server_saw(client: httpx.AsyncClient) -> None:
    guest = await guest_token(client)  # api 1, guest 1
    user = await login(client)  # api 2, logins 1
    await client.post("/api/session/login", json={"username": "ada", "password": "x"})  # api 3
    await client.get("/api/airports", headers=bearer(guest))  # api 4
    await client.get("/api/airports")  # api 5, rejected 1
    await client.get("/api/nope", headers=bearer(guest))  # api 6 (404)
    new = (await client.post("/api/session/refresh", headers=bearer(guest))).json()["token"]
    await client.post("/api/session/refresh", headers=bearer("x"))  # api 8, rejected 2
    await client.post("/__qa/faults", json={"refresh": "error"})
    await client.post("/api/session/refresh", headers=bearer(new))  # api 9, 503
    await client.post("/__qa/faults", json={"refresh": "reject"})
    await client.post("/api/session/refresh", headers=bearer(new))  # api 10, rejected 3
    await client.post("/__qa/faults", json={"refresh": "ok", "down": True})
    await client.post("/api/session/refresh", headers=bearer(new))  # api 11, 503 down
    await gql(client, new, ME)  # graphql 1 (503 down)
    await client.post("/__qa/faults", json={"down": False})
    await gql(client, new, ME)  # graphql 2
    await gql(client, "x", ME)  # graphql 3, rejected 4
    await gql(client, None, "{ __typename }")  # graphql 4
    await client.get("/graphql")  # graphql 5 (rejected 5)
    key = user["reauth_key"]
    await client.post("/api/session/reauth", json={"reauth_key": key})  # api 12
    await client.post("/api/session/reauth", json={"reauth_key": key})  # api 13, used key
    await client.delete("/api/session", headers=bearer(new))  # api 14, signout
    await client.get("/__qa/state")  # not counted
    assert (await qa_state(client))["counters"] == {
        "api_calls": 14,
        "graphql_calls": 5,
        "refreshes": 5,
        "refresh_failures": 4,
        "logins": 2,
        "login_failures": 1,
        "reauths": 2,
        "reauth_failures": 1,
        "guest_sessions": 1,
        "rejected": 5,
        "signouts": 1,
        "faulted": 4,  # refresh 503, refresh 401, and down on a refresh and on a GraphQL call
        "bookings": 0,
        "seat_holds": 0,
    }


# -- flaky faults: a scope (a path, a probability) -------------------------------------------


async def test_a_fault_in_a_scope_hits_only_its_paths_and_about_its_share(client: httpx.AsyncClient) -> None:
    token = await guest_token(client)
    r = await client.post(
        "/__qa/faults", json={"down": True, "scopes": {"down": {"rate": 0.3, "path": "/graphql"}}, "seed": 5}
    )
    assert r.status_code == 200
    assert r.json()["scopes"] == {"down": {"rate": 0.3, "path": "/graphql"}}
    rest = [(await client.get("/api/airports", headers=bearer(token))).status_code for _ in range(40)]
    graphql = [(await gql(client, token, ME)).status_code for _ in range(40)]
    assert set(rest) == {200}  # outside the path: never down
    failed = graphql.count(503)
    assert set(graphql) == {200, 503} and 4 <= failed <= 22
    assert (await qa_state(client))["counters"]["faulted"] == failed
    # The same seed, the same draws: a run repeats.
    await client.post("/__qa/faults", json={"seed": 5})
    again = [(await gql(client, token, ME)).status_code for _ in range(40)]
    assert again == graphql


async def test_a_scope_everywhere_drops_it_and_other_faults_keep_theirs(client: httpx.AsyncClient) -> None:
    await client.post(
        "/__qa/faults",
        json={"scopes": {"down": {"rate": 0.5}, "latency": {"path": "/api/flights"}}},
    )
    r = await client.post("/__qa/faults", json={"scopes": {"down": {"rate": 1, "path": ""}}})
    assert r.json()["scopes"] == {"latency": {"rate": 1.0, "path": "/api/flights"}}
    await client.post("/__qa/reset")
    assert (await client.get("/__qa/faults")).json()["scopes"] == {}


@pytest.mark.parametrize(
    "scopes",
    [
        {"down": {"rate": 0}},
        {"down": {"rate": 1.5}},
        {"down": {"rate": "half"}},
        {"ttl": {"rate": 0.5}},
        {"down": {"rate": 0.5, "extra": 1}},
        {"down": {"path": "x" * 201}},
    ],
)
async def test_a_bad_scope_is_refused_with_422_and_changes_nothing(
    client: httpx.AsyncClient, scopes: object
) -> None:
    r = await client.post("/__qa/faults", json={"down": True, "scopes": scopes})
    assert r.status_code == 422
    assert (await client.get("/__qa/faults")).json()["down"] is False
