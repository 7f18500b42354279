"""GraphQL at POST /graphql: auth rejections in both styles, introspection, the operations."""

from __future__ import annotations

import httpx

from tests.api.backend.helpers import (
    FLIGHT,
    TTL_S,
    advance,
    assert_unauthenticated,
    bearer,
    gql,
    guest_token,
    login,
    qa_state,
)

ME = "{ me { username name email loyalty { tier points memberSince } } }"
HOLD = """
mutation Hold($flight: ID!, $seat: String!, $draft: ID!) {
  holdSeat(flightId: $flight, seat: $seat, draftId: $draft) { flightId seat draftId expiresInS }
}"""
RELEASE = """
mutation Release($flight: ID!, $seat: String!, $draft: ID!) {
  releaseSeat(flightId: $flight, seat: $seat, draftId: $draft)
}"""
SEATS = """
query Seats($flight: ID!) {
  seatMap(flightId: $flight) { flightId aircraft columns rows { number cabin seats { code column status } } }
}"""


async def _draft(client: httpx.AsyncClient, token: str) -> str:
    r = await client.post("/api/drafts", json={"step": "seats", "data": {}}, headers=bearer(token))
    assert r.status_code == 201
    draft_id: str = r.json()["id"]
    return draft_id


def _seat_status(body: dict[str, object], code: str) -> str:
    rows = body["data"]["seatMap"]["rows"]  # type: ignore[index]
    for row in rows:
        for seat in row["seats"]:
            if seat["code"] == code:
                status: str = seat["status"]
                return status
    raise AssertionError(code)


async def _free_seat(client: httpx.AsyncClient, token: str) -> str:
    body = (await gql(client, token, SEATS, {"flight": FLIGHT})).json()
    for row in body["data"]["seatMap"]["rows"]:
        for seat in row["seats"]:
            if seat["status"] == "AVAILABLE":
                code: str = seat["code"]
                return code
    raise AssertionError("no free seat")


# -- auth -----------------------------------------------------------------------------------


async def test_expired_token_gets_200_with_unauthenticated(client: httpx.AsyncClient) -> None:
    token = await guest_token(client)
    await advance(client, TTL_S + 1)
    r = await gql(client, token, ME)
    assert_unauthenticated(r)
    assert "www-authenticate" not in r.headers


async def test_unknown_token_gets_unauthenticated_invalid_token(
    client: httpx.AsyncClient,
) -> None:
    assert_unauthenticated(await gql(client, "forged", ME), "invalid_token")


async def test_missing_token_gets_unauthenticated(client: httpx.AsyncClient) -> None:
    assert_unauthenticated(await gql(client, None, ME), "invalid_token")


async def test_http_style_fault_answers_401_with_the_same_graphql_body(
    client: httpx.AsyncClient,
) -> None:
    token = await guest_token(client)
    await advance(client, TTL_S + 1)
    extensions_style = (await gql(client, token, ME)).json()
    await client.post("/__qa/faults", json={"graphql_auth_error": "http"})
    r = await gql(client, token, ME)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert r.json() == extensions_style


async def test_a_valid_token_slides_the_session(client: httpx.AsyncClient) -> None:
    token = await guest_token(client)
    await advance(client, 50)
    assert (await gql(client, token, ME)).status_code == 200
    await advance(client, 50)
    assert (await gql(client, token, ME)).json() == {"data": {"me": None}}
    assert (await qa_state(client))["sessions"][0]["expires_in_s"] == TTL_S


async def test_a_rejected_mutation_changes_nothing_and_extends_nothing(
    client: httpx.AsyncClient,
) -> None:
    token = await guest_token(client)
    draft = await _draft(client, token)
    seat = await _free_seat(client, token)
    old = token
    token = (await client.post("/api/session/refresh", headers=bearer(old))).json()["token"]
    await advance(client, 31)  # past grace: `old` is rotated out
    r = await gql(client, old, HOLD, {"flight": FLIGHT, "seat": seat, "draft": draft})
    assert_unauthenticated(r)
    state = await qa_state(client)
    assert state["sessions"][0]["expires_in_s"] == TTL_S - 31
    assert state["counters"]["seat_holds"] == 0
    body = (await gql(client, token, SEATS, {"flight": FLIGHT})).json()
    assert _seat_status(body, seat) == "AVAILABLE"


