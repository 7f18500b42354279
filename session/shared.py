"""One session for every instance on one data dir (rule 14): the lock, the flight lease, the
instances, and what this instance last saw of the stored session.

`session.json` (`session.store`) is the shared truth: every instance on the data dir reads the
same one, and writes it atomically (a rename). This module is what lets them share it:

* `session.lock`, beside it: only ever locked, never renamed or replaced. Every read-modify-write
  of `session.json` or of the lease is done holding its lock (`fcntl.flock`, exclusive), for as
  long as that takes (a write's fsync included). The lock is never waited for: a caller that finds
  it busy tries again later (`LockBusy`: a save at the next call or heartbeat, a flight after a
  short wait on its own loop), so the event loop never stops for it. The lock of a process that
  dies is released by the kernel; one busy for `LOCK_PASS_OVER_S` (a holder frozen inside it, by
  kill -STOP) is passed over: the writes are renames, so nothing is torn, and the lease still holds.
* The lease, in the lock file's contents: which instance has a refresh, a re-authentication or a
  new guest session out (its id, pid, flight, since and until). One instance at a time has one
  out; the others wait for its outcome and take on the session it stored (`SessionManager`).
  A lease is free once it is empty, past its `until` (its holder hung or froze past the call
  deadline), or held by a process that is gone or stopped (kill -STOP, Ctrl+Z: `/proc` says so),
  and the next instance that needs it takes it over.
* `instances/<id>.json`: one per running instance (pid, since, in the foreground or not), removed
  as it closes; one whose process is gone is removed by whoever lists them. The QA panel lists them.
* What this instance last saw of `session.json`: its identity (inode, modification time in
  nanoseconds, size; a write is a rename, so every write makes a new inode). `changed()` compares
  it with the file's, one `lstat`: the manager asks once a second.

Why `fcntl.flock` directly, and no library: it is one call, the lock must be taken on a file
opened by `private_files.open_private` (no link followed, a regular file only), and every wait
must be bounded by us, never block the event loop: filelock and portalocker wrap the same call
with their own reentrancy, timeouts and blocking polls, which would all have to be worked around.
Where `fcntl` is missing (Windows), there is no lock: writes are still renames (never torn), and
the lease, read and written without it, keeps flights apart but for a race of a few microseconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sessionkeeper.session.private_files import (
    make_dirs,
    open_private,
    read_json_object,
    replace_private,
    write_all,
)

try:
    import fcntl
except ImportError:  # pragma: no cover - not on the platforms the suite runs on
    fcntl = None  # type: ignore[assignment]

# The most a lock or lease file may hold: far more than one lease.
_MAX_BYTES = 4096
# How long the lock may stay busy (as seen by the callers that keep trying) before they pass it
# over: only a holder frozen inside its few microseconds holds it that long.
LOCK_PASS_OVER_S = 5.0


class LockBusy(Exception):
    """Another instance holds the lock at this moment: try again in a moment."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Which `session.json` is there: a write is a rename, so each one has a new inode."""

    ino: int
    mtime_ns: int
    size: int


def identity(path: Path) -> Identity | None:
    """The file at `path` as it is now (never through a link); None when nothing is there."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return Identity(info.st_ino, info.st_mtime_ns, -1)  # damage: read (and moved aside) like a change
    return Identity(info.st_ino, info.st_mtime_ns, info.st_size)


@dataclass(frozen=True, slots=True)
class Lease:
    """One instance's flight out: `until` is the calendar time past which it is taken over."""

    instance: str
    pid: int
    flight: str
    since_wall: float
    until_wall: float


@dataclass(frozen=True, slots=True)
class Claim:
    """What asking for the lease gave: it (`granted`), or the live lease of another (`holder`).

    `taken_over`: the lease of another that was free to take (its holder gone, stopped or past
    its bound), when this claim took it. `locked`: False when the lock could not be had in time
    (a frozen holder) and the lease was read and written without it."""

    granted: bool
    holder: Lease | None = None
    taken_over: Lease | None = None
    why_free: str | None = None  # why `taken_over` was free: "gone", "stopped", "past its bound"
    locked: bool = True


@dataclass(frozen=True, slots=True)
class Peer:
    """A running instance on this data dir, as the QA panel lists it."""

    instance: str
    pid: int
    since_wall: float
    focused: bool
    stopped: bool
    this: bool  # this instance
    holds_lease: bool


_PROC = os.path.isdir("/proc/self")  # Linux; elsewhere a signal tells alive from gone, not stopped


