"""Only working keys in the footer, and every screen usable in a small terminal (issue 8, items 11
and 13): the prompt lists its own keys, steps name their real next action, nothing unavailable is
offered, the footer never cuts a key in half, and at 80x24 and 60x20 everything is in reach.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button

from sessionkeeper.tui.screens.booking import ConfirmationStep, ReviewStep, SearchStep
from sessionkeeper.tui.screens.prompt import ExpiryPrompt
from sessionkeeper.tui.screens.qa import QAPanel
from tests.tui.harness import TTL, WARN, running


def shown_keys(screen: Screen[Any]) -> dict[str, str]:
    """What the screen's footer lists: key -> description."""
    return {
        key: active.binding.description
        for key, active in screen.active_bindings.items()
        if active.binding.show and active.enabled
    }


def visible(widget: Widget, size: tuple[int, int]) -> bool:
    """The widget is drawn on screen (not scrolled away, not under the footer)."""
    region = widget.region
    return region.height > 0 and region.y >= 0 and region.bottom <= size[1] - 1 and region.right <= size[0]


async def test_the_prompt_lists_only_its_own_keys(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.pilot.press("b")
        await h.pilot.pause()
        await h.advance(TTL - WARN)
        assert isinstance(h.app.screen, ExpiryPrompt)
        keys = shown_keys(h.app.screen)
        assert set(keys.values()) == {"Keep my session", "End session"}, keys
        assert h.app.screen.query("FittingFooter"), "the prompt has its own footer over the form's"


async def test_each_step_names_its_real_next_action_and_offers_no_dead_key(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.open_step("review", {"flight_id": "LHR-CDG-20300501-1", "seat": "3A"})
        assert isinstance(h.app.screen, ReviewStep)
        assert shown_keys(h.app.screen)["ctrl+n"] == "Pay"
        assert str(h.app.screen.query_one("#next", Button).label) == "Pay (ctrl+n)"
        await h.open_step("confirmation", {"record_locator": "ABC123"})
        assert isinstance(h.app.screen, ConfirmationStep)
        keys = shown_keys(h.app.screen)
        assert "escape" not in keys and keys["ctrl+n"] == "Done" and keys["m"] == "My bookings"
        await h.pilot.press("escape")  # not offered, and does nothing
        await h.pilot.pause()
        assert isinstance(h.app.screen, ConfirmationStep)


@pytest.mark.slow  # about 3.5 s
async def test_home_offers_continue_only_with_a_draft_and_always_shows_quit(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        keys = shown_keys(h.app.screen)
        assert "c" not in keys and keys["ctrl+q"] == "Quit" and keys["s"] == "Sign in"
        await h.pilot.press("b")
        await h.pilot.pause()
        await h.fill("origin", "LHR")
        await h.pilot.press("escape")
        await h.pilot.pause()
        keys = shown_keys(h.app.screen)
        assert keys["c"] == "Continue" and keys["ctrl+q"] == "Quit"
        await h.sign_in()
        await h.pilot.press("escape")
        await h.pilot.pause()
        assert shown_keys(h.app.screen)["s"] == "Sign out"


@pytest.mark.slow  # a sweep: three screens at each size
@pytest.mark.parametrize("size", [(60, 20), (80, 24)])
async def test_the_footer_never_cuts_a_key_in_half(tmp_path: Path, size: tuple[int, int]) -> None:
    async with running(tmp_path, size=size) as h:
        for keys in ((), ("b",), ("escape", "f2")):
            for key in keys:
                await h.pilot.press(key)
                await h.pilot.pause()
            await h.pilot.pause(0.05)
            footer = h.app.screen.query_one("FittingFooter")
            shown = [key for key in footer.query("FooterKey") if key.display]
            palette = [key for key in shown if key.has_class("-command-palette")]
            limit = palette[0].region.x if palette else size[0]
            assert shown and all(key.region.right <= limit for key in shown if key not in palette), [
                (str(key.render()), key.region) for key in shown
            ]


async def test_at_80x24_the_qa_panels_timeline_is_on_screen(tmp_path: Path) -> None:
    size = (80, 24)
    async with running(tmp_path, size=size) as h:
        await h.pilot.press("f2")
        await h.pilot.pause()
        await h.app.workers.wait_for_complete()
        await h.pilot.pause()
        assert isinstance(h.app.screen, QAPanel)
        timeline = h.app.screen.query_one("#qa-timeline")
        assert visible(timeline, size) and timeline.region.height >= 5, timeline.region
        assert "token_issued" in h.text("#qa-timeline")


async def test_at_60x20_the_search_steps_error_and_next_button_are_within_reach(tmp_path: Path) -> None:
    size = (60, 20)
    async with running(tmp_path, size=size) as h:
        await h.pilot.press("b")
        await h.pilot.pause()
        assert isinstance(h.app.screen, SearchStep)
        await h.fill("origin", "L1")
        await h.pilot.press("ctrl+n")
        await h.pilot.pause()
        error = h.app.screen.query_one("#step-error")
        assert "Please fix" in h.text("#step-error") and visible(error, size)
        next_button = h.app.screen.query_one("#next", Button)
        for _ in range(8):  # Tab on, as a keyboard user would, until Next has the focus
            if h.app.focused is next_button:
                break
            await h.pilot.press("tab")
            await h.pilot.pause()
        assert h.app.focused is next_button and visible(next_button, size)


async def test_keys_typed_after_tab_in_one_burst_go_to_the_next_field(tmp_path: Path) -> None:
    """A burst of keys (a fast typist, a paste, a loaded machine, a browser tab) all queued before
    the app handles the first: the focus must move at Tab, not once Tab has been to the field and
    back, or "lovelace" starts in the username field (it did, in headless Chromium under load)."""
    from textual import events

    from sessionkeeper.tui.messages import ShowSignIn
    from sessionkeeper.tui.screens.sign_in import SignInScreen

    async with running(tmp_path) as h:
        h.app.post_message(ShowSignIn())
        await h.pilot.pause()
        assert isinstance(h.app.screen, SignInScreen)
        for key in ["a", "d", "a", "tab", "l", "o", "v", "e"]:
            h.app.post_message(events.Key(key, key if len(key) == 1 else None))
        await h.pilot.pause()
        assert (h.value("username"), h.value("password")) == ("ada", "love")
