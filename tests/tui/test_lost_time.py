"""Three kinds of lost time (issue 20, item 6), told apart: a skip (the app awake: each wake-up fires
in order), a sleep (nothing runs; the session clock jumps and the monotonic one does not) and a
freeze (a real SIGSTOP, found from the SIGCONT and the gap). Each shipped scenario's expectations
hold for its own kind and fail for the other two."""

from __future__ import annotations

import dataclasses

import pytest

from sessionkeeper.tui.scenario.loader import find, load
from sessionkeeper.tui.scenario.runner import run

SCENARIOS = {"skip": "28", "sleep": "29", "freeze": "30"}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scenario", "kind"),
    [(s, k) for s in SCENARIOS for k in SCENARIOS if k != s],
)
async def test_each_kinds_expectations_fail_for_the_other_two(scenario: str, kind: str) -> None:
    shipped = load(find(SCENARIOS[scenario]))
    steps = tuple(
        dataclasses.replace(step, qa=kind) if step.qa == scenario else step for step in shipped.steps
    )
    assert steps != shipped.steps
    outcome = await run(dataclasses.replace(shipped, steps=steps))
    assert not outcome.passed
    assert outcome.failure is not None and "expect" in outcome.failure
