"""Messages that travel up from screens to the app (attributes travel down).

Screens never move between screens themselves: they post one of these and the app does it in its
own message loop. A screen that awaited its own replacement would wait for itself forever.

A `Navigation` changes the screen in front. Keys typed after one is posted and before the app has
carried it out wait, and then go to the screen that came: a key typed after a screen change is
never lost to the screen that was leaving (tui.app, "keys during a screen change").

Plain classes, not dataclasses: the home screen imports this module before the first frame, and a
dataclass compiles its methods as its module loads (about 0.4 ms each here, for eleven messages).
"""

from __future__ import annotations

from textual.message import Message


class Navigation(Message):
    """A message that changes the screen in front."""


class FlowEntered(Message):
    """A screen became current: an active flow (booking step) or a passive screen."""

    def __init__(self, active_flow: bool) -> None:
        self.active_flow = active_flow
        super().__init__()


class SignInSucceeded(Navigation):
    def __init__(self, username: str) -> None:
        self.username = username
        super().__init__()


class OpenFlow(Navigation):
    """Open the booking flow at `step`; None: at the saved draft's step (or the start)."""

    def __init__(self, step: str | None = None) -> None:
        self.step = step
        super().__init__()


class NextStep(Navigation):
    """A booking step is done: push the screen of `step` over it."""

    def __init__(self, step: str) -> None:
        self.step = step
        super().__init__()


class GoHome(Navigation):
    """Back to the home screen, closing whatever is open above it."""


class ShowSignIn(Navigation):
    """Open the sign-in screen (replacing the current one when `replace`)."""

    def __init__(self, replace: bool = False) -> None:
        self.replace = replace
        super().__init__()


class ShowBookings(Navigation):
    """Open "My bookings"."""


class EndSession(Message):
    """The user chose to sign out (a guest: to end the session)."""


class RunQA(Message):
    """Run a QA action by name (see api.qa.actions)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__()


class GoBack(Navigation):
    """Close the current screen and go back to the one under it."""


class PinExpectation(Message):
    """While recording a scenario: expect what is true now (the QA panel's `p`)."""
