"""The near-expiry prompt of an active flow (rule 4): a live countdown, stay or leave.

It is a modal over the form: the form keeps its values and its focus. The countdown shown is
handed in by the app each tick, derived from the engine's deadline. A guest is not "signed in",
so a guest's prompt keeps or ends a session instead. Its own footer lists the only keys that
work here.

It may pop up while the person is typing into the form. For `guard_s` after it appears it takes
no key and no click (the app drops them before any binding sees them), as browsers do with their
permission and download prompts (Firefox's `security.dialog_enable_delay` is one second): typing
"Ann" must not answer "n" to it. A key dropped so starts the wait again: someone who types on,
not having seen it yet, answers nothing until they stop for `guard_s`. When keys are dropped it
says so; what was typed before stays in the field underneath.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from sessionkeeper.tui import wording
from sessionkeeper.tui.widgets.caption_bar import CaptionBar
from sessionkeeper.tui.widgets.footer import FittingFooter


class ExpiryPrompt(ModalScreen[bool | None]):
    GUEST = False
    BINDINGS: ClassVar[list[BindingType]] = [
        # Enter presses the focused button (Stay, at first); y stays whatever has the focus.
        # Priority: the answer closes the prompt as the key arrives, so the keys typed after it
        # go to the form underneath, not to the closing prompt.
        Binding("y", "stay", "Stay signed in", priority=True),
        # Leaving takes a deliberate key: Escape, pressed by habit, must not end a session.
        Binding("n", "leave", "Sign out", priority=True),
        Binding("alt+q", "app.quit", "Quit", show=False, priority=True),  # the app's Ctrl+Q, for a browser
    ]

    def __init__(
        self,
        still_wanted: Callable[[ExpiryPrompt], bool] | None = None,
        *,
        now: Callable[[], float] = lambda: 0.0,
        guard_s: float = 0.0,
        interrupted: bool = False,
    ) -> None:
        """`now`: the app's clock; `guard_s`: how long after appearing it ignores keys and clicks;
        `interrupted`: the person was typing as it appeared."""
        super().__init__()
        self._still_wanted = still_wanted or (lambda _prompt: True)
        self._now = now
        self._quiet_since = now()  # since the prompt appeared, or the latest key it dropped
        self._note = ""  # the note shown now (it is looked at every second)
        self.guard_s = guard_s
        self.interrupted = interrupted
        self.ignored = 0  # keys and clicks dropped while guarded

    @property
    def guarded(self) -> bool:
        """True while keys and clicks are still ignored."""
        return self._now() - self._quiet_since < self.guard_s

    def ignore(self) -> None:
        """A key or click arrived while guarded: dropped, said, and the wait starts again."""
        self.ignored += 1
        self._quiet_since = self._now()
        self.show_guard()

    def show_guard(self) -> None:
        """The note under the countdown: why keys do nothing yet, then that they work again."""
        note = wording.prompt_note(interrupted=self.interrupted, ignored=self.ignored, guarded=self.guarded)
        label = self._label("prompt-note")
        if label is not None and note != self._note:
            self._note = note
            label.update(note)

    def _label(self, name: str) -> Label | None:
        """One of the prompt's labels, or None while the prompt is not all there: coming up, or
        being taken down (the countdown is redrawn every second, and as the session changes)."""
        if not self.is_mounted:
            return None
        return next(iter(self.query(f"#{name}").results(Label)), None)

    def compose(self) -> ComposeResult:
        title, stay, leave = wording.prompt_words(self.GUEST)
        with Vertical(id="prompt"):
            yield Label(title, id="prompt-title")
            yield Label("-:--", id="prompt-remaining")
            yield Label(
                wording.prompt_note(interrupted=self.interrupted, ignored=0, guarded=self.guard_s > 0),
                id="prompt-note",
            )
            with Horizontal(id="prompt-buttons"):
                yield Button(f"{stay} (y)", id="stay", variant="primary")
                yield Button(f"{leave} (n)", id="leave", variant="error")
            yield CaptionBar()  # in the dialog, where the audience is looking, not dimmed under it
        yield FittingFooter(compact=True)

    def on_mount(self) -> None:
        # Hidden as it came up (the engine refreshed meanwhile): its buttons are gone already.
        if self.is_attached and self in self.app.screen_stack:
            self.query_one("#stay", Button).focus()

    def on_screen_resume(self) -> None:
        # Hidden by the engine while the QA panel covered it: it closes itself now. Only if it is
        # in front: one dismissed already (as it came up) would pop the screen under it instead.
        if not self._still_wanted(self) and self.app.screen is self:
            self.dismiss(None)

    def show_remaining(self, seconds: float | None) -> None:
        label = self._label("prompt-remaining")
        if label is not None:
            label.update(f"{wording.format_remaining(seconds)} left")

    # Keys never get this far while guarded (the app drops them first); a click does.
    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self._answer(event.button.id == "stay")

    def action_stay(self) -> None:
        self._answer(True)

    def action_leave(self) -> None:
        self._answer(False)

    def _answer(self, stay: bool) -> None:
        if self.guarded:
            self.ignore()
            return
        self.dismiss(stay)


class GuestExpiryPrompt(ExpiryPrompt):
    GUEST = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "stay", "Keep my session", priority=True),
        Binding("n", "leave", "End session", priority=True),
    ]


def expiry_prompt(
    guest: bool,
    still_wanted: Callable[[ExpiryPrompt], bool] | None = None,
    *,
    now: Callable[[], float] = lambda: 0.0,
    guard_s: float = 0.0,
    interrupted: bool = False,
) -> ExpiryPrompt:
    kind = GuestExpiryPrompt if guest else ExpiryPrompt
    return kind(still_wanted, now=now, guard_s=guard_s, interrupted=interrupted)
