"""Keys typed as the expiry prompt appears (issue 16, item 5): for a moment it takes no key and
no click, says that it interrupted the typing, and keeps what was typed; then y, n and Enter work."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, Label

from sessionkeeper.session.engine import State
from sessionkeeper.tui.screens.booking import SearchStep
from sessionkeeper.tui.screens.prompt import ExpiryPrompt
from tests.tui.harness import TTL, WARN, Harness, running

pytestmark = pytest.mark.slow  # the guard's timing on a clock that runs, 2 to 3 s each

GUARD_S = 1.0


async def typing_as_the_prompt_appears(h: Harness) -> ExpiryPrompt:
    """On the search step, typing "A" into the origin field a moment before the warning window."""
    await h.pilot.press("b")
    await h.pilot.pause()
    assert isinstance(h.app.screen, SearchStep)
    await h.advance(TTL - WARN - 0.5)
    await h.pilot.press("A")
    await h.advance(0.5)
    prompt = h.app.screen
    assert isinstance(prompt, ExpiryPrompt)
    return prompt


def note(prompt: ExpiryPrompt) -> str:
    return str(prompt.query_one("#prompt-note", Label).render())


async def test_n_typed_as_the_prompt_appears_ends_nothing_and_the_field_keeps_its_text(
    tmp_path: Path,
) -> None:
    async with running(tmp_path, prompt_guard_s=GUARD_S) as h:
        prompt = await typing_as_the_prompt_appears(h)
        assert "You were typing" in note(prompt)
        for key in ("n", "n", "enter", "y"):  # "Ann" and more, typed on
            await h.pilot.press(key)
        await h.pilot.pause()
        assert h.app.screen is prompt
        assert h.client.manager.view().state is State.WARNING  # neither ended nor kept
        assert (await h.counters())["refreshes"] == 0
        assert "4 keys ignored" in note(prompt)
        await h.pilot.click("#leave")  # a click is held back too
        assert h.app.screen is prompt
        await h.advance(GUARD_S)
        assert "Now choose" in note(prompt)
        await h.pilot.press("y")
        await h.settle()
        assert isinstance(h.app.screen, SearchStep)
        assert h.app.screen.query_one("#origin", Input).value == "A"
        assert (await h.counters())["refreshes"] == 1


async def test_after_the_guard_n_answers_the_prompt(tmp_path: Path) -> None:
    async with running(tmp_path, prompt_guard_s=GUARD_S) as h:
        prompt = await typing_as_the_prompt_appears(h)
        await h.advance(GUARD_S)
        await h.pilot.press("n")
        await h.settle()
        assert h.app.screen is not prompt
        assert h.client.manager.view().state is not State.WARNING


async def test_a_prompt_that_interrupted_nothing_says_only_that_the_form_is_kept(tmp_path: Path) -> None:
    async with running(tmp_path, prompt_guard_s=GUARD_S) as h:
        await h.pilot.press("b")
        await h.advance(TTL - WARN)  # no key for 40 s: nobody was typing
        prompt = h.app.screen
        assert isinstance(prompt, ExpiryPrompt)
        assert note(prompt) == "Your booking form is kept either way."


async def test_typing_on_past_the_first_second_still_answers_nothing_until_it_stops(tmp_path: Path) -> None:
    async with running(tmp_path, prompt_guard_s=GUARD_S) as h:
        prompt = await typing_as_the_prompt_appears(h)
        for _ in range(6):  # "nnnnnn", one key every half second: three seconds of typing on
            await h.pilot.press("n")
            await h.advance(0.5)
        assert h.app.screen is prompt and "6 keys ignored" in note(prompt)
        assert h.client.manager.view().state is State.WARNING
        await h.advance(GUARD_S)  # the person stops, reads, and answers
        await h.pilot.press("y")
        await h.settle()
        assert isinstance(h.app.screen, SearchStep)
        assert (await h.counters())["refreshes"] == 1
