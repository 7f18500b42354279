"""The always-visible session countdown: remaining time, state, guest or user; colour by urgency.

It draws only what it is given (`show`): the app hands it the engine's view once a second, and
only this widget is repainted.
"""

from __future__ import annotations

from textual.widgets import Static

from session.engine import SessionView, State
from session.events import SessionKind

_LABELS = {
    State.NO_SESSION: "no session",
    State.ACTIVE: "active",
    State.WARNING: "warning",
    State.REFRESHING: "refreshing",
    State.RECOVERING: "re-authenticating",
    State.PAUSED: "paused",
    State.EXPIRED: "expired",
    State.SIGNED_OUT: "signed out",
}
_URGENCY = ("ok", "warn", "critical", "paused", "offline", "idle")


def format_remaining(seconds: float | None) -> str:
    if seconds is None:
        return "-:--"
    whole = max(0, int(seconds))  # floor: never show more time than there is
    return f"{whole // 60}:{whole % 60:02d}"


def describe(view: SessionView, user: str | None) -> tuple[str, str]:
    """The countdown's text and its urgency class."""
    state = _LABELS[view.state]
    if view.offline:
        state = f"{state} · offline"
    who = (
        f"user {user}" if view.kind is SessionKind.USER and user else (view.kind.value if view.kind else "-")
    )
    text = f"⏱ {format_remaining(view.remaining_s)}  {state}  ·  {who}"
    if view.offline:
        urgency = "offline"
    elif view.state is State.PAUSED:
        urgency = "paused"
    elif view.remaining_s is None or view.state in (State.NO_SESSION, State.SIGNED_OUT):
        urgency = "idle"
    elif view.remaining_s <= min(10.0, view.warn_s / 2) or view.state is State.EXPIRED:
        urgency = "critical"
    elif view.remaining_s <= view.warn_s:
        urgency = "warn"
    else:
        urgency = "ok"
    return text, urgency


class Countdown(Static):
    DEFAULT_CLASSES = "idle"

    def __init__(self) -> None:
        super().__init__("⏱ -:--  starting…", id="countdown")
        self._last: tuple[str, str] | None = None

    def show(self, view: SessionView, user: str | None) -> None:
        text, urgency = describe(view, user)
        if (text, urgency) == self._last:
            return  # nothing changed: no repaint at all
        self._last = (text, urgency)
        self.update(text)
        for name in _URGENCY:
            self.set_class(name == urgency, name)
