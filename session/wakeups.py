"""The session manager's wake-ups: one timer to the next moment the engine cares about, and the
noticing of a machine that slept.

The timer is armed from the deadline (`engine.next_wakeup()`), never counted down, and runs on the
event loop's clock. That clock (CLOCK_MONOTONIC) stops while the machine sleeps, and the session's
(CLOCK_BOOTTIME) does not: a growing gap between the two is a sleep, which the manager takes for
what it is, a time away (rule 9).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sessionkeeper.session.clock import Clock, asleep_offset, skip_offset

# A timer fires this long after its moment, so that the moment has passed when it is looked at.
_LATE_S = 0.001


class Wakeups:
    """Arms, re-arms and cancels the one timer; `on_wake(due)` is called when it fires."""

    def __init__(
        self,
        clock: Clock,
        on_wake: Callable[[float], None],
        *,
        stop_gap_s: float,
        enabled: bool = True,
        watch_sleep: bool | None = None,
        loop_time: Callable[[], float] | None = None,
    ) -> None:
        """`enabled`: False in tests that tick by hand. `watch_sleep`: look for a sleep (by
        default, when enabled; the scenario runner ticks by hand and still looks). `loop_time`:
        the clock the timer runs on (the event loop's, by default); tests give one that lags the
        session clock, as a machine's sleep makes the real one do. `stop_gap_s`: a gap this large
        between the two is a sleep."""
        self._clock = clock
        self._on_wake = on_wake
        self._stop_gap_s = stop_gap_s
        self.enabled = enabled
        self.watch_sleep = enabled if watch_sleep is None else watch_sleep
        self._loop_time = loop_time
        self._timer: asyncio.TimerHandle | None = None
        self._due = float("inf")
        self._drift: float | None = None  # session clock minus loop clock, as last seen

    @property
    def due(self) -> float:
        """When the armed timer is due (session clock); infinity when none is armed."""
        return self._due

    @property
    def armed_in(self) -> float | None:
        """Seconds of loop time until the timer fires, or None when none is armed."""
        if self._timer is None:
            return None
        return self._timer.when() - asyncio.get_running_loop().time()

    def arm(self, when: float | None) -> None:
        """Be woken at `when` (session clock), or never (None). A timer already due no later is
        kept: accepted calls push the deadline later, so this is the common case, and costs a call
        nothing; when it fires early, the engine finds nothing due and the next one is armed."""
        if not self.enabled:
            return
        if when is None:
            self.disarm()
            return
        if self._timer is not None and self._due <= when:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_later(max(0.0, when - self._clock.now()) + _LATE_S, self._fire)
        self._due = when

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._due = float("inf")

    def skipped(self) -> None:
        """The QA clock skipped ahead on purpose: not a sleep, and the timer is re-armed afresh."""
        self.disarm()
        self._drift = None

    def slept(self, now: float | None = None, *, peek: bool = False) -> bool:
        """True when the session clock ran ahead of the event loop's since the last look: the
        machine slept. Only with wake-ups of our own to keep true. `now`: the session clock's
        reading, when the caller has just made it. `peek`: look without it counting as a look
        (the next one still sees the sleep)."""
        if not self.watch_sleep:
            return False
        try:
            loop_now = self._loop_time() if self._loop_time else asyncio.get_running_loop().time()
        except RuntimeError:
            return False
        # A QA skip ahead moves the session clock on purpose: it is not a sleep (a QA sleep is).
        if now is None:
            now = self._clock.now()
        drift = now - (skip_offset(self._clock) - asleep_offset(self._clock)) - loop_now
        previous = self._drift
        if not peek:
            self._drift = drift
        return previous is not None and drift - previous > self._stop_gap_s

    def _fire(self) -> None:
        due = self._due
        self._timer = None
        self._on_wake(due)
