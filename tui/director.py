"""What drives the app from outside its user: a scenario played to an audience or a session being
recorded (tui.scenario.play, tui.scenario.record). The app knows only this small interface: it
starts the director once the session runs, offers it each key the user presses, and tells it when
the app goes to the background and comes back. A director talks to the audience through captions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from textual import events

    from tui.app import SessionKeeperApp


@dataclass(frozen=True, slots=True)
class Caption:
    """One bar's worth: what is said, the keys just pressed, and the director's own state line."""

    text: str = ""
    keys: str = ""  # shown as keycaps, e.g. "b" or "L H R"
    status: str = ""  # e.g. "▶ tour · step 5 of 40 · space pause · → step · q stop"
    tone: str = "say"  # say | keys | time | check | fail | done: the bar's colour


class Director(Protocol):
    records: bool  # writes what the tester does (and so takes pinned expectations)

    async def direct(self, app: SessionKeeperApp) -> None:
        """Runs for the life of the app, from the moment its session has started."""
        ...

    def key(self, event: events.Key) -> bool:
        """A key the user pressed (not one the director sent); True if the director took it."""
        ...

    def away(self, away: bool) -> None:
        """The app went to the background (focus lost, Ctrl+Z) or came back."""
        ...

    async def pin(self, app: SessionKeeperApp) -> str:
        """The tester asks (from the QA panel) to expect what is true now; what was done, in words."""
        ...
