"""The frame every screen shares (header, countdown, banner, a scrolling body, footer) and its
flow kind.

A screen says whether it is an active flow (a booking step: the prompt appears near expiry) or a
passive screen (a silent refresh for an active user); the app tells the session manager. The body
scrolls, so every field and button stays reachable in a small terminal.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import cast

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Header

from tui.keeper import Keeper
from tui.messages import FlowEntered
from tui.widgets.banner import Banner
from tui.widgets.caption_bar import CaptionBar
from tui.widgets.countdown import Countdown
from tui.widgets.footer import FittingFooter


class AppScreen(Screen[None]):
    ACTIVE_FLOW = False
    QA_TOOL = False  # the QA panel: keys pressed there are not user activity

    @property
    def keeper(self) -> Keeper:
        return cast(Keeper, self.app)

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Countdown()
        yield Banner()
        with VerticalScroll(classes="body"):
            yield from self.compose_body()
        yield CaptionBar()
        yield FittingFooter(compact=True)

    def compose_body(self) -> Iterable[Widget]:
        return ()

    # Textual calls an `on_*` handler of every class in the MRO, so subclasses do not define
    # their own `on_screen_resume`: they override `resumed()`, which runs first.
    def on_screen_resume(self) -> None:
        self.resumed()
        if not self.QA_TOOL:  # the QA panel keeps the flow kind of the screen it covers
            self.post_message(FlowEntered(active_flow=self.ACTIVE_FLOW))
        self.keeper.refresh_chrome()

    def ticked(self) -> None:
        """The app's once-a-second tick, while this screen is in front: in the same callback as
        the countdown's repaint, so what a screen redraws each second costs one screen update."""

    def resumed(self) -> None:
        """The screen is current again (opened, or uncovered)."""

    @contextlib.contextmanager
    def busy(self, widget: Widget) -> Iterator[None]:
        """`widget` shows a loading indicator while the block runs (a call is out).

        The block may outlive the screen: leaving it cancels its workers, and the cancellation
        reaches the block once the widgets are already gone. The indicator is cleared only on a
        widget still in the DOM; touching a removed one raises NoScreen and ends the app.
        """
        widget.loading = True
        try:
            yield
        finally:
            if widget.is_attached:
                widget.loading = False
