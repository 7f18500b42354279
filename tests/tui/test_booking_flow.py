"""The booking flow end to end (issue 8, items 3 and 18): what is sent is what was parsed, never
the text as typed; and the flow's polish: loading shown, column headers, stale results cleared,
"Please fix" cleared once fixed, a free seat as the example, "My bookings" with the points earned.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.widgets import Input, OptionList

from sessionkeeper.api.drafts import LocalDraft
from sessionkeeper.tui.screens.booking import (
    ConfirmationStep,
    FlightsStep,
    PassengersStep,
    ReviewStep,
    SearchStep,
    SeatsStep,
)
from sessionkeeper.tui.screens.bookings import BookingsScreen
from tests.transports import PassThrough
from tests.tui.harness import Harness, running

pytestmark = pytest.mark.slow  # whole bookings through the app, up to 5 s each


class Recorder(PassThrough):
    """Passes every request through and keeps what was sent: path, query and JSON body."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, dict[str, str], Any]] = []
        self.hold_flights = asyncio.Event()
        self.hold_flights.set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.sent.append((request.method, request.url.path, dict(request.url.params), body))
        if request.url.path == "/api/flights":
            await self.hold_flights.wait()
        return await super().handle_async_request(request)

    def bodies(self, method: str, path: str) -> list[Any]:
        return [body for m, p, _q, body in self.sent if (m, p) == (method, path)]

    def queries(self, path: str) -> list[dict[str, str]]:
        return [query for _m, p, query, _b in self.sent if p == path]

    def graphql(self, operation: str) -> list[dict[str, Any]]:
        return [
            body.get("variables") or {}
            for _m, p, _q, body in self.sent
            if p == "/graphql" and isinstance(body, dict) and operation in str(body.get("query"))
        ]


async def test_every_field_is_sent_as_parsed_not_as_typed(tmp_path: Path) -> None:
    recorder = Recorder()
    async with running(tmp_path, inner_transport=lambda: recorder) as h:
        await h.sign_in()
        await h.pilot.press("b")
        await h.pilot.pause()
        await h.fill("origin", " lhr ")
        await h.fill("destination", "cdg  ")
        await h.fill("date", " 2030-05-01 ")
        await h.step()
        assert isinstance(h.app.screen, FlightsStep)
        assert recorder.queries("/api/flights")[-1] == {
            "origin": "LHR",
            "destination": "CDG",
            "date": "2030-05-01",
        }
        await h.step()
        assert isinstance(h.app.screen, PassengersStep)
        await h.fill("name", "  Ada    Lovelace ")
        await h.fill("email", " ada@example.com  ")
        await h.step()
        assert isinstance(h.app.screen, SeatsStep)
        free = sorted(h.app.screen.available)[0]
        await h.fill("seat", f"  {free.lower()} ")
        await h.step()
        assert isinstance(h.app.screen, ReviewStep)
        assert recorder.graphql("HoldSeat")[-1]["seat"] == free
        await h.fill("card_number", "4111-1111 1111 1111")
        await h.fill("expiry", "12 / 30")  # passed validation before, and was sent as typed: 422
        await h.fill("cvc", " 123 ")
        await h.step()
        assert isinstance(h.app.screen, ConfirmationStep), h.text("#step-error")
        [booking] = recorder.bodies("POST", "/api/bookings")
        assert booking["passengers"] == [{"name": "Ada Lovelace", "email": "ada@example.com"}]
        assert booking["seats"] == [free]
        assert booking["payment"] == {"card_number": "4111111111111111", "expiry": "12/30", "cvc": "123"}
        # The draft on disk and on the server holds the parsed values too, and never the card.
        draft = h.app.saved_draft()
        assert draft is not None and draft.data["name"] == "Ada Lovelace" and "card_number" not in draft.data
        pushed = [json.dumps(body) for _m, path, _q, body in recorder.sent if path.startswith("/api/drafts")]
        assert len(pushed) >= 2 and all("card_number" not in body and "4111" not in body for body in pushed)
        assert '"name": "Ada Lovelace"' in pushed[-1]


async def seat_and_pay(h: Harness) -> LocalDraft:
    """From the seats step: the first free seat, the test card, and on to the confirmation; the
    booked draft."""
    assert isinstance(h.app.screen, SeatsStep)
    await h.fill("seat", sorted(h.app.screen.available)[0])
    await h.step()
    await h.fill("card_number", "4111 1111 1111 1111")
    await h.fill("expiry", "12/30")
    await h.fill("cvc", "123")
    await h.step()
    assert isinstance(h.app.screen, ConfirmationStep)
    draft = h.app.saved_draft()
    assert draft is not None
    return draft


