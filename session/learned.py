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
from pathlib import Path

from sessionkeeper.session.private_files import make_dirs, read_json_object, replace_private

_MAX_BYTES = 4096


class LearnedLifetime:
    def __init__(self, path: Path, scope: str = "") -> None:
        self.path = path
        self.scope = scope

    def load(self) -> float | None:
        """The cap learned for this backend, in seconds, or None."""
        data = read_json_object(self.path, _MAX_BYTES)
        if data is None or data.get("scope") != self.scope:
            return None
        seconds = data.get("lifetime_s")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            return None
        return float(seconds) if math.isfinite(seconds) and seconds > 0 else None

    def save(self, seconds: float) -> None:
        data = json.dumps({"version": 1, "scope": self.scope, "lifetime_s": round(seconds, 3)}).encode()
        with contextlib.suppress(OSError):
            make_dirs(self.path.parent)
            replace_private(self.path, data)


__all__ = ["LearnedLifetime"]
