"""The password, asked for at the session's absolute lifetime (rule 15), over the screen the person
is on: past the lifetime no silent re-authentication renews the session, only the password does.

A modal: the form underneath keeps its values, its step and its focus, and the booking draft is
kept either way. The sign-in itself is the caller's (`sign_in`, handed in): it answers None when it
worked, or what to say when it did not ("Wrong password."), and the prompt stays for another try.
"Not now" (Esc) closes it, and the app goes on as after any sign-out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from sessionkeeper.tui.widgets.footer import FittingFooter

SignIn = Callable[[str], Awaitable[str | None]]
WRONG_PASSWORD = "Wrong password."  # the one answer that empties the field: any other keeps it for Enter


class PasswordPrompt(ModalScreen[bool]):
    """Dismissed with True once signed in again, False for "Not now"."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "not_now", "Not now", priority=True),
        Binding("alt+q", "app.quit", "Quit", show=False, priority=True),  # the app's Ctrl+Q, for a browser
    ]

    def __init__(self, username: str, sign_in: SignIn) -> None:
        super().__init__()
        self.username = username
        self._sign_in = sign_in
        self._busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="password-prompt"):
            yield Label("Your session reached its time limit", id="password-title")
            yield Label(
                f"Enter the password for {self.username} to carry on right here: your screen and "
                "your booking are kept.",
                id="password-why",
                markup=False,
            )
            yield Input(placeholder="your password", password=True, id="lifetime-password")
            yield Label("", id="password-error", markup=False)
            with Horizontal(id="password-buttons"):
                yield Button("Sign in (enter)", id="password-sign-in", variant="primary")
                yield Button("Not now (esc)", id="password-not-now")
        yield FittingFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one("#lifetime-password", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "password-sign-in":
            self.submit()
        else:
            self.action_not_now()

    def action_not_now(self) -> None:
        if self.is_current:
            self.dismiss(False)

    def submit(self) -> None:
        field = self.query_one("#lifetime-password", Input)
        if self._busy:
            return
        if not field.value:
            self._say("Type your password.")
            field.focus()  # a click on the button took it: the next keys go to the field
            return
        self._busy = True
        self._say("Signing in…")
        self.run_worker(self._try(field.value), group="password", exclusive=True)

    async def _try(self, password: str) -> None:
        try:
            problem = await self._sign_in(password)
        finally:
            self._busy = False
        if not (self.is_attached and self.is_current):
            return  # closed meanwhile (the app is ending, or the person chose "Not now")
        if problem is None:
            self.dismiss(True)
            return
        field = self.query_one("#lifetime-password", Input)
        if problem == WRONG_PASSWORD:
            field.value = ""  # otherwise kept: a server that did not answer is retried by Enter
        field.focus()  # after a click on the button too: the next try is typed at once
        self._say(problem)

    def _say(self, text: str) -> None:
        if self.is_mounted:
            self.query_one("#password-error", Label).update(text)
