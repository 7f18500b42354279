"""The last minutes of remaining time, the client's estimate beside the server's truth, one sample
a tick, each with a mark for what happened since the one before (a refresh, a re-auth, the app
going to the background...). The QA panel draws it (tui.widgets.remaining_chart) so that an
audience sees the deadline slide, pause and jump."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

# What a timeline event is marked with, the most telling first (one mark per sample).
MARKS: tuple[tuple[str, str], ...] = (
    ("signed_out", "S"),
    ("reauth_succeeded", "A"),
    ("guest_session_started", "G"),
    ("refresh_succeeded", "R"),
    ("call_rejected", "X"),
    ("refresh_failed", "F"),
    ("backgrounded", "B"),
    ("warning", "W"),
    ("call_failed", "!"),
    ("call_answered", "·"),
)
MARK_WORDS = "R refresh  A re-auth  G new guest  S signed out  B background  W warning  X rejected  · call"
_RANK = {name: rank for rank, (name, _mark) in enumerate(MARKS)}
_MARK = dict(MARKS)


@dataclass(frozen=True, slots=True)
class Sample:
    client: float | None  # the client's remaining seconds (None: no session)
    server: float | None  # the server's, if it was read since the sample before
    paused: bool  # the app was in the background: its countdown shows paused
    mark: str  # "" or one character of MARKS


class RemainingHistory:
    def __init__(self, capacity: int = 240) -> None:
        self.samples: deque[Sample] = deque(maxlen=capacity)
        self._server: float | None = None
        self._event: str | None = None  # the most telling event since the last sample

    def event(self, name: str) -> None:
        """A timeline event happened (the timeline's listener)."""
        if name in _RANK and (self._event is None or _RANK[name] < _RANK[self._event]):
            self._event = name

    def server_seen(self, remaining: float | None) -> None:
        """The server's remaining time, as the QA panel's poll just read it."""
        self._server = remaining

    def sample(self, client: float | None, *, paused: bool) -> None:
        mark = _MARK[self._event] if self._event is not None else ""
        self.samples.append(Sample(client, self._server, paused, mark))
        self._server, self._event = None, None
