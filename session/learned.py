"""What the client learned of its backend's absolute lifetime (rule 15), kept across sign-outs and
restarts: `lifetime.json` in the data dir, 0600, opened the safe way (`session.private_files`).

A backend never says its cap. The client learns it from a refusal (`lifetime_reached`): the time
from the sign-in to that refusal is at most the cap, so the smallest one seen is kept. The next
sign-in then shows the time left in the last minutes and warns before the end. The embedded backend's
cap is known from the start (the app's `--lifetime`); a file of another backend (`scope`) is not it.
Nothing here ever raises for the disk: what cannot be read is not known, what cannot be written is
known for this run only.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from pathlib import Path

from sessionkeeper.session.private_files import make_dirs, open_private, write_all

_MAX_BYTES = 4096


class LearnedLifetime:
    def __init__(self, path: Path, scope: str = "") -> None:
        self.path = path
        self.scope = scope

    def load(self) -> float | None:
        """The cap learned for this backend, in seconds, or None."""
        try:
            fd = open_private(self.path, os.O_RDONLY)
        except OSError:
            return None
        try:
            raw = os.read(fd, _MAX_BYTES + 1)
        except OSError:
            return None
        finally:
            os.close(fd)
        try:
            data = json.loads(raw.decode("utf-8")) if len(raw) <= _MAX_BYTES else None
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None
        if not isinstance(data, dict) or data.get("scope") != self.scope:
            return None
        seconds = data.get("lifetime_s")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            return None
        return float(seconds) if math.isfinite(seconds) and seconds > 0 else None

    def save(self, seconds: float) -> None:
        data = json.dumps({"version": 1, "scope": self.scope, "lifetime_s": round(seconds, 3)}).encode()
        tmp = self.path.with_name(self.path.name + ".tmp")
        with contextlib.suppress(OSError):
            make_dirs(self.path.parent)
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            fd = open_private(tmp, os.O_WRONLY | os.O_EXCL, create=True)
            try:
                write_all(fd, data)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)


__all__ = ["LearnedLifetime"]
