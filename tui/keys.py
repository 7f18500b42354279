"""Keys typed during a screen change: they wait, then go to the screen that comes, in order.

A screen asks for a change by posting a `tui.messages.Navigation`; the app carries it out in its
own loop, a moment later. Keys typed in the same burst as the key that asked (Esc and Enter at
once; Ctrl+N and the next field's text) belong to the screen that comes, and the screen that is
leaving would swallow them, or type them into its own form. So from the moment a change is asked
for until it is carried out, keys (and pastes) from the terminal wait here; then they go on one
at a time, in the order typed, each after the change before it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from textual import events
from textual.message import Message
from textual.timer import Timer

from sessionkeeper.tui.messages import Navigation

# A change not carried out within this long (a message nobody handled) lets its keys go anyway:
# waiting keys must never be lost either. Said on the timeline; the monkey test expects never to.
CHANGE_BOUND_S = 2.0

Input = events.Key | events.Paste


class ScreenChangeKeys:
    def __init__(
        self,
        post: Callable[[Message], bool],
        set_timer: Callable[[float, Callable[[], None]], Timer],
        record: Callable[..., None],
    ) -> None:
        """`post` queues a message for the app; `set_timer` and `record` are the app's."""
        self._post = post
        self._set_timer = set_timer
        self._record = record
        self._changes: set[int] = set()  # ids of the changes asked for, not yet carried out
        self._waiting: deque[Input] = deque()  # in the order typed
        self._delivering: int | None = None  # the waiting key sent on now, until the app takes it
        self._overdue: Timer | None = None
        self.overdue = 0  # changes asked for and never carried out (a bug if not 0)

    def asked(self, message: Navigation) -> None:
        """A change was asked for (a screen posted it, or the command palette did)."""
        if not self._changes:
            self._overdue = self._set_timer(CHANGE_BOUND_S, self._change_overdue)
        self._changes.add(id(message))

    def done(self, message: Navigation) -> None:
        """A change was carried out (or could not be): the keys that waited go on."""
        self._changes.discard(id(message))
        if not self._changes:
            if self._overdue is not None:
                self._overdue.stop()
                self._overdue = None
            self._deliver_next()

    def waits(self, event: Input) -> bool:
        """True if `event`, from the terminal, must wait its turn (it is queued here)."""
        if id(event) == self._delivering:
            self._delivering = None
            if self._changes:  # a change was asked for since it was sent on: first in line again
                self._waiting.appendleft(event)
                return True
            return False
        if self._changes or self._waiting or self._delivering is not None:
            self._waiting.append(event)
            return True
        return False

    def is_delivery(self, event: Input) -> bool:
        """True for a waiting key sent on now: once the app has taken it, call `taken()`."""
        return id(event) == self._delivering

    def taken(self) -> None:
        """The key sent on was taken: the next one goes, unless that key changed the screen."""
        self._deliver_next()

    def _change_overdue(self) -> None:
        self._overdue = None
        if self._changes:
            self.overdue += 1
            self._record("screen_change_overdue", pending=len(self._changes))
            self._changes.clear()
            self._deliver_next()

    def _deliver_next(self) -> None:
        if self._changes or self._delivering is not None or not self._waiting:
            return
        waiting = self._waiting.popleft()
        again: Input = (
            events.Key(waiting.key, waiting.character)
            if isinstance(waiting, events.Key)
            else events.Paste(waiting.text)
        )
        self._delivering = id(again)
        self._post(again)
