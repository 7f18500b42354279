"""A real stop (issue 20, item 6): the QA freeze stops this very process with SIGSTOP and a helper's
SIGCONT continues it; the app's SIGCONT handler (tui.continued) tells the session before anything
else runs, and the session takes the gap for a time away. Where a shell's job control would take
the terminal, the loop is blocked instead and the SIGCONT's work done by hand."""

from __future__ import annotations

import time
from pathlib import Path

from sessionkeeper.api.qa.stop import stop_process, under_job_control
from sessionkeeper.tui import continued
from tests.tui.harness import running


async def test_a_real_stop_and_continue_reaches_every_listener_once() -> None:
    heard: list[str] = []
    stop = continued.listen(lambda: heard.append("sigcont"))
    try:
        started = time.monotonic()
        how = await stop_process(
            0.3, just_before=lambda: heard.append("before"), continued=lambda: heard.append("by hand")
        )
        took = time.monotonic() - started
    finally:
        stop()
    assert took >= 0.25  # stopped (or blocked) for real
    if under_job_control():
        assert heard == ["before", "by hand"] and how.startswith("its event loop blocked")
    else:
        assert heard == ["before", "sigcont"] and how == "SIGSTOP, then SIGCONT"


async def test_a_freeze_longer_than_the_ttl_is_a_stop_and_a_silent_reauth(tmp_path: Path) -> None:
    async with running(tmp_path, ttl=60.0) as h:
        await h.sign_in()
        h.app.tick()  # last seen alive now
        words = await h.app.qa.run("freeze", 120)  # type: ignore[union-attr]
        assert "stopped 120 s" in words
        h.app.tick()  # the first second after: the SIGCONT's flag, and the gap
        await h.settle()
        [back] = [x for x in h.client.manager.timeline if x.name == "resumed"]
        assert back.detail["how"] == "stop" and back.detail["away_s"] >= 120
        assert h.client.manager.signed_in and h.client.username == "ada"
        assert "reauth_succeeded" in h.client.manager.timeline.names()
