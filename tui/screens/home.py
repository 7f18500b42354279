"""Home: a passive screen with the profile summary, the saved draft and the way into the flow."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Button, Static

from tui.screens.base import AppScreen

if TYPE_CHECKING:
    from api.models import Profile


class HomeScreen(AppScreen):
    ACTIVE_FLOW = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "book", "Book a flight"),
        Binding("c", "continue_draft", "Continue draft"),
        Binding("s", "sign_in_out", "Sign in/out"),
    ]

    def compose_body(self) -> Iterable[Widget]:
        with Vertical(id="home"):
            yield Static("Welcome to SK Air", id="home-title")
            yield Static("Browsing as a guest.", id="profile")
            yield Static("", id="draft-summary")
            yield Button("Book a flight (b)", id="book", variant="primary")
            yield Button("Continue your booking (c)", id="continue")
            yield Button("Sign in (s)", id="sign")

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        client = self.keeper.client
        self.show_profile(client.profile if client else None)

    def show_profile(self, profile: Profile | None) -> None:
        if not self.is_mounted:
            return
        text = "Browsing as a guest. Sign in to earn points."
        if profile is not None:
            loyalty = profile.loyalty
            text = (
                f"Signed in as {profile.name} ({profile.username}) · {loyalty.tier.title()} · "
                f"{loyalty.points:,} points · member since {loyalty.member_since}"
            )
        self.query_one("#profile", Static).update(text)
        self.query_one("#sign", Button).label = "Sign out (s)" if profile else "Sign in (s)"
        draft = self.keeper.saved_draft()
        summary = f"Saved booking draft: step '{draft.step}'." if draft else "No booking in progress."
        self.query_one("#draft-summary", Static).update(summary)
        self.query_one("#continue", Button).display = draft is not None

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {
            "book": self.action_book,
            "continue": self.action_continue_draft,
            "sign": self.action_sign_in_out,
        }
        handler = actions.get(event.button.id or "")
        if handler is not None:
            await handler()

    async def action_book(self) -> None:
        if self.keeper.client is not None:
            await self.keeper.open_flow("search")

    async def action_continue_draft(self) -> None:
        if self.keeper.client is not None and self.keeper.saved_draft() is not None:
            await self.keeper.open_flow()

    async def action_sign_in_out(self) -> None:
        from tui.screens.sign_in import SignInScreen

        client = self.keeper.client
        if client is None:
            return
        if client.manager.signed_in:
            client.sign_out()
        else:
            await self.app.push_screen(SignInScreen())
