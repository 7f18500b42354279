"""A QA action runs to its end whether the panel stays open or not (issue 16, item 11): its result
goes on the timeline and shows the next time the panel opens."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sessionkeeper.tui.screens.home import HomeScreen
from sessionkeeper.tui.screens.qa import QAPanel
from tests.tui.harness import Harness, running


async def until_on_timeline(h: Harness, name: str, *, within_s: float = 10.0) -> None:
    """Until `name` is on the timeline (the calls travel over loopback meanwhile)."""
    for _ in range(int(within_s / 0.02)):
        if name in h.client.manager.timeline.names():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{name} never reached the timeline: {h.client.manager.timeline.names()[-10:]}")


async def test_a_burst_closed_with_the_panel_still_sends_every_call_and_says_how_it_ended(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as h:
        before = await h.counters()
        await h.pilot.press("f2")
        assert isinstance(h.app.screen, QAPanel)
        h.client.network.hold_s = 0.3  # the calls are still out when the panel closes
        await h.pilot.press("u")  # a burst of N = 30
        await h.pilot.press("escape")
        assert isinstance(h.app.screen, HomeScreen)
        await until_on_timeline(h, "qa_action")
        after = await h.counters()
        sent = (after["api_calls"] - before["api_calls"]) + (after["graphql_calls"] - before["graphql_calls"])
        assert sent == 30
        burst = next(e for e in h.client.manager.timeline if e.name == "burst")
        assert burst.detail["call_answered"] == 30
        result = next(e for e in h.client.manager.timeline if e.name == "qa_action").detail["result"]
        assert result.startswith("burst of 30: 30 ok, 0 failed")
        await h.pilot.press("f2")
        assert result in h.text("#qa-action")


async def test_a_result_that_lands_while_the_panel_is_half_built_or_half_gone_draws_nothing_and_is_kept(
    tmp_path: Path,
) -> None:
    # A panel in the stack whose boxes are not all there yet (mounting nests them) or no longer
    # (removal takes them one by one): the monkey found a QA result landing just then.
    async with running(tmp_path) as h:
        await h.pilot.press("f2")
        panel = h.app.screen
        assert isinstance(panel, QAPanel)
        await panel.query_one("#qa-client").remove()
        panel.note("reset: done")  # raised NoMatches ('#qa-client') before
        assert "reset: done" in panel.last_action
        assert h.app.return_code is None


async def test_a_result_noted_at_every_moment_of_the_panel_coming_up_draws_nothing_early_and_fails_nothing(
    tmp_path: Path,
) -> None:
    # Found by CI's monkey: a QA result landed while the panel's boxes were attached to it but not
    # yet where a query finds them. Here a note lands at each turn of the loop as the panel mounts.
    async with running(tmp_path) as h:
        panel = QAPanel()
        h.app.push_screen(panel)
        for turn in range(200):
            panel.note(f"turn {turn}")
            await asyncio.sleep(0)
        await h.pilot.pause()
        assert h.app.screen is panel
        assert "turn 199" in h.text("#qa-action")
        assert h.app.return_code is None
