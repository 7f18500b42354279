"""Home: a passive screen with who holds the session, the saved draft and the way into the flow.

It shows only the draft of whoever holds the session now, and offers only what works now: no
"Continue" without a draft, "Sign in" or "Sign out" as the case is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Button, Static

from sessionkeeper.tui import wording
from sessionkeeper.tui.messages import EndSession, OpenFlow, ShowBookings, ShowSignIn
from sessionkeeper.tui.screens.base import AppScreen


class HomeScreen(AppScreen):
    ACTIVE_FLOW = False
    BINDINGS: ClassVar[list[BindingType]] = [
        # Short words: the footer must fit 60 columns.
        # Priority: they change the screen as the key arrives (see BookingStep.BINDINGS).
        Binding("b", "book", "Book", priority=True),
        Binding("c", "continue_draft", "Continue", priority=True),
        Binding("m", "bookings", "Bookings", priority=True),
        Binding("s", "sign_in", "Sign in", priority=True),
        Binding("s", "sign_out", "Sign out", priority=True),
    ]
    _keys_shown: tuple[bool, bool] | None = None  # what check_action answered when last refreshed

    def compose_body(self) -> Iterable[Widget]:
        with Vertical(id="home"):
            yield Static("Welcome to SK Air", id="home-title")
            yield Static(wording.holder(None, None).sentence, id="profile", markup=False)
            yield Static("", id="draft-summary", markup=False)
            yield Button("Book a flight (b)", id="book", variant="primary")
            yield Button("Continue your booking (c)", id="continue")
            yield Button("My bookings (m)", id="bookings")
            yield Button("Sign in (s)", id="sign")

    def mounted(self) -> None:
        self.show_state()

    def resumed(self) -> None:
        self.show_state()

    def show_state(self) -> None:
        """Redraw from the session, the profile and the holder's draft (the app calls it on change)."""
        if not self.is_mounted:
            return
        client = self.keeper.client
        view = self.keeper.view()
        who = wording.holder(
            view,
            client.username if client else None,
            was_user=bool(client.manager.former_user) if client else True,
        )
        text = who.sentence
        profile = client.profile if client and who.signed_in else None
        if profile is not None:
            loyalty = profile.loyalty
            text = (
                f"Signed in as {profile.name} ({profile.username}) · {loyalty.tier.title()} · "
                f"{loyalty.points:,} points · member since {loyalty.member_since}"
            )
        self.query_one("#profile", Static).update(text)
        self.query_one("#sign", Button).label = "Sign out (s)" if who.signed_in else "Sign in (s)"
        draft = self.keeper.saved_draft()
        summary = (
            f"Booking draft saved at {wording.step_words(draft.step)}."
            if draft is not None
            else "No booking in progress."
        )
        self.query_one("#draft-summary", Static).update(summary)
        self.query_one("#continue", Button).display = draft is not None
        # Only when a key's availability changed: each refresh recomposes the footer (~13 ms here).
        keys = (bool(client and client.manager.signed_in), draft is not None)
        if keys != self._keys_shown:
            self._keys_shown = keys
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        client = self.keeper.client
        if action == "continue_draft":
            return self.keeper.saved_draft() is not None
        if action == "sign_in":
            return not (client is not None and client.manager.signed_in)
        if action == "sign_out":
            return client is not None and client.manager.signed_in
        return True

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "book":
            self.action_book()
        elif event.button.id == "continue":
            self.action_continue_draft()
        elif event.button.id == "bookings":
            self.action_bookings()
        elif event.button.id == "sign":
            client = self.keeper.client
            if client is not None and client.manager.signed_in:
                self.action_sign_out()
            else:
                self.action_sign_in()

    def action_book(self) -> None:
        self.post_message(OpenFlow("search"))

    def action_continue_draft(self) -> None:
        if self.keeper.saved_draft() is not None:
            self.post_message(OpenFlow())

    def action_bookings(self) -> None:
        self.post_message(ShowBookings())

    def action_sign_in(self) -> None:
        self.post_message(ShowSignIn())

    def action_sign_out(self) -> None:
        self.post_message(EndSession())
