"""The event timeline (rule 13): every session event with its time, in memory and as JSON Lines.

Entries carry fingerprints, never secrets: `record` refuses a `Secret` among its details.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from session.secrets import Secret


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: float  # the session clock
    wall: float
    name: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> str:
        return json.dumps(
            {"at": round(self.at, 6), "wall": round(self.wall, 3), "event": self.name, **self.detail},
            sort_keys=True,
            default=str,
        )


class Timeline:
    """A bounded in-memory list for the UI, mirrored to an append-only JSON Lines file."""

    def __init__(self, path: Path | None = None, *, capacity: int = 1000) -> None:
        self._entries: deque[TimelineEntry] = deque(maxlen=capacity)
        self._listeners: list[Callable[[TimelineEntry], None]] = []
        self.path = path
        self._file: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - kept open

    def record(self, at: float, wall: float, name: str, **detail: Any) -> TimelineEntry:
        for key, value in detail.items():
            if isinstance(value, Secret):
                raise TypeError(f"timeline detail {key!r} is a secret; record its fingerprint")
        entry = TimelineEntry(at, wall, name, detail)
        self._entries.append(entry)
        if self._file is not None:
            self._file.write(entry.as_json() + "\n")
        for listener in list(self._listeners):
            listener(entry)
        return entry

    def subscribe(self, listener: Callable[[TimelineEntry], None]) -> None:
        self._listeners.append(listener)

    def __iter__(self) -> Iterator[TimelineEntry]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return [entry.name for entry in self._entries]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
