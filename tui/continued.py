"""A stop from outside ends with a SIGCONT: `kill -STOP` then `-CONT` from another shell, a
debugger that let go, the QA freeze. Textual's own SIGCONT handler acts only after its own Ctrl+Z;
this one tells every running app, in the signal handler itself, before the loop runs anything it
had due (a late timer, the heartbeat), so the time away is measured from before the stop.

What a listener does there must be safe at any point of the program: set a flag, nothing more
(`SessionManager.continued`). Textual's handler, or whatever was there before, still runs after it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

_listeners: list[Callable[[], None]] = []
_previous: Any = signal.SIG_DFL


def _on_sigcont(signum: int, frame: FrameType | None) -> None:
    for listener in list(_listeners):
        with contextlib.suppress(Exception):  # a signal handler must not raise into the app
            listener()
    if callable(_previous):
        _previous(signum, frame)


def listen(listener: Callable[[], None]) -> Callable[[], None]:
    """Call `listener` on each SIGCONT from now on; returns what stops it. Only the main thread can
    set a handler: elsewhere nothing is set up, and a stop is still found from a late wake-up."""
    global _previous
    if not hasattr(signal, "SIGCONT") or threading.current_thread() is not threading.main_thread():
        return lambda: None
    current = signal.getsignal(signal.SIGCONT)
    if current is not _on_sigcont:  # first, or a driver made since set its own: keep it behind ours
        _previous = current
        signal.signal(signal.SIGCONT, _on_sigcont)
    _listeners.append(listener)

    def stop() -> None:
        with contextlib.suppress(ValueError):
            _listeners.remove(listener)

    return stop
