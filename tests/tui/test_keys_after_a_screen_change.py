"""Keys lost to focus (issue 16, item 12): every Tab stop is a field or a button one can see, and a
key typed in the same burst as the key that changes the screen goes to the screen that comes.

Bursts are sent as a terminal sends them: every key queued before the app handles the first
(tui.scenario.probe.post_key), so nothing waits between them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Input, OptionList

from sessionkeeper.tui.messages import OpenFlow
from sessionkeeper.tui.scenario.probe import handled, post_key
from sessionkeeper.tui.screens.booking import STEPS, FlightsStep, PassengersStep, SearchStep
from sessionkeeper.tui.screens.home import HomeScreen
from sessionkeeper.tui.screens.qa import QAPanel
from tests.tui.harness import Harness, running

DRAFT = {
    "origin": "LHR",
    "destination": "CDG",
    "date": "2030-05-01",
    "flight_id": "LHR-CDG-20300501-1",
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "seat": "3C",
}


async def settled(h: Harness) -> None:
    """Until the step's loads are done: a flight list loads, then the highlighted flight's fares."""
    for _ in range(3):
        await handled(h.app)
        await h.app.workers.wait_for_complete()
    await handled(h.app)


async def burst(h: Harness, *keys: str) -> None:
    for key in keys:
        post_key(h.app, key)
    await handled(h.app)
    await h.app.workers.wait_for_complete()
    await handled(h.app)


@pytest.mark.slow  # a sweep: every step of the flow, one app each
@pytest.mark.parametrize("step", STEPS)
async def test_every_tab_stop_of_a_booking_step_is_a_field_or_button_in_view(
    tmp_path: Path, step: str
) -> None:
    async with running(tmp_path, size=(80, 24)) as h:
        drafts = h.app.drafts
        assert drafts is not None
        drafts.save(step, DRAFT)
        h.app.post_message(OpenFlow(step))
        await settled(h)
        chain = h.app.screen.focus_chain
        assert chain, step
        for widget in chain:
            assert isinstance(widget, Input | Button | OptionList), f"{step}: a Tab stop on {widget!r}"
        # Tab through every stop and once round: each one in turn takes the focus and is shown.
        for _ in range(len(chain) + 1):
            await burst(h, "tab")
            await settled(h)  # a flight highlighted on the way loads its fares: laid out after
            await h.pilot.pause()
            focused = h.app.focused
            assert isinstance(focused, Input | Button | OptionList), f"{step}: the focus went to {focused!r}"
            assert focused.region.area > 0, f"{step}: {focused!r} has the focus but is not in view"


async def test_tab_from_pay_goes_round_to_the_card_field_and_what_is_typed_lands_there(
    tmp_path: Path,
) -> None:
    async with running(tmp_path, size=(80, 24)) as h:
        assert h.app.drafts is not None
        h.app.drafts.save("review", DRAFT)
        h.app.post_message(OpenFlow("review"))
        await handled(h.app)
        h.app.screen.query_one("#next", Button).focus()
        await burst(h, "tab", "4", "1")  # Pay, then round to the first field
        assert h.app.screen.query_one("#card_number", Input).value == "41"


async def test_an_enter_in_the_same_burst_as_the_esc_that_closes_the_qa_panel_reaches_home(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as h:
        await burst(h, "f2")
        assert isinstance(h.app.screen, QAPanel)
        await burst(h, "escape", "enter")  # home's first button: "Book a flight"
        assert isinstance(h.app.screen, SearchStep)


async def test_keys_typed_right_after_ctrl_n_go_to_the_next_step_not_into_the_one_left(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as h:
        await burst(h, "b")
        assert isinstance(h.app.screen, SearchStep)
        for name, value in (("origin", "LHR"), ("destination", "CDG"), ("date", "2030-05-01")):
            await h.fill(name, value)
        await burst(h, "ctrl+n", "1", "2")
        assert isinstance(h.app.screen, FlightsStep)
        draft = h.app.saved_draft()
        assert draft is not None and draft.step == "flights" and draft.data["date"] == "2030-05-01"


async def test_a_name_typed_right_after_choosing_a_fare_lands_in_the_passenger_field(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        assert h.app.drafts is not None
        h.app.drafts.save("flights", DRAFT)
        h.app.post_message(OpenFlow("flights"))
        await settled(h)
        assert isinstance(h.app.screen, FlightsStep)
        assert h.app.screen.fares, "the fares of the highlighted flight"
        await burst(h, "ctrl+n", "A", "d", "a")
        assert isinstance(h.app.screen, PassengersStep)
        assert h.app.screen.query_one("#name", Input).value.endswith("Ada")


async def test_keys_after_b_on_home_are_typed_into_the_search_form(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        assert isinstance(h.app.screen, HomeScreen)
        await burst(h, "b", "L", "H", "R")
        assert isinstance(h.app.screen, SearchStep)
        assert h.app.screen.query_one("#origin", Input).value == "LHR"


async def test_a_key_typed_while_the_app_changes_the_screen_keeps_its_place_in_line(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        push = h.app.push_screen

        def push_while_typing(*args: Any, **kwargs: Any) -> Any:
            post_key(h.app, "H")  # arrives while the app is in the middle of opening the flow
            h.app.push_screen = push  # type: ignore[method-assign]
            return push(*args, **kwargs)

        h.app.push_screen = push_while_typing  # type: ignore[method-assign]
        await burst(h, "b", "L")
        await burst(h, "R")
        assert isinstance(h.app.screen, SearchStep)
        assert h.app.screen.query_one("#origin", Input).value == "LHR"


async def test_text_pasted_right_after_ctrl_n_lands_in_the_next_step(tmp_path: Path) -> None:
    from textual import events

    async with running(tmp_path) as h:
        assert h.app.drafts is not None
        h.app.drafts.save("flights", DRAFT)
        h.app.post_message(OpenFlow("flights"))
        await settled(h)
        assert isinstance(h.app.screen, FlightsStep) and h.app.screen.fares
        post_key(h.app, "ctrl+n")
        h.app.post_message(events.Paste("Grace Hopper"))
        await settled(h)
        assert isinstance(h.app.screen, PassengersStep)
        assert h.app.screen.query_one("#name", Input).value.endswith("Grace Hopper")
