"""The session's flights (a refresh, a silent re-authentication, a new guest session), one at a
time (rule 8): every caller that needs one waits for the one out and shares its outcome.

A flight asked for while one is out is chained behind it (a rejected refresh -> a re-auth; a new
guest after a flight abandoned at sign-out), so outcomes reach the engine in the order the engine
asked for them. What a flight does is the manager's (`attempt`); this holds only the running of them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sessionkeeper.session.kinds import SessionFlight


@dataclass(frozen=True, slots=True)
class FlightOutcome:
    flight: SessionFlight
    ok: bool
    error: BaseException | None = None


class FlightReentry(RuntimeError):
    """A call made from inside the session's own flight: it would wait for that flight forever.
    A bug in the wiring (the session port sends through the session middleware), never the
    server's doing; every caller waiting on the flight sees it too."""

    def __init__(self) -> None:
        super().__init__(
            "a call was made from inside the session's own refresh or recovery, which it would wait "
            "for forever: the session port must not send through the session middleware"
        )


class Flights:
    def __init__(
        self, attempt: Callable[[SessionFlight], Awaitable[FlightOutcome]], on_idle: Callable[[], None]
    ) -> None:
        """`attempt(flight)` carries one flight out; `on_idle()` is called when none is out any more
        (the engine's next moment to wake for may have changed)."""
        self._attempt = attempt
        self._on_idle = on_idle
        self._task: asyncio.Task[FlightOutcome] | None = None
        self._chained: deque[SessionFlight] = deque()

    @property
    def in_progress(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, flight: SessionFlight) -> None:
        if self.in_progress:
            self._chained.append(flight)
            return
        self._task = asyncio.get_running_loop().create_task(self._run(flight))

    async def wait(self) -> FlightOutcome | None:
        """The outcome of the flight out (and any chained behind it), or None if none is out."""
        task = self._task
        if task is None:
            return None
        self.refuse_reentry()
        return await asyncio.shield(task)

    def refuse_reentry(self) -> None:
        """A call from inside the flight's own task would wait for it forever: refused at once."""
        task = self._task
        if task is not None and not task.done() and asyncio.current_task() is task:
            raise FlightReentry()

    async def cancel(self) -> None:
        """Cancel the flight out (the manager is closing) and wait for it to end."""
        task = self._task
        if task is None:
            return
        task.cancel()
        # Cancelled, or failed: either way it is over, and nothing waits on it any more.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    async def _run(self, flight: SessionFlight) -> FlightOutcome:
        try:
            while True:
                outcome = await self._attempt(flight)
                if not self._chained:
                    return outcome
                flight = self._chained.popleft()
        finally:
            self._chained.clear()  # empty unless cancelled (at close): nothing is left to send
            self._task = None
            self._on_idle()
