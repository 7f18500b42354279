"""What the app's own helpers (the presenter, the navigator, presence, the QA runner, the crash
report, the palette's commands) may use of the app: the screens' interface (`Keeper`) and the few
Textual members they drive. Typed against this rather than the App class, they sit below tui.app
in the import graph (tui.app makes them; they never import it), and the contracts in
pyproject.toml keep it so."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sessionkeeper.tui.keeper import Keeper

if TYPE_CHECKING:
    from textual.await_complete import AwaitComplete
    from textual.message import Message
    from textual.notifications import SeverityLevel
    from textual.screen import Screen
    from textual.timer import Timer

    from sessionkeeper.tui.services import Services


class Away(Protocol):
    """A scenario being played or recorded, as presence tells it of focus lost and back."""

    def away(self, away: bool) -> None: ...


class GoesHome(Protocol):
    async def back_home(self) -> None: ...


class KeysSeen(Protocol):
    @property
    def last_key_at(self) -> float | None: ...


class Host(Keeper, Protocol):
    # -- Textual's -------------------------------------------------------------------------------
    @property
    def screen(self) -> Screen[Any]: ...
    @property
    def screen_stack(self) -> list[Screen[Any]]: ...
    @property
    def app_focus(self) -> bool: ...
    def push_screen(self, screen: Screen[Any], callback: Callable[[Any], Any] | None = None) -> Any: ...
    def pop_screen(self) -> AwaitComplete: ...
    def switch_screen(self, screen: Screen[Any]) -> AwaitComplete: ...
    def post_message(self, message: Message) -> bool: ...
    def call_later(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> bool: ...
    def set_timer(self, delay: float, callback: Callable[[], Any] | None = None) -> Timer: ...
    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None: ...

    # -- the app's own ---------------------------------------------------------------------------
    @property
    def services(self) -> Services: ...
    @property
    def reports_dir(self) -> Path | None: ...
    @property
    def director(self) -> Away | None: ...
    @property
    def navigator(self) -> GoesHome: ...
    @property
    def presence(self) -> KeysSeen: ...
    def record(self, name: str, **detail: Any) -> None: ...
    def refresh_countdown(self) -> None: ...
    def action_qa_panel(self) -> Any: ...
