"""Sign in (the demo users are hinted). On success a saved draft reopens at its step (rule 5)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual import work
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

from api.errors import ApiError, LoginFailed
from tui.messages import SignInSucceeded
from tui.screens.base import AppScreen

DEMO_HINT = "Demo users: ada / lovelace · grace / hopper · alan / turing"


class SignInScreen(AppScreen):
    ACTIVE_FLOW = False
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Back")]

    def compose_body(self) -> Iterable[Widget]:
        with Vertical(id="sign-in"):
            yield Static("Sign in", classes="title")
            yield Static(DEMO_HINT, id="demo-hint")
            yield Label("Username")
            yield Input(placeholder="ada", id="username")
            yield Label("Password")
            yield Input(placeholder="password", password=True, id="password")
            yield Static("", id="sign-in-error", classes="field-error")
            yield Button("Sign in", id="submit", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#username", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "username":
            self.query_one("#password", Input).focus()
        else:
            self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "submit":
            self.submit()

    def submit(self) -> None:
        username = self.query_one("#username", Input).value.strip()
        password = self.query_one("#password", Input).value
        error = self.query_one("#sign-in-error", Static)
        if not username or not password:
            error.update("Enter a username and a password.")
            return  # no API call while the form is invalid
        error.update("Signing in…")
        self.sign_in(username, password)

    @work(exclusive=True)
    async def sign_in(self, username: str, password: str) -> None:
        error = self.query_one("#sign-in-error", Static)
        try:
            await self.keeper.sign_in(username, password)
            # Navigation is the app's: this screen (and this worker) is about to be closed.
            self.post_message(SignInSucceeded(username))
        except LoginFailed:
            error.update("Wrong username or password.")
            self.query_one("#password", Input).value = ""
        except ApiError as exc:
            error.update(f"Could not sign in: {exc}")
