"""A guest's seat survives a lapse at the review step (issue 16 item 7), through the real app.

The guest chose a seat and reached "Review and pay", then left the prompt unanswered: the session
lapsed, and the next action started a new guest session. Paying carries the draft over to it and
holds the seat again, so the booking goes through with the same seat and the server's seat map
agrees. If someone took the seat meanwhile, the review step says so in plain words and the seat
step offers the seats that are free now.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from sessionkeeper.api.drafts import SEAT_RELEASED
from sessionkeeper.tui.messages import OpenFlow
from sessionkeeper.tui.screens.booking import (
    ConfirmationStep,
    FlightsStep,
    PassengersStep,
    ReviewStep,
    SeatsStep,
)
from sessionkeeper.tui.screens.prompt import ExpiryPrompt
from tests.api.world import stranger_holds
from tests.tui.harness import FLIGHT_DATE, TTL, WARN, Harness, running

pytestmark = pytest.mark.slow  # bookings walked to review and lapsed, about 4 s each


async def to_review(h: Harness) -> str:
    """As a guest, through search, flight, passenger and seat; the seat chosen."""
    await h.fill_search()
    await h.step()
    assert isinstance(h.app.screen, FlightsStep)
    await h.step()
    assert isinstance(h.app.screen, PassengersStep)
    await h.fill("name", "Ada Lovelace")
    await h.fill("email", "ada@example.com")
    await h.step()
    assert isinstance(h.app.screen, SeatsStep)
    seat = sorted(h.app.screen.available)[0]
    await h.fill("seat", seat)
    await h.step()
    assert isinstance(h.app.screen, ReviewStep), h.text("#step-error")
    return seat


async def lapse_on_the_step(h: Harness) -> None:
    """The prompt comes and is left unanswered: the guest session lapses."""
    await h.advance(TTL - WARN)
    assert isinstance(h.app.screen, ExpiryPrompt)
    await h.advance(WARN + 1)
    assert isinstance(h.app.screen, ReviewStep)
    assert (await h.counters())["guest_sessions"] == 1  # the next action starts the new one


async def fill_card(h: Harness) -> None:
    await h.fill("card_number", "4111 1111 1111 1111")
    await h.fill("expiry", "12/30")
    await h.fill("cvc", "123")


async def server_seat(h: Harness, seat: str) -> str:
    flight_id = str(h.app.saved_draft().data["flight_id"])  # type: ignore[union-attr]
    seat_map = await h.client.graphql.seat_map(flight_id)
    return next(s.status for row in seat_map.rows for s in row.seats if s.code == seat)


async def test_a_guest_who_lapsed_at_review_pays_for_the_same_seat(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        seat = await to_review(h)
        await fill_card(h)
        await lapse_on_the_step(h)
        await h.step()  # Pay
        assert isinstance(h.app.screen, ConfirmationStep), h.text("#step-error")
        assert f"seat {seat}" in h.text("#confirmation")
        counters = await h.counters()
        # A new guest session, and the seat held again for the draft's new server copy before paying.
        assert (counters["guest_sessions"], counters["seat_holds"], counters["bookings"]) == (2, 2, 1)
        [booking] = await h.client.rest.list_bookings()
        assert booking.seats == [seat]
        assert await server_seat(h, seat) == "OCCUPIED"


async def test_a_seat_taken_during_the_lapse_is_named_and_another_one_chosen(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        seat = await to_review(h)
        await fill_card(h)
        await lapse_on_the_step(h)
        flight_id = str(h.app.saved_draft().data["flight_id"])  # type: ignore[union-attr]
        async with httpx.AsyncClient(base_url=h.client.base_url) as http:
            await stranger_holds(http, flight_id, seat)  # the lapsed session's hold ended with it
        await h.step()  # Pay
        assert isinstance(h.app.screen, ReviewStep)
        assert h.text("#step-error") == (
            f"Seat {seat} was released when your session ended and is taken now: "
            "go back (esc) and choose another seat."
        )
        assert await h.client.rest.list_bookings() == []
        await h.step("escape")
        assert isinstance(h.app.screen, SeatsStep)
        assert h.value("seat") == ""
        assert seat not in h.app.screen.available  # the map was loaded again: the seat is someone else's
        assert "choose another seat" in h.text("#step-error")
        other = sorted(h.app.screen.available)[0]
        await h.fill("seat", other)
        await h.step()
        assert isinstance(h.app.screen, ReviewStep)
        await fill_card(h)
        await h.step()
        assert isinstance(h.app.screen, ConfirmationStep), h.text("#step-error")
        assert [b.seats for b in await h.client.rest.list_bookings()] == [[other]]
        assert (await server_seat(h, other), await server_seat(h, seat)) == ("OCCUPIED", "HELD")


async def test_a_flow_reopened_after_the_seat_was_given_up_says_so_at_the_seat_step(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        drafts = h.app.drafts
        assert drafts is not None
        drafts.save("seats", {"flight_id": f"LHR-CDG-{FLIGHT_DATE.replace('-', '')}-1", SEAT_RELEASED: "3C"})
        h.app.post_message(OpenFlow())  # "Continue" from home, after a restart say
        await h.pilot.pause()
        await h.app.workers.wait_for_complete()
        await h.pilot.pause()
        assert isinstance(h.app.screen, SeatsStep)
        assert h.text("#step-error") == (
            "Seat 3C was released when your session ended and is taken now: choose another seat."
        )
        assert h.value("seat") == "" and h.app.screen.available
