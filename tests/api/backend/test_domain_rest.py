"""The airline over REST: airports, flight search, drafts and their owners, bookings."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sessionkeeper.api.backend.bookings import luhn_ok
from tests.api.backend.helpers import FLIGHT, GOOD_CARD, bearer, gql, guest_token, login

SEARCH = {"origin": "LHR", "destination": "CDG", "date": "2025-06-01"}


def booking(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "flight_id": FLIGHT,
        "fare_code": "ECONOMY_CLASSIC",
        "passengers": [{"name": "Ada Lovelace", "email": "ada@example.com"}],
        "payment": {"card_number": GOOD_CARD, "expiry": "12/27", "cvc": "123"},
    }
    body.update(changes)
    return body


async def test_airports_lists_ten_seeded_airports(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/airports", headers=bearer(await guest_token(client)))
    airports = r.json()["airports"]
    assert len(airports) == 10
    assert airports[0] == {"code": "LHR", "name": "London Heathrow", "city": "London", "country": "GB"}


async def test_flight_search_is_deterministic_for_a_route_and_date(
    client: httpx.AsyncClient,
) -> None:
    token = await guest_token(client)
    first = (await client.get("/api/flights", params=SEARCH, headers=bearer(token))).json()
    again = (await client.get("/api/flights", params=SEARCH, headers=bearer(token))).json()
    assert first == again
    flights = first["flights"]
    assert 1 <= len(flights) <= 4
    assert flights[0]["id"] == FLIGHT
    assert [f["departure"] for f in flights] == sorted(f["departure"] for f in flights)
    f = flights[0]
    assert f["origin"] == "LHR" and f["destination"] == "CDG" and f["aircraft"] == "A320"
    assert f["departure"].startswith("2025-06-01T") and f["duration_min"] > 0


async def test_flight_search_differs_between_dates(client: httpx.AsyncClient) -> None:
    token = await guest_token(client)
    days = [f"2025-06-{d:02d}" for d in range(1, 8)]
    results = [
        (await client.get("/api/flights", params={**SEARCH, "date": day}, headers=bearer(token))).json()[
            "flights"
        ]
        for day in days
    ]
    assert len({len(r) for r in results} | {r[0]["number"] for r in results}) > 2


async def test_get_flight_by_id_and_unknown_flight_404(client: httpx.AsyncClient) -> None:
    token = await guest_token(client)
    r = await client.get(f"/api/flights/{FLIGHT}", headers=bearer(token))
    assert r.status_code == 200 and r.json()["id"] == FLIGHT
    r = await client.get("/api/flights/LHR-CDG-20250601-9", headers=bearer(token))
    assert r.status_code == 404 and r.json()["error"] == "flight_not_found"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({**SEARCH, "origin": "XXX"}, "origin"),
        ({**SEARCH, "destination": "LHR"}, "destination"),
        ({**SEARCH, "origin": "lhr"}, "query.origin"),
        ({**SEARCH, "date": "2025-13-01"}, "query.date"),
        ({"origin": "LHR", "destination": "CDG"}, "query.date"),
        ({**SEARCH, "page": "2"}, "query.page"),
    ],
)
async def test_flight_search_rejects_bad_parameters_naming_them(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    r = await client.get("/api/flights", params=params, headers=bearer(await guest_token(client)))
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_request"
    assert field in r.json()["detail"]


# -- drafts ---------------------------------------------------------------------------------


async def test_draft_create_read_update_list(client: httpx.AsyncClient) -> None:
    h = bearer(await guest_token(client))
    r = await client.post("/api/drafts", json={"step": "search", "data": {"from": "LHR"}}, headers=h)
    assert r.status_code == 201
    draft = r.json()
    assert draft["id"] == "d1" and draft["version"] == 1 and draft["owner"] == "guest"
    assert draft["user"] is None and draft["booking"] is None
    r = await client.put("/api/drafts/d1", json={"step": "fare", "data": {"fare": "X"}}, headers=h)
    assert r.status_code == 200
    assert r.json()["step"] == "fare" and r.json()["data"] == {"fare": "X"}
    assert r.json()["version"] == 2
    assert (await client.get("/api/drafts/d1", headers=h)).json() == r.json()
    assert (await client.get("/api/drafts", headers=h)).json() == {"drafts": [r.json()]}


async def test_a_users_draft_follows_the_user_across_sessions(client: httpx.AsyncClient) -> None:
    first = (await login(client))["token"]
    r = await client.post("/api/drafts", json={"step": "s", "data": {}}, headers=bearer(first))
    second = (await login(client))["token"]
    r2 = await client.get(f"/api/drafts/{r.json()['id']}", headers=bearer(second))
    assert r2.status_code == 200 and r2.json()["user"] == "ada"


async def test_someone_elses_draft_is_404(client: httpx.AsyncClient) -> None:
    ada = (await login(client))["token"]
    grace = (await login(client, "grace", "hopper"))["token"]
    guest = await guest_token(client)
    other_guest = await guest_token(client)
    for owner, stranger in ((ada, grace), (guest, other_guest), (ada, guest)):
        draft = (
            await client.post("/api/drafts", json={"step": "s", "data": {}}, headers=bearer(owner))
        ).json()["id"]
        for request in (
            client.get(f"/api/drafts/{draft}", headers=bearer(stranger)),
            client.put(f"/api/drafts/{draft}", json={"step": "x", "data": {}}, headers=bearer(stranger)),
        ):
            r = await request
            assert r.status_code == 404 and r.json()["error"] == "draft_not_found"


async def test_a_guest_draft_stays_with_its_session(client: httpx.AsyncClient) -> None:
    first = await guest_token(client)
    draft = (await client.post("/api/drafts", json={"step": "s", "data": {}}, headers=bearer(first))).json()[
        "id"
    ]
    second = await guest_token(client)
    assert (await client.get(f"/api/drafts/{draft}", headers=bearer(second))).status_code == 404
    assert (await client.get("/api/drafts", headers=bearer(second))).json() == {"drafts": []}


async def test_draft_data_is_size_capped(client: httpx.AsyncClient) -> None:
    h = bearer(await guest_token(client))
    r = await client.post("/api/drafts", json={"step": "s", "data": {"x": "y" * 20_000}}, headers=h)
    assert r.status_code == 422
    assert r.json()["fields"][0]["field"] == "data"


# -- bookings -------------------------------------------------------------------------------


async def test_booking_succeeds_with_201_and_a_six_character_locator(
    client: httpx.AsyncClient,
) -> None:
    h = bearer((await login(client))["token"])
    r = await client.post("/api/bookings", json=booking(), headers=h)
    assert r.status_code == 201, r.text
    body = r.json()
    assert len(body["record_locator"]) == 6 and body["record_locator"].isalnum()
    assert body["status"] == "confirmed" and body["card_last4"] == "4242"
    fares = (
        await gql(
            client,
            h["Authorization"][7:],
            f'{{ fares(flightId: "{FLIGHT}") {{ code price {{ amountCents }} }} }}',
        )
    ).json()["data"]["fares"]
    classic = next(f for f in fares if f["code"] == "ECONOMY_CLASSIC")
    assert body["total"] == {"amount_cents": classic["price"]["amountCents"], "currency": "EUR"}
    got = await client.get(f"/api/bookings/{body['record_locator']}", headers=h)
    assert got.json() == body


async def test_booking_from_a_draft_marks_it_and_refuses_a_second_time(
    client: httpx.AsyncClient,
) -> None:
    h = bearer(await guest_token(client))
    draft = (await client.post("/api/drafts", json={"step": "pay", "data": {}}, headers=h)).json()
    r = await client.post("/api/bookings", json=booking(draft_id=draft["id"]), headers=h)
    assert r.status_code == 201
    locator = r.json()["record_locator"]
    assert (await client.get(f"/api/drafts/{draft['id']}", headers=h)).json()["booking"] == locator
    again = await client.post("/api/bookings", json=booking(draft_id=draft["id"]), headers=h)
    assert again.status_code == 409
    assert again.json()["error"] == "draft_already_booked" and locator in again.json()["detail"]


async def test_booked_seats_become_occupied(client: httpx.AsyncClient) -> None:
    token = await guest_token(client)
    seats_q = f'{{ seatMap(flightId: "{FLIGHT}") {{ rows {{ seats {{ code status }} }} }} }}'
    rows = (await gql(client, token, seats_q)).json()["data"]["seatMap"]["rows"]
    free = next(s["code"] for row in rows for s in row["seats"] if s["status"] == "AVAILABLE")
    r = await client.post("/api/bookings", json=booking(seats=[free]), headers=bearer(token))
    assert r.status_code == 201 and r.json()["seats"] == [free]
    rows = (await gql(client, token, seats_q)).json()["data"]["seatMap"]["rows"]
    assert {s["code"]: s["status"] for row in rows for s in row["seats"]}[free] == "OCCUPIED"
    r = await client.post("/api/bookings", json=booking(seats=[free]), headers=bearer(token))
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "seats[0]"


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"passengers": [{"name": " ", "email": "a@b.co"}]}, ["passengers[0].name"]),
        ({"passengers": [{"name": "A", "email": "not-an-email"}]}, ["passengers[0].email"]),
        (
            {"payment": {"card_number": "4242 4242 4242 4241", "expiry": "12/27", "cvc": "123"}},
            ["payment.card_number"],
        ),
        ({"payment": {"card_number": "12ab", "expiry": "12/27", "cvc": "123"}}, ["payment.card_number"]),
        ({"payment": {"card_number": GOOD_CARD, "expiry": "05/25", "cvc": "123"}}, ["payment.expiry"]),
        ({"payment": {"card_number": GOOD_CARD, "expiry": "13/27", "cvc": "123"}}, ["payment.expiry"]),
        ({"payment": {"card_number": GOOD_CARD, "expiry": "12/27", "cvc": "12"}}, ["payment.cvc"]),
        ({"fare_code": "FIRST"}, ["fare_code"]),
        ({"flight_id": "LHR-CDG-20250601-9"}, ["flight_id"]),
        ({"seats": ["99Z"]}, ["seats[0]"]),
        (
            {
                "passengers": [{"name": "", "email": "x"}],
                "payment": {"card_number": "1", "expiry": "1/1", "cvc": "x"},
            },
            [
                "passengers[0].name",
                "passengers[0].email",
                "payment.card_number",
                "payment.expiry",
                "payment.cvc",
            ],
        ),
    ],
)
async def test_booking_validation_names_every_bad_field(
    client: httpx.AsyncClient, changes: dict[str, Any], fields: list[str]
) -> None:
    h = bearer(await guest_token(client))
    r = await client.post("/api/bookings", json=booking(**changes), headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid_input"
    assert [f["field"] for f in r.json()["fields"]] == fields


async def test_a_card_expiring_this_month_is_still_valid(client: httpx.AsyncClient) -> None:
    payment = {"card_number": GOOD_CARD, "expiry": "06/25", "cvc": "1234"}  # TODAY is 2025-06-01
    r = await client.post(
        "/api/bookings", json=booking(payment=payment), headers=bearer(await guest_token(client))
    )
    assert r.status_code == 201


async def test_someone_elses_booking_is_404(client: httpx.AsyncClient) -> None:
    mine = bearer(await guest_token(client))
    locator = (await client.post("/api/bookings", json=booking(), headers=mine)).json()
    theirs = bearer(await guest_token(client))
    r = await client.get(f"/api/bookings/{locator['record_locator']}", headers=theirs)
    assert r.status_code == 404 and r.json()["error"] == "booking_not_found"


def test_luhn_accepts_known_good_numbers_and_rejects_a_changed_digit() -> None:
    for number in ("4242424242424242", "5555555555554444", "378282246310005", "79927398713"):
        assert luhn_ok(number)
        assert not luhn_ok(number[:-1] + str((int(number[-1]) + 1) % 10))


async def test_dates_outside_the_schedule_have_no_flights_rather_than_a_crash(
    client: httpx.AsyncClient,
) -> None:
    h = bearer(await guest_token(client))
    for day in ("9999-12-31", "0001-01-01"):
        r = await client.get("/api/flights", params={**SEARCH, "date": day}, headers=h)
        assert r.status_code == 200 and r.json() == {"flights": []}
    r = await client.get("/api/flights/LHR-JFK-99991231-1", headers=h)
    assert r.status_code == 404
    r = await gql(client, h["Authorization"][7:], '{ fares(flightId: "LHR-JFK-99991231-1") { code } }')
    assert r.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
