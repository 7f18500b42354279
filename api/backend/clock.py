"""The server's clock: an injected base time source plus a QA offset that only moves forward.

Everything in the backend that depends on time reads it here, so tests and QA move time
with `/__qa/clock` (or a fake base clock) instead of sleeping.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class ServerClock:
    """`now()` is `base() + offset`; `advance()` grows the offset."""

    def __init__(self, base: Callable[[], float] | None = None) -> None:
        self._base: Callable[[], float] = base if base is not None else time.monotonic
        self._offset = 0.0

    @property
    def offset(self) -> float:
        return self._offset

    def now(self) -> float:
        return self._base() + self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward; time never runs backwards, or dead sessions could revive."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"advance_s must be a finite number >= 0, got {seconds!r}")
        self._offset += seconds
        return self.now()
