"""Rule 14: two managers on one data dir (two terminals of one person) share one session.

Two real `SessionManager`s, each with its own `SessionStore` on the same `session.json` (as two
processes have), one fake clock and one in-memory backend. What one does, the other takes on at its
next look (`sync`, the app's once-a-second heartbeat); one refresh serves both; a frozen holder of
the flight lease is taken over after its bound, a dead or stopped one at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sessionkeeper.session import decisions as d
from sessionkeeper.session.clock import FakeClock
from sessionkeeper.session.events import SessionKind
from sessionkeeper.session.manager import EndedElsewhere, SessionManager
from sessionkeeper.session.policy import Policy
from sessionkeeper.session.secrets import Secret
from sessionkeeper.session.shared import Lease, SharedSession, process_state
from sessionkeeper.session.store import SessionStore
from sessionkeeper.session.timeline import Timeline
from tests.session.fake_backend import FakeBackend
from tests.session.managers import PASSWORD, TTL, WARN, api_call, pile_up

LEASE_S = 20.0


def pair(tmp_path: Path) -> tuple[SessionManager, SessionManager, FakeBackend, FakeClock]:
    clock = FakeClock()
    backend = FakeBackend(clock, ttl_s=TTL)
    return (*(instance(tmp_path, clock, backend) for _ in range(2)), backend, clock)  # type: ignore[return-value]


def instance(tmp_path: Path, clock: FakeClock, backend: FakeBackend) -> SessionManager:
    return SessionManager(
        port=backend,
        clock=clock,
        policy=Policy(ttl_s=TTL, warn_s=WARN),
        store=SessionStore(tmp_path / "session.json"),
        timeline=Timeline(),
        auto_wake=False,
        flight_lease_s=LEASE_S,
    )


def decisions_of(mgr: SessionManager) -> list[d.Decision]:
    seen: list[d.Decision] = []
    mgr.subscribe(seen.append)
    return seen


def names(mgr: SessionManager) -> list[str]:
    return [entry.name for entry in mgr.timeline]


async def started(tmp_path: Path) -> tuple[SessionManager, SessionManager, FakeBackend, FakeClock]:
    a, b, backend, clock = pair(tmp_path)
    await a.start()
    await b.start()  # resumes a's guest session from the file (and refreshes it, rule 10)
    a.sync()
    return a, b, backend, clock


def token_of(mgr: SessionManager) -> str | None:
    return mgr.token_fingerprint


async def test_the_second_instance_resumes_the_first_ones_guest_session_and_both_hold_one_token(
    tmp_path: Path,
) -> None:
    a, b, backend, _ = await started(tmp_path)
    assert backend.counters["guest_sessions"] == 1
    assert token_of(a) == token_of(b) is not None
    assert len(backend.live_sessions()) == 1


async def test_a_sign_in_in_one_is_taken_on_by_the_other_at_its_next_look_with_its_profile(
    tmp_path: Path,
) -> None:
    a, b, backend, clock = await started(tmp_path)
    seen = decisions_of(b)
    await a.login("ada", Secret(PASSWORD))
    clock.advance(1)
    b.sync()
    assert b.signed_in and b.user["username"] == "ada" and b.user["name"] == "Ada Lovelace"
    assert token_of(b) == token_of(a)
    assert d.SessionShared(SessionKind.USER) in seen and b.holder_changed
    assert backend.counters["logins"] == 1
    assert await api_call(b, backend)  # its calls go out as ada, on the one token
    assert backend.counters["rejected"] == 0


async def test_a_sign_out_in_one_signs_the_other_out_saying_so_and_its_guest_session_is_shared(
    tmp_path: Path,
) -> None:
    a, b, backend, _clock = await started(tmp_path)
    await a.login("ada", Secret(PASSWORD))
    b.sync()
    seen = decisions_of(b)
    a.sign_out()
    await pile_up()
    b.sync()
    assert d.SignOut(d.SignOutReason.ELSEWHERE) in seen
    assert not b.signed_in and b.former_user["username"] == "ada"
    assert "signed_out_elsewhere" in names(b)
    assert backend.counters["reauths"] == 0  # never tried to renew what was signed out
    # A's next call starts a guest session; B takes it on rather than starting its own.
    assert await api_call(a, backend)
    b.sync()
    assert token_of(b) == token_of(a)
    assert await api_call(b, backend)
    assert backend.counters["guest_sessions"] == 2  # the first, and the one after the sign-out


async def test_a_call_of_the_signed_out_window_that_finds_the_sign_out_first_says_so(tmp_path: Path) -> None:
    a, b, backend, _clock = await started(tmp_path)
    await a.login("ada", Secret(PASSWORD))
    b.sync()
    a.sign_out()
    await pile_up()
    # B has not looked yet: its call is rejected (revoked), and its re-auth finds the sign-out
    # before going out.
    with pytest.raises(EndedElsewhere, match="signed out in another window"):
        await api_call(b, backend)
    assert backend.counters["reauths"] == 0


async def test_an_extension_in_one_moves_the_others_deadline_the_latest_send_wins(tmp_path: Path) -> None:
    a, b, backend, clock = await started(tmp_path)
    clock.advance(16)  # past the store's 15 s throttle: the extension is written
    assert await api_call(a, backend)
    deadline = a.view().deadline
    assert b.view().deadline is not None and b.view().deadline < deadline  # type: ignore[operator]
    b.sync()
    assert b.view().deadline == pytest.approx(deadline)
    # B's own later call wins over A's: A takes it on.
    clock.advance(16)
    assert await api_call(b, backend)
    a.sync()
    assert a.view().deadline == pytest.approx(b.view().deadline)


async def test_a_guest_window_never_overwrites_a_sign_in_it_has_not_seen_yet(tmp_path: Path) -> None:
    """The issue's case: window 1 signs in as ada; window 2, still a guest, writes next; a restart
    then came up as a guest. Now the guest window's write is refused and it takes ada on."""
    a, b, backend, clock = await started(tmp_path)
    await a.login("ada", Secret(PASSWORD))
    clock.advance(16)
    assert await api_call(b, backend)  # B's guest call, past the throttle: its save is due
    assert json.loads((tmp_path / "session.json").read_text())["kind"] == "user"
    b.sync()
    assert b.signed_in
    await a.close()
    await b.close()
    c = instance(tmp_path, clock, backend)
    await c.start()
    assert c.signed_in and c.user["username"] == "ada"


