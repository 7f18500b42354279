"""The bar a director (tui.app.Director: a scenario played or recorded) speaks through: a caption
for the audience, the keys just pressed as keycaps, and the director's state. Hidden unless a
scenario is playing or recording."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static


@dataclass(frozen=True, slots=True)
class Caption:
    """One bar's worth: what is said, the keys just pressed, and the director's own state line."""

    text: str = ""
    keys: str = ""  # shown as keycaps, e.g. "b" or "L H R"
    status: str = ""  # e.g. "▶ tour · step 5 of 40 · space pause · → step · q stop"
    tone: str = "say"  # say | keys | time | check | fail | done: the bar's colour


_TONES = ("say", "keys", "time", "check", "fail", "done")


class CaptionBar(Static):
    def __init__(self) -> None:
        super().__init__("", classes="caption-bar")
        self.display = False
        self._shown: Caption | None = None

    def show(self, caption: Caption | None) -> None:
        if caption == self._shown:
            return
        self._shown = caption
        self.display = caption is not None
        if caption is None:
            return
        for tone in _TONES:
            self.set_class(tone == caption.tone, f"-{tone}")
        self.update(render(caption))


def render(caption: Caption) -> Text:
    text = Text()
    if caption.status:
        text.append(caption.status, style="dim")
        text.append("\n")
    if caption.keys:
        for key in caption.keys.split():
            text.append(f" {key} ", style="reverse bold")
            text.append(" ")
        text.append(" ")
    text.append(caption.text, style="bold")
    return text
