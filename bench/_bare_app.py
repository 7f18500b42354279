"""The baseline for bench/tui.py: a bare Textual app with the home screen's widgets and the app's
own stylesheet (tui/app.tcss), started the same way, doing none of the app's work: no backend, no
session, no clients, no project module imported."""

from pathlib import Path
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Button, Footer, Header, Static

STYLESHEET = Path(__file__).resolve().parent.parent / "tui" / "app.tcss"


class Bare(App[None]):
    TITLE = "sessionkeeper"
    CSS_PATH = STYLESHEET
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "noop", "QA panel", priority=True),
        Binding("b", "noop", "Book"),
        Binding("m", "noop", "Bookings"),
        Binding("s", "noop", "Sign in"),
    ]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static("⏱ -:--  connecting…", id="countdown", classes="idle")
        banner = Static("", id="banner")
        banner.display = False
        yield banner
        with VerticalScroll(classes="body"), Vertical(id="home"):
            yield Static("Welcome to SK Air", id="home-title")
            yield Static("Connecting to SK Air…", id="profile")
            yield Static("No booking in progress.", id="draft-summary")
            yield Button("Book a flight (b)", id="book", variant="primary")
            continue_button = Button("Continue your booking (c)", id="continue")
            continue_button.display = False
            yield continue_button
            yield Button("My bookings (m)", id="bookings")
            yield Button("Sign in (s)", id="sign")
        yield Footer(compact=True)

    def action_noop(self) -> None:
        pass


if __name__ == "__main__":
    Bare().run()
