"""Every button of every screen, pressed with Enter and clicked, does what its key does, and the
app still answers a key afterwards (issue 8, item 1: Enter on the signed-out screen's "Sign in"
froze the app, because its handler awaited a screen switch that waited for that same screen).

Each case starts one app and brings it to the case's state (`setup`), then presses the button's
key, Enter on the focused button, and clicks it, in turn. After each way the app must still open
and close the QA panel; before the next one, `again` brings it back to the state the case started
in (the same screens in the stack, the same session: checked, so each way starts where the first
did). All three must end on the same screen (`lands_on`) with the same session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual.widgets import Button

from sessionkeeper.tui.screens.qa import QAPanel
from tests.tui.harness import TTL, WARN, Harness, running

Setup = Callable[[Harness], Awaitable[None]]

pytestmark = pytest.mark.slow  # 24 cases, each a sign-in or a booking flow three times over


def keys(*pressed: str) -> Setup:
    """Press these keys one after the other, each with the calls it makes."""

    async def press(h: Harness) -> None:
        for key in pressed:
            await h.step(key)

    return press


back = keys("escape")
# The same screen anew (its form empty, its errors gone): left, and opened again.
a_new_sign_in = keys("escape", "s")
a_new_search = keys("escape", "b")
my_bookings_again = keys("escape", "m")


async def home(h: Harness) -> None:
    return None


async def home_with_draft(h: Harness) -> None:
    await h.open_search()
    await h.fill("origin", "LHR")
    await h.pilot.press("escape")
    await h.pilot.pause()


async def signed_in_home(h: Harness) -> None:
    await h.sign_in()


async def sign_in_screen(h: Harness) -> None:
    await h.pilot.press("s")
    await h.pilot.pause()


async def signed_out(h: Harness) -> None:
    await h.sign_in()
    await h.advance(TTL - WARN)
    await h.advance(WARN)  # idle past the warning on home: signed out at the deadline


async def signed_out_again(h: Harness) -> None:
    """From the sign-in screen that took the signed-out screen's place: home, and as before."""
    await back(h)
    await signed_out(h)


async def search(h: Harness) -> None:
    await h.open_search()


async def my_bookings(h: Harness) -> None:
    await h.pilot.press("m")
    await h.pilot.pause()
    await h.app.workers.wait_for_complete()


async def prompt(h: Harness) -> None:
    await search(h)
    await h.advance(TTL - WARN)


async def prompt_again(h: Harness) -> None:
    """After "Stay": the refreshed session reaches its warning window again."""
    await h.advance(TTL - WARN)


async def prompt_after_leaving(h: Harness) -> None:
    """After "End session" there is no session until a call asks for one: my bookings' call
    makes a new guest session; then into the flow and on to its warning window, as before."""
    await my_bookings(h)
    await back(h)
    await prompt(h)


DRAFT: dict[str, object] = {
    "flight_id": "LHR-CDG-20300501-1",
    "fare_code": "ECO",
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "seat": "3A",
    "record_locator": "ABC123",
}


def reopen(step: str) -> Setup:
    """The booking reopened at `step` from the draft, as after signing in again."""

    async def setup(h: Harness) -> None:
        await h.open_step(step, DRAFT)

    return setup


def flow_at(step: str) -> Setup:
    """A signed-in user's booking, its search filled in, reopened at `step` from a draft."""

    async def setup(h: Harness) -> None:
        await h.sign_in()
        await h.fill_search()
        await reopen(step)(h)

    return setup


@dataclass(frozen=True)
class Case:
    name: str
    setup: Setup  # from a new app to the state the button is pressed in
    again: Setup  # from `lands_on` back to that state
    button: str
    key: str
    lands_on: str  # the screen all three ways must end on