async def test_a_burst_spread_over_two_instances_gives_one_refresh(tmp_path: Path) -> None:
    a, b, backend, clock = await started(tmp_path)
    refreshes = backend.counters["refreshes"]
    clock.advance(TTL + 1)  # both deadlines passed: a call asks the server with one refresh
    backend.ttl_s = TTL  # (the server's session is gone too, unless refreshed: the grace saves it)
    gate = backend.refresh_gate = asyncio.Event()
    calls = [asyncio.ensure_future(api_call(m, backend)) for m in (a, b) * 10]
    for _ in range(5):
        await asyncio.sleep(0.06)  # B polls the lease on the real clock
    gate.set()
    results = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 10)
    assert all(r is True for r in results), results
    assert backend.counters["refreshes"] - refreshes <= 1
    assert token_of(a) == token_of(b)
    waited = [m for m in (a, b) if "flight_waits" in names(m)]
    assert len(waited) == 1


async def test_a_frozen_holder_of_the_lease_is_taken_over_after_its_bound(tmp_path: Path) -> None:
    a, b, backend, clock = await started(tmp_path)
    clock.advance(TTL - WARN / 2)  # inside the warning window: an active instance refreshes
    gate = backend.refresh_gate = asyncio.Event()  # A's refresh hangs: A is "frozen" with the lease
    a.user_activity()
    a.tick()
    await pile_up()
    a_flight = asyncio.ensure_future(a.wait_for_flight())
    assert a.flight_in_progress and a.shared is not None and a.shared.holds_lease()
    backend.refresh_gate = None  # B's refresh, when it goes, is answered at once
    b.user_activity()
    b.tick()  # B wants its own refresh: it waits for A's
    b_flight = asyncio.ensure_future(b.wait_for_flight())
    for _ in range(3):
        await asyncio.sleep(0.06)
    assert not b_flight.done() and "flight_waits" in names(b)
    assert backend.counters["refreshes"] == 2  # B's start-up one, and A's (hanging)
    clock.advance(LEASE_S)  # A's lease is past its bound
    outcome = await asyncio.wait_for(b_flight, 5)
    assert outcome is not None and outcome.ok
    assert "lease_taken_over" in names(b)
    assert await api_call(b, backend)
    # A thaws: its late refresh answers with a token of its own, which it does not store over
    # B's; at its next look it takes B's on.
    gate.set()
    await asyncio.wait_for(a_flight, 5)
    a.sync()
    assert token_of(a) == token_of(b)
    stored = json.loads((tmp_path / "session.json").read_text())
    assert Secret(stored["token"]).fingerprint == token_of(b)


