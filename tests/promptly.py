"""`promptly(work)`: run what might block for good (a FIFO, a write nobody reads) so that a test
fails instead of hanging. The work runs in a daemon thread, which the test run can leave behind."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Far longer than the work takes when nothing blocks; only a regression ever waits it out.
LIMIT_S = 30.0


def promptly(work: Callable[[], T], *, limit_s: float = LIMIT_S) -> T:
    """`work()`'s result, or its exception; an AssertionError if it is still running after `limit_s`."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name="promptly", daemon=True)
    thread.start()
    thread.join(limit_s)  # returns as soon as the work is done
    assert not thread.is_alive(), f"still blocked after {limit_s:g} s"
    if failure:
        raise failure[0]
    return outcome[0]
