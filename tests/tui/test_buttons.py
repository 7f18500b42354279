"""Every button of every screen, pressed with Enter and clicked, does what its key does, and the
app still answers a key afterwards (issue 8, item 1: Enter on the signed-out screen's "Sign in"
froze the app, because its handler awaited a screen switch that waited for that same screen).

Each case starts a fresh app in the same state three times: the key, Enter on the focused button,
and a click. All three must end on the same screen (`lands_on`) with the same session, and the app
must still open and close the QA panel afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual.widgets import Button

from tests.tui.harness import TTL, WARN, Harness, running
from tui.messages import OpenFlow
from tui.screens.qa import QAPanel

Setup = Callable[[Harness], Awaitable[None]]


async def home(h: Harness) -> None:
    return None


async def home_with_draft(h: Harness) -> None:
    await search(h)
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


async def search(h: Harness) -> None:
    await h.pilot.press("b")
    await h.pilot.pause()


def flow_at(step: str) -> Setup:
    """A signed-in user's booking reopened at `step` from a draft, as after signing in again."""

    async def setup(h: Harness) -> None:
        await h.sign_in()
        await search(h)
        for name, value in (("origin", "LHR"), ("destination", "CDG"), ("date", "2030-05-01")):
            await h.fill(name, value)
        drafts = h.app.drafts
        assert drafts is not None
        drafts.save(
            step,
            {
                "flight_id": "LHR-CDG-20300501-1",
                "fare_code": "ECO",
                "name": "Ada Lovelace",
                "email": "ada@example.com",
                "seat": "3A",
                "record_locator": "ABC123",
            },
        )
        h.app.post_message(OpenFlow(step))
        await h.pilot.pause()
        await h.app.workers.wait_for_complete()
        await h.pilot.pause()

    return setup


async def my_bookings(h: Harness) -> None:
    await h.pilot.press("m")
    await h.pilot.pause()
    await h.app.workers.wait_for_complete()


async def prompt(h: Harness) -> None:
    await search(h)
    await h.advance(TTL - WARN)


@dataclass(frozen=True)
class Case:
    name: str
    setup: Setup
    button: str
    key: str
    lands_on: str  # the screen all three ways must end on


CASES = [
    Case("home: book", home, "book", "b", "SearchStep"),
    Case("home: my bookings", home, "bookings", "m", "BookingsScreen"),
    Case("home: sign in", home, "sign", "s", "SignInScreen"),
    Case("home: continue the draft", home_with_draft, "continue", "c", "SearchStep"),
    Case("home: sign out", signed_in_home, "sign", "s", "HomeScreen"),
    Case("sign in: back", sign_in_screen, "back", "escape", "HomeScreen"),
    Case("sign in: submit an empty form", sign_in_screen, "submit", "enter", "SignInScreen"),
    Case("signed out: sign in", signed_out, "sign-in", "s", "SignInScreen"),
    Case("signed out: home", signed_out, "home", "escape", "HomeScreen"),
    Case("search: back", search, "back", "escape", "HomeScreen"),
    Case("search: next with an empty form", search, "next", "ctrl+n", "SearchStep"),
    Case("my bookings: back", my_bookings, "back", "escape", "HomeScreen"),
    Case("my bookings: reload", my_bookings, "reload", "r", "BookingsScreen"),
    Case("prompt: stay", prompt, "stay", "enter", "SearchStep"),
    Case("prompt: leave", prompt, "leave", "n", "HomeScreen"),
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


async def outcome(tmp_path: Path, setup: Setup, button: str, key: str, how: str) -> tuple[str, bool]:
    # A frozen app never answers, and cannot even be shut down (cancelling it would wait for that
    # shutdown): it is left behind, and the test fails.
    task = asyncio.ensure_future(_outcome(tmp_path, setup, button, key, how))
    done, _ = await asyncio.wait({task}, timeout=30)
    if not done:
        pytest.fail(f"{how} on #{button}: the app stopped answering")
    return task.result()


async def _outcome(tmp_path: Path, setup: Setup, button: str, key: str, how: str) -> tuple[str, bool]:
    async with running(tmp_path / how) as h:
        await setup(h)

        async def act() -> None:
            await press_one_way(h, button, key, how)
            await h.pilot.pause()
            await h.app.workers.wait_for_complete()
            await h.settle()

        await act()
        landed = (type(h.app.screen).__name__, h.client.manager.signed_in)
        # Still alive: a key opens the QA panel and another closes it.
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
    results = {how: await outcome(tmp_path, case.setup, case.button, case.key, how) for how in HOW}
    assert {screen for screen, _ in results.values()} == {case.lands_on}, results
    assert len(set(results.values())) == 1, results


@pytest.mark.parametrize(
    ("step", "button", "key", "lands_on"), STEP_CASES, ids=[f"{c[0]}: {c[1]}" for c in STEP_CASES]
)
async def test_every_booking_step_button_does_what_its_key_does(
    step: str, button: str, key: str, lands_on: str, tmp_path: Path
) -> None:
    results = {how: await outcome(tmp_path, flow_at(step), button, key, how) for how in HOW}
    assert {screen for screen, _ in results.values()} == {lands_on}, results
    assert len(set(results.values())) == 1, results
