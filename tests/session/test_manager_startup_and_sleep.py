"""The edges of the manager's world in time (issue 9, items 7 and 9): calls made before the stored
session is restored, and a machine that sleeps (the session clock counts the sleep, the event
loop's clock does not, so the wake-up timer fires late by the whole sleep).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sessionkeeper.session import events as e
from sessionkeeper.session.clock import FakeClock
from sessionkeeper.session.engine import SessionEngine, State
from sessionkeeper.session.events import SessionKind, Source
from sessionkeeper.session.manager import SessionManager
from sessionkeeper.session.policy import Policy
from sessionkeeper.session.secrets import Secret
from sessionkeeper.session.timeline import Timeline
from tests.session.fake_backend import FakeBackend
from tests.session.managers import PASSWORD, TTL, WARN, api_call, make_manager


async def signed_in_and_closed(tmp_path: Path) -> tuple[FakeBackend, FakeClock]:
    mgr, backend, clock = make_manager(tmp_path)
    await mgr.start()
    await mgr.login("ada", Secret(PASSWORD))
    await mgr.close()
    return backend, clock


# -- item 7: calls made during start-up ---------------------------------------------------------


async def test_a_call_made_before_start_waits_for_the_restore_and_goes_out_as_the_stored_user(
    tmp_path: Path,
) -> None:
    backend, clock = await signed_in_and_closed(tmp_path)
    clock.advance(100)
    mgr, _, _ = make_manager(tmp_path, clock=clock, backend=backend)
    # The app's first call races its own start-up: the call comes first.
    call = asyncio.ensure_future(api_call(mgr, backend))
    started = asyncio.ensure_future(mgr.start())
    assert await call is True
    await started  # no SessionProtocolError
    assert mgr.signed_in and mgr.user["username"] == "ada"
    assert backend.counters["guest_sessions"] == 1 and backend.counters["refreshes"] == 1
    stored = json.loads((tmp_path / "session.json").read_text())
    assert stored["kind"] == "user" and stored["user"]["username"] == "ada"  # not overwritten
    assert mgr.timeline.names().count("session_restored") == 1


async def test_a_call_made_during_the_restores_refresh_waits_for_it(tmp_path: Path) -> None:
    backend, clock = await signed_in_and_closed(tmp_path)
    mgr, _, _ = make_manager(tmp_path, clock=clock, backend=backend)
    started = asyncio.ensure_future(mgr.start())
    await asyncio.sleep(0)  # the restore ran; its refresh is out
    assert mgr.view().state is State.REFRESHING
    assert await api_call(mgr, backend) is True
    await started
    assert mgr.signed_in and backend.counters["refreshes"] == 1 and backend.counters["guest_sessions"] == 1


async def test_without_a_stored_session_a_call_before_start_gets_the_one_guest_session(
    tmp_path: Path,
) -> None:
    mgr, backend, _ = make_manager(tmp_path)
    call = asyncio.ensure_future(api_call(mgr, backend))
    await asyncio.sleep(0)
    await mgr.start()
    assert await call is True
    assert backend.counters["guest_sessions"] == 1


# -- item 9: the machine going to sleep --------------------------------------------------------


class LaggingLoopClock:
    """The event loop's clock: it moves with the session clock while the machine is awake, and
    not at all while it sleeps."""

    def __init__(self, session: FakeClock) -> None:
        self.session = session
        self.slept = 0.0

    def __call__(self) -> float:
        return self.session.now() - self.slept


def asleep_manager(tmp_path: Path) -> tuple[SessionManager, FakeBackend, FakeClock, LaggingLoopClock]:
    clock = FakeClock()
    loop_clock = LaggingLoopClock(clock)
    mgr, backend, _ = make_manager(tmp_path, clock=clock, auto_wake=True, loop_time=loop_clock)
    return mgr, backend, clock, loop_clock


async def test_a_key_after_a_sleep_past_the_deadline_reauthenticates_at_once(tmp_path: Path) -> None:
    mgr, backend, clock, loop_clock = asleep_manager(tmp_path)
    await mgr.start()
    await mgr.login("ada", Secret(PASSWORD))
    mgr.set_active_flow(True)
    clock.advance(100)
    mgr.heartbeat()
    # The lid closes for an hour: the session clock moves, the loop's does not, no timer fires.
    clock.advance(3600)
    loop_clock.slept += 3600
    mgr.user_activity()  # the first key after opening the lid
    await mgr.wait_for_flight()
    resumed = [x for x in mgr.timeline if x.name == "resumed"]
    assert len(resumed) == 1 and resumed[0].detail == {"away_s": 3600.0, "detected": True, "how": "sleep"}
    assert backend.counters["reauths"] == 1 and mgr.signed_in
    assert mgr.view().remaining_s == TTL
    # The wake-up is armed afresh from the session clock: the next warning, TTL - WARN from now.
    wake_in = mgr.scheduled_wake_in
    assert wake_in is not None and abs(wake_in - (TTL - WARN)) < 1.0
    await mgr.close()


async def test_a_call_made_right_after_a_sleep_is_read_as_a_return_from_the_background(
    tmp_path: Path,
) -> None:
    """The call's own event looks for a sleep (no key, no wake-up before it): the time away is
    taken first, and the call goes out with a session recovered for it."""
    mgr, backend, clock, loop_clock = asleep_manager(tmp_path)
    await mgr.start()
    await mgr.login("ada", Secret(PASSWORD))
    clock.advance(100)
    mgr.heartbeat()
    clock.advance(3600)  # the lid closed for an hour, past the deadline
    loop_clock.slept += 3600
    assert await api_call(mgr, backend) is True
    await mgr.wait_for_flight()
    names = mgr.timeline.names()
    resumed = [x for x in mgr.timeline if x.name == "resumed"]
    assert len(resumed) == 1 and resumed[0].detail == {"away_s": 3600.0, "detected": True, "how": "sleep"}
    assert names.index("resumed") < names.index("call_sent")
    assert backend.counters["reauths"] == 1 and mgr.signed_in
    await mgr.close()


async def test_a_sleep_while_a_call_is_out_is_read_at_its_answer(tmp_path: Path) -> None:
    mgr, _backend, clock, loop_clock = asleep_manager(tmp_path)
    await mgr.start()
    clock.advance(100)
    mgr.heartbeat()
    ticket = await mgr.acquire()
    mgr.sent(ticket, "GET /api/thing")
    clock.advance(3600)  # asleep with the call out; its answer is read on waking
    loop_clock.slept += 3600
    mgr.accepted(ticket, "GET /api/thing")
    names = mgr.timeline.names()
    assert names.count("resumed") == 1 and names.index("call_answered") < names.index("resumed")
    assert [x.detail for x in mgr.timeline if x.name == "resumed"] == [
        {"away_s": 3600.0, "detected": True, "how": "sleep"}
    ]
    await mgr.close()


async def test_what_a_resume_sets_off_comes_before_the_call_that_found_the_sleep(tmp_path: Path) -> None:
    """A listener of the resume that tells the manager something (here: a key, a moment later)
    moves the engine's time on: the call is then handled at the time after it, never before."""
    mgr, backend, clock, loop_clock = asleep_manager(tmp_path)
    await mgr.start()

    def on_decision(decision: object) -> None:
        if type(decision).__name__ == "BackgroundEnded":
            clock.advance(0.5)
            mgr.user_activity()

    mgr.subscribe(on_decision)
    clock.advance(10)
    mgr.heartbeat()
    clock.advance(2000)
    loop_clock.slept += 2000
    assert await api_call(mgr, backend) is True  # no "time went backwards"
    await mgr.wait_for_flight()
    assert mgr.timeline.names().count("resumed") == 1 and mgr.view().state is State.ACTIVE
    await mgr.close()


