"""The always-visible session countdown. It draws what it is given (`show`): the app hands it
the words (tui.wording) once a second, and only this widget is repainted, only when they change.
"""

from __future__ import annotations

from textual.widgets import Static

URGENCIES = ("ok", "warn", "critical", "paused", "offline", "idle")


class Countdown(Static):
    DEFAULT_CLASSES = "idle"

    def __init__(self) -> None:
        super().__init__("⏱ -:--  connecting…", id="countdown")
        self._last: tuple[str, str] | None = None

    def show(self, text: str, urgency: str) -> None:
        if (text, urgency) == self._last:
            return  # nothing changed: no repaint at all
        self._last = (text, urgency)
        self.update(text, layout=False)  # one line, full width: its size never changes
        for name in URGENCIES:
            self.set_class(name == urgency, name)
