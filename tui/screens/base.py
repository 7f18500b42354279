"""The frame every screen shares (header, countdown, banner, footer) and its flow kind.

A screen says whether it is an active flow (a booking step: the prompt appears near expiry) or a
passive screen (a silent refresh for an active user); the app tells the session manager.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header

from tui.messages import FlowEntered
from tui.widgets.banner import Banner
from tui.widgets.countdown import Countdown

if TYPE_CHECKING:
    from tui.app import SessionKeeperApp


class AppScreen(Screen[None]):
    ACTIVE_FLOW = False

    @property
    def keeper(self) -> SessionKeeperApp:
        return cast("SessionKeeperApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Countdown()
        yield Banner()
        yield from self.compose_body()
        yield Footer(compact=True)

    def compose_body(self) -> Iterable[Widget]:
        return ()

    def on_screen_resume(self) -> None:
        self.post_message(FlowEntered(active_flow=self.ACTIVE_FLOW))
        self.keeper.refresh_chrome(self)
