"""The frame every screen shares (header, countdown, banner, a scrolling body, footer) and its
flow kind.

A screen says whether it is an active flow (a booking step: the prompt appears near expiry) or a
passive screen (a silent refresh for an active user); the app tells the session manager. The body
scrolls, so every field and button stays reachable in a small terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Concatenate, ParamSpec, TypeVar, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Header
from textual.worker import Worker

from sessionkeeper.tui.messages import FlowEntered, Navigation
from sessionkeeper.tui.widgets.banner import Banner
from sessionkeeper.tui.widgets.caption_bar import CaptionBar
from sessionkeeper.tui.widgets.countdown import Countdown
from sessionkeeper.tui.widgets.footer import FittingFooter

if TYPE_CHECKING:
    # A Protocol: a type for the checker only (building its class costs every start ~1 ms).
    from sessionkeeper.tui.keeper import Keeper

T = TypeVar("T")
P = ParamSpec("P")
S = TypeVar("S", bound="AppScreen")


def screen_work(
    *, group: str, exclusive: bool = True
) -> Callable[
    [Callable[Concatenate[S, P], Coroutine[Any, Any, None]]], Callable[Concatenate[S, P], Worker[None]]
]:
    """`@work` for a screen's calls: a worker that starts after its screen was left (popped in the
    moment between asking and starting) does nothing; its widgets are going."""

    def decorate(
        method: Callable[Concatenate[S, P], Coroutine[Any, Any, None]],
    ) -> Callable[Concatenate[S, P], Worker[None]]:
        @functools.wraps(method)
        async def start(screen: S, *args: P.args, **kwargs: P.kwargs) -> None:
            if not screen.gone:
                await method(screen, *args, **kwargs)

        return work(start, group=group, exclusive=exclusive)

    return decorate


class Body(VerticalScroll):
    """The scrolling middle of every screen. Not a Tab stop: a stop that shows nothing took the
    keys typed there (Tab from Pay landed on it, then the card number went nowhere). Focusing a
    field scrolls it into view; PageUp and PageDown scroll the page."""

    can_focus = False


class AppScreen(Screen[None]):
    ACTIVE_FLOW = False
    QA_TOOL = False  # the QA panel: keys pressed there are not user activity
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        # The app's Ctrl+Q, which Firefox keeps (tui.widgets.footer.BROWSER_KEEPS): in a browser
        # the footer shows this one.
        Binding("alt+q", "app.quit", "Quit", show=False, priority=True),
    ]

    @property
    def keeper(self) -> Keeper:
        return cast("Keeper", self.app)

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Countdown()
        yield Banner()
        with Body(classes="body"):
            yield from self.compose_body()
        yield CaptionBar()
        yield FittingFooter(compact=True)

    def compose_body(self) -> Iterable[Widget]:
        return ()

    def action_page(self, direction: int) -> None:
        body = self.query_one(Body)
        if direction < 0:
            body.scroll_page_up()
        else:
            body.scroll_page_down()

    # Textual calls an `on_*` handler of every class in the MRO, so subclasses do not define
    # their own `on_screen_resume`: they override `resumed()`, which runs first.
    def on_screen_resume(self) -> None:
        self.resumed()
        if not self.QA_TOOL:  # the QA panel keeps the flow kind of the screen it covers
            self.post_message(FlowEntered(active_flow=self.ACTIVE_FLOW))
        self.keeper.refresh_chrome()

    def on_mount(self) -> None:
        # A screen can be left before it is mounted (a prompt hidden as it comes up, a key that
        # changed the screen twice): then its widgets are already gone, and it starts nothing.
        if not self.gone:
            self.mounted()

    def mounted(self) -> None:
        """The screen's own start, its widgets there: focus, what it loads."""

    def ticked(self) -> None:
        """The app's once-a-second tick, while this screen is in front: in the same callback as
        the countdown's repaint, so what a screen redraws each second costs one screen update."""

    def resumed(self) -> None:
        """The screen is current again (opened, or uncovered)."""

    def post_message(self, message: Message) -> bool:
        if isinstance(message, Navigation):
            # Said at once, not when the message reaches the app: keys that arrive in between
            # must wait for the screen that comes (tui.app, "keys during a screen change").
            self.keeper.screen_change_asked(message)
        return super().post_message(message)

    @property
    def gone(self) -> bool:
        """Left for good (popped, switched away, the app ending): its widgets are being removed,
        or are gone. A screen merely covered (by the QA panel, the prompt) is not gone.

        The app's end is asked first: as it ends, Textual removes each screen's widgets while the
        screens are still in the stack and attached (unless exit() was called), and work that
        finishes meanwhile would find its screen there with its widgets gone."""
        app = self.app
        return not app.is_running or not self.is_attached or self not in app.screen_stack

    async def outcome(self, call: Awaitable[T], *, busy: Widget | None = None) -> T:
        """What a call this screen made comes to (its result, or its exception), provided the screen
        is still there to show it; `busy` shows a loading indicator meanwhile.

        A call answered after the screen was left ends the worker here, as cancelled, which is what
        leaving would have done had the answer come a moment later: nothing after it touches
        widgets that are gone (the screen's children go first, the screen itself last).
        """
        try:
            if busy is None:
                result = await call
            else:
                with self.busy(busy):
                    result = await call
        except Exception:
            if self.gone:
                raise asyncio.CancelledError from None
            raise
        if self.gone:
            raise asyncio.CancelledError
        return result

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


def is_qa_tool(screen: object) -> bool:
    """The QA panel: keys pressed there are the tester's, not the person's."""
    return isinstance(screen, AppScreen) and screen.QA_TOOL


def is_active_flow(screen: object) -> bool:
    """A booking step (or the QA panel over one): near expiry, the prompt appears here."""
    return isinstance(screen, AppScreen) and screen.ACTIVE_FLOW
