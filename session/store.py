"""The session stored across restarts (rule 10): one JSON file, mode 0600, never a password.

`SessionStore` keeps one `StoredSession` in `session.json` (a name of the caller's choosing):

* Written atomically: the JSON goes to a fresh `session.json.tmp`, created 0600 from its first
  byte, is fsynced and then renamed over `session.json`.
* A disk that refuses never takes the session down with it. `save()` raises `StoreError` (its
  message is safe to show: "cannot write session.json: No space left on device", never a token,
  never the file's contents), and the caller carries on in memory. `clear()` never raises: a
  sign-out must not fail on disk; a file it cannot remove is emptied in place if that works.
  `error` holds the latest write failure (None once a save or clear works again), and watchers
  (`watch()`) are told once when the store starts failing and once when it recovers.
* A damaged file reads as no session (`read()`): bad UTF-8, JSON that is not an object, a token
  that is not a non-empty string, a non-finite `last_extension_wall`, a directory in the file's
  place... It is never deleted: it is moved aside to `session.json.corrupt-<UTC time>` (then
  `-2`, `-3`... if that name is taken), and the `LoadResult` says where and why, so the caller can
  put it on the timeline. The time comes from the caller (`now_wall`) or the `wall` callable given
  to the constructor; this module reads no clock of its own accord.
* Never steered by what is planted in its place: every open goes through
  `session.private_files.open_private` (no link followed, no FIFO waited on, a regular file only,
  made 0600). A symlink, a FIFO or a directory at `session.json` is damage like any other: it is
  renamed itself (a link's target is never read nor touched) and the session starts afresh.
* Not damaged, and left alone: a file stored for another backend (`scope`) or by a newer version,
  an empty file (what a `clear()` that could not remove the file leaves), and a file that cannot be
  read for a circumstantial reason (permission denied, an I/O error), which is reported with a
  `reason`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from sessionkeeper.session.events import SessionKind
from sessionkeeper.session.private_files import (
    DIRECTORY,
    SYMLINK,
    NotARegularFile,
    make_dirs,
    move_aside,
    open_private,
    write_all,
)
from sessionkeeper.session.secrets import Secret

VERSION = 1
# Far more than any stored session; a bigger file is not one of ours.
MAX_BYTES = 1_048_576

StoreWatcher = Callable[[str | None], None]


class StoreError(Exception):
    """The stored session could not be written or removed. The message is safe to show and log."""


@dataclass(frozen=True, slots=True)
class StoredSession:
    kind: SessionKind
    token: Secret
    reauth_key: Secret | None
    last_extension_wall: float  # wall time of the send of the latest accepted request
    user: dict[str, Any]
    signed_in_wall: float | None = None  # wall time of the password sign-in (rule 15's lifetime)


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What `read()` found. `stored` is None when there is no session to resume."""

    stored: StoredSession | None
    damaged: bool = False  # the file is not a stored session (moved aside if `moved_to` is set)
    reason: str | None = None  # why nothing was read from a file that is there; short, no secrets
    moved_to: Path | None = None  # where the damaged file went; None if it could not be moved
    foreign: bool = False  # a stored session, but another backend's or a newer version's: left alone


class _Damaged(Exception):
    """The file is there but is not a stored session; the message says why, without its contents."""


class _NotOurs(Exception):
    """A stored session, but another backend's or a newer version's: not offered, left alone."""


