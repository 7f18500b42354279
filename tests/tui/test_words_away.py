"""Issue 18, item 5: in the background the countdown says what is true. The number keeps falling
because the server's clock runs on, and nothing is renewed until the app is back; never "paused"."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events

from sessionkeeper.tui import wording
from tests.tui.harness import TTL, running

pytestmark = pytest.mark.slow  # the real app under Pilot, 1 to 2 s each


async def test_in_the_background_the_countdown_says_the_servers_clock_runs_on(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        h.app.post_message(events.AppBlur())
        await h.pilot.pause()
        await h.advance(10)
        line = h.countdown_text()
        assert line == "⏱ 0:50  away: the server's clock runs on; renewed when you're back  ·  guest"
        assert "paused" not in line
        await h.advance(TTL)
        spent = "⏱ 0:00  ran out while away: a new session starts when you're back  ·  guest"
        assert h.countdown_text() == spent
        h.app.post_message(events.AppFocus())
        await h.settle()
        assert h.countdown_text() == "⏱ 1:00  active  ·  guest"


async def test_a_signed_in_user_away_past_the_deadline_is_told_they_are_signed_in_again_on_return(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as h:
        await h.sign_in()
        h.app.post_message(events.AppBlur())
        await h.pilot.pause()
        await h.advance(TTL + 5)
        assert h.countdown_text() == "⏱ 0:00  ran out while away: signed in again when you're back  ·  ada"
        h.app.post_message(events.AppFocus())
        await h.settle()
        assert h.countdown_text() == "⏱ 1:00  active  ·  ada"


@pytest.mark.parametrize("remaining", [20.0, 0.0])
@pytest.mark.parametrize("signed_in", [True, False])
def test_the_away_line_fits_80_columns_with_the_holder(remaining: float, signed_in: bool) -> None:
    line = f"⏱ 0:20  {wording.away_words(remaining, signed_in=signed_in)}  ·  guest"
    assert len(line) <= 78  # the countdown's padding takes one column each side