CASES = [
    Case("home: book", home, back, "book", "b", "SearchStep"),
    Case("home: my bookings", home, back, "bookings", "m", "BookingsScreen"),
    Case("home: sign in", home, back, "sign", "s", "SignInScreen"),
    Case("home: continue the draft", home_with_draft, back, "continue", "c", "SearchStep"),
    Case("home: sign out", signed_in_home, signed_in_home, "sign", "s", "HomeScreen"),
    Case("sign in: back", sign_in_screen, sign_in_screen, "back", "escape", "HomeScreen"),
    Case("sign in: submit an empty form", sign_in_screen, a_new_sign_in, "submit", "enter", "SignInScreen"),
    Case("signed out: sign in", signed_out, signed_out_again, "sign-in", "s", "SignInScreen"),
    Case("signed out: home", signed_out, signed_out, "home", "escape", "HomeScreen"),
    Case("search: back", search, search, "back", "escape", "HomeScreen"),
    Case("search: next with an empty form", search, a_new_search, "next", "ctrl+n", "SearchStep"),
    Case("my bookings: back", my_bookings, my_bookings, "back", "escape", "HomeScreen"),
    Case("my bookings: reload", my_bookings, my_bookings_again, "reload", "r", "BookingsScreen"),
    Case("prompt: stay", prompt, prompt_again, "stay", "enter", "SearchStep"),
    Case("prompt: leave", prompt, prompt_after_leaving, "leave", "n", "HomeScreen"),
]
# Booking steps past the search, each opened from a draft (their buttons: back and next).
STEP_CASES = [
    ("flights", "back", "escape", "SearchStep"),
    ("passengers", "back", "escape", "FlightsStep"),
    ("passengers", "next", "ctrl+n", "SeatsStep"),
    ("seats", "back", "escape", "PassengersStep"),
    ("seats", "next", "ctrl+n", "ReviewStep"),  # the draft's seat 3A is free: held, on to review
    ("review", "back", "escape", "SeatsStep"),
    ("review", "next", "ctrl+n", "ReviewStep"),  # no card typed: stays, with inline errors
    ("confirmation", "bookings", "m", "BookingsScreen"),
    ("confirmation", "next", "ctrl+n", "HomeScreen"),
]
CASES += [
    Case(f"{step}: {button}", flow_at(step), reopen(step), button, key, lands_on)
    for step, button, key, lands_on in STEP_CASES
]

HOW = ("key", "enter", "click")


async def press_one_way(h: Harness, button_id: str, key: str, how: str) -> None:
    if how == "key":
        await h.pilot.press(key)
        return
    button = h.app.screen.query_one(f"#{button_id}", Button)
    if how == "enter":
        button.focus()
        await h.pilot.pause()
        await h.pilot.press("enter")
    else:
        button.scroll_visible(animate=False)
        await h.pilot.pause()
        assert await h.pilot.click(button), f"#{button_id} could not be clicked"


def where(h: Harness) -> tuple[tuple[str, ...], bool]:
    """The screens in the stack, bottom first, and whether a user is signed in."""
    return tuple(type(screen).__name__ for screen in h.app.screen_stack), h.client.manager.signed_in


async def outcomes(tmp_path: Path, case: Case, doing: list[str]) -> dict[str, tuple[str, bool]]:
    """Where each way landed: the screen, and whether a user is signed in."""
    landed: dict[str, tuple[str, bool]] = {}
    async with running(tmp_path) as h:
        await case.setup(h)
        start = where(h)
        for how in HOW:
            if landed:
                doing.append(f"bringing the app back before {how}")
                await case.again(h)
                assert where(h) == start, f"before {how}: {where(h)}, not where the case started: {start}"
            doing.append(how)
            await press_one_way(h, case.button, case.key, how)
            await h.pilot.pause()
            await h.app.workers.wait_for_complete()
            await h.settle()
            landed[how] = (type(h.app.screen).__name__, h.client.manager.signed_in)
            # Still alive: a key opens the QA panel and another closes it.
            doing.append(f"F2 after {how}")
            await h.pilot.press("f2")
            await h.pilot.pause()
            assert isinstance(h.app.screen, QAPanel), f"after {how}: F2 did nothing"
            await h.pilot.press("escape")
            await h.pilot.pause()
            assert not isinstance(h.app.screen, QAPanel)
    return landed


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_every_button_does_what_its_key_does_and_the_app_keeps_answering(
    case: Case, tmp_path: Path
) -> None:
    # A frozen app never answers, and cannot even be shut down (cancelling it would wait for that
    # shutdown): it is left behind, and the test fails.
    doing = ["setting up"]
    task = asyncio.ensure_future(outcomes(tmp_path, case, doing))
    done, _ = await asyncio.wait({task}, timeout=90)
    if not done:
        pytest.fail(f"#{case.button}, {doing[-1]}: the app stopped answering")
    results = task.result()
    assert {screen for screen, _ in results.values()} == {case.lands_on}, results
    assert len(set(results.values())) == 1, results
