"""`RestClient.list_bookings()` through the real client against a live embedded backend."""

from __future__ import annotations

from typing import Any

from sessionkeeper.api.models import Booking
from tests.api.world import world

FLIGHT = "LHR-CDG-20250601-1"  # the catalog is the same on any day; only the card's expiry is checked
PAYMENT = {"card_number": "4242 4242 4242 4242", "expiry": "12/98", "cvc": "123"}


def order(fare_code: str = "ECONOMY_CLASSIC") -> dict[str, Any]:
    return {
        "flight_id": FLIGHT,
        "fare_code": fare_code,
        "passengers": [{"name": "Ada Lovelace", "email": "ada@example.com"}],
        "seats": [],
        "payment": PAYMENT,
    }


async def test_list_bookings_after_create_booking_shows_it_with_the_points_it_earned() -> None:
    async with world() as w:
        await w.client.login("ada", "lovelace")
        assert w.client.profile is not None
        before = w.client.profile.loyalty.points
        first = await w.client.rest.create_booking(**order("ECONOMY_LIGHT"))
        second = await w.client.rest.create_booking(**order("BUSINESS"))
        listed = await w.client.rest.list_bookings()
        assert listed == [second, first]  # newest first, same content as create_booking answered
        assert second.points_earned == second.total.amount_cents // 100 * 2  # GOLD: x2
        profile = await w.client.graphql.me()
        assert profile is not None
        assert profile.loyalty.points == before + first.points_earned + second.points_earned
        assert (await w.counters())["bookings"] == 2


async def test_list_bookings_as_a_guest_then_signed_in_keeps_the_guest_booking() -> None:
    async with world() as w:
        as_guest = await w.client.rest.create_booking(**order())
        assert as_guest.points_earned == 0
        assert await w.client.rest.list_bookings() == [as_guest]
        await w.client.login("ada", "lovelace")  # hands the guest token over: its bookings move
        assert await w.client.rest.list_bookings() == [as_guest]


def test_a_booking_from_a_backend_without_points_still_parses() -> None:
    old = {
        "record_locator": "ABC234",
        "status": "confirmed",
        "flight_id": FLIGHT,
        "fare_code": "ECONOMY_CLASSIC",
        "passengers": [{"name": "Ada Lovelace", "email": "ada@example.com"}],
        "seats": [],
        "total": {"amount_cents": 12_300, "currency": "EUR"},
        "draft_id": None,
        "card_last4": "4242",
    }
    assert Booking.model_validate(old).points_earned == 0
