"""Shown after a graceful sign-out (rule 5): what happened, that the draft is safe, how to go on."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Button, Static

from sessionkeeper.api.drafts import LocalDraft
from sessionkeeper.session.decisions import SignOutReason
from sessionkeeper.tui import wording
from sessionkeeper.tui.messages import GoHome, ShowSignIn
from sessionkeeper.tui.screens.base import AppScreen

_WHY = {
    SignOutReason.EXPIRED: "Your session timed out while you were inactive, so you were signed out.",
    SignOutReason.RECOVERY_FAILED: "Your session ended and could not be renewed, so you were signed out.",
    SignOutReason.USER_CHOICE: "You signed out.",
    SignOutReason.LIFETIME_REACHED: (
        "Your session reached its time limit (it cannot be renewed past it without your "
        "password), so you were signed out."
    ),
    SignOutReason.ELSEWHERE: "Signed out in another window.",
}


class SignedOutScreen(AppScreen):
    ACTIVE_FLOW = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sign_in", "Sign in", priority=True),
        Binding("escape", "home", "Home", priority=True),
    ]

    def __init__(self, reason: SignOutReason, draft: LocalDraft | None) -> None:
        super().__init__()
        self.reason = reason
        self.draft = draft

    def compose_body(self) -> Iterable[Widget]:
        with Vertical(id="signed-out"):
            yield Static("Signed out", classes="title")
            yield Static(_WHY[self.reason], id="signed-out-why")
            if self.draft is not None:
                yield Static(
                    f"Your booking draft is saved (at {wording.step_words(self.draft.step)}). "
                    "Sign in again to continue exactly where you left off.",
                    id="signed-out-draft",
                    markup=False,
                )
            with Horizontal(classes="step-buttons"):
                yield Button("Sign in (s)", id="sign-in", variant="primary")
                yield Button("Home (esc)", id="home")

    def mounted(self) -> None:
        self.query_one("#sign-in", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "sign-in":
            self.action_sign_in()
        elif event.button.id == "home":
            self.action_home()

    def action_sign_in(self) -> None:
        self.post_message(ShowSignIn(replace=True))

    def action_home(self) -> None:
        self.post_message(GoHome())