def process_state(pid: int) -> str:
    """ "running", "stopped" (kill -STOP, Ctrl+Z, a debugger) or "gone". Without /proc a stopped
    process reads as running (its lease then ends at its bound); on Windows, every process does
    (a signal there would end it)."""
    if not _PROC:
        return "running" if os.name == "nt" else _signal_probe(pid)
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read(1024)
    except FileNotFoundError:
        return "gone"
    except OSError:
        return _signal_probe(pid)
    # The state follows the command's name, which is in parentheses and may hold anything.
    _, _, rest = raw.rpartition(b")")
    state = rest[1:2]
    if state in (b"T", b"t"):
        return "stopped"
    if state in (b"Z", b"X", b"x"):
        return "gone"
    return "running"


def _signal_probe(pid: int) -> str:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "gone"
    except PermissionError:
        return "running"  # another user's: alive
    return "running"


class SharedSession:
    """This instance's part in the session its data dir shares (see the module's docstring).

    `wall`: the real calendar time (leases are compared across processes). `lease_s`: how long a
    flight may hold the lease before another instance takes it over: longer than any one call
    may take (the call deadline), so that a slow but live flight is never taken over.
    """

    def __init__(
        self,
        session_path: Path,
        *,
        wall: Callable[[], float] = time.time,
        lease_s: float = 20.0,
        instance: str | None = None,
        pid: int | None = None,
        state_of: Callable[[int], str] = process_state,
    ) -> None:
        self.path = session_path
        self.lock_path = session_path.with_name("session.lock")
        self.instances_dir = session_path.with_name("instances")
        self.instance = instance if instance is not None else secrets.token_hex(6)
        self.pid = os.getpid() if pid is None else pid
        self.lease_s = lease_s
        self.seen: Identity | None = None
        self.lock_problem: str | None = None  # the latest reason the lock could not be had or used
        self._wall = wall
        self._state_of = state_of
        self._since = wall()
        self._announced = False
        self._busy_since: float | None = None  # since when the lock has been found busy

    # -- what this instance saw ----------------------------------------------------------------

    def changed(self) -> bool:
        """True when `session.json` is not the one this instance last saw (written or removed)."""
        return identity(self.path) != self.seen

    def look(self) -> None:
        """This instance has now seen `session.json` as it is (after reading or writing it)."""
        self.seen = identity(self.path)

    # -- the lock ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self) -> Iterator[int | None]:
        """Hold the lock for the block, never waiting for it (the event loop must not stop); yields
        the lock file's descriptor, or None when there is no lock to take (a file that cannot be
        opened, or the lock busy past `LOCK_PASS_OVER_S`: the block then runs without it).

        Raises `LockBusy` when another instance holds it now: the caller tries again later (a
        save at the next call or heartbeat, a flight after a short wait on its own loop)."""
        fd = self._open_lock()
        if fd is None:
            yield None
            return
        try:
            if not self._try_lock(fd):
                now = self._wall()
                if self._busy_since is None or now < self._busy_since:
                    self._busy_since = now
                if now - self._busy_since < LOCK_PASS_OVER_S:
                    raise LockBusy()
                self.lock_problem = f"the lock was held for more than {LOCK_PASS_OVER_S:g} s: passed over"
                yield None
                return
            self._busy_since = None
            self.lock_problem = None
            try:
                yield fd
            finally:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _open_lock(self) -> int | None:
        try:
            make_dirs(self.lock_path.parent)
            return open_private(self.lock_path, os.O_RDWR, create=True)
        except OSError as exc:
            # A read-only disk, a link planted at the name: no lock, and said once in the panel.
            self.lock_problem = f"cannot open {self.lock_path.name}: {exc.strerror or type(exc).__name__}"
            return None

    @staticmethod
    def _try_lock(fd: int) -> bool:
        if fcntl is None:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError:
            return True  # a file system without locks: renames keep the file whole
        return True

    # -- the lease ------------------------------------------------------------------------------

    def claim(self, flight: str) -> Claim:
        """Take the lease for `flight` unless another live instance holds it. Never blocks: a
        caller refused (or meeting a busy lock: `LockBusy`) waits on its own loop and asks again."""
        with self.locked() as fd:
            current = self._read_lease(fd)
            taken_over: Lease | None = None
            why: str | None = None
            if current is not None and current.instance != self.instance:
                why = self._why_free(current)
                if why is None:
                    return Claim(False, holder=current, locked=fd is not None)
                taken_over = current
            now = self._wall()
            mine = Lease(self.instance, self.pid, flight, now, now + self.lease_s)
            self._write_lease(fd, mine)
            return Claim(True, taken_over=taken_over, why_free=why, locked=fd is not None)

    def release(self) -> bool:
        """Give the lease back, if this instance still holds it (another may have taken it over).
        False when the lock was busy: the caller tries again (the lease ends at its bound anyway)."""
        try:
            with self.locked() as fd:
                current = self._read_lease(fd)
                if current is not None and current.instance == self.instance:
                    self._write_lease(fd, None)
        except LockBusy:
            return False
        return True

    def holds_lease(self) -> bool:
        current = self.lease()
        return current is not None and current.instance == self.instance

    def lease(self) -> Lease | None:
        """The lease as it is now, if it is live (held by a running instance within its bound).
        Read without the lock (for the QA panel: a lease being written reads as free)."""
        current = self._read_lease(None)
        if current is None or (current.instance != self.instance and self._why_free(current) is not None):
            return None
        return current

    def _why_free(self, lease: Lease) -> str | None:
        if self._wall() >= lease.until_wall:
            return "past its bound"
        if lease.pid == self.pid:
            return None  # another instance in this very process (the tests run two): alive
        state = self._state_of(lease.pid)
        return None if state == "running" else state

    def _read_lease(self, fd: int | None) -> Lease | None:
        try:
            raw = self._read_unlocked() if fd is None else _read_from_start(fd)
        except OSError:
            return None
        return _parse_lease(raw)

    def _read_unlocked(self) -> bytes:
        fd = open_private(self.lock_path, os.O_RDONLY)
        try:
            return _read_from_start(fd)
        finally:
            os.close(fd)

    def _write_lease(self, fd: int | None, lease: Lease | None) -> None:
        data = b"" if lease is None else json.dumps(_lease_dict(lease)).encode()
        try:
            if fd is None:
                fd = open_private(self.lock_path, os.O_RDWR, create=True)
                try:
                    _overwrite(fd, data)
                finally:
                    os.close(fd)
            else:
                _overwrite(fd, data)
        except OSError as exc:
            self.lock_problem = f"cannot write {self.lock_path.name}: {exc.strerror or type(exc).__name__}"

    # -- the instances ---------------------------------------------------------------------------

    def announce(self, *, focused: bool) -> None:
        """Say that this instance runs (and whether it is in the foreground), for the QA panel."""
        record = {"instance": self.instance, "pid": self.pid, "since_wall": self._since, "focused": focused}
        try:
            make_dirs(self.instances_dir)
            if not self._instances_dir_is_ours():
                return
            replace_private(self.instances_dir / f"{self.instance}.json", json.dumps(record).encode())
            self._announced = True
        except OSError:
            pass  # the panel's list only: it says nothing of this instance then

    def _instances_dir_is_ours(self) -> bool:
        """A real directory, not a link planted in its place (never written into, nor swept)."""
        try:
            return stat.S_ISDIR(os.lstat(self.instances_dir).st_mode)
        except OSError:
            return False

    def withdraw(self) -> None:
        """This instance is closing: off the list."""
        if self._announced:
            with contextlib.suppress(OSError):
                (self.instances_dir / f"{self.instance}.json").unlink()
            self._announced = False

    def peers(self) -> list[Peer]:
        """The running instances on this data dir, oldest first (this one included); the files of
        instances whose process is gone are removed."""
        holder = self.lease()
        found: list[Peer] = []
        if not self._instances_dir_is_ours():
            return found
        try:
            entries = list(os.scandir(self.instances_dir))
        except OSError:
            return found
        for item in entries:
            if not item.name.endswith(".json"):
                continue
            record = read_json_object(Path(item.path), _MAX_BYTES)
            if record is None:
                continue
            pid, instance = record.get("pid"), record.get("instance")
            since, focused = record.get("since_wall"), record.get("focused")
            if not (isinstance(pid, int) and isinstance(instance, str) and isinstance(since, int | float)):
                continue
            state = "running" if pid == self.pid else self._state_of(pid)
            if state == "gone":
                with contextlib.suppress(OSError):
                    os.unlink(item.path)
                continue
            found.append(
                Peer(
                    instance=instance,
                    pid=pid,
                    since_wall=float(since),
                    focused=focused is True,
                    stopped=state == "stopped",
                    this=instance == self.instance,
                    holds_lease=holder is not None and holder.instance == instance,
                )
            )
        return sorted(found, key=lambda peer: (peer.since_wall, peer.instance))


def _lease_dict(lease: Lease) -> dict[str, object]:
    return {
        "instance": lease.instance,
        "pid": lease.pid,
        "flight": lease.flight,
        "since_wall": lease.since_wall,
        "until_wall": lease.until_wall,
    }


def _parse_lease(raw: bytes) -> Lease | None:
    if not raw or len(raw) > _MAX_BYTES:
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
        lease = Lease(
            instance=data["instance"],
            pid=data["pid"],
            flight=data["flight"],
            since_wall=float(data["since_wall"]),
            until_wall=float(data["until_wall"]),
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError):
        return None  # damaged: a free lease (the next claim writes a good one)
    if not (isinstance(lease.instance, str) and type(lease.pid) is int and isinstance(lease.flight, str)):
        return None
    return lease


def _read_from_start(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)  # not os.pread: Windows has none
    return os.read(fd, _MAX_BYTES + 1)


def _overwrite(fd: int, data: bytes) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    write_all(fd, data)


__all__ = ["Claim", "Identity", "Lease", "LockBusy", "Peer", "SharedSession", "identity", "process_state"]