async def test_after_booking_my_bookings_lists_it_with_the_points_it_earned(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.sign_in()
        before = h.client.profile.loyalty.points if h.client.profile else 0
        await h.fill_search()
        await h.step()
        await h.step()
        await h.step()  # passengers: filled from the profile
        draft = await seat_and_pay(h)
        earned = int(draft.data["points_earned"])
        assert earned > 0 and f"You earned {earned:,} loyalty points" in h.text("#confirmation")
        locator = draft.data["record_locator"]
        await h.step("m")
        assert isinstance(h.app.screen, BookingsScreen)
        listing = h.text("#bookings-list")
        assert locator in listing and f"+{earned:,}" in listing
        assert "LHR→CDG" in listing and "-20" not in listing  # the route and date, not the flight's id
        assert f"{before + earned:,} points" in h.text("#points")
        assert h.app.saved_draft() is None  # booked: the draft is done


async def test_the_flight_list_shows_loading_and_has_column_headers(tmp_path: Path) -> None:
    recorder = Recorder()
    async with running(tmp_path, inner_transport=lambda: recorder) as h:
        await h.fill_search()
        recorder.hold_flights.clear()
        await h.pilot.press("ctrl+n")
        for _ in range(10):
            await h.pilot.pause()
        flights = h.app.screen.query_one("#flights", OptionList)
        assert isinstance(h.app.screen, FlightsStep) and flights.loading  # not empty boxes
        recorder.hold_flights.set()
        await h.app.workers.wait_for_complete()
        await h.pilot.pause()
        assert not flights.loading and flights.option_count > 0
        headers = [str(w.render()) for w in h.app.screen.query(".list-header")]
        assert headers[0].startswith("Flight") and headers[1].startswith("Fare")


async def test_a_failed_retry_clears_the_results_it_no_longer_stands_behind(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.fill_search()
        await h.step()
        flights = h.app.screen.query_one("#flights", OptionList)
        assert flights.option_count > 0
        h.client.network.online = False
        await h.step("r")
        assert flights.option_count == 0 and h.app.screen.query_one("#fares", OptionList).option_count == 0
        assert "Couldn't reach the server" in h.text("#step-error")
        await h.step("ctrl+n")  # nothing chosen that is still shown: no going on
        assert isinstance(h.app.screen, FlightsStep)


async def test_please_fix_goes_away_once_the_fields_are_fixed(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.pilot.press("b")
        await h.pilot.pause()
        await h.fill("origin", "L1")
        await h.pilot.press("ctrl+n")
        await h.pilot.pause()
        assert isinstance(h.app.screen, SearchStep) and "Please fix" in h.text("#step-error")
        await h.fill("origin", "LHR")
        assert "Please fix" in h.text("#step-error")  # destination and date still missing
        await h.fill("destination", "CDG")
        await h.fill("date", "2030-05-01")
        assert h.text("#step-error") == ""


async def test_the_seat_example_is_a_free_seat_and_placeholders_read_as_examples(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.pilot.press("s")
        await h.pilot.pause()
        for field in h.app.screen.query(Input):
            assert field.placeholder.startswith(("your", "e.g.")), field.placeholder
        await h.pilot.press("escape")
        await h.pilot.pause()
        drafts = h.app.drafts
        assert drafts is not None
        drafts.save("seats", {"flight_id": "LHR-CDG-20300501-1"})
        from sessionkeeper.tui.messages import OpenFlow

        h.app.post_message(OpenFlow("seats"))
        await h.pilot.pause()
        await h.app.workers.wait_for_complete()
        await h.pilot.pause()
        screen = h.app.screen
        assert isinstance(screen, SeatsStep)
        placeholder = screen.query_one("#seat", Input).placeholder
        assert placeholder.endswith("(free)") and placeholder.split()[1] in screen.available


async def test_a_booking_made_as_a_guest_is_marked_so_in_my_bookings_after_signing_in(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.fill_search()
        await h.step()
        await h.step()
        await h.fill("name", "Grace Hopper")
        await h.fill("email", "grace@example.com")
        await h.step()
        draft = await seat_and_pay(h)
        locator = str(draft.data["record_locator"])
        await h.step("m")
        assert isinstance(h.app.screen, BookingsScreen)
        listing = h.text("#bookings-list")
        assert locator in listing and "none" in listing and "as guest" not in listing  # a guest's own

        await h.sign_in()  # in this window: the guest's bookings move to ada
        while not isinstance(h.app.screen, BookingsScreen) and len(h.app.screen_stack) > 1:
            await h.step("escape")
        if not isinstance(h.app.screen, BookingsScreen):
            await h.step("m")
        await h.step("r")
        listing = h.text("#bookings-list")
        [row] = [line for line in listing.splitlines() if line.startswith(locator)]
        assert row.endswith("none (as guest)"), listing
        assert "made as a guest before signing in" in listing