async def test_quitting_both_and_starting_one_resumes_the_user(tmp_path: Path) -> None:
    a, b, backend, clock = await started(tmp_path)
    await b.login("ada", Secret(PASSWORD))
    a.sync()
    clock.advance(5)
    assert await api_call(a, backend)
    await b.close()
    await a.close()
    c = instance(tmp_path, clock, backend)
    await c.start()
    assert c.signed_in and c.user["username"] == "ada"
    assert backend.counters["logins"] == 1


async def test_a_guest_window_after_a_sign_out_is_not_said_signed_out(tmp_path: Path) -> None:
    _a, b, backend, _clock = await started(tmp_path)  # both guests
    seen = decisions_of(b)
    (tmp_path / "session.json").unlink()  # the stored guest session is gone (not a user's sign-out)
    b.sync()
    assert not any(isinstance(x, d.SignOut) for x in seen)
    assert await api_call(b, backend)


# -- the lease itself ------------------------------------------------------------------------------


def lease_held_by(tmp_path: Path, pid: int, *, until: float = 1e12) -> None:
    SharedSession(tmp_path / "session.json", pid=pid, instance="other").claim("refresh")
    path = tmp_path / "session.lock"
    record = json.loads(path.read_text())
    record["until_wall"] = until
    path.write_text(json.dumps(record))


