"""The manager's tests' one way to make a `SessionManager`: on a fake clock, against the in-memory
backend (fake_backend.py), its session file and timeline in a directory, wake-ups off unless asked
for; and what the middleware does for one call (`api_call`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from sessionkeeper.session.clock import FakeClock
from sessionkeeper.session.manager import SessionManager
from sessionkeeper.session.policy import Policy
from sessionkeeper.session.port import BackendUnavailable, SessionPort
from sessionkeeper.session.store import SessionStore
from sessionkeeper.session.timeline import Timeline
from tests.session.fake_backend import FakeBackend

TTL, WARN = 900.0, 60.0
PASSWORD = "lovelace"


def make_manager(
    data: Path,
    *,
    clock: FakeClock | None = None,
    backend: FakeBackend | None = None,
    port: SessionPort | None = None,
    timeline: Timeline | None = None,
    auto_wake: bool = False,
    loop_time: Callable[[], float] | None = None,
) -> tuple[SessionManager, FakeBackend, FakeClock]:
    """A manager storing its session in `data`/session.json and its timeline in
    `data`/timeline.jsonl (or `timeline`), talking to `backend` (a new one on `clock` by default)
    directly or through `port`."""
    clock = clock or FakeClock()
    backend = backend or FakeBackend(clock, ttl_s=TTL)
    mgr = SessionManager(
        port=port or backend,
        clock=clock,
        policy=Policy(ttl_s=TTL, warn_s=WARN),
        store=SessionStore(data / "session.json"),
        timeline=timeline if timeline is not None else Timeline(data / "timeline.jsonl"),
        auto_wake=auto_wake,
        loop_time=loop_time,
    )
    return mgr, backend, clock


async def api_call(mgr: SessionManager, backend: FakeBackend) -> bool:
    """What the middleware does for one call: acquire, send, report, replay once if told to."""
    attempt = 1
    while True:
        ticket = await mgr.acquire()
        mgr.sent(ticket, "GET /api/thing")
        try:
            ok = backend.call(ticket.token)
        except BackendUnavailable as exc:
            mgr.failed(ticket, transport=exc.transport)
            raise
        if ok:
            mgr.accepted(ticket, "GET /api/thing")
            return True
        if not await mgr.rejected(ticket, attempt):
            return False
        attempt += 1


async def pile_up() -> None:
    """Let every task that is ready run a few rounds."""
    for _ in range(10):
        await asyncio.sleep(0)
