"""Clocks: the only way anything in sessionkeeper learns what time it is.

`now()` is a monotonic reading in seconds that keeps counting while the process is stopped and,
where the platform allows, while the machine sleeps (rule 3). `wall()` is calendar time, used only
for a session stored across restarts.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a clock that never jumps backwards; only differences mean anything."""
        ...

    def wall(self) -> float:
        """Seconds since the epoch; only for state that must outlive the process."""
        ...


def _boottime_reader() -> tuple[str, int | None]:
    clock_id = getattr(time, "CLOCK_BOOTTIME", None)
    if clock_id is not None:
        try:
            time.clock_gettime(clock_id)
        except OSError:  # present in the module but refused by the kernel
            clock_id = None
    return ("boottime" if clock_id is not None else "monotonic", clock_id)


class SystemClock:
    """CLOCK_BOOTTIME where the platform has it (counts suspend), else time.monotonic."""

    now: Callable[[], float]
    wall: Callable[[], float]

    def __init__(self) -> None:
        self.source, clock_id = _boottime_reader()
        # The system's own readers, with no frame of ours around them: a call reads the clock a
        # few times.
        self.now = functools.partial(time.clock_gettime, clock_id) if clock_id is not None else time.monotonic
        self.wall = time.time


class FakeClock:
    """A clock for tests: it moves only when told to."""

    def __init__(self, start: float = 1000.0, wall_start: float = 1_800_000_000.0) -> None:
        self._now = start
        self._wall = wall_start

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._wall

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a fake clock only moves forward")
        self._now += seconds
        self._wall += seconds

    def set_wall(self, wall: float) -> None:
        """Jump the wall clock alone, as a user changing the system time would."""
        self._wall = wall


class QAClock:
    """The real clock plus an offset, so QA can "skip ahead N minutes" without waiting, and have
    the machine "sleep" N minutes (`sleep`): time the session clock (CLOCK_BOOTTIME) counts and
    the monotonic one does not, as a real suspend does."""

    def __init__(self, base: Clock | None = None) -> None:
        self._base: Clock = base if base is not None else SystemClock()
        self.offset = 0.0  # all the time QA added: skips, sleeps, freezes
        self.slept = 0.0  # the part of it that was a sleep

    def now(self) -> float:
        return self._base.now() + self.offset

    def wall(self) -> float:
        return self._base.wall() + self.offset

    @property
    def base(self) -> Clock:
        return self._base

    def skip_ahead(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("skip ahead takes a non-negative number of seconds")
        self.offset += seconds

    def sleep(self, seconds: float) -> None:
        """The machine slept `seconds`: this clock jumps; the monotonic clock (the event loop's)
        does not, so the app can tell (`session.wakeups`)."""
        self.skip_ahead(seconds)
        self.slept += seconds


def asleep_offset(clock: Clock) -> float:
    """The part of `skip_offset` that was a QA sleep: time the monotonic clock did not see."""
    if isinstance(clock, QAClock):
        return clock.slept + asleep_offset(clock.base)
    return 0.0


def runs_in_real_time(clock: Clock) -> bool:
    """Whether real time moves this clock (a system clock under any QA offsets; not a fake one)."""
    return runs_in_real_time(clock.base) if isinstance(clock, QAClock) else isinstance(clock, SystemClock)


def skip_offset(clock: Clock) -> float:
    """How far QA has skipped this clock ahead of the real one (0 for any other clock). A QA clock
    on another QA clock (the scenario runner's second instance, on the first one's time) is ahead
    by both."""
    if isinstance(clock, QAClock):
        return clock.offset + skip_offset(clock.base)
    return 0.0
