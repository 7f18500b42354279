"""A file outside the data dir for a planted link to point at, and whether it was left alone."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

# Ends in an unfinished line: the timeline would cut it off if it ever wrote through the link.
VICTIM_BYTES = b"someone else's file\nwith a last line that has no end"


def mode(path: Path) -> int:
    """The permission bits of `path` itself (a link is not followed)."""
    return stat.S_IMODE(os.lstat(path).st_mode)


def plant_victim(tmp_path: Path, name: str = "victim") -> Path:
    """`tmp_path/outside/name`, mode 0644, holding VICTIM_BYTES."""
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    target = outside / name
    target.write_bytes(VICTIM_BYTES)
    target.chmod(0o644)
    return target


def untouched(target: Path) -> bool:
    return target.read_bytes() == VICTIM_BYTES and mode(target) == 0o644


def _denied() -> PermissionError:
    return PermissionError(errno.EACCES, os.strerror(errno.EACCES))


def refuse_unlink(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """`os.unlink(path)` fails with EACCES, as in a read-only directory; any other path is removed."""
    real_unlink = os.unlink

    def read_only_dir(target: object, *args: object, **kwargs: object) -> None:
        if Path(str(target)) == path:
            raise _denied()
        real_unlink(target, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "unlink", read_only_dir)


def refuse_open(monkeypatch: pytest.MonkeyPatch, path: Path, *, to_read_only: bool = False) -> None:
    """`os.open(path)` fails with EACCES (`to_read_only`: only an open that does not write); any
    other path opens."""
    real_open = os.open

    def denied(target: object, flags: int, *args: object, **kwargs: object) -> int:
        if Path(str(target)) == path and not (to_read_only and flags & (os.O_WRONLY | os.O_RDWR)):
            raise _denied()
        return real_open(target, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", denied)
