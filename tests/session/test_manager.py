"""The async manager against the in-memory backend: single flight, wake-ups, storage, timeline."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import pytest

from sessionkeeper.session import decisions as d
from sessionkeeper.session.clock import FakeClock
from sessionkeeper.session.engine import State
from sessionkeeper.session.events import SessionKind
from sessionkeeper.session.manager import SessionEnded, SessionManager, SessionUnavailable
from sessionkeeper.session.port import BackendUnavailable
from sessionkeeper.session.secrets import Secret
from sessionkeeper.session.store import SessionStore
from sessionkeeper.session.timeline import Timeline
from tests.session.fake_backend import FakeBackend
from tests.session.managers import PASSWORD, TTL, WARN, api_call, make_manager, pile_up


async def test_start_obtains_a_guest_session_at_once(tmp_path: Path) -> None:
    mgr, backend, _ = make_manager(tmp_path)
    await mgr.start()
    assert backend.counters["guest_sessions"] == 1
    view = mgr.view()
    assert view.kind is SessionKind.GUEST and view.remaining_s == TTL and view.state is State.ACTIVE


# -- rule 8: single flight, 500 callers -----------------------------------------------------------


async def test_rule8_500_callers_past_the_deadline_cause_one_refresh_and_all_succeed(tmp_path: Path) -> None:
    clock = FakeClock()
    backend = FakeBackend(clock, ttl_s=TTL + 10)  # the server holds sessions a little longer
    mgr, _, _ = make_manager(tmp_path, clock=clock, backend=backend)
    await mgr.start()
    clock.advance(TTL + 1)
    backend.refresh_gate = asyncio.Event()
    calls = [asyncio.create_task(api_call(mgr, backend)) for _ in range(500)]
    await pile_up()
    assert backend.counters["refreshes"] == 1 and mgr.flight_in_progress
    backend.refresh_gate.set()
    results = await asyncio.wait_for(asyncio.gather(*calls), timeout=10)
    assert results == [True] * 500
    assert backend.counters["refreshes"] == 1
    assert backend.counters["api_calls"] == 500 and backend.counters["rejected"] == 0
    assert mgr.view().generation == 2


async def test_rule8_500_callers_all_see_a_failed_refresh_and_none_hangs(tmp_path: Path) -> None:
    mgr, backend, clock = make_manager(tmp_path)
    await mgr.start()
    clock.advance(TTL + 1)
    backend.refresh_fault = "error"
    backend.refresh_gate = asyncio.Event()
    calls = [asyncio.create_task(api_call(mgr, backend)) for _ in range(500)]
    await pile_up()
    backend.refresh_gate.set()
    results = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), timeout=10)
    assert all(isinstance(r, SessionUnavailable) for r in results)
    assert {str(r) for r in results} == {"no session: refresh failed (backend error)"}
    assert backend.counters["refreshes"] == 1 and backend.counters["api_calls"] == 0


async def test_rule8_rejected_refresh_chains_one_reauth_shared_by_all_callers(tmp_path: Path) -> None:
    mgr, backend, clock = make_manager(tmp_path)
    await mgr.start()
    await mgr.login("ada", Secret(PASSWORD))
    clock.advance(TTL + 1)
    backend.refresh_gate = asyncio.Event()
    calls = [asyncio.create_task(api_call(mgr, backend)) for _ in range(500)]
    await pile_up()
    backend.refresh_gate.set()
    results = await asyncio.wait_for(asyncio.gather(*calls), timeout=10)
    assert results == [True] * 500
    assert (backend.counters["refreshes"], backend.counters["reauths"]) == (1, 1)
    assert mgr.signed_in and mgr.user["username"] == "ada"


async def test_rule8_concurrent_callers_during_a_reauth_wait_instead_of_starting_another(
    tmp_path: Path,
) -> None:
    mgr, backend, _ = make_manager(tmp_path)
    await mgr.start()
    await mgr.login("ada", Secret(PASSWORD))
    backend.revoke(backend.session_of(mgr._token).sid)  # type: ignore[union-attr]
    # The reauth key dies with the session: recovery is rejected, every caller is told, once.
    results = await asyncio.gather(*(api_call(mgr, backend) for _ in range(50)), return_exceptions=True)
    assert backend.counters["reauths"] == 1
    assert all(isinstance(r, SessionEnded) for r in results), results
    assert mgr.view().state is State.SIGNED_OUT


# -- rule 7 / 13: recovery and replay ------------------------------------------------------------


async def test_rule7_revoked_guest_session_is_replaced_and_the_call_replayed_once(tmp_path: Path) -> None:
    mgr, backend, _ = make_manager(tmp_path)
    await mgr.start()
    backend.revoke("s1")
    assert await api_call(mgr, backend) is True
    assert backend.counters["guest_sessions"] == 2 and backend.counters["rejected"] == 1
    assert backend.counters["api_calls"] == 2


# -- rule 9: background --------------------------------------------------------------------------


async def test_rule9_long_background_reauths_silently_and_asks_for_a_profile_resync(tmp_path: Path) -> None:
    mgr, backend, clock = make_manager(tmp_path)
    seen: list[d.Decision] = []
    mgr.subscribe(seen.append)
    await mgr.start()
    await mgr.login("ada", Secret(PASSWORD))
    mgr.background()
    assert mgr.view().state is State.PAUSED
    clock.advance(TTL * 2)
    mgr.resume()
    await mgr.wait_for_flight()
    assert backend.counters["reauths"] == 1 and backend.counters["refreshes"] == 0
    assert d.ResyncProfile() in seen and not any(isinstance(x, d.SignOut) for x in seen)
    assert mgr.signed_in and mgr.view().remaining_s == TTL


async def test_rule9_short_background_refreshes_on_return(tmp_path: Path) -> None:
    mgr, backend, clock = make_manager(tmp_path)
    await mgr.start()
    mgr.background()
    clock.advance(300)
    mgr.resume()
    await mgr.wait_for_flight()
    assert backend.counters["refreshes"] == 1 and mgr.view().remaining_s == TTL


# -- rule 4 through the manager ------------------------------------------------------------------


async def test_rule4_prompt_is_announced_to_listeners_and_stay_refreshes(tmp_path: Path) -> None:
    mgr, backend, clock = make_manager(tmp_path)
    seen: list[d.Decision] = []
    mgr.subscribe(seen.append)
    await mgr.start()
    mgr.set_active_flow(True)
    clock.advance(TTL - WARN)
    mgr.tick()
    assert d.ShowPrompt(seconds_left=WARN) in seen
    mgr.answer_prompt(stay=True)
    await mgr.wait_for_flight()
    assert backend.counters["refreshes"] == 1 and d.HidePrompt() in seen
    assert mgr.view().remaining_s == TTL


# -- wake-ups --------------------------------------------------------------------------------------


async def test_wakeups_are_scheduled_from_the_deadline_not_counted_down(tmp_path: Path) -> None:
    mgr, backend, clock = make_manager(tmp_path, auto_wake=True)
    await mgr.start()
    mgr.set_active_flow(True)
    assert mgr.scheduled_wake_in == pytest.approx(TTL - WARN, abs=0.01)  # one timer, to the warning
    clock.advance(100)
    await api_call(mgr, backend)
    # The deadline moved later: the armed timer is early, never late; no timer churn per call.
    wake_in = mgr.scheduled_wake_in
    assert wake_in is not None and wake_in <= mgr.engine.next_wakeup() - clock.now() + 0.01  # type: ignore[operator]
    clock.advance(TTL - WARN)
    mgr.clock_jumped()  # as the early timer firing would: it re-arms from the deadline
    assert mgr.view().prompt_visible
    assert mgr.scheduled_wake_in == pytest.approx(WARN, abs=0.01)  # next: the deadline itself
    backend.refresh_fault = "error"
    mgr.answer_prompt(stay=True)
    await mgr.wait_for_flight()
    assert mgr.scheduled_wake_in == pytest.approx(1.0, abs=0.01)  # an earlier need re-arms it
    mgr.background()
    assert mgr.scheduled_wake_in is None  # nothing wakes while away
    await mgr.close()


async def test_a_clock_jump_is_acted_on_at_once_and_re_arms_the_timer(tmp_path: Path) -> None:
    mgr, _, clock = make_manager(tmp_path, auto_wake=True)
    await mgr.start()
    mgr.set_active_flow(True)
    clock.advance(TTL - 1)  # a QA skip-ahead past the warning, straight to the last second
    mgr.clock_jumped()
    assert mgr.view().prompt_visible
    wake_in = mgr.scheduled_wake_in
    assert wake_in is not None and wake_in < 1.01
    await mgr.close()


# -- rule 10: the stored session -------------------------------------------------------------------


async def test_rule10_stored_session_is_0600_holds_no_password_and_resumes_within_the_ttl(
    tmp_path: Path,
) -> None:
    mgr, backend, clock = make_manager(tmp_path)
    await mgr.start()
    await mgr.login("ada", Secret(PASSWORD))
    await mgr.close()
    path = tmp_path / "session.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert PASSWORD not in path.read_text()
    clock.advance(300)
    mgr2, _, _ = make_manager(tmp_path, clock=clock, backend=backend)
    await mgr2.start()
    assert backend.counters["refreshes"] == 1 and backend.counters["reauths"] == 0
    assert mgr2.signed_in and mgr2.user["username"] == "ada" and mgr2.view().remaining_s == TTL


async def test_rule10_restart_after_the_ttl_reauths_a_user_silently(tmp_path: Path) -> None:
    mgr, backend, clock = make_manager(tmp_path)
    await mgr.start()
    await mgr.login("ada", Secret(PASSWORD))
    await mgr.close()
    clock.advance(TTL * 3)
    mgr2, _, _ = make_manager(tmp_path, clock=clock, backend=backend)
    await mgr2.start()
    assert backend.counters["reauths"] == 1 and backend.counters["refreshes"] == 0
    assert mgr2.signed_in


async def test_rule3_restart_with_the_wall_clock_set_back_is_treated_as_expired(tmp_path: Path) -> None:
    mgr, backend, clock = make_manager(tmp_path)
    await mgr.start()
    await mgr.close()
    clock.set_wall(clock.wall() - 3600)
    mgr2, _, _ = make_manager(tmp_path, clock=clock, backend=backend)
    await mgr2.start()
    assert backend.counters["guest_sessions"] == 2 and backend.counters["refreshes"] == 0


async def test_a_damaged_stored_session_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "session.json").write_text("{not json")
    mgr, backend, _ = make_manager(tmp_path)
    await mgr.start()
    assert backend.counters["guest_sessions"] == 1


# -- sign-out, offline ---------------------------------------------------------------------------


async def test_sign_out_revokes_the_token_on_the_server_and_forgets_the_stored_session(
    tmp_path: Path,
) -> None:
    mgr, backend, _ = make_manager(tmp_path)
    await mgr.start()
    await mgr.login("ada", Secret(PASSWORD))
    session = backend.session_of(mgr._token)
    mgr.sign_out()
    await pile_up()
    assert session is not None and session.revoked
    assert not (tmp_path / "session.json").exists()
    assert mgr.view().state is State.SIGNED_OUT


async def test_offline_never_signs_a_user_out_and_recovers_when_back(tmp_path: Path) -> None:
    mgr, backend, clock = make_manager(tmp_path)
    await mgr.start()
    await mgr.login("ada", Secret(PASSWORD))
    backend.offline = True
    with pytest.raises(BackendUnavailable):
        await api_call(mgr, backend)
    assert mgr.view().offline
    clock.advance(TTL + 5)
    mgr.tick()
    assert mgr.signed_in and mgr.view().state is State.EXPIRED
    with pytest.raises(SessionUnavailable) as info:
        await api_call(mgr, backend)
    assert info.value.transport
    backend.offline = False
    assert await api_call(mgr, backend) is True
    assert mgr.signed_in and not mgr.view().offline and backend.counters["reauths"] == 1


# -- rule 13: the timeline ---------------------------------------------------------------------------


async def test_rule13_every_event_is_on_the_timeline_and_in_the_file_without_secrets(tmp_path: Path) -> None:
    mgr, backend, clock = make_manager(tmp_path)
    await mgr.start()
    await api_call(mgr, backend)
    await mgr.login("ada", Secret(PASSWORD))
    mgr.set_active_flow(True)
    clock.advance(TTL - WARN)
    mgr.tick()
    mgr.answer_prompt(stay=True)
    await mgr.wait_for_flight()
    mgr.background()
    clock.advance(TTL * 2)
    mgr.resume()
    await mgr.wait_for_flight()
    mgr.sign_out()
    await pile_up()
    await mgr.close()
    names = mgr.timeline.names()
    for expected in [
        "token_issued",
        "call_sent",
        "call_answered",
        "deadline_moved",
        "warning",
        "prompt_shown",
        "refresh_started",
        "refresh_succeeded",
        "backgrounded",
        "resumed",
        "reauth_started",
        "reauth_succeeded",
        "profile_resync",
        "signed_out",
    ]:
        assert expected in names, expected
    lines = (tmp_path / "timeline.jsonl").read_text().splitlines()
    assert [json.loads(line)["event"] for line in lines] == names
    secrets = [t for t in backend.tokens] + ["key-", PASSWORD, "secretvalue"]
    text = (tmp_path / "timeline.jsonl").read_text() + repr(list(mgr.timeline))
    assert not [s for s in secrets if s in text]
    assert any(json.loads(line).get("token", "").startswith("fp:") for line in lines)


def test_timeline_refuses_a_secret_in_its_details() -> None:
    with pytest.raises(TypeError, match="fingerprint"):
        Timeline().record(0.0, 0.0, "token_issued", token=Secret("abc"))


async def test_a_session_stored_for_another_backend_is_not_offered_back(tmp_path: Path) -> None:
    clock = FakeClock()
    backend = FakeBackend(clock, ttl_s=TTL)
    first = SessionManager(
        port=backend, clock=clock, store=SessionStore(tmp_path / "s.json", scope="http://a")
    )
    await first.start()
    await first.close()
    second = SessionManager(
        port=backend, clock=clock, store=SessionStore(tmp_path / "s.json", scope="http://b")
    )
    await second.start()
    assert backend.counters["guest_sessions"] == 2 and backend.counters["refreshes"] == 0
    await second.close()


async def test_sign_out_during_a_refresh_discards_and_revokes_the_token_it_brings(tmp_path: Path) -> None:
    mgr, backend, clock = make_manager(tmp_path)
    await mgr.start()
    await mgr.login("ada", Secret(PASSWORD))
    clock.advance(TTL + 1)
    backend.ttl_s = TTL * 2  # the server still holds the session: the refresh will succeed
    backend.sessions[backend.session_of(mgr._token).sid].deadline += TTL  # type: ignore[union-attr]
    backend.refresh_gate = asyncio.Event()
    call = asyncio.create_task(api_call(mgr, backend))
    await pile_up()
    mgr.sign_out()
    backend.refresh_gate.set()
    with pytest.raises((SessionEnded, SessionUnavailable)):
        await call
    await pile_up()
    assert mgr.view().state is State.SIGNED_OUT and not mgr.signed_in
    assert not [s for s in backend.live_sessions() if s.user == "ada"]  # nothing left alive
