"""The app's files in its data dir, opened so that nothing planted there can steer them.

Every file the app keeps in its data dir (session.json, timeline.jsonl, drafts.sqlite3 and its
companions) is opened with `open_private`, which:

* never follows a link (O_NOFOLLOW): a symlink planted in the file's place is refused, so a write
  can never land in the file it points at, wherever that is;
* never blocks (O_NONBLOCK for the open, fstat before any read or write): a FIFO or a device in the
  file's place is refused instead of stopping the event loop; O_NONBLOCK is cleared again for the
  regular file that was found, so it reads and writes as usual. One seen by lstat first is not
  even opened (opening a device can do something of its own: a tape rewinds);
* accepts a regular file only, else raises `NotARegularFile`, which names what it found ("a
  symlink", "a FIFO", "a directory"...) so the caller can move it aside and say so;
* keeps it private: created 0600 from its first byte, and set to exactly 0600 (with fchmod, on the
  descriptor just checked, never chmod on a name that may since point elsewhere) if it is not.

`move_aside` renames whatever is at a name (a symlink is renamed itself; its target is never
touched) to the first free name of a series (`session.json.corrupt-<UTC time>`, `-2`...; or
`timeline.jsonl.corrupt-1`, `-2`...), and `ensure_private_dir` makes the data dir 0700, or says
why it is not.

Names are checked and then used (a free name for `move_aside`, a file sqlite opens by name): a
process could swap what is there in between. The data dir is 0700, so only the same user could,
and that user can read the files anyway (a data dir that cannot be made 0700 is said on the
app's banner).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOCTTY = getattr(os, "O_NOCTTY", 0)  # a terminal device opened by mistake must not become ours
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)

SYMLINK = "a symlink"
DIRECTORY = "a directory"
FIFO = "a FIFO"


class NotARegularFile(OSError):
    """Something other than a regular file is at the name; `found` says what ("a symlink").

    `reason` (also the `strerror`) says it in one line for a timeline or a message: "a symlink is
    in its place", or with `where` (which of several files): "drafts.sqlite3-wal: a FIFO is in
    its place".
    """

    def __init__(self, found: str, where: str | None = None) -> None:
        self.found = found
        self.reason = f"{where}: " if where else ""
        self.reason += f"{found} is in its place"
        code = {SYMLINK: errno.ELOOP, DIRECTORY: errno.EISDIR}.get(found, errno.EINVAL)
        super().__init__(code, self.reason)


def what_is(mode: int) -> str:
    """What a file of this mode is, in words: "a symlink", "a FIFO", "a regular file"..."""
    for test, words in (
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISLNK, SYMLINK),
        (stat.S_ISDIR, DIRECTORY),
        (stat.S_ISFIFO, FIFO),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return words
    return "not a regular file"


def open_private(path: Path, flags: int, *, create: bool = False) -> int:
    """Open the regular file at `path` (never through a link, never blocking) and return its fd.

    `flags` are the access flags (os.O_RDONLY, os.O_RDWR | os.O_APPEND...); `create` adds O_CREAT
    with mode 0600. A file whose mode is not 0600 is set to 0600: looser would show it to others,
    tighter could lock the app out of its own file (sqlite reopens the drafts by name).

    Raises NotARegularFile for anything else at the name (a symlink even if it dangles), and the
    usual OSError otherwise (FileNotFoundError without `create`, PermissionError...).
    """
    flags |= _NOFOLLOW | _NONBLOCK | _CLOEXEC | _NOCTTY | (os.O_CREAT if create else 0)
    with contextlib.suppress(FileNotFoundError):
        seen = os.lstat(path).st_mode
        if not stat.S_ISREG(seen):
            raise NotARegularFile(what_is(seen))
    try:
        fd = os.open(path, flags, FILE_MODE)
    except OSError as exc:
        # ELOOP (a symlink), EISDIR, ENXIO (a FIFO without a reader, a socket): say what is there.
        try:
            found = os.lstat(path).st_mode
        except OSError:
            raise exc from None
        if stat.S_ISREG(found):
            raise
        raise NotARegularFile(what_is(found)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFile(what_is(info.st_mode))
        if stat.S_IMODE(info.st_mode) != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
        if _NONBLOCK:
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to `fd` (os.write may take only part of it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def read_json_object(path: Path, max_bytes: int) -> dict[str, object] | None:
    """The JSON object in the small private file at `path`, or None: missing, not a regular file,
    unreadable, larger than `max_bytes`, or not a JSON object. Never raises for what is on disk."""
    try:
        fd = open_private(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        raw = os.read(fd, max_bytes + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(raw) > max_bytes:
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def replace_private(path: Path, data: bytes) -> None:
    """Put `data` at `path` whole or not at all: written to `<name>.tmp` (a leftover removed first,
    created 0600 and never through a link), then renamed over `path`. No fsync: for small files
    whose loss in a crash costs nothing (the stored session has its own, durable write). Raises
    OSError."""
    tmp = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = open_private(tmp, os.O_WRONLY | os.O_EXCL, create=True)
    try:
        write_all(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def examine(path: Path) -> str | None:
    """What is at `path` if it is not a regular file ("a symlink"), or None: a regular file, or
    nothing. Opens a regular file to tighten it as `open_private` does; never follows a link."""
    try:
        os.close(open_private(path, os.O_RDONLY))
    except NotARegularFile as exc:
        return exc.found
    except FileNotFoundError:
        return None
    return None


def _names(path: Path, label: str, numbered: bool) -> Iterator[Path]:
    n = 1
    while True:
        if numbered:
            yield path.with_name(f"{path.name}.{label}-{n}")
        else:
            yield path.with_name(f"{path.name}.{label}" if n == 1 else f"{path.name}.{label}-{n}")
        n += 1


def move_aside(path: Path, label: str, *, numbered: bool = False, companions: Sequence[str] = ()) -> Path:
    """Rename whatever is at `path` to the first free name of `<name>.<label>`, `<label>-2`...
    (with `numbered`: `<label>-1`, `<label>-2`...) and return that name; never deletes anything.

    A symlink is renamed itself, never followed. A regular file moved aside is made 0600 (it may
    hold a token or personal data); anything else is left as it is. `companions` are suffixes of
    files that go with it (sqlite's "-wal"): each one there is renamed to the new name plus that
    suffix. Raises OSError (FileNotFoundError if nothing is at `path`).
    """
    # lexists, not exists: a dangling symlink takes up a name too, and must not be renamed over.
    target = next(name for name in _names(path, label, numbered) if not os.path.lexists(name))
    os.rename(path, target)
    with contextlib.suppress(OSError):
        examine(target)  # tightens a regular file; a symlink or a FIFO is not opened
    for suffix in companions:
        companion = path.with_name(path.name + suffix)
        if os.path.lexists(companion):
            moved = target.with_name(target.name + suffix)
            os.rename(companion, moved)
            with contextlib.suppress(OSError):
                examine(moved)
    return target


@dataclass(frozen=True, slots=True)
class PrivateDir:
    """What `ensure_private_dir` found and did."""

    path: Path
    mode: int  # its permission bits now
    tightened_from: int | None = None  # the looser mode it had, when it was tightened just now
    problem: str | None = None  # why it is not private; one line, no secrets; None when it is


def make_dirs(path: Path) -> None:
    """Create `path` and any missing ancestor, each 0700 (a directory that exists is left as it
    is). Raises OSError (a file in the way, a read-only disk)."""
    missing: list[Path] = []
    directory = path
    while not os.path.lexists(directory) and directory != directory.parent:
        missing.append(directory)
        directory = directory.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=DIR_MODE)
    if not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))


def ensure_private_dir(path: Path) -> PrivateDir:
    """Make `path` a directory only its owner can use: created 0700 if missing, and tightened to
    0700 if it is looser and ours. A directory that is not ours, or whose mode cannot be changed,
    is left as it is and `problem` says why.

    The data dir itself may be a symlink (the user's choice of where it lives); it is followed,
    and the directory it names is the one checked. Raises OSError when there is no directory to
    use at all (a file in the way, a disk that refuses to create it).
    """
    make_dirs(path)
    fd = os.open(path, os.O_RDONLY | _DIRECTORY | _CLOEXEC | _NONBLOCK)
    try:
        info = os.fstat(fd)
        mode = stat.S_IMODE(info.st_mode)
        if not mode & 0o077:
            return PrivateDir(path, mode)
        if info.st_uid != os.geteuid():
            return PrivateDir(path, mode, problem=f"mode {mode:04o}, and it belongs to another user")
        try:
            os.fchmod(fd, mode & DIR_MODE)
        except OSError as exc:
            why = exc.strerror or type(exc).__name__
            return PrivateDir(path, mode, problem=f"mode {mode:04o}, and it cannot be changed: {why}")
        return PrivateDir(path, mode & DIR_MODE, tightened_from=mode)
    finally:
        os.close(fd)


__all__ = [
    "DIRECTORY",
    "FIFO",
    "SYMLINK",
    "NotARegularFile",
    "PrivateDir",
    "ensure_private_dir",
    "examine",
    "make_dirs",
    "move_aside",
    "open_private",
    "read_json_object",
    "replace_private",
    "what_is",
]