async def test_an_operation_error_is_not_an_auth_rejection_and_still_extends(
    client: httpx.AsyncClient,
) -> None:
    token = await guest_token(client)
    await advance(client, 30)
    r = await gql(client, token, '{ fares(flightId: "nope") { code } }')
    assert r.status_code == 200
    assert r.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await qa_state(client))["sessions"][0]["expires_in_s"] == TTL_S


# -- introspection --------------------------------------------------------------------------


async def test_introspection_needs_no_token(client: httpx.AsyncClient) -> None:
    r = await gql(client, None, "{ __schema { queryType { name } mutationType { name } } }")
    assert r.json() == {
        "data": {"__schema": {"queryType": {"name": "Query"}, "mutationType": {"name": "Mutation"}}}
    }


async def test_full_introspection_query_works_without_a_token(client: httpx.AsyncClient) -> None:
    from graphql import get_introspection_query

    r = await gql(client, None, get_introspection_query(descriptions=True))
    names = {t["name"] for t in r.json()["data"]["__schema"]["types"]}
    assert {"Query", "Mutation", "Fare", "SeatMap", "SeatHold", "Profile", "Loyalty"} <= names


async def test_introspection_with_a_bad_token_is_still_rejected(client: httpx.AsyncClient) -> None:
    assert_unauthenticated(await gql(client, "forged", "{ __schema { types { name } } }"), "invalid_token")


async def test_introspection_mixed_with_data_needs_a_token(client: httpx.AsyncClient) -> None:
    r = await gql(client, None, "{ __typename me { name } }")
    assert_unauthenticated(r, "invalid_token")
    fragment = "query { ...F } fragment F on Query { me { name } }"
    assert_unauthenticated(await gql(client, None, fragment), "invalid_token")


async def test_a_mutation_is_never_anonymous(client: httpx.AsyncClient) -> None:
    assert_unauthenticated(await gql(client, None, "mutation { __typename }"), "invalid_token")


# -- operations -----------------------------------------------------------------------------


async def test_fares_lists_four_fares_with_prices(client: httpx.AsyncClient) -> None:
    token = await guest_token(client)
    q = (
        "query F($f: ID!) { fares(flightId: $f) { code name cabin price { amountCents currency }"
        " refundable checkedBags } }"
    )
    fares = (await gql(client, token, q, {"f": FLIGHT})).json()["data"]["fares"]
    assert [f["code"] for f in fares] == ["ECONOMY_LIGHT", "ECONOMY_CLASSIC", "ECONOMY_FLEX", "BUSINESS"]
    prices = [f["price"]["amountCents"] for f in fares]
    assert prices == sorted(prices) and all(p > 0 for p in prices)
    assert {f["price"]["currency"] for f in fares} == {"EUR"}


async def test_seat_map_is_deterministic_and_complete(client: httpx.AsyncClient) -> None:
    token = await guest_token(client)
    first = (await gql(client, token, SEATS, {"flight": FLIGHT})).json()["data"]["seatMap"]
    second = (await gql(client, token, SEATS, {"flight": FLIGHT})).json()["data"]["seatMap"]
    assert first == second
    assert first["columns"] == ["A", "B", "C", "D", "E", "F"]
    assert len(first["rows"]) == 30 and first["rows"][0]["cabin"] == "BUSINESS"
    statuses = {s["status"] for row in first["rows"] for s in row["seats"]}
    assert statuses == {"AVAILABLE", "OCCUPIED"}


