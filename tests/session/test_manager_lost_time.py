"""Lost time as the manager finds it (issue 20, item 6): a sleep from the clocks drifting apart,
seen by the next heartbeat; a stop from a SIGCONT (`continued`) and the gap since the process was
last seen alive; and neither when the app was away already or the gap was short."""

from __future__ import annotations

from pathlib import Path

from sessionkeeper.session.clock import FakeClock, QAClock, asleep_offset, skip_offset
from sessionkeeper.session.secrets import Secret
from sessionkeeper.session.wakeups import Wakeups
from tests.session.managers import PASSWORD, TTL, make_manager
from tests.session.test_manager_startup_and_sleep import asleep_manager


def resumed(mgr: object) -> list[dict[str, object]]:
    return [x.detail for x in mgr.timeline if x.name == "resumed"]  # type: ignore[attr-defined]


def test_a_qa_sleep_is_time_the_monotonic_clock_does_not_see_and_a_skip_is() -> None:
    clock = QAClock(FakeClock())
    clock.skip_ahead(30)
    clock.sleep(100)
    assert skip_offset(clock) == 130 and asleep_offset(clock) == 100
    loop = FakeClock()
    wakeups = Wakeups(
        clock, lambda due: None, stop_gap_s=2.0, enabled=False, watch_sleep=True, loop_time=loop.now
    )
    assert not wakeups.slept()  # the first look: nothing to compare with
    clock.skip_ahead(600)
    assert not wakeups.slept()  # a skip: not a sleep
    clock.sleep(60)
    assert wakeups.slept(peek=True) and wakeups.slept()  # a peek leaves it to the next look
    assert not wakeups.slept()


async def test_a_sleep_is_found_by_the_next_heartbeat_not_the_next_wake_up(tmp_path: Path) -> None:
    mgr, backend, clock, loop_clock = asleep_manager(tmp_path)
    await mgr.start()
    await mgr.login("ada", Secret(PASSWORD))
    clock.advance(100)
    mgr.heartbeat()
    clock.advance(3600)
    loop_clock.slept += 3600
    mgr.heartbeat()  # the first second after waking
    await mgr.wait_for_flight()
    assert resumed(mgr) == [{"away_s": 3600.0, "detected": True, "how": "sleep"}]
    assert backend.counters["reauths"] == 1 and mgr.signed_in


async def test_a_sigcont_after_a_gap_is_a_stop_measured_from_the_last_heartbeat(tmp_path: Path) -> None:
    mgr, backend, clock = make_manager(tmp_path)
    await mgr.start()
    await mgr.login("ada", Secret(PASSWORD))
    clock.advance(50)
    mgr.heartbeat()  # last seen alive at 50 s
    clock.advance(TTL + 200)  # stopped (kill -STOP) ...
    mgr.continued()  # ... and continued: the signal handler sets a flag, nothing more
    assert resumed(mgr) == []
    mgr.heartbeat()
    await mgr.wait_for_flight()
    assert resumed(mgr) == [{"away_s": TTL + 200, "detected": True, "how": "stop"}]
    assert backend.counters["reauths"] == 1 and mgr.view().remaining_s == TTL
    mgr.heartbeat()  # the flag is spent: one return, not two
    assert len(resumed(mgr)) == 1


async def test_a_sigcont_with_no_gap_or_while_away_is_no_return(tmp_path: Path) -> None:
    mgr, backend, clock = make_manager(tmp_path)
    await mgr.start()
    clock.advance(10)
    mgr.heartbeat()
    clock.advance(1)  # under the stop gap: a SIGCONT someone sent a running process
    mgr.continued()
    mgr.heartbeat()
    assert resumed(mgr) == []
    mgr.background()  # Ctrl+Z: the app goes to the background before it stops
    clock.advance(300)
    mgr.continued()
    mgr.tick()
    assert resumed(mgr) == []  # the return is the focus's, when it comes
    mgr.resume()
    await mgr.wait_for_flight()
    assert [r["how"] for r in resumed(mgr)] == ["away"]
    assert backend.counters["refreshes"] == 1
