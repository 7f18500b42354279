"""The edge cases of docs/rules.md that involve the UI (4, 5, 6, 7, 10, 11, 16, 19, 20), driven
through the real app with Pilot, the embedded backend on loopback, and time moved on fake clocks.
Each asserts what is on screen and what the server saw.

Every edge case is also a shipped scenario (tui/scenario/shipped/, run one by one by
test_scenarios.py: the QA recipe). A case is here only where this test pins what its scenario does
not: the screen shown, the focus, the form's values, the prompt's live countdown, the wording, or
another way in (a guest rather than a user, Ctrl+Z rather than focus loss, the client offline
rather than the server down). Cases 1 (the first countdown), 6 for a guest (renewed on the next
action) and 17 (quit and restart within the TTL) asserted nothing their scenarios do not
(01-token-obtained, 06-warning-on-a-passive-screen-guest-idle, 17-quit-and-restart-within-the-ttl):
they are the scenarios' alone.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from textual import events
from textual.driver import Driver
from textual.widgets import Input, OptionList

from sessionkeeper.tui.messages import OpenFlow
from sessionkeeper.tui.screens.booking import PassengersStep, SearchStep
from sessionkeeper.tui.screens.home import HomeScreen
from sessionkeeper.tui.screens.prompt import ExpiryPrompt
from sessionkeeper.tui.screens.signed_out import SignedOutScreen
from tests.transports import PassThrough
from tests.tui.harness import TTL, WARN, running

pytestmark = pytest.mark.slow  # each a flow through the app, about 3 s; their scenarios are slow too


async def test_case4_warning_in_an_active_flow_prompts_and_stay_refreshes_keeping_the_form(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as h:
        await h.fill_search()
        h.app.screen.query_one("#destination", Input).focus()
        await h.advance(TTL - WARN)
        assert isinstance(h.app.screen, ExpiryPrompt)
        assert "0:20 left" in str(h.app.screen.query_one("#prompt-remaining").render())
        await h.advance(5)
        assert "0:15 left" in str(h.app.screen.query_one("#prompt-remaining").render())
        await h.pilot.press("enter")  # Stay signed in
        await h.settle()
        assert isinstance(h.app.screen, SearchStep)
        assert (h.value("origin"), h.value("destination"), h.value("date")) == ("LHR", "CDG", "2030-05-01")
        assert h.app.focused is not None and h.app.focused.id == "destination"
        assert (await h.counters())["refreshes"] == 1
        assert "1:00" in h.countdown_text()


async def test_case5_warning_on_a_passive_screen_with_an_active_user_refreshes_silently(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as h:
        await h.advance(10)
        await h.pilot.press("tab")  # the user does something
        await h.advance(TTL - WARN - 10)
        assert isinstance(h.app.screen, HomeScreen)
        assert (await h.counters())["refreshes"] == 1
        assert h.client.manager.view().remaining_s == TTL


async def test_case6_idle_user_on_a_passive_screen_lapses_and_is_signed_out(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.sign_in()
        await h.advance(TTL - WARN)
        assert (await h.counters())["refreshes"] == 0
        assert isinstance(h.app.screen, HomeScreen)
        await h.advance(WARN)
        assert isinstance(h.app.screen, SignedOutScreen)
        assert "timed out" in h.text("#signed-out-why")


async def test_case7_prompt_ignored_signs_out_keeps_the_draft_and_resumes_after_sign_in(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as h:
        await h.sign_in()
        await h.fill_search()
        await h.pilot.press("ctrl+n")  # on to choosing a flight
        await h.settle()
        h.app.post_message(OpenFlow("passengers"))
        await h.pilot.pause()
        await h.fill("email", "ada@example.org")
        await h.advance(TTL - WARN)
        assert isinstance(h.app.screen, ExpiryPrompt)
        await h.advance(WARN)
        assert isinstance(h.app.screen, SignedOutScreen)
        assert "draft is saved" in str(h.app.screen.query_one("#signed-out-draft").render())
        await h.sign_in()
        await h.settle()
        assert isinstance(h.app.screen, PassengersStep)
        assert h.value("email") == "ada@example.org"
        assert h.client.manager.signed_in


async def test_case10_short_background_refreshes_on_return_and_changes_nothing_else(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.fill_search()
        h.app.post_message(events.AppBlur())
        await h.pilot.pause()
        assert "away: the server's clock runs on" in h.countdown_text()
        await h.advance(30)
        assert (await h.counters())["refreshes"] == 0  # nothing while away
        h.app.post_message(events.AppFocus())
        await h.settle()
        assert (await h.counters())["refreshes"] == 1
        assert "1:00" in h.countdown_text()
        assert isinstance(h.app.screen, SearchStep) and h.value("origin") == "LHR"


async def test_case11_long_suspend_reauths_silently_resyncs_the_profile_and_keeps_the_form(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as h:
        await h.sign_in()
        await h.fill_search()
        h.app.screen.query_one("#date", Input).focus()
        before = await h.counters()
        h.app.app_suspend_signal.publish(h.app)  # Ctrl+Z
        await h.advance(TTL * 3)
        h.app.post_message(Driver.SignalResume())  # fg
        await h.settle()
        after = await h.counters()
        assert after["reauths"] - before["reauths"] == 1
        assert after["graphql_calls"] - before["graphql_calls"] >= 1  # the profile re-sync (me)
        assert h.client.manager.signed_in
        assert isinstance(h.app.screen, SearchStep)
        assert (h.value("origin"), h.value("date")) == ("LHR", "2030-05-01")
        assert h.app.focused is not None and h.app.focused.id == "date"
        assert "1:00" in h.countdown_text() and "ada" in h.countdown_text()


async def test_case16_offline_shows_a_banner_never_signs_out_and_recovers(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.sign_in()
        await h.fill_search()
        h.client.network.online = False
        await h.pilot.press("ctrl+n")
        await h.settle()
        banner = h.app.screen.query_one("#banner")
        assert banner.display and "offline" in str(banner.render())
        assert "draft is saved" in str(h.app.screen.query_one("#step-error").render())
        await h.advance(TTL + 5)
        assert h.client.manager.signed_in
        h.client.network.online = True
        await h.pilot.press("r")  # retry, back online
        await h.settle()
        assert h.app.screen.query_one("#flights", OptionList).option_count > 0
        assert h.client.manager.signed_in
        assert (await h.counters())["reauths"] == 1


async def test_case19_bad_form_input_shows_inline_messages_and_makes_no_call(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.open_search()
        await h.fill("origin", "L1")
        assert str(h.app.screen.query_one("#origin-error").render())  # inline, while typing
        await h.fill("destination", "LHR")
        await h.fill("date", "2030-02-30")
        before = await h.counters()
        await h.pilot.press("ctrl+n")
        await h.pilot.pause()
        assert isinstance(h.app.screen, SearchStep)
        for name in ("origin", "date"):
            assert str(h.app.screen.query_one(f"#{name}-error").render()), name
        after = await h.counters()
        assert after["api_calls"] == before["api_calls"] and after["graphql_calls"] == before["graphql_calls"]


class Malformed(PassThrough):
    """Answers flight searches with nonsense; everything else goes through."""

    def __init__(self) -> None:
        super().__init__()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/flights":
            return httpx.Response(200, json={"flights": "surprise"}, request=request)
        return await super().handle_async_request(request)


async def test_case20_malformed_backend_answer_shows_a_clear_error_and_keeps_the_draft(
    tmp_path: Path,
) -> None:
    async with running(tmp_path, inner_transport=Malformed) as h:
        await h.fill_search()
        await h.pilot.press("ctrl+n")
        await h.settle()
        error = str(h.app.screen.query_one("#step-error").render())
        assert "an answer we couldn't read" in error and "draft is saved" in error
        # Plain words on screen; the technical detail on the timeline.
        [entry] = [x for x in h.client.manager.timeline if x.name == "app_error"]
        assert entry.detail["error"] == "MalformedResponse" and "flights" in entry.detail["detail"]
        draft = h.app.saved_draft()
        assert draft is not None and draft.data["origin"] == "LHR"
