"""The baseline for bench/tui.py: a bare Textual app showing one label, started the same way."""

from textual.app import App, ComposeResult
from textual.widgets import Label


class Bare(App[None]):
    def compose(self) -> ComposeResult:
        yield Label("⏱ 1:00  bare")


if __name__ == "__main__":
    Bare().run()
