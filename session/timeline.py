"""The event timeline (rule 13): every session event with its time, in memory and as JSON Lines.

`Timeline` holds the latest `capacity` entries in memory for the UI and appends each one, as one
`TimelineEntry.as_json()` line, to a file in the app's data dir (`timeline.jsonl`):

* Private: the file is created 0600 from its first byte, and an existing file that is looser is
  tightened when it is opened. A directory Timeline has to create (the file's parent and any
  missing ancestor) is created 0700; a directory that already exists keeps its mode.
* Never steered by what is planted in its place: the file is opened with
  `session.private_files.open_private` (no link followed, never blocking). A symlink, a FIFO, a
  socket or a device at `timeline.jsonl` is renamed itself to `timeline.jsonl.corrupt-<n>` (a
  link's target is never opened, cut or chmodded), a fresh file is started, and one
  `timeline_file_moved_aside` entry (its `reason` and the new name, `moved_to`) says so after the
  next entry. A directory there is a disk that refuses (below): it may hold someone's files, and
  it neither leads elsewhere nor blocks. `timeline.jsonl.1` is never opened, only renamed onto.
* Bounded: when a line would take the file past `max_bytes`, the file is renamed to
  `timeline.jsonl.1` (replacing the older one) and a fresh file is started, so the two files hold
  at most about 2 x `max_bytes`. A line is never split across files (a single line longer than
  `max_bytes` gets a file of its own). The size is tracked in memory: no stat per write. When the
  file is opened, an unfinished last line (a write a failing disk cut short) is cut off.
* Never in the way: a disk that refuses (open, write, rotate or close) does not make `record()`
  raise. The timeline goes on in memory, `file_error` says what went wrong, one
  `timeline_file_failed` entry marks the failure, and the file is tried again at the first record
  `retry_after_s` after the failed attempt (measured in the `at` values given to `record`; this
  module reads no clock). The first entry written again is followed by `timeline_file_recovered`.
  A file that cannot be opened when the Timeline is made is announced at the first record.

Entries carry fingerprints, never secrets: `record` refuses a `Secret` among its details.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from io import FileIO
from pathlib import Path
from typing import Any

from sessionkeeper.session.private_files import (
    DIRECTORY,
    NotARegularFile,
    make_dirs,
    move_aside,
    open_private,
    write_all,
)
from sessionkeeper.session.secrets import Secret

DEFAULT_MAX_BYTES = 2_621_440  # 2.5 MiB per file, two files
DEFAULT_RETRY_AFTER_S = 5.0
FILE_FAILED = "timeline_file_failed"
FILE_RECOVERED = "timeline_file_recovered"
FILE_MOVED_ASIDE = "timeline_file_moved_aside"
# The per-call entries a summary (`Timeline.summarising`) counts instead of recording one by one.
CALL_ENTRIES = frozenset(
    {
        "call_sent",
        "call_answered",
        "call_failed",
        "call_rejected",
        "call_replay",
        "call_given_up",
        "deadline_moved",
    }
)

_OPEN_FLAGS = os.O_RDWR | os.O_APPEND | getattr(os, "O_BINARY", 0)


def _json_encoder() -> Callable[[Any], str]:
    """`json.dumps(obj, sort_keys=True, default=str)`, made once rather than for every entry.

    `json.dumps` with options builds a `JSONEncoder`, and each `encode` builds its C encoder: half
    the cost of a line. Here the C encoder is built once, as `JSONEncoder.iterencode` builds it
    (without the circular-reference check: a detail that holds itself fails with RecursionError
    rather than ValueError). Where the C encoder is missing, or does not make what `json.dumps`
    makes, the `JSONEncoder` is kept instead (built once still).
    """
    encoder = json.JSONEncoder(sort_keys=True, default=str)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return encoder.encode
    try:
        c_encode = make(None, str, json.encoder.encode_basestring_ascii, None, ": ", ", ", True, False, True)
        probe = {"b": [1.5, None, True, "\u00e9\n"], "a": {"z": float("inf"), "y": object}, "c": 10**20}

        def encode(obj: Any) -> str:
            return "".join(c_encode(obj, 0))

        if encode(probe) == json.dumps(probe, sort_keys=True, default=str):
            return encode
    except Exception:  # an interpreter whose internals differ: the public way
        pass
    return encoder.encode


_encode = _json_encoder()
# Floats are written as `repr` writes them: the shortest digits that read back as the same float.
_SHORT_REPR = sys.float_repr_style == "short"
_INF = float("inf")
_encode_string = json.encoder.encode_basestring_ascii
# A line's shape for each (name, *detail keys) seen: its %-format with every key (and the name,
# unless a detail is called "event") in place, and the detail keys in the order their values go in;
# None for a shape the quick way does not take. A few dozen in the code; bounded all the same.
_Shape = tuple[str, tuple[str, ...]] | None
_SHAPES: dict[tuple[str, ...], _Shape] = {}
_MAX_SHAPES = 1024


def _shape(name: str, keys: tuple[str, ...]) -> _Shape:
    """The quick way's format for a line of `name` with details `keys`, if every key sorts
    between "at" and "wall" (so the times go first and last)."""
    try:
        ordered = sorted({"event", *keys})
    except TypeError:  # keys of other types: the general way raises what it raises
        return None
    if not (ordered[0] > "at" and ordered[-1] < "wall"):
        return None
    parts = ['{"at": %s']
    for key in ordered:
        text = "%s" if key in keys else _encode_string(name).replace("%", "%%")
        parts.append(f", {_encode_string(key).replace('%', '%%')}: {text}")
    parts.append(', "wall": %s}')
    return "".join(parts), tuple(key for key in ordered if key in keys)


def _line(at: float, wall: float, name: str, detail: dict[str, Any]) -> str:
    """`TimelineEntry.as_json()`: `{"at": round(at, 6), "wall": round(wall, 3), "event": name,
    **detail}` as `json.dumps(..., sort_keys=True, default=str)` writes it, at a third of its cost
    for the entries the session makes.

    Where the cost goes in the general way: the two times, each rounded (a decimal conversion and
    back) and then written (another, the costlier shortest-digits one), and the encoder's work per
    key. The quick way, taken when the times are floats of the usual size and every key sorts
    between "at" and "wall" (so the times go first and last):
    - a time is converted once: `"%.6f" % at` makes the digits `round(at, 6)` makes (the same
      correctly rounded conversion), and `repr` writes the float they name as those digits without
      their trailing zeros (at most 15 significant digits read back exactly, so no shorter string
      names that float; between 1e-4 and 1e16 `repr` uses no exponent);
    - the keys, sorted, and the name are written once per shape of entry (`_shape`); each value
      as the encoder writes it: a str, an int, a finite float, None, True or False here, any other
      by the encoder itself.
    Anything else takes the general way. Both make the same line: tests/session/test_timeline.py
    compares them over generated entries.
    """
    if (
        _SHORT_REPR
        and type(at) is float
        and type(wall) is float
        and 1e-4 <= abs(at) < 1e9  # 6 decimals: at most 15 significant digits
        and 1e-3 <= abs(wall) < 1e12  # 3 decimals: likewise
    ):
        key = (name, *detail)
        try:
            shape = _SHAPES[key]
        except KeyError:
            shape = _shape(name, key[1:])
            if len(_SHAPES) < _MAX_SHAPES:
                _SHAPES[key] = shape
        if shape is not None:
            template, order = shape
            at_text = ("%.6f" % at).rstrip("0")  # noqa: UP031 - the conversion round() makes
            wall_text = ("%.3f" % wall).rstrip("0")  # noqa: UP031
            texts = [at_text + "0" if at_text[-1] == "." else at_text]
            for field_name in order:
                value = detail[field_name]
                kind = type(value)
                if kind is str:
                    texts.append(_encode_string(value))
                elif kind is int or (kind is float and -_INF < value < _INF):
                    texts.append(repr(value))
                elif value is None:
                    texts.append("null")
                elif value is True:
                    texts.append("true")
                elif value is False:
                    texts.append("false")
                else:
                    texts.append(_encode(value))
            texts.append(wall_text + "0" if wall_text[-1] == "." else wall_text)
            return template % tuple(texts)
    return _encode({"at": round(at, 6), "wall": round(wall, 3), "event": name, **detail})


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: float  # the session clock
    wall: float
    name: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> str:
        """One line of the file: `{"at": round(at, 6), "wall": round(wall, 3), "event": name,
        **detail}` as `json.dumps(..., sort_keys=True, default=str)` writes it."""
        return _line(self.at, self.wall, self.name, self.detail)


# An entry built without the frozen dataclass's `__init__` (which sets each field through
# `object.__setattr__`: half the cost of recording one): the same object, made at every call.
_new_object = object.__new__
_set_at = vars(TimelineEntry)["at"].__set__  # the slots' own setters, as the frozen __init__ uses
_set_wall = vars(TimelineEntry)["wall"].__set__
_set_name = vars(TimelineEntry)["name"].__set__
_set_detail = vars(TimelineEntry)["detail"].__set__


def _make_entry(at: float, wall: float, name: str, detail: dict[str, Any]) -> TimelineEntry:
    """`TimelineEntry(at, wall, name, detail)`, at a third of the cost."""
    entry: TimelineEntry = _new_object(TimelineEntry)
    _set_at(entry, at)
    _set_wall(entry, wall)
    _set_name(entry, name)
    _set_detail(entry, detail)
    return entry


class Timeline:
    """A bounded in-memory list for the UI, mirrored to a private, rotated JSON Lines file.

    `path=None` keeps the timeline in memory only. `file_error` is None while the file is being
    written (or there is none), else a short text such as
    "cannot write timeline.jsonl: No space left on device".
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        capacity: int = 1000,
        max_bytes: int = DEFAULT_MAX_BYTES,
        retry_after_s: float = DEFAULT_RETRY_AFTER_S,
        flush_every_s: float = 0.0,
    ) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        if retry_after_s < 0:
            raise ValueError("retry_after_s must not be negative")
        self._entries: deque[TimelineEntry] = deque(maxlen=capacity)
        # A tuple, replaced on subscribe: an entry's listeners are those there when it was recorded.
        self._listeners: tuple[Callable[[TimelineEntry], None], ...] = ()
        self.path = path
        self.rotated_path = path.with_name(path.name + ".1") if path is not None else None
        self.max_bytes = max_bytes
        self.retry_after_s = retry_after_s
        self.file_error: str | None = None
        self._file: FileIO | None = None
        self._size = 0  # bytes in the current file, tracked in memory
        self._failed_at: float | None = None  # `at` of the latest failed attempt
        self._closed = False
        self.origin: float | None = None  # `at` of the first entry: a stable zero for displays
        self._summary: dict[str, int] | None = None
        self._summary_last: tuple[float, float] | None = None
        # 0: every entry is written as it is recorded. Above 0: entries wait in memory and are
        # written together once that many seconds (of `at`) have passed since the last write, at
        # `flush()` and at `close()`; a crash loses at most that much of the file (never memory).
        self.flush_every_s = flush_every_s
        self._pending: list[tuple[TimelineEntry, bool]] = []
        self._flushed_at: float | None = None
        # What was found in the file's place and moved aside, to be said after the next entry.
        self._moves: list[dict[str, str]] = []
        if path is not None:
            try:
                self._open()
            except OSError as exc:
                # No `at` to stamp it with yet: announced, and retried from, at the first record.
                self.file_error = self._describe("write", exc)

    # -- public API ---------------------------------------------------------------------------------

    def record(self, at: float, wall: float, name: str, **detail: Any) -> TimelineEntry:
        return self.add(at, wall, name, detail)

    def add(self, at: float, wall: float, name: str, detail: dict[str, Any]) -> TimelineEntry:
        """`record`, with the details in a dict that the entry takes as it is (not copied, so not to
        be changed after): the session manager's way, on every call's path."""
        for key, value in detail.items():
            if isinstance(value, Secret):
                raise TypeError(f"timeline detail {key!r} is a secret; record its fingerprint")
        entry = _make_entry(at, wall, name, detail)
        if self.origin is None:
            self.origin = at
        if self._summary is not None and name in CALL_ENTRIES:
            self._summary[name] = self._summary.get(name, 0) + 1
            self._summary_last = (at, wall)
            return entry
        # `_add` and `_queue`, written out: this is on every call's path.
        self._entries.append(entry)
        if self.flush_every_s > 0 and self._file is not None:
            pending = self._pending
            pending.append((entry, True))
            if self._flushed_at is None:
                self._flushed_at = at
            waited = at - self._flushed_at
            if waited >= self.flush_every_s or waited < 0 or len(pending) >= _MAX_PENDING:
                self.flush()
            notice = None
        else:
            notice = self._persist(entry, may_retry=True)
        for listener in self._listeners:
            listener(entry)
        while notice is not None:  # failed/recovered; never more than two in a row, never retried
            notice = self._add(notice, may_retry=False)
        if self._moves:
            self._announce_moves(entry)
        return entry

    @contextlib.contextmanager
    def summarising(self, name: str, **detail: Any) -> Iterator[None]:
        """While inside, per-call entries (CALL_ENTRIES) are counted, not recorded one by one; on
        the way out, one entry `name` holds `detail` and the counts (`call_sent=900`, ...). Every
        other entry (a refresh, a re-auth, a sign-out) is recorded as usual meanwhile.

        For a burst of hundreds of calls: its story stays readable, and the file and the UI are
        spared thousands of lines that all say the same thing.
        """
        if self._summary is not None:
            yield  # already summarising: the outer summary counts these too
            return
        self._summary, self._summary_last = {}, None
        try:
            yield
        finally:
            counts, last = self._summary, self._summary_last
            self._summary = self._summary_last = None
            if last is None and self._entries:
                last = (self._entries[-1].at, self._entries[-1].wall)
            if last is not None:
                self.record(last[0], last[1], name, **detail, **dict(sorted(counts.items())))

    def subscribe(self, listener: Callable[[TimelineEntry], None]) -> None:
        self._listeners = (*self._listeners, listener)

    def __iter__(self) -> Iterator[TimelineEntry]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return [entry.name for entry in self._entries]

    def flush(self) -> None:
        """Write the entries waiting in memory (with `flush_every_s` above 0); never raises."""
        # Twice at most: the entries, then what was moved aside while writing them. Moves made on
        # the second pass are said with the next entry: a name planted again at every rotation
        # must not keep this loop going.
        for _ in range(2):
            pending, self._pending = self._pending, []
            if not pending:
                return
            self._flushed_at = pending[-1][0].at
            if not self._write_together(pending):
                for entry, may_retry in pending:
                    notice = self._persist(entry, may_retry=may_retry)
                    while notice is not None:  # failed/recovered: in memory and on, right after it
                        self._entries.append(notice)
                        for listener in self._listeners:
                            listener(notice)
                        notice = self._persist(notice, may_retry=False)
            self._announce_moves(pending[-1][0])

    def close(self) -> None:
        """Write what waits, then close the file; never raises. Later records stay in memory only."""
        self.flush()
        self._closed = True
        self._drop_file()

    # -- internals ----------------------------------------------------------------------------------

    def _announce_moves(self, after: TimelineEntry) -> None:
        # Those known now only: writing a notice may rotate and move aside again (a link planted
        # at every rotation), and that one is said with the next entry rather than in a loop.
        moves, self._moves = self._moves, []
        for move in moves:
            notice = self._add(self._notice(FILE_MOVED_ASIDE, after, **move), may_retry=False)
            while notice is not None:
                notice = self._add(notice, may_retry=False)

    def _add(self, entry: TimelineEntry, *, may_retry: bool) -> TimelineEntry | None:
        self._entries.append(entry)
        notice = self._queue(entry, may_retry=may_retry)
        for listener in self._listeners:
            listener(entry)
        return notice

    def _queue(self, entry: TimelineEntry, *, may_retry: bool) -> TimelineEntry | None:
        # Written out in `add` too: keep the two alike.
        if self.flush_every_s <= 0 or self._file is None:
            # Write-through, or no open file: a failure is said (or a retry made) at once.
            return self._persist(entry, may_retry=may_retry)
        self._pending.append((entry, may_retry))
        if self._flushed_at is None:
            self._flushed_at = entry.at
        waited = entry.at - self._flushed_at
        if waited >= self.flush_every_s or waited < 0 or len(self._pending) >= _MAX_PENDING:
            self.flush()
        return None

    def _write_together(self, pending: list[tuple[TimelineEntry, bool]]) -> bool:
        """The common case in one write: the file open and healthy, no rotation due. False when
        the entries must go one by one (rotation, a failure, a retry)."""
        if not pending or self._file is None or self.file_error is not None:
            return not pending
        data = ("\n".join([_line(e.at, e.wall, e.name, e.detail) for e, _ in pending]) + "\n").encode("utf-8")
        if self._size + len(data) > self.max_bytes:
            return False
        try:
            self._write(data)
        except OSError as exc:
            # Lines may have gone out before the failure: not written again (a partial last line
            # is cut off at the next open). They are in memory; the file is retried later.
            self._drop_file()
            self.file_error = self._describe("write", exc)
            last = pending[-1][0]
            self._failed_at = last.at
            notice = self._notice(FILE_FAILED, last, error=self.file_error)
            self._entries.append(notice)
            for listener in self._listeners:
                listener(notice)
        return True

    def _persist(self, entry: TimelineEntry, *, may_retry: bool) -> TimelineEntry | None:
        """Write one line; return the failed/recovered entry to record after it, if any."""
        if self.path is None or self._closed:
            return None
        if self._file is None:
            if self._failed_at is None:  # the open in __init__ failed: announce it now
                self._failed_at = entry.at
                return self._notice(FILE_FAILED, entry, error=self.file_error)
            if not (may_retry and self._retry_due(entry.at)):
                return None
        healthy = self.file_error is None
        line = (entry.as_json() + "\n").encode("utf-8")
        doing = "write"
        try:
            if self._file is None:
                self._open()
            if self._size > 0 and self._size + len(line) > self.max_bytes:
                doing = "rotate"
                self._rotate()
                doing = "write"
            self._write(line)
        except OSError as exc:
            self._drop_file()
            self.file_error = self._describe(doing, exc)
            self._failed_at = entry.at
            return self._notice(FILE_FAILED, entry, error=self.file_error) if healthy else None
        if healthy:
            return None
        self.file_error = None
        self._failed_at = None
        return self._notice(FILE_RECOVERED, entry)

    def _retry_due(self, at: float) -> bool:
        assert self._failed_at is not None
        # A clock that went backwards must not postpone the retry forever.
        return at - self._failed_at >= self.retry_after_s or at < self._failed_at

    def _open(self) -> None:
        assert self.path is not None
        make_dirs(self.path.parent)
        try:
            # Created 0600 from the first byte: no window in which another user could read it.
            fd = open_private(self.path, _OPEN_FLAGS, create=True)
        except NotARegularFile as exc:
            if exc.found == DIRECTORY:
                # Maybe someone's files: a disk that refuses, retried later, never moved.
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)) from None
            try:
                moved = move_aside(self.path, "corrupt", numbered=True)
            except OSError as failed:
                raise OSError(
                    failed.errno, f"{exc.reason}, and it cannot be moved aside: {failed.strerror or failed}"
                ) from None
            self._moves.append({"reason": exc.reason, "moved_to": moved.name})
            fd = open_private(self.path, _OPEN_FLAGS, create=True)  # planted again: a failure
        try:
            size = _drop_partial_line(fd, os.fstat(fd).st_size)
            file = os.fdopen(fd, "ab", buffering=0)
        except BaseException:
            os.close(fd)
            raise
        self._file = file
        self._size = size

    def _rotate(self) -> None:
        assert self.path is not None and self.rotated_path is not None and self._file is not None
        file, self._file = self._file, None
        file.close()
        os.replace(self.path, self.rotated_path)
        self._open()

    def _write(self, line: bytes) -> None:
        assert self._file is not None
        write_all(self._file.fileno(), line)
        self._size += len(line)

    def _drop_file(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            with contextlib.suppress(OSError):
                file.close()

    def _describe(self, doing: str, exc: OSError) -> str:
        name = self.path.name if self.path is not None else "timeline"
        return f"cannot {doing} {name}: {exc.strerror or exc}"

    @staticmethod
    def _notice(name: str, after: TimelineEntry, **detail: Any) -> TimelineEntry:
        return TimelineEntry(after.at, after.wall, name, detail)


_TAIL = 65_536  # far longer than any entry
_MAX_PENDING = 2_000  # entries kept waiting at most, whatever the clock says


def _drop_partial_line(fd: int, size: int) -> int:
    """Cut a line a failing disk left unfinished, so the file stays JSON Lines; return the new size."""
    if size == 0:
        return 0
    start = max(0, size - _TAIL)
    os.lseek(fd, start, os.SEEK_SET)
    tail = os.read(fd, size - start)
    if tail.endswith(b"\n"):
        return size
    cut = tail.rfind(b"\n")
    if cut < 0 and start > 0:  # no line end in sight: end the line rather than cut blind
        write_all(fd, b"\n")
        return size + 1
    os.ftruncate(fd, start + cut + 1)
    return start + cut + 1