def test_a_lease_of_a_process_that_is_gone_is_taken_over_at_once(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    pid = int(gone.stdout)
    lease_held_by(tmp_path, pid)
    claim = SharedSession(tmp_path / "session.json").claim("refresh")
    assert claim.granted and claim.taken_over is not None and claim.why_free == "gone"


def test_a_lease_of_a_stopped_process_is_taken_over_at_once_and_a_running_ones_is_not(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lease_held_by(tmp_path, sleeper.pid)
        waiting = SharedSession(tmp_path / "session.json").claim("refresh")
        assert not waiting.granted and waiting.holder is not None and waiting.holder.pid == sleeper.pid
        os.kill(sleeper.pid, signal.SIGSTOP)
        for _ in range(100):
            if process_state(sleeper.pid) == "stopped":
                break
            asyncio.run(asyncio.sleep(0.01))
        claim = SharedSession(tmp_path / "session.json").claim("refresh")
        assert claim.granted and claim.why_free == "stopped"
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_lease_past_its_bound_is_free_and_a_released_one_is_empty(tmp_path: Path) -> None:
    now = [1000.0]
    lease_held_by(tmp_path, os.getpid(), until=1010.0)
    mine = SharedSession(tmp_path / "session.json", wall=lambda: now[0], lease_s=5)
    assert not mine.claim("reauth").granted  # another instance of this process, within its bound
    now[0] = 1010.0
    claim = mine.claim("reauth")
    assert claim.granted and claim.why_free == "past its bound"
    assert mine.lease() == Lease(mine.instance, os.getpid(), "reauth", 1010.0, 1015.0)
    mine.release()
    assert (tmp_path / "session.lock").read_bytes() == b""


def test_the_lock_file_planted_as_a_symlink_is_never_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    (tmp_path / "session.lock").symlink_to(target)
    shared = SharedSession(tmp_path / "session.json")
    claim = shared.claim("refresh")
    assert claim.granted and not claim.locked
    assert target.read_text() == "keep"
    assert shared.lock_problem is not None and "session.lock" in shared.lock_problem


def test_the_instances_list_shows_each_running_instance_and_drops_the_gone(tmp_path: Path) -> None:
    one = SharedSession(tmp_path / "session.json", wall=lambda: 100.0)
    two = SharedSession(tmp_path / "session.json", wall=lambda: 200.0)
    one.announce(focused=True)
    two.announce(focused=False)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    ghost = SharedSession(tmp_path / "session.json", pid=int(gone.stdout), wall=lambda: 50.0)
    ghost.announce(focused=True)
    two.claim("refresh")
    peers = one.peers()
    assert [(p.instance, p.focused, p.this, p.holds_lease) for p in peers] == [
        (one.instance, True, True, False),
        (two.instance, False, False, True),
    ]
    assert not (tmp_path / "instances" / f"{ghost.instance}.json").exists()
    two.withdraw()
    assert [p.instance for p in one.peers()] == [one.instance]


# -- found in review: each failed on the code before its fix ----------------------------------------


async def test_a_sign_out_just_after_the_other_window_refreshed_signs_both_out(tmp_path: Path) -> None:
    a, b, _backend, clock = await started(tmp_path)
    await a.login("ada", Secret(PASSWORD))
    b.sync()
    clock.advance(TTL - WARN / 2)
    b.user_activity()
    b.tick()  # B refreshes: the stored token is now one A has not seen
    await b.wait_for_flight()
    a.sign_out()  # within A's second between looks
    await pile_up()
    clock.advance(1)
    a.sync()
    b.sync()
    assert not a.signed_in and not b.signed_in
    assert not (tmp_path / "session.json").exists()


async def test_an_idle_window_never_expires_on_a_deadline_the_other_window_has_moved(tmp_path: Path) -> None:
    a, b, backend, clock = await started(tmp_path)
    await a.login("ada", Secret(PASSWORD))
    b.sync()
    for _ in range(3):  # A's calls, a few seconds apart: each reaches the file within a second
        clock.advance(5)
        assert await api_call(a, backend)
    clock.advance(TTL - 10)  # past B's own last-known deadline, before A's
    b.tick()  # B looks first
    await pile_up()
    assert b.signed_in and a.signed_in
    assert b.view().deadline == pytest.approx(a.view().deadline)


async def test_a_damaged_file_moved_aside_by_one_window_is_no_sign_out_in_the_other(tmp_path: Path) -> None:
    a, b, _backend, clock = await started(tmp_path)
    await a.login("ada", Secret(PASSWORD))
    b.sync()
    (tmp_path / "session.json").write_text("{garbage")
    clock.advance(1)
    a.sync()  # A moves it aside
    seen = decisions_of(b)
    b.sync()
    assert not any(isinstance(x, d.SignOut) for x in seen) and b.signed_in


async def test_a_busy_lock_keeps_a_sign_in_back_never_loses_it_and_never_blocks(tmp_path: Path) -> None:
    import fcntl

    a, b, backend, clock = await started(tmp_path)
    fd = os.open(tmp_path / "session.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another process holds the lock (its write's fsync, say)
    try:
        await b.login("ada", Secret(PASSWORD))  # returns at once: the write waits
        assert json.loads((tmp_path / "session.json").read_text())["kind"] == "guest"
        clock.advance(16)
        assert await api_call(a, backend)  # A's guest extension: kept back too
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    b.sync()  # B's next look writes its sign-in, over A's guest session
    a.sync()
    assert json.loads((tmp_path / "session.json").read_text())["kind"] == "user"
    assert a.signed_in and a.user["username"] == "ada"


def test_without_proc_a_live_holder_is_running_and_a_gone_one_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    from sessionkeeper.session import shared

    monkeypatch.setattr(shared, "_PROC", False)
    assert process_state(os.getppid()) == "running"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    assert process_state(int(gone.stdout)) == "gone"


def test_an_instances_dir_planted_as_a_link_is_never_written_into_nor_swept(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.json").write_text('{"instance": "x", "pid": 999999999, "since_wall": 1}')
    (tmp_path / "instances").symlink_to(elsewhere)
    mine = SharedSession(tmp_path / "session.json")
    mine.announce(focused=True)
    assert mine.peers() == []
    assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.json"]
