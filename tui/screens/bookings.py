"""My bookings: what the session's owner has booked (REST `GET /api/bookings`), newest first,
with the loyalty points each one earned and the balance now."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Button, Static

from sessionkeeper.api.errors import ApiError
from sessionkeeper.tui import wording
from sessionkeeper.tui.messages import GoBack
from sessionkeeper.tui.screens.base import AppScreen, screen_work


class BookingsScreen(AppScreen):
    ACTIVE_FLOW = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", priority=True),
        Binding("r", "reload", "Reload"),
    ]

    def compose_body(self) -> Iterable[Widget]:
        with Vertical(id="bookings-page"):
            yield Static("My bookings", classes="title")
            yield Static("", id="points", markup=False)
            yield Static("", id="bookings-list", markup=False)
            yield Static("", id="bookings-error", classes="field-error", markup=False)
            with Horizontal(classes="step-buttons"):
                yield Button("Back (esc)", id="back")
                yield Button("Reload (r)", id="reload")

    def mounted(self) -> None:
        self.query_one("#back", Button).focus()
        self.load()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "back":
            self.action_back()
        elif event.button.id == "reload":
            self.action_reload()

    def action_back(self) -> None:
        self.post_message(GoBack())

    def action_reload(self) -> None:
        self.load()

    @screen_work(group="bookings")
    async def load(self) -> None:
        client = self.keeper.client
        listing = self.query_one("#bookings-list", Static)
        error = self.query_one("#bookings-error", Static)
        if client is None:
            return
        error.update("")
        try:
            bookings = await self.outcome(client.rest.list_bookings(), busy=listing)
        except ApiError as exc:
            self.keeper.report(exc, "my bookings")
            listing.update("")
            error.update(wording.failure(exc, retry="r").replace(" Your draft is saved.", ""))
            return
        profile = client.profile if client.manager.signed_in else None
        self.query_one("#points", Static).update(
            f"{profile.loyalty.tier.title()} member · {profile.loyalty.points:,} points"
            if profile is not None
            else "Guests earn no points: sign in to collect them."
        )
        if not bookings:
            listing.update("No bookings yet.")
            return
        flights = [wording.flight_words(booking.flight_id) for booking in bookings]
        width = max(len("Flight"), *(len(flight) for flight in flights))
        lines = [f"Locator  {'Flight':<{width}} Seat   Total            Points"]
        moved = False  # any made as a guest before this user signed in
        for booking, flight in zip(bookings, flights, strict=True):
            seats = ",".join(booking.seats) or "-"
            as_guest = profile is not None and booking.made_as_guest
            moved = moved or as_guest
            lines.append(
                f"{booking.record_locator:<8} {flight:<{width}} {seats:<6} {booking.total!s:<16} "
                f"{wording.points_words(booking.points_earned, as_guest=as_guest)}"
            )
        if moved:
            lines += ["", wording.AS_GUEST_NOTE]
        listing.update("\n".join(lines))
