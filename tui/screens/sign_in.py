"""Sign in (the demo users are hinted). On success a saved draft reopens at its step (rule 5)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

from sessionkeeper.api import forms
from sessionkeeper.api.errors import ApiError, LoginFailed
from sessionkeeper.tui import wording
from sessionkeeper.tui.messages import GoHome, SignInSucceeded
from sessionkeeper.tui.screens.base import AppScreen, screen_work

DEMO_HINT = "Demo users: ada / lovelace · grace / hopper · alan / turing"


class SignInScreen(AppScreen):
    ACTIVE_FLOW = False
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back", priority=True)]

    def compose_body(self) -> Iterable[Widget]:
        with Vertical(id="sign-in"):
            yield Static("Sign in", classes="title")
            yield Static(DEMO_HINT, id="demo-hint")
            yield Label("Username")
            yield Input(placeholder="your username, e.g. ada", id="username")
            yield Static("", id="username-error", classes="field-error", markup=False)
            yield Label("Password")
            yield Input(placeholder="your password", password=True, id="password")
            yield Static("", id="password-error", classes="field-error", markup=False)
            yield Static("", id="sign-in-error", classes="field-error", markup=False)
            with Horizontal(classes="step-buttons"):
                yield Button("Back (esc)", id="back")
                yield Button("Sign in (enter)", id="submit", variant="primary")

    def mounted(self) -> None:
        self.query_one("#username", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        # A hint under a field goes as soon as the field is filled, not at the next submit.
        name = event.input.id
        if name in ("username", "password") and event.value.strip():
            self.query_one(f"#{name}-error", Static).update("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "username":
            self.query_one("#password", Input).focus()
        else:
            self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "submit":
            self.submit()
        elif event.button.id == "back":
            self.action_back()

    def action_back(self) -> None:
        self.post_message(GoHome())

    def submit(self) -> None:
        parsed = forms.parse_credentials(
            self.query_one("#username", Input).value, self.query_one("#password", Input).value
        )
        errors = parsed if isinstance(parsed, dict) else {}
        for name in ("username", "password"):
            self.query_one(f"#{name}-error", Static).update(errors.get(name, ""))
        status = self.query_one("#sign-in-error", Static)
        if isinstance(parsed, dict):
            status.update("")
            return  # no API call while the form is invalid
        status.update("Signing in…")
        self.sign_in(parsed)

    @screen_work(group="sign-in")
    async def sign_in(self, credentials: forms.Credentials) -> None:
        status = self.query_one("#sign-in-error", Static)
        client = self.keeper.client
        drafts = self.keeper.drafts
        if client is None:
            status.update("Still connecting to the server; try again in a moment.")
            return
        try:
            await self.outcome(client.login(credentials.username, credentials.password))
        except LoginFailed:
            status.update("Wrong username or password.")
            self.query_one("#password", Input).value = ""
            return
        except ApiError as exc:
            self.keeper.report(exc, "sign in")
            status.update(wording.failure(exc, retry="enter"))
            return
        if drafts is not None:
            drafts.hand_to_user(credentials.username)  # a guest's draft goes with them
        # Navigation is the app's: this screen (and this worker) is about to be closed.
        self.post_message(SignInSucceeded(credentials.username))
