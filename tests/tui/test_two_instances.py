"""Rule 14 in the real app: two instances on one data dir against one backend, as two terminals.

The first app starts its embedded backend; the second runs against it (`--backend URL`) on the
same data dir and the same fake clock. Each one's once-a-second tick (`app.tick`, called here as
the timer would) is when it looks at the stored session they share.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sessionkeeper.tui.screens.base import AppScreen
from sessionkeeper.tui.screens.home import HomeScreen
from sessionkeeper.tui.screens.prompt import ExpiryPrompt
from sessionkeeper.tui.screens.signed_out import SignedOutScreen
from tests.tui.harness import TTL, WARN, Harness, running


@asynccontextmanager
async def two(tmp_path: Path) -> AsyncIterator[tuple[Harness, Harness]]:
    async with running(tmp_path) as first:
        url = first.app.services.backend_url
        async with running(tmp_path, backend_url=url, clock=first.clock) as second:
            yield first, second


async def look(*harnesses: Harness) -> None:
    """A second passes for each (its tick: the heartbeat that looks at the shared session)."""
    for h in harnesses:
        h.app.tick()
        await h.pilot.pause()
        await h.app.workers.wait_for_complete()
        await h.pilot.pause()


async def test_a_sign_in_in_one_window_shows_in_the_other_with_its_profile_and_one_login(
    tmp_path: Path,
) -> None:
    async with two(tmp_path) as (first, second):
        await first.sign_in()
        await look(second)
        assert second.client.username == "ada"
        assert "ada" in second.countdown_text()
        assert "Signed in as ada in another window." in second.notes
        profile = second.client.profile
        assert profile is not None and profile.name == "Ada Lovelace"
        counters = await first.counters()
        assert counters["logins"] == 1 and counters["guest_sessions"] == 1
        state = await first.control.state()
        assert len([s for s in state.sessions if not s.revoked and s.ended is None]) == 1


async def test_a_sign_out_in_one_window_signs_the_other_out_in_those_words_keeping_its_draft(
    tmp_path: Path,
) -> None:
    async with two(tmp_path) as (first, second):
        await first.sign_in()
        await look(second)
        await first.fill_search()  # a draft in the first window
        second.client.manager.sign_out()
        await look(second, first)
        screen = first.app.screen
        assert isinstance(screen, SignedOutScreen), type(screen).__name__
        assert first.text("#signed-out-why") == "Signed out in another window."
        assert "step 1 of 6, Search flights" in first.text("#signed-out-draft")
        assert (await first.counters())["reauths"] == 0


async def test_the_prompt_answered_in_one_window_leaves_the_other(tmp_path: Path) -> None:
    async with two(tmp_path) as (first, second):
        await first.open_search()
        await second.open_search()
        await first.advance(TTL - WARN + 1)  # inside the warning window, both on a booking step
        await second.settle()
        assert isinstance(first.app.screen, ExpiryPrompt)
        assert isinstance(second.app.screen, ExpiryPrompt)
        refreshes = (await first.counters())["refreshes"]
        await first.pilot.press("y")  # stay, in the first window
        await first.settle()
        await look(second)
        assert not isinstance(second.app.screen, ExpiryPrompt)
        assert isinstance(second.app.screen, AppScreen) and second.app.screen.ACTIVE_FLOW
        assert (await first.counters())["refreshes"] == refreshes + 1
        # One token (compared as secrets: each process salts its fingerprints its own way).
        assert second.client.manager._token == first.client.manager._token


async def test_a_window_in_the_background_never_prompts_and_takes_the_other_ones_deadline(
    tmp_path: Path,
) -> None:
    async with two(tmp_path) as (first, second):
        await first.open_search()
        await second.open_search()
        second.client.manager.background()  # the second terminal lost focus
        await first.advance(TTL - WARN + 1)
        await second.settle()
        assert isinstance(first.app.screen, ExpiryPrompt)
        assert not isinstance(second.app.screen, ExpiryPrompt)
        await first.pilot.press("y")
        await first.settle()
        await look(second)
        assert second.client.manager.view().deadline == first.client.manager.view().deadline


async def test_quitting_both_and_starting_one_resumes_the_user(tmp_path: Path) -> None:
    async with two(tmp_path) as (first, second):
        await second.sign_in()
        await look(first)
        assert first.client.username == "ada"
        url = first.app.services.backend_url
        async with running(tmp_path, backend_url=url, clock=first.clock) as third:
            assert third.client.username == "ada"
            assert isinstance(third.app.screen, HomeScreen)


async def test_the_qa_panel_lists_both_instances_and_who_holds_the_lease(tmp_path: Path) -> None:
    async with two(tmp_path) as (first, second):
        second.client.manager.background()
        await first.pilot.press("f2")
        await first.pilot.pause()
        first.app.tick()
        await first.pilot.pause()
        text = first.text("#qa-client")
        assert "windows    2 · lease free" in text
        rows = [line for line in text.splitlines() if line.startswith("  ") and ":" in line]
        assert len(rows) == 2
        assert sum(" this front " in row for row in rows) == 1
        assert sum("      back " in row for row in rows) == 1
