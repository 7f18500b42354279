"""What a screen may use of the app: a small, typed interface instead of the whole App.

Screens read through it (attributes down) and post `tui.messages` to move (messages up).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Coroutine
from types import EllipsisType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from sessionkeeper.api.client import BackendClient
    from sessionkeeper.api.drafts import BookingDrafts, LocalDraft
    from sessionkeeper.api.errors import ApiError
    from sessionkeeper.api.qa.desk import QADesk
    from sessionkeeper.session.engine import SessionView
    from sessionkeeper.tui.messages import Navigation
    from sessionkeeper.tui.remaining_history import RemainingHistory
    from sessionkeeper.tui.settings import Settings


T = TypeVar("T")


class Keeper(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def client(self) -> BackendClient | None:
        """The session, its REST and GraphQL clients; None until the session has started."""
        ...

    @property
    def drafts(self) -> BookingDrafts | None: ...

    @property
    def qa(self) -> QADesk | None: ...

    @property
    def history(self) -> RemainingHistory:
        """Remaining time on both sides over the last minutes (the QA panel's chart)."""
        ...

    @property
    def recording(self) -> bool:
        """A scenario is being recorded (tui.scenario.record): the QA panel can pin expectations."""
        ...

    @property
    def navigating_home(self) -> bool:
        """True while screens are closed on the way home: the ones uncovered are not being opened."""
        ...

    def view(self) -> SessionView | None:
        """The session as of now; None until it has started."""
        ...

    def now(self) -> float:
        """The session clock (QA skips included)."""
        ...

    def today(self) -> dt.date: ...

    def saved_draft(self) -> LocalDraft | None:
        """The draft of whoever holds the session now."""
        ...

    def save_draft(
        self,
        step: str,
        updates: dict[str, Any] | None = None,
        *,
        push: bool = False,
        based_on: int | EllipsisType | None = ...,
    ) -> LocalDraft | None:
        """Save the holder's draft locally at once (rule 11); steps are pushed to the server too.
        `based_on`: the revision the caller shows (None: none); another window's newer draft then
        raises DraftConflict and nothing is written. `...`: merged into the latest, whoever saved
        it. The draft saved, or None when the disk refused (said on the banner)."""
        ...

    async def push_draft(self) -> str | None:
        """Send the draft to the server; its server id, or None when the server cannot take it."""
        ...

    def report(self, exc: ApiError, where: str) -> None:
        """A call failed: its technical detail goes on the timeline (the screen says it plainly)."""
        ...

    def refresh_chrome(self) -> None:
        """Redraw the countdown and the banner now, not at the next tick."""
        ...

    @property
    def last_qa_result(self) -> str | None:
        """What the latest QA action did, in the panel's words; None before the first."""
        ...

    def screen_change_asked(self, message: Navigation) -> None:
        """A screen posted a `Navigation`: keys wait for the screen that comes."""
        ...

    def run_qa(self, name: str) -> None:
        """Run a QA action to its end, panel open or not; its result is said when it is done."""
        ...

    def to_the_end(self, coro: Coroutine[Any, Any, T], *, finish_on_quit: bool = False) -> asyncio.Task[T]:
        """Run `coro` to its end whatever becomes of the screen that started it (leaving a screen
        cancels its workers): a payment, a QA action. Await it through `asyncio.shield`. An error
        other than an ApiError ends the app as any unhandled error does. `finish_on_quit`: quitting
        waits for it (up to the call deadline) rather than cancelling it (a payment the server may
        have taken must reach the draft)."""
        ...
