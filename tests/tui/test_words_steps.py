"""Issue 18, item 12: a draft's step is named as the booking screens title it, never by its id."""

from __future__ import annotations

from pathlib import Path

import pytest

from sessionkeeper.tui import wording
from sessionkeeper.tui.screens.booking import TITLES
from tests.tui.harness import running

pytestmark = pytest.mark.slow  # the real app under Pilot


async def test_home_names_the_drafts_step_as_the_booking_screen_titles_it(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.fill_search()
        await h.pilot.press("escape")
        await h.settle()
        summary = h.text("#draft-summary")
        assert summary == "Booking draft saved at step 1 of 6, Search flights."
        assert "'search'" not in summary


def test_each_step_name_is_the_one_its_screen_shows() -> None:
    for number, (step, title) in enumerate(TITLES.items(), 1):
        assert title == f"{number} · {wording.STEP_NAMES[step]}"
        assert wording.step_words(step).endswith(wording.STEP_NAMES[step])
