"""A banner under the countdown for conditions that last (offline, the server failing, a disk that
refuses writes): shown while its cause lasts, gone as soon as it clears."""

from __future__ import annotations

from textual.widgets import Static


class Banner(Static):
    def __init__(self) -> None:
        super().__init__("", id="banner")
        self.display = False
        self._text: str | None = None

    def say(self, text: str | None) -> None:
        if text == self._text:
            return
        self._text = text
        self.display = bool(text)
        if text:
            self.update(text)

    @property
    def text(self) -> str | None:
        return self._text