async def test_hold_seat_shows_held_by_you_to_the_holder_and_held_to_others(
    client: httpx.AsyncClient,
) -> None:
    me = await guest_token(client)
    other = await guest_token(client)
    draft = await _draft(client, me)
    seat = await _free_seat(client, me)
    r = await gql(client, me, HOLD, {"flight": FLIGHT, "seat": seat, "draft": draft})
    assert r.json()["data"]["holdSeat"] == {
        "flightId": FLIGHT,
        "seat": seat,
        "draftId": draft,
        "expiresInS": 900.0,
    }
    assert _seat_status((await gql(client, me, SEATS, {"flight": FLIGHT})).json(), seat) == ("HELD_BY_YOU")
    assert _seat_status((await gql(client, other, SEATS, {"flight": FLIGHT})).json(), seat) == ("HELD")
    other_draft = await _draft(client, other)
    r = await gql(client, other, HOLD, {"flight": FLIGHT, "seat": seat, "draft": other_draft})
    assert r.json()["errors"][0]["extensions"]["code"] == "SEAT_UNAVAILABLE"
    assert (await qa_state(client))["counters"]["seat_holds"] == 1


async def test_a_hold_lapses_after_15_minutes_of_server_time(client: httpx.AsyncClient) -> None:
    token = await guest_token(client)
    draft = await _draft(client, token)
    seat = await _free_seat(client, token)
    await gql(client, token, HOLD, {"flight": FLIGHT, "seat": seat, "draft": draft})
    for _ in range(18):  # keep the session alive while the hold runs out
        await advance(client, 50)
        await client.get("/api/session", headers=bearer(token))
    body = (await gql(client, token, SEATS, {"flight": FLIGHT})).json()
    assert _seat_status(body, seat) == "AVAILABLE"


async def test_release_seat_frees_it(client: httpx.AsyncClient) -> None:
    token = await guest_token(client)
    draft = await _draft(client, token)
    seat = await _free_seat(client, token)
    await gql(client, token, HOLD, {"flight": FLIGHT, "seat": seat, "draft": draft})
    r = await gql(client, token, RELEASE, {"flight": FLIGHT, "seat": seat, "draft": draft})
    assert r.json() == {"data": {"releaseSeat": True}}
    r = await gql(client, token, RELEASE, {"flight": FLIGHT, "seat": seat, "draft": draft})
    assert r.json() == {"data": {"releaseSeat": False}}


async def test_hold_seat_errors_name_the_problem(client: httpx.AsyncClient) -> None:
    token = await guest_token(client)
    draft = await _draft(client, token)
    stranger = await _draft(client, await guest_token(client))
    cases = [
        ({"flight": "XXX-YYY-20250601-1", "seat": "1A", "draft": draft}, "NOT_FOUND"),
        ({"flight": FLIGHT, "seat": "99Z", "draft": draft}, "BAD_USER_INPUT"),
        ({"flight": FLIGHT, "seat": "1A", "draft": "d999"}, "NOT_FOUND"),
        ({"flight": FLIGHT, "seat": "1A", "draft": stranger}, "NOT_FOUND"),
    ]
    for variables, code in cases:
        r = await gql(client, token, HOLD, variables)
        assert r.status_code == 200
        assert r.json()["data"] is None
        assert r.json()["errors"][0]["extensions"]["code"] == code, variables


async def test_me_returns_the_profile_with_loyalty_for_a_user(client: httpx.AsyncClient) -> None:
    token = (await login(client))["token"]
    assert (await gql(client, token, ME)).json() == {
        "data": {
            "me": {
                "username": "ada",
                "name": "Ada Lovelace",
                "email": "ada@example.com",
                "loyalty": {"tier": "GOLD", "points": 48250, "memberSince": "2015-12-10"},
            }
        }
    }


async def test_me_is_null_for_a_guest(client: httpx.AsyncClient) -> None:
    assert (await gql(client, await guest_token(client), ME)).json() == {"data": {"me": None}}
