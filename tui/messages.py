"""Messages that travel up from screens to the app (attributes travel down).

Screens never move between screens themselves: they post one of these and the app does it in its
own message loop. A screen that awaited its own replacement would wait for itself forever.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class FlowEntered(Message):
    """A screen became current: an active flow (booking step) or a passive screen."""

    active_flow: bool


@dataclass
class SignInSucceeded(Message):
    username: str


@dataclass
class OpenFlow(Message):
    """Open the booking flow at `step`; None: at the saved draft's step (or the start)."""

    step: str | None = None


@dataclass
class NextStep(Message):
    """A booking step is done: push the screen of `step` over it."""

    step: str


@dataclass
class GoHome(Message):
    """Back to the home screen, closing whatever is open above it."""


@dataclass
class ShowSignIn(Message):
    """Open the sign-in screen (replacing the current one when `replace`)."""

    replace: bool = False


@dataclass
class ShowBookings(Message):
    """Open "My bookings"."""


@dataclass
class EndSession(Message):
    """The user chose to sign out (a guest: to end the session)."""


@dataclass
class RunQA(Message):
    """Run a QA action by name (see api.qa.ACTIONS)."""

    name: str


@dataclass
class GoBack(Message):
    """Close the current screen and go back to the one under it."""


@dataclass
class PinExpectation(Message):
    """While recording a scenario: expect what is true now (the QA panel's `p`)."""
