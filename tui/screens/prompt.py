"""The near-expiry prompt of an active flow (rule 4): a live countdown, stay or leave.

It is a modal over the form: the form keeps its values and its focus. The countdown shown is
handed in by the app each tick, derived from the engine's deadline. A guest is not "signed in",
so a guest's prompt keeps or ends a session instead. Its own footer lists the only keys that
work here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from tui import wording
from tui.widgets.caption_bar import CaptionBar
from tui.widgets.footer import FittingFooter


class ExpiryPrompt(ModalScreen[bool | None]):
    GUEST = False
    BINDINGS: ClassVar[list[BindingType]] = [
        # Enter presses the focused button (Stay, at first); y stays whatever has the focus.
        Binding("y", "stay", "Stay signed in"),
        # Leaving takes a deliberate key: Escape, pressed by habit, must not end a session.
        Binding("n", "leave", "Sign out"),
    ]

    def __init__(self, still_wanted: Callable[[ExpiryPrompt], bool] | None = None) -> None:
        super().__init__()
        self._still_wanted = still_wanted or (lambda _prompt: True)

    def compose(self) -> ComposeResult:
        title, stay, leave = wording.prompt_words(self.GUEST)
        with Vertical(id="prompt"):
            yield Label(title, id="prompt-title")
            yield Label("-:--", id="prompt-remaining")
            yield Label("Your booking form is kept either way.", id="prompt-note")
            with Horizontal(id="prompt-buttons"):
                yield Button(f"{stay} (y)", id="stay", variant="primary")
                yield Button(f"{leave} (n)", id="leave", variant="error")
            yield CaptionBar()  # in the dialog, where the audience is looking, not dimmed under it
        yield FittingFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    def on_screen_resume(self) -> None:
        if not self._still_wanted(self):
            self.dismiss(None)  # hidden by the engine while the QA panel covered it

    def show_remaining(self, seconds: float | None) -> None:
        if self.is_mounted:
            self.query_one("#prompt-remaining", Label).update(f"{wording.format_remaining(seconds)} left")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "stay")

    def action_stay(self) -> None:
        self.dismiss(True)

    def action_leave(self) -> None:
        self.dismiss(False)


class GuestExpiryPrompt(ExpiryPrompt):
    GUEST = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "stay", "Keep my session"),
        Binding("n", "leave", "End session"),
    ]


def expiry_prompt(guest: bool, still_wanted: Callable[[ExpiryPrompt], bool] | None = None) -> ExpiryPrompt:
    return GuestExpiryPrompt(still_wanted) if guest else ExpiryPrompt(still_wanted)