class SessionStore:
    """Reads and writes the stored session atomically; a damaged file reads as no session.

    `scope` names the backend the session belongs to: a session stored for another backend (an
    embedded one from an earlier run, on another port) is not offered back, and not touched.
    `wall` gives the calendar time for the name of a damaged file moved aside, when `read()` is
    not given one.
    """

    def __init__(self, path: Path, scope: str = "", *, wall: Callable[[], float] = time.time) -> None:
        self.path = path
        self.scope = scope
        self.tmp_path = path.with_name(path.name + ".tmp")
        self.error: str | None = None
        self._wall = wall
        self._watchers: list[StoreWatcher] = []

    # -- health -------------------------------------------------------------------------------------

    def watch(self, watcher: StoreWatcher) -> None:
        """Call `watcher(error)` when writes start failing, and `watcher(None)` when they work again.

        Once per change, not per failed write. Watching twice with the same callable is watching once.
        """
        if watcher not in self._watchers:
            self._watchers.append(watcher)

    def _set_error(self, error: str | None) -> None:
        before, self.error = self.error, error
        if (before is None) != (error is None):
            for watcher in list(self._watchers):
                watcher(error)

    def _fail(self, message: str, cause: BaseException | None = None) -> NoReturn:
        self._set_error(message)
        raise StoreError(message) from cause

    # -- writing ------------------------------------------------------------------------------------

    def save(self, stored: StoredSession) -> None:
        """Write `stored` atomically (0600). Raises StoreError; the file then keeps what it had."""
        payload = {
            "version": VERSION,
            "scope": self.scope,
            "kind": stored.kind.value,
            "token": stored.token.reveal(),
            "reauth_key": stored.reauth_key.reveal() if stored.reauth_key else None,
            "last_extension_wall": stored.last_extension_wall,
            "user": stored.user,
            "signed_in_wall": stored.signed_in_wall,
        }
        try:
            # Nothing is written that read() would refuse (NaN, say) or could not encode.
            data = json.dumps(payload, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError, RecursionError):
            # The encoder's message may quote a value: it is not passed on.
            self._fail(f"cannot write {self.path.name}: the session holds a value JSON cannot carry")
        if len(data) > MAX_BYTES:
            # read() would refuse it at the next start: better said now, and the file left as it was.
            self._fail(f"cannot write {self.path.name}: the session is larger than {MAX_BYTES} bytes")
        try:
            self._write_atomically(data)
        except OSError as exc:
            self._fail(f"cannot write {self.path.name}: {_strerror(exc)}", exc)
        self._set_error(None)

    def _write_atomically(self, data: bytes) -> None:
        make_dirs(self.path.parent)
        tmp = self.tmp_path
        # A leftover from a crash is not reused: its mode may be looser, it may be a symlink.
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        # Created 0600 from the first byte (and made exactly 0600 on the fd, whatever the umask):
        # no window in which another user could read it.
        fd = open_private(tmp, os.O_WRONLY | os.O_EXCL, create=True)
        try:
            try:
                write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)  # replaces whatever is at the name, a link itself included
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _fsync_dir(self.path.parent)

    def clear(self) -> None:
        """Forget the stored session. Never raises: a sign-out must not fail on disk.

        A file that cannot be removed (a read-only directory) is emptied in place if that works,
        which reads as no session. If neither works, `error` says why and watchers are told: the
        file may still hold the session, and a later `clear()` may try again.
        """
        with contextlib.suppress(OSError):
            self.tmp_path.unlink()  # a leftover holds a session too
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            try:
                self._empty_in_place()
            except OSError:
                self._set_error(f"cannot remove {self.path.name}: {_strerror(exc)}")
                return
        self._set_error(None)

    def _empty_in_place(self) -> None:
        fd = open_private(self.path, os.O_WRONLY)  # a link or a FIFO is left alone: OSError
        try:
            os.ftruncate(fd, 0)
            os.fsync(fd)
        finally:
            os.close(fd)

    # -- reading ------------------------------------------------------------------------------------

    def load(self) -> StoredSession | None:
        """The stored session, or None (see `read()` for what else it does and says)."""
        return self.read().stored

    def read(self, now_wall: float | None = None) -> LoadResult:
        """The stored session, or why there is none. Never raises for what is on the disk.

        A damaged file is moved aside to `<name>.corrupt-<UTC time of now_wall>` (never deleted);
        `now_wall` defaults to the constructor's `wall()`.
        """
        try:
            raw = self._read_bytes()
        except FileNotFoundError:
            return LoadResult(None)  # nothing stored
        except NotARegularFile as exc:
            # A symlink (even one to nothing), a FIFO, a directory: never read through, moved aside.
            reason = exc.reason if exc.found in (SYMLINK, DIRECTORY) else "not a regular file"
            return self._damaged(reason, now_wall)
        except OSError as exc:
            # Permission denied, an I/O error: the file may well be fine. Left as it is.
            return LoadResult(None, reason=f"cannot read {self.path.name}: {_strerror(exc)}")
        if not raw:
            return LoadResult(None)  # what a clear() that could not remove the file leaves
        try:
            stored = self._parse(raw)
        except _NotOurs:
            return LoadResult(None, foreign=True)
        except _Damaged as exc:
            return self._damaged(str(exc), now_wall)
        return LoadResult(stored)

    def _read_bytes(self) -> bytes:
        fd = open_private(self.path, os.O_RDONLY)
        with os.fdopen(fd, "rb") as fh:
            return fh.read(MAX_BYTES + 1)

    def _parse(self, raw: bytes) -> StoredSession:
        if len(raw) > MAX_BYTES:
            raise _Damaged("too large to be a stored session")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _Damaged("not UTF-8 text") from None
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            raise _Damaged("not valid JSON") from None
        if not isinstance(data, dict):
            raise _Damaged("not a JSON object")
        scope = data.get("scope", "")
        if not isinstance(scope, str):
            raise _Damaged("scope is not a string")
        if scope != self.scope:
            raise _NotOurs  # another backend's session: meaningless here
        version = data.get("version", VERSION)
        if type(version) is int and version > VERSION:
            raise _NotOurs  # a newer sessionkeeper's to read, not ours to judge
        if type(version) is not int or version != VERSION:
            raise _Damaged("unknown version")
        try:
            kind = SessionKind(data.get("kind"))
        except (ValueError, TypeError):
            raise _Damaged("kind is missing or unknown") from None
        token = data.get("token")
        if not isinstance(token, str) or not token:
            raise _Damaged("token is not a non-empty string")
        key = data.get("reauth_key")
        if key is not None and (not isinstance(key, str) or not key):
            raise _Damaged("reauth_key is neither null nor a non-empty string")
        wall = _finite(data.get("last_extension_wall"))
        if wall is None:
            raise _Damaged("last_extension_wall is not a finite number")
        user = data.get("user")
        if user is None:
            user = {}
        if not isinstance(user, dict):
            raise _Damaged("user is not an object")
        signed_in = data.get("signed_in_wall")
        signed_in_wall = _finite(signed_in) if signed_in is not None else None
        if signed_in is not None and signed_in_wall is None:
            raise _Damaged("signed_in_wall is neither null nor a finite number")
        return StoredSession(kind, Secret(token), Secret(key) if key else None, wall, user, signed_in_wall)

    def _damaged(self, reason: str, now_wall: float | None) -> LoadResult:
        try:
            target = self._move_aside(self._wall() if now_wall is None else now_wall)
        except OSError as exc:
            reason = f"{reason}; left in place, cannot move it aside: {_strerror(exc)}"
            return LoadResult(None, damaged=True, reason=reason)
        return LoadResult(None, damaged=True, reason=reason, moved_to=target)

    def _move_aside(self, now_wall: float) -> Path:
        # A regular file may hold a token: kept, but made 0600 (a directory keeps its mode).
        return move_aside(self.path, f"corrupt-{_stamp(now_wall)}")


def _refuse_constant(name: str) -> NoReturn:
    raise _Damaged("holds NaN or Infinity, which JSON does not allow")


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        return None
    return number if math.isfinite(number) else None


def _stamp(wall: float) -> str:
    try:
        return datetime.fromtimestamp(wall, tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    except (OverflowError, OSError, ValueError):  # a wall clock out of range
        return "unknown-time"


def _strerror(exc: OSError) -> str:
    """The reason without the path or anything else from the exception's arguments."""
    if exc.strerror:
        return exc.strerror
    if exc.errno:
        return os.strerror(exc.errno)
    return type(exc).__name__


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable where the platform allows; best effort."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


__all__ = ["LoadResult", "SessionStore", "StoreError", "StoredSession"]
