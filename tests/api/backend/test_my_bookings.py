"""GET /api/bookings ("My bookings") and the loyalty points a booking earns."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sessionkeeper.api.backend.app import create_app
from sessionkeeper.api.backend.loyalty import points_for
from sessionkeeper.api.backend.users import DEMO_USERS
from tests.api.backend.helpers import (
    FLIGHT,
    GOOD_CARD,
    TODAY,
    TTL_S,
    FakeClock,
    advance,
    assert_rest_rejected,
    bearer,
    gql,
    guest_token,
    login,
    qa_state,
)

POINTS = "{ me { loyalty { tier points memberSince } } }"
SEED_POINTS = {"ada": 48_250, "grace": 131_900, "alan": 1_200}
PASSWORDS = {"ada": "lovelace", "grace": "hopper", "alan": "turing"}


def booking_body(passengers: int = 1, fare_code: str = "ECONOMY_CLASSIC") -> dict[str, Any]:
    return {
        "flight_id": FLIGHT,
        "fare_code": fare_code,
        "passengers": [{"name": f"Passenger {i}", "email": f"p{i}@example.com"} for i in range(passengers)],
        "payment": {"card_number": GOOD_CARD, "expiry": "12/27", "cvc": "123"},
    }


async def book(client: httpx.AsyncClient, token: str, **changes: Any) -> dict[str, Any]:
    r = await client.post("/api/bookings", json=booking_body(**changes), headers=bearer(token))
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def my_bookings(client: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    r = await client.get("/api/bookings", headers=bearer(token))
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"bookings"}
    bookings: list[dict[str, Any]] = r.json()["bookings"]
    return bookings


def locators(bookings: list[dict[str, Any]]) -> list[str]:
    return [b["record_locator"] for b in bookings]


async def points(client: httpx.AsyncClient, token: str) -> int:
    r = await gql(client, token, POINTS)
    assert "errors" not in r.json(), r.text
    value: int = r.json()["data"]["me"]["loyalty"]["points"]
    return value


async def user_token(client: httpx.AsyncClient, username: str, **kw: Any) -> str:
    token: str = (await login(client, username, PASSWORDS[username], **kw))["token"]
    return token


# -- the listing ----------------------------------------------------------------------------


async def test_my_bookings_shows_each_owner_only_their_own(client: httpx.AsyncClient) -> None:
    ada, grace = await user_token(client, "ada"), await user_token(client, "grace")
    guest, other_guest = await guest_token(client), await guest_token(client)
    mine = {
        ada: (await book(client, ada))["record_locator"],
        grace: (await book(client, grace))["record_locator"],
        guest: (await book(client, guest))["record_locator"],
    }
    for token, locator in mine.items():
        assert locators(await my_bookings(client, token)) == [locator]
    assert await my_bookings(client, other_guest) == []
    assert await my_bookings(client, await user_token(client, "alan")) == []


async def test_a_users_bookings_follow_the_user_across_sessions(client: httpx.AsyncClient) -> None:
    first = await user_token(client, "ada")
    made = await book(client, first)
    await client.delete("/api/session", headers=bearer(first))
    second = await user_token(client, "ada")
    assert await my_bookings(client, second) == [made]


async def test_a_guests_bookings_stay_with_that_guest_session(client: httpx.AsyncClient) -> None:
    guest = await guest_token(client)
    made = await book(client, guest)
    assert await my_bookings(client, guest) == [made]
    assert await my_bookings(client, await guest_token(client)) == []


async def test_my_bookings_lists_the_same_bookings_the_other_routes_answer(
    client: httpx.AsyncClient,
) -> None:
    token = await user_token(client, "ada")
    made = await book(client, token)
    [listed] = await my_bookings(client, token)
    fetched = (await client.get(f"/api/bookings/{made['record_locator']}", headers=bearer(token))).json()
    assert listed == made == fetched


async def test_my_bookings_are_newest_first(client: httpx.AsyncClient) -> None:
    token = await user_token(client, "ada")
    made = []
    for fare in ("ECONOMY_LIGHT", "BUSINESS", "ECONOMY_FLEX"):
        made.append((await book(client, token, fare_code=fare))["record_locator"])
        await advance(client, 1)
    made.append((await book(client, token))["record_locator"])
    made.append((await book(client, token))["record_locator"])  # same server time: still in order
    assert locators(await my_bookings(client, token)) == made[::-1]


async def test_a_guests_bookings_move_to_the_user_at_sign_in_earning_nothing_afterwards(
    client: httpx.AsyncClient,
) -> None:
    guest = await guest_token(client)
    as_guest = await book(client, guest)
    user = await user_token(client, "ada", headers=bearer(guest))
    as_user = await book(client, user)
    listed = await my_bookings(client, user)
    assert locators(listed) == [as_user["record_locator"], as_guest["record_locator"]]
    assert listed[1]["points_earned"] == 0  # earned when it was made, by a guest
    assert [b["made_as_guest"] for b in listed] == [False, True]  # and said so
    assert await points(client, user) == SEED_POINTS["ada"] + as_user["points_earned"]
    assert_rest_rejected(await client.get("/api/bookings", headers=bearer(guest)))
    # and it now belongs to ada everywhere, not only to the session that signed in
    assert locators(await my_bookings(client, await user_token(client, "ada"))) == locators(listed)


# -- auth and the session -------------------------------------------------------------------


async def test_my_bookings_needs_a_token(client: httpx.AsyncClient) -> None:
    assert_rest_rejected(await client.get("/api/bookings"), "invalid_token")
    assert_rest_rejected(await client.get("/api/bookings", headers=bearer("forged")), "invalid_token")
    token = await guest_token(client)
    await advance(client, TTL_S + 1)
    assert_rest_rejected(await client.get("/api/bookings", headers=bearer(token)), "session_expired")
    assert (await qa_state(client))["counters"]["rejected"] == 3


async def test_listing_bookings_extends_the_session_and_is_counted_like_any_api_call(
    client: httpx.AsyncClient,
) -> None:
    token = await user_token(client, "ada")
    before = (await qa_state(client))["counters"]["api_calls"]
    await advance(client, TTL_S - 10)
    assert await my_bookings(client, token) == []
    state = await qa_state(client)
    assert state["sessions"][0]["expires_in_s"] == TTL_S
    assert state["counters"]["api_calls"] == before + 1
    await advance(client, TTL_S - 10)  # alive only because the listing slid it
    assert await my_bookings(client, token) == []


async def test_a_rejected_listing_extends_nothing(client: httpx.AsyncClient) -> None:
    token = await guest_token(client)
    await advance(client, 10)
    assert_rest_rejected(await client.get("/api/bookings", headers=bearer("forged")), "invalid_token")
    assert (await qa_state(client))["sessions"][0]["expires_in_s"] == TTL_S - 10
    assert await my_bookings(client, token) == []


# -- loyalty points -------------------------------------------------------------------------


@pytest.mark.parametrize(("username", "multiplier"), [("alan", 1), ("ada", 2), ("grace", 3)])
async def test_a_users_booking_earns_whole_euros_times_the_tier_multiplier(
    client: httpx.AsyncClient, username: str, multiplier: int
) -> None:
    token = await user_token(client, username)
    made = await book(client, token, passengers=2)
    expected = made["total"]["amount_cents"] // 100 * multiplier
    assert expected > 0 and made["points_earned"] == expected
    assert (await my_bookings(client, token))[0]["points_earned"] == expected
    assert await points(client, token) == SEED_POINTS[username] + expected


async def test_points_add_up_over_bookings_and_show_in_graphql_me(client: httpx.AsyncClient) -> None:
    token = await user_token(client, "ada")
    assert await points(client, token) == SEED_POINTS["ada"]
    earned = [
        (await book(client, token, fare_code=fare))["points_earned"] for fare in ("ECONOMY_LIGHT", "BUSINESS")
    ]
    me = (await gql(client, token, POINTS)).json()["data"]["me"]["loyalty"]
    assert me == {"tier": "GOLD", "points": SEED_POINTS["ada"] + sum(earned), "memberSince": "2015-12-10"}
    # another session of the same user sees the same balance
    assert await points(client, await user_token(client, "ada")) == me["points"]


async def test_a_guest_earns_no_points_and_nobody_elses_balance_moves(client: httpx.AsyncClient) -> None:
    guest = await guest_token(client)
    made = await book(client, guest, passengers=3)
    assert made["points_earned"] == 0
    assert (await my_bookings(client, guest))[0]["points_earned"] == 0
    for username, seed in SEED_POINTS.items():
        assert await points(client, await user_token(client, username)) == seed


async def test_a_refused_booking_earns_nothing(client: httpx.AsyncClient) -> None:
    token = await user_token(client, "ada")
    r = await client.post(
        "/api/bookings", json={**booking_body(), "fare_code": "FIRST"}, headers=bearer(token)
    )
    assert r.status_code == 422
    assert await points(client, token) == SEED_POINTS["ada"]
    assert await my_bookings(client, token) == []


def test_points_round_down_to_whole_units_and_whole_points() -> None:
    assert points_for("BLUE", 99) == 0
    assert points_for("BLUE", 12_345) == 123
    assert points_for("SILVER", 9_999) == 148  # 99 x 1.5 = 148.5
    assert points_for("GOLD", 10_050) == 200
    assert points_for("PLATINUM", 10_000) == 300


async def test_reset_puts_points_back_to_the_seed_and_forgets_bookings(client: httpx.AsyncClient) -> None:
    token = await user_token(client, "ada")
    await book(client, token)
    assert await points(client, token) > SEED_POINTS["ada"]
    assert (await client.post("/__qa/reset")).status_code == 200
    token = await user_token(client, "ada")
    assert await points(client, token) == SEED_POINTS["ada"]
    assert await my_bookings(client, token) == []


async def test_points_belong_to_one_backend_and_the_seed_never_changes(client: httpx.AsyncClient) -> None:
    token = await user_token(client, "ada")
    await book(client, token)
    other = create_app(ttl_s=TTL_S, clock=FakeClock(), today=lambda: TODAY)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=other), base_url="http://other.test"
    ) as c2:
        assert await points(c2, await user_token(c2, "ada")) == SEED_POINTS["ada"]
    assert {name: user.loyalty.points for name, user in DEMO_USERS.items()} == SEED_POINTS


# -- the OpenAPI document -------------------------------------------------------------------


async def test_openapi_lists_my_bookings_with_its_response_shape(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    operation = doc["paths"]["/api/bookings"]["get"]
    assert {"200", "401", "503"} <= set(operation["responses"])
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/BookingsOut"
    schemas = doc["components"]["schemas"]
    assert schemas["BookingsOut"]["properties"]["bookings"]["items"]["$ref"].endswith("/BookingOut")
    assert "points_earned" in schemas["BookingOut"]["required"]
    assert schemas["BookingOut"]["properties"]["points_earned"]["type"] == "integer"
    assert operation["security"] == [{"HTTPBearer": []}]
