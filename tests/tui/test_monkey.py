"""The monkey (tests/tui/monkey.py) in the suite: a few fixed seeds of random keys and QA actions
against the real app must find no exception, no key left unanswered past the bound, and no
countdown line outside the documented states. A longer run for QA is in the module's docstring
and the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tui.monkey import COUNTDOWN, monkey_run

KEYS = 500  # per seed: three seeds, 1,500 keys and more in all (about 20 s a seed here)


@pytest.mark.slow  # 500 random keys a seed, 20 to 60 s
@pytest.mark.parametrize("seed", [11, 12, 15])
async def test_random_keys_and_qa_actions_find_no_error_no_lag_and_no_undocumented_countdown(
    tmp_path: Path, seed: int
) -> None:
    report = await monkey_run(tmp_path, seed, keys=KEYS)
    assert report.problems == [], report.summary()
    assert report.keys >= KEYS
    # It went places: the home screen, the QA panel and well into the booking flow.
    assert {"HomeScreen", "QAPanel", "SearchStep", "FlightsStep"} <= report.screens_seen, report.summary()
    assert report.qa_rounds >= 10


def test_the_countdown_pattern_takes_every_documented_state_and_nothing_else() -> None:
    documented = [
        "⏱ -:--  connecting…",
        "⏱ 1:00  active  ·  guest",
        "⏱ 0:19  expiring soon  ·  ada",
        "⏱ 0:20  extending…  ·  ada",
        "⏱ 0:00  re-authenticating…  ·  ada",
        "⏱ 0:41  away: the server's clock runs on; renewed when you're back  ·  guest",
        "⏱ 0:00  ran out while away: signed in again when you're back  ·  ada",
        "⏱ -:--  no session · offline",
        "⏱ 0:00  expired · offline  ·  ada",
        "⏱ 0:12  active · server not answering  ·  guest",
        "⏱ -:--  signed out  ·  no session",
        "⏱ 0:00  starting a new guest session…  ·  guest",
        "⏱ -:--  no session  ·  no session",
    ]
    for line in documented:
        assert COUNTDOWN.match(line), line
    for line in ("⏱ 1:00  asleep  ·  guest", "1:00  active  ·  guest", "⏱ 1:00  active · lost  ·  ada"):
        assert not COUNTDOWN.match(line), line
