"""Messages that travel up from screens to the app (attributes travel down).

Screens never move between screens themselves: they post one of these and the app does it in its
own message loop. A screen that awaited its own replacement would wait for itself forever.

A `Navigation` changes the screen in front. Keys typed after one is posted and before the app has
carried it out wait, and then go to the screen that came: a key typed after a screen change is
never lost to the screen that was leaving (tui.app, "keys during a screen change").
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


class Navigation(Message):
    """A message that changes the screen in front."""


@dataclass
class FlowEntered(Message):
    """A screen became current: an active flow (booking step) or a passive screen."""

    active_flow: bool


@dataclass
class SignInSucceeded(Navigation):
    username: str


@dataclass
class OpenFlow(Navigation):
    """Open the booking flow at `step`; None: at the saved draft's step (or the start)."""

    step: str | None = None


@dataclass
class NextStep(Navigation):
    """A booking step is done: push the screen of `step` over it."""

    step: str


@dataclass
class GoHome(Navigation):
    """Back to the home screen, closing whatever is open above it."""


@dataclass
class ShowSignIn(Navigation):
    """Open the sign-in screen (replacing the current one when `replace`)."""

    replace: bool = False


@dataclass
class ShowBookings(Navigation):
    """Open "My bookings"."""


@dataclass
class EndSession(Message):
    """The user chose to sign out (a guest: to end the session)."""


@dataclass
class RunQA(Message):
    """Run a QA action by name (see api.qa.ACTIONS)."""

    name: str


@dataclass
class GoBack(Navigation):
    """Close the current screen and go back to the one under it."""


@dataclass
class PinExpectation(Message):
    """While recording a scenario: expect what is true now (the QA panel's `p`)."""
