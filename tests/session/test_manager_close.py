"""The manager's end, and the one call it must never wait on (issue 16, item 10).

After `close()` nothing it is told (ticks, user activity, an answer that lands late, the flight it
cancels) arms a wake-up or publishes a decision, and no call goes out in its name. A call made from
inside the session's own flight (a port that sends through the middleware) is refused at once
instead of waiting for that flight, which would be waiting for it: a deadlock.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sessionkeeper.session import decisions as d
from sessionkeeper.session.clock import FakeClock
from sessionkeeper.session.events import SessionKind
from sessionkeeper.session.manager import SessionManager, SessionUnavailable
from sessionkeeper.session.port import IssuedSession
from sessionkeeper.session.secrets import Secret
from sessionkeeper.session.timeline import Timeline
from tests.session.fake_backend import FakeBackend
from tests.session.managers import PASSWORD, TTL, WARN, api_call, make_manager, pile_up


def listen(mgr: SessionManager) -> list[d.Decision]:
    published: list[d.Decision] = []
    mgr.subscribe(published.append)
    return published


async def test_after_close_nothing_told_arms_a_wake_up_or_publishes_a_decision(tmp_path: Path) -> None:
    mgr, backend, clock = make_manager(tmp_path, auto_wake=True)
    await mgr.start()
    mgr.set_active_flow(True)
    ticket = await mgr.acquire()  # a call out when the app closes; its answer lands afterwards
    mgr.sent(ticket, "GET /api/thing")
    published = listen(mgr)
    await mgr.close()
    stored = (tmp_path / "session.json").read_bytes()
    calls = dict(backend.counters)
    deadline = mgr.engine.deadline
    clock.advance(TTL - WARN + 1)  # into the warning window: a tick would warn and prompt
    mgr.clock_jumped()  # would warn and prompt
    mgr.answer_prompt(stay=True)  # would refresh
    mgr.tick()
    mgr.user_activity()
    mgr.set_active_flow(False)
    mgr.background()
    mgr.resume()
    mgr.accepted(ticket, "GET /api/thing")  # would move the deadline and store the session
    mgr.failed(ticket, transport=True, label="GET /api/thing")
    assert published == []
    assert await mgr.rejected(ticket, 1, "GET /api/thing") is False  # no recovery: the caller gives up
    assert published == []
    assert mgr.scheduled_wake_in is None and not mgr.flight_in_progress
    assert mgr.engine.deadline == deadline
    assert dict(backend.counters) == calls
    assert (tmp_path / "session.json").read_bytes() == stored
    with pytest.raises(SessionUnavailable, match="the session is closed"):
        await mgr.acquire()
    with pytest.raises(SessionUnavailable, match="the session is closed"):
        await mgr.login("ada", Secret(PASSWORD))
    assert dict(backend.counters) == calls


async def test_a_flight_cancelled_by_close_publishes_nothing_and_arms_nothing(tmp_path: Path) -> None:
    mgr, backend, clock = make_manager(tmp_path, auto_wake=True)
    await mgr.start()
    mgr.set_active_flow(True)
    clock.advance(TTL - WARN + 1)
    mgr.clock_jumped()
    assert mgr.view().prompt_visible
    backend.refresh_gate = asyncio.Event()  # the refresh never comes back on its own
    mgr.answer_prompt(stay=True)
    call = asyncio.create_task(mgr.wait_for_flight())
    await pile_up()
    assert mgr.flight_in_progress
    published = listen(mgr)
    await mgr.close()
    (result,) = await asyncio.gather(call, return_exceptions=True)
    assert isinstance(result, asyncio.CancelledError)  # the app's own exit, not a backend failure
    assert published == []
    assert mgr.scheduled_wake_in is None and not mgr.flight_in_progress
    backend.refresh_gate.set()
    await pile_up()
    assert published == [] and mgr.scheduled_wake_in is None


async def test_an_answer_to_a_login_that_lands_after_close_is_not_kept(tmp_path: Path) -> None:
    mgr, backend, _ = make_manager(tmp_path, auto_wake=True)
    await mgr.start()
    published = listen(mgr)
    gate = asyncio.Event()
    login = backend.login

    async def slow_login(username: str, password: Secret, guest_token: Secret | None = None) -> IssuedSession:
        await gate.wait()
        return await login(username, password, guest_token)

    backend.login = slow_login  # type: ignore[method-assign]
    signing_in = asyncio.create_task(mgr.login("ada", Secret(PASSWORD)))
    await pile_up()
    await mgr.close()
    gate.set()
    with pytest.raises(SessionUnavailable, match="the session is closed"):
        await signing_in
    assert published == [] and not mgr.signed_in and mgr.scheduled_wake_in is None
    assert "ada" not in (tmp_path / "session.json").read_text()


# -- a call from inside the session's own flight ------------------------------------------------


class ThroughTheMiddleware:
    """A port whose refresh goes out as a gated call does: it asks the manager for a token first
    (what an httpx client with the session's SessionAuth would do)."""

    def __init__(self, backend: FakeBackend) -> None:
        self.backend = backend
        self.manager: SessionManager | None = None

    async def start_guest(self) -> IssuedSession:
        return await self.backend.start_guest()

    async def login(
        self, username: str, password: Secret, guest_token: Secret | None = None
    ) -> IssuedSession:
        return await self.backend.login(username, password, guest_token)

    async def refresh(self, token: Secret) -> Secret:
        assert self.manager is not None
        await self.manager.acquire()
        return await self.backend.refresh(token)

    async def reauth(self, reauth_key: Secret) -> IssuedSession:
        return await self.backend.reauth(reauth_key)

    async def sign_out(self, token: Secret) -> None:
        await self.backend.sign_out(token)


async def test_a_call_from_inside_the_flight_is_refused_at_once_instead_of_deadlocking(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    backend = FakeBackend(clock, ttl_s=TTL)
    port = ThroughTheMiddleware(backend)
    mgr, _, _ = make_manager(tmp_path, clock=clock, backend=backend, port=port, timeline=Timeline())
    port.manager = mgr
    await mgr.start()
    clock.advance(TTL + 1)  # the next call refreshes first
    callers = [asyncio.create_task(api_call(mgr, backend)) for _ in range(3)]
    async with asyncio.timeout(2):  # before the fix: every caller waited here forever
        results = await asyncio.gather(*callers, return_exceptions=True)
    for result in results:
        # A wiring bug, said as itself to every caller: not "the backend failed", not a hang.
        assert isinstance(result, RuntimeError), result
        assert "inside the session's own refresh or recovery" in str(result)
    assert backend.counters["refreshes"] == 0  # refused before it went out
    assert not mgr.flight_in_progress
    failed = [x.detail for x in mgr.timeline if x.name == "refresh_failed"]
    assert failed == [{"rejected": False, "transport": False}]
    await mgr.close()


async def test_calls_started_by_a_listener_while_a_flight_lands_are_not_refused(tmp_path: Path) -> None:
    mgr, backend, clock = make_manager(tmp_path)
    await mgr.start()
    clock.advance(TTL + 1)
    spawned: list[asyncio.Task[bool]] = []

    def on_decision(decision: d.Decision) -> None:
        # A listener runs inside the flight's task; what it starts is a task of its own.
        if isinstance(decision, d.DeadlineMoved) and mgr.flight_in_progress:
            spawned.append(asyncio.get_running_loop().create_task(api_call(mgr, backend)))

    mgr.subscribe(on_decision)
    assert await api_call(mgr, backend)
    assert spawned and await asyncio.gather(*spawned) == [True] * len(spawned)
    assert backend.counters["refreshes"] == 1
    assert mgr.view().kind is SessionKind.GUEST
    await mgr.close()
