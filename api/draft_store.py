"""The booking draft, kept locally in sqlite (rule 11), and its copy on the server.

One current draft per owner ("guest" or "user:<name>"). Every save is a committed transaction, so
a crash loses nothing that was saved; a damaged database file is moved aside, not fatal. Card
numbers and CVCs are never written.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.errors import ApiError, NotFound
from api.models import Draft
from api.rest import RestClient

NEVER_STORED = frozenset({"card_number", "cvc"})
_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class LocalDraft:
    owner: str
    step: str
    data: dict[str, Any]
    server_id: str | None
    revision: int
    updated_wall: float


class DraftStore:
    def __init__(self, path: Path, *, wall: Callable[[], float] = time.time) -> None:
        self.path = path
        self._wall = wall
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = self._open()
        except sqlite3.DatabaseError:
            self._move_aside()
            self._conn = self._open()

    def _open(self) -> sqlite3.Connection:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)  # personal data: the user's only
        os.close(fd)
        os.chmod(self.path, 0o600)
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("PRAGMA user_version").fetchone()  # fails here on a damaged file
        with conn:
            conn.execute("BEGIN")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS drafts (owner TEXT PRIMARY KEY, step TEXT NOT NULL, "
                "data TEXT NOT NULL, server_id TEXT, revision INTEGER NOT NULL, updated_wall REAL NOT NULL)"
            )
            conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
        return conn

    def _move_aside(self) -> None:
        n = 1
        while (target := self.path.with_name(f"{self.path.name}.corrupt-{n}")).exists():
            n += 1
        self.path.rename(target)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()

    def save(self, owner: str, step: str, data: dict[str, Any]) -> LocalDraft:
        clean = {k: v for k, v in data.items() if k not in NEVER_STORED}
        now = self._wall()
        with self._conn:
            self._conn.execute("BEGIN")
            self._conn.execute(
                "INSERT INTO drafts (owner, step, data, server_id, revision, updated_wall) "
                "VALUES (?, ?, ?, NULL, 1, ?) ON CONFLICT(owner) DO UPDATE SET step = excluded.step, "
                "data = excluded.data, revision = revision + 1, updated_wall = excluded.updated_wall",
                (owner, step, json.dumps(clean), now),
            )
        saved = self.load(owner)
        assert saved is not None
        return saved

    def load(self, owner: str) -> LocalDraft | None:
        row = self._conn.execute(
            "SELECT owner, step, data, server_id, revision, updated_wall FROM drafts WHERE owner = ?",
            (owner,),
        ).fetchone()
        if row is None:
            return None
        return LocalDraft(row[0], row[1], json.loads(row[2]), row[3], row[4], row[5])

    def set_server_id(self, owner: str, server_id: str | None) -> None:
        with self._conn:
            self._conn.execute("BEGIN")
            self._conn.execute("UPDATE drafts SET server_id = ? WHERE owner = ?", (server_id, owner))

    def discard(self, owner: str) -> None:
        with self._conn:
            self._conn.execute("BEGIN")
            self._conn.execute("DELETE FROM drafts WHERE owner = ?", (owner,))

    def move(self, from_owner: str, to_owner: str) -> None:
        """A guest's draft goes with the user who signs in; a newer draft of the user's wins."""
        moving, existing = self.load(from_owner), self.load(to_owner)
        if moving is None:
            return
        with self._conn:
            self._conn.execute("BEGIN")
            if existing is None or existing.updated_wall < moving.updated_wall:
                self._conn.execute("DELETE FROM drafts WHERE owner = ?", (to_owner,))
                # The server copy belonged to the guest's session; the user's is made on next push.
                self._conn.execute(
                    "UPDATE drafts SET owner = ?, server_id = NULL WHERE owner = ?", (to_owner, from_owner)
                )
            else:
                self._conn.execute("DELETE FROM drafts WHERE owner = ?", (from_owner,))


class DraftSync:
    """Sends the local draft to the server; recreates it there if the server lost its copy."""

    def __init__(self, store: DraftStore, rest: RestClient) -> None:
        self.store = store
        self.rest = rest

    async def push(self, owner: str) -> Draft | None:
        local = self.store.load(owner)
        if local is None:
            return None
        try:
            if local.server_id is not None:
                try:
                    return await self.rest.update_draft(local.server_id, local.step, local.data)
                except NotFound:
                    pass  # rule 11: the server lost it (e.g. a renewed guest session): recreate
            created = await self.rest.create_draft(local.step, local.data)
        except ApiError:
            return None  # kept locally; the next push tries again
        self.store.set_server_id(owner, created.id)
        return created
