"""Home is the app's default screen (issue 19, item 8): the bottom of the screen stack from the first
frame, with nothing under it, every other screen over it, and never popped (Textual refuses to pop
the last screen: a Back that tried would end the app)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sessionkeeper.tui.messages import GoBack, GoHome
from sessionkeeper.tui.screens.home import HomeScreen
from sessionkeeper.tui.screens.qa import QAPanel
from sessionkeeper.tui.screens.sign_in import SignInScreen
from tests.tui.harness import running


def names(stack: Sequence[object]) -> list[str]:
    return [type(screen).__name__ for screen in stack]


async def test_home_is_the_only_screen_at_start(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        assert names(h.app.screen_stack) == ["HomeScreen"]
        assert h.app.visible_screens() == [h.app.screen]


async def test_screens_open_over_home_and_close_back_to_it(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.pilot.press("b")  # the booking flow's first step
        await h.pilot.pause()
        await h.pilot.press("f2")
        await h.pilot.pause()
        assert names(h.app.screen_stack) == ["HomeScreen", "SearchStep", "QAPanel"]
        assert isinstance(h.app.screen, QAPanel)
        h.app.post_message(GoHome())
        await h.pilot.pause()
        await h.pilot.pause()
        assert names(h.app.screen_stack) == ["HomeScreen"]
        await h.pilot.press("s")
        await h.pilot.pause()
        assert isinstance(h.app.screen, SignInScreen)
        h.app.post_message(GoBack())
        await h.pilot.pause()
        assert names(h.app.screen_stack) == ["HomeScreen"]


async def test_back_and_home_on_home_leave_it_in_place(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        home = h.app.screen
        assert isinstance(home, HomeScreen)
        for message in (GoBack(), GoHome(), GoBack()):
            h.app.post_message(message)
            await h.pilot.pause()
        assert h.app.screen_stack == [home]
        assert h.app.return_code is None
