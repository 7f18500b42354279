"""The session stored across restarts (rule 10): one JSON file, mode 0600, never a password."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from session.events import SessionKind
from session.secrets import Secret


@dataclass(frozen=True, slots=True)
class StoredSession:
    kind: SessionKind
    token: Secret
    reauth_key: Secret | None
    last_extension_wall: float  # wall time of the send of the latest accepted request
    user: dict[str, Any]


class SessionStore:
    """Reads and writes the stored session atomically; a damaged file reads as no session.

    `scope` names the backend the session belongs to: a session stored for another backend (an
    embedded one from an earlier run, on another port) is not offered back.
    """

    def __init__(self, path: Path, scope: str = "") -> None:
        self.path = path
        self.scope = scope

    def save(self, stored: StoredSession) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "version": 1,
            "scope": self.scope,
            "kind": stored.kind.value,
            "token": stored.token.reveal(),
            "reauth_key": stored.reauth_key.reveal() if stored.reauth_key else None,
            "last_extension_wall": stored.last_extension_wall,
            "user": stored.user,
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        # Created 0600 from the first byte: no window in which another user could read it.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(payload, fh)
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def load(self) -> StoredSession | None:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            data = json.loads(raw)
            if data.get("scope", "") != self.scope:
                return None  # another backend's session: meaningless here
            kind = SessionKind(data["kind"])
            token = Secret(data["token"])
            key = Secret(data["reauth_key"]) if data.get("reauth_key") else None
            wall = float(data["last_extension_wall"])
            user = data.get("user") or {}
            if not isinstance(user, dict):
                raise ValueError("user is not an object")
        except (ValueError, KeyError, TypeError):
            # A damaged file must not stop the app: start afresh without it.
            self.clear()
            return None
        return StoredSession(kind, token, key, wall, user)

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
