"""A one-line banner under the header for conditions that last: offline, backend errors, sign-out."""

from __future__ import annotations

from textual.widgets import Static


class Banner(Static):
    def __init__(self) -> None:
        super().__init__("", id="banner")
        self.display = False

    def say(self, text: str | None, kind: str = "error") -> None:
        if not text:
            self.display = False
            return
        self.update(text)
        self.set_class(kind == "error", "error")
        self.set_class(kind == "info", "info")
        self.display = True
