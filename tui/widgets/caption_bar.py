"""The bar a director speaks through (tui.director): a caption for the audience, the keys just
pressed as keycaps, and the director's state. Hidden unless a scenario is playing or recording."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

if TYPE_CHECKING:
    from tui.director import Caption

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
