"""Textual calls an `on_*` handler of every class in a screen's MRO, not just the most derived
one. A subclass that "overrides" a handler runs twice as much as it means to: the QA panel's
own `on_screen_resume` did not stop its base's, which told the engine the flow had been left and
so hid the prompt under the panel. These tests pin the rule and that case.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from sessionkeeper.tui.screens import base, booking, bookings, home, prompt, qa, sign_in, signed_out
from sessionkeeper.tui.screens.prompt import ExpiryPrompt
from sessionkeeper.tui.screens.qa import QAPanel
from sessionkeeper.tui.screens.signed_out import SignedOutScreen
from tests.tui.harness import TTL, WARN, running


def screen_classes() -> list[type]:
    found = []
    for module in (base, booking, bookings, home, prompt, qa, sign_in, signed_out):
        found += [
            c for _, c in inspect.getmembers(module, inspect.isclass) if c.__module__ == module.__name__
        ]
    return found


def test_no_screen_redefines_a_handler_an_ancestor_of_ours_already_defines() -> None:
    ours = ("sessionkeeper.tui.",)
    clashes = []
    for cls in screen_classes():
        for name, value in vars(cls).items():
            if not (name.startswith("on_") and callable(value)):
                continue
            for ancestor in cls.__mro__[1:]:
                if ancestor.__module__.startswith(ours) and name in vars(ancestor):
                    clashes.append(f"{cls.__name__}.{name} (also {ancestor.__name__})")
    assert clashes == []


@pytest.mark.slow  # about 4 s
async def test_opening_the_qa_panel_over_the_prompt_leaves_the_prompt_and_the_session_alone(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as h:
        await h.sign_in()
        await h.pilot.press("b")
        await h.pilot.pause()
        await h.fill("origin", "AMS")
        await h.advance(TTL - WARN)
        assert isinstance(h.app.screen, ExpiryPrompt)
        before = await h.counters()
        await h.pilot.press("f2")
        await h.pilot.pause()
        await h.app.workers.wait_for_complete()
        await h.settle()
        assert isinstance(h.app.screen, QAPanel)
        assert h.client.manager.view().prompt_visible
        assert (await h.counters())["refreshes"] == before["refreshes"]
        await h.pilot.press("escape")
        await h.pilot.pause()
        assert isinstance(h.app.screen, ExpiryPrompt)


@pytest.mark.slow  # about 3.5 s
async def test_a_sign_out_at_the_deadline_under_the_qa_panel_waits_for_the_panel_to_close(
    tmp_path: Path,
) -> None:
    """Found by hand: the engine hid the prompt under the panel, and dismissing it popped the
    panel (Textual's dismiss pops whatever is on top)."""
    async with running(tmp_path) as h:
        await h.sign_in()
        await h.pilot.press("b")
        await h.pilot.pause()
        await h.advance(TTL - WARN)
        await h.pilot.press("f2")
        await h.pilot.pause()
        await h.pilot.press("x")  # past the deadline: the prompt ignored, the user signed out
        await h.pilot.pause()
        await h.app.workers.wait_for_complete()
        await h.pilot.pause()
        assert isinstance(h.app.screen, QAPanel)
        await h.pilot.press("escape")
        await h.pilot.pause()
        await h.pilot.pause()
        assert isinstance(h.app.screen, SignedOutScreen)
        assert not any(isinstance(s, ExpiryPrompt) for s in h.app.screen_stack)
