"""The near-expiry prompt of an active flow (rule 4): a live countdown, Stay signed in or Sign out.

It is a modal over the form: the form keeps its values and its focus. The countdown shown is
handed in by the app each tick, derived from the engine's deadline.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from tui.widgets.countdown import format_remaining


class ExpiryPrompt(ModalScreen[bool | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,y", "stay", "Stay signed in"),
        # Signing out takes a deliberate key: Escape, pressed by habit, must not end a session.
        Binding("n", "leave", "Sign out"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Label("Your session is about to expire", id="prompt-title")
            yield Label("-:--", id="prompt-remaining")
            yield Label("Your booking form is kept either way.", id="prompt-note")
            with Horizontal(id="prompt-buttons"):
                yield Button("Stay signed in", id="stay", variant="primary")
                yield Button("Sign out", id="leave", variant="error")

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()
        self.app.call_later(getattr(self.app, "refresh_countdown", lambda: None))

    def show_remaining(self, seconds: float | None) -> None:
        if self.is_mounted:
            self.query_one("#prompt-remaining", Label).update(f"{format_remaining(seconds)} left")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "stay")

    def action_stay(self) -> None:
        self.dismiss(True)

    def action_leave(self) -> None:
        self.dismiss(False)