async def test_the_late_wake_up_after_a_sleep_is_read_once_as_the_time_away(tmp_path: Path) -> None:
    mgr, backend, clock, loop_clock = asleep_manager(tmp_path)
    await mgr.start()
    clock.advance(10)
    mgr.heartbeat()
    clock.advance(2000)
    loop_clock.slept += 2000
    mgr._on_wake()  # what the loop does when the timer armed before the sleep finally fires
    await mgr.wait_for_flight()
    assert mgr.timeline.names().count("resumed") == 1
    assert backend.counters["guest_sessions"] == 2 and mgr.view().state is State.ACTIVE
    await mgr.close()


async def test_a_qa_skip_ahead_is_not_taken_for_a_sleep(tmp_path: Path) -> None:
    mgr, _backend, clock, _loop = asleep_manager(tmp_path)
    await mgr.start()
    clock.advance(30)  # as the QA clock's skip does: the session clock alone jumps
    mgr.clock_jumped()
    mgr.user_activity()
    assert "resumed" not in mgr.timeline.names()
    await mgr.close()


def test_every_event_of_the_users_checks_the_deadline_first() -> None:
    """Without a wake-up (it is late), a key past the deadline still applies rule 5 at once."""
    for event in (e.UserActivity(), e.ScreenChanged(active_flow=False), e.Backgrounded()):
        eng = SessionEngine(Policy(ttl_s=TTL, warn_s=WARN), now=0.0)
        eng.handle(e.CallStarting(), 0.0)
        eng.handle(e.SessionIssued(SessionKind.GUEST, Source.GUEST, sent_at=0.0), 0.0)
        out = eng.handle(event, TTL + 5)
        assert eng.view(TTL + 5).state in (State.EXPIRED, State.PAUSED), event
        assert any(type(x).__name__ == "SessionLapsed" for x in out), (event, out)


async def test_a_qa_skip_of_the_clock_alone_is_not_taken_for_a_sleep(tmp_path: Path) -> None:
    """The QA panel's burst at expiry skips the client's clock and fires at once, racing the
    wake-up: the calls must refresh (edge case 12), not recover as if from a sleep."""
    from sessionkeeper.session.clock import QAClock

    base = FakeClock()
    clock = QAClock(base)
    backend = FakeBackend(base, ttl_s=TTL + 10)  # the server holds the session a little longer
    mgr = SessionManager(
        port=backend,
        clock=clock,
        policy=Policy(ttl_s=TTL, warn_s=WARN),
        timeline=Timeline(),
        auto_wake=True,
        loop_time=lambda: base.now(),
    )
    await mgr.start()
    clock.skip_ahead(TTL + 0.5)
    assert await api_call(mgr, backend) is True
    assert backend.counters["refreshes"] == 1 and backend.counters["guest_sessions"] == 1
    assert "resumed" not in mgr.timeline.names()
    await mgr.close()
