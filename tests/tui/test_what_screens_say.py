"""The app says what is true, in plain words (issue 8, items 4 to 10): start-up and the countdown,
guests' own wording, only the holder's draft, feedback when a Stay fails, banners that clear with
their cause, no sign-out for a failing server, and no developer words on screen.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from textual.widgets import Button

from sessionkeeper.session.engine import State
from sessionkeeper.tui.screens.booking import FlightsStep, SearchStep
from sessionkeeper.tui.screens.home import HomeScreen
from sessionkeeper.tui.screens.prompt import ExpiryPrompt
from sessionkeeper.tui.screens.signed_out import SignedOutScreen
from tests.transports import PassThrough
from tests.tui.harness import TTL, WARN, Harness, make_app, running

pytestmark = pytest.mark.slow  # flows through the app and past the deadline, 2 to 4 s each

DEVELOPER_WORDS = ("Error", "HTTP", "problem(s)", "QA fault", "Transport", "Exception", "503", "401", "None")


def screen_words(h: Harness) -> str:
    """Everything the current screen says in its countdown, banner and step error."""
    parts = [h.countdown_text()]
    for selector in ("#banner", "#step-error"):
        found = h.app.screen.query(selector)
        if found:
            parts.append(str(found.first().render()))
    return " | ".join(parts)


class HeldGuestSession(PassThrough):
    """Holds every POST /api/session/guest until `release` is set, to look at the app meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/session/guest":
            await self.release.wait()
        return await super().handle_async_request(request)


# -- item 4: start-up and the countdown ------------------------------------------------------------


async def test_the_countdown_says_connecting_until_the_first_session_exists_then_shows_the_full_ttl(
    tmp_path: Path,
) -> None:
    held = HeldGuestSession()
    app, _clock, _server = make_app(tmp_path, inner_transport=lambda: held)
    async with app.run_test() as pilot:
        for _ in range(20):  # the first call is out and held: the engine waits for a first session
            await pilot.pause()
            if app.services.client is not None and app.services.client.manager.flight_in_progress:
                break
        countdown = str(app.screen.query_one("#countdown").render())
        assert "connecting" in countdown and "re-authenticating" not in countdown
        assert "Connecting" in str(app.screen.query_one("#profile").render())
        held.release.set()
        await app.ready.wait()
        await pilot.pause()
        app.refresh_countdown()
        await pilot.pause()
        assert "⏱ 1:00  active  ·  guest" in str(app.screen.query_one("#countdown").render())


async def test_remaining_time_is_rounded_up_so_zero_means_the_session_is_over(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        assert "1:00" in h.countdown_text()
        await h.advance(TTL - 0.5)
        assert "0:01" in h.countdown_text() and "expiring soon" in h.countdown_text()
        await h.advance(0.5)
        assert "0:00" in h.countdown_text() and "expired" in h.countdown_text()
        assert h.client.manager.view().state is State.EXPIRED


async def test_a_new_guest_session_after_expiry_is_labelled_as_what_it_is(tmp_path: Path) -> None:
    held = HeldGuestSession()
    held.release.set()
    async with running(tmp_path, inner_transport=lambda: held) as h:
        await h.advance(TTL + 1)
        held.release.clear()
        await h.fill_search()
        await h.pilot.press("ctrl+n")  # the next action needs a new guest session: held
        for _ in range(20):
            await h.pilot.pause()
            if h.client.manager.flight_in_progress:
                break
        h.app.refresh_countdown()
        assert "starting a new guest session" in h.countdown_text()
        held.release.set()
        await h.settle()
        await h.app.workers.wait_for_complete()
        await h.settle()
        assert "1:00" in h.countdown_text() and "guest" in h.countdown_text()


# -- item 5: guests are not "signed in" ---------------------------------------------------------------


async def test_a_guest_is_offered_to_keep_or_end_the_session_and_ending_it_says_so(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.fill_search()
        await h.advance(TTL - WARN)
        assert isinstance(h.app.screen, ExpiryPrompt)
        labels = {str(b.label) for b in h.app.screen.query(Button)}
        assert labels == {"Keep my session (y)", "End session (n)"}
        footer = {b.binding.description for b in h.app.screen.active_bindings.values() if b.binding.show}
        assert {"Keep my session", "End session"} <= footer and "Sign out" not in footer
        await h.pilot.press("n")
        await h.settle()
        assert any(note.startswith("Session ended.") for note in h.notes), h.notes
        assert not any(note.startswith("Signed out") for note in h.notes)
        assert isinstance(h.app.screen, HomeScreen)


async def test_a_signed_in_user_is_asked_to_stay_signed_in(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.sign_in()
        await h.fill_search()
        await h.advance(TTL - WARN)
        labels = {str(b.label) for b in h.app.screen.query(Button)}
        assert labels == {"Stay signed in (y)", "Sign out (n)"}


async def test_after_a_user_signs_out_home_and_the_countdown_say_the_same_thing(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.sign_in()
        await h.pilot.press("s")  # sign out, from home
        await h.settle()
        profile = h.text("#profile")
        assert "signed out" in h.countdown_text() and "signed out" in profile
        assert "Browsing as a guest" not in profile
        assert "Signed out." in h.notes


# -- item 6: home shows only the holder's draft --------------------------------------------------------


async def test_after_sign_out_home_shows_no_draft_of_the_user_who_left(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.sign_in()
        await h.fill_search()
        await h.pilot.press("escape")
        await h.pilot.pause()
        assert "Booking draft saved at step" in h.text("#draft-summary")
        await h.pilot.press("s")
        await h.settle()
        assert isinstance(h.app.screen, HomeScreen)
        assert h.text("#draft-summary") == "No booking in progress."
        assert not h.app.screen.query_one("#continue", Button).display
        assert "c" not in h.app.screen.active_bindings  # not offered, so not in the footer
        await h.pilot.press("c")
        await h.pilot.pause()
        assert isinstance(h.app.screen, HomeScreen)
        # The draft is kept for the user: signing in again brings it back.
        await h.sign_in()
        assert isinstance(h.app.screen, SearchStep) and h.value("origin") == "LHR"


# -- item 7: a Stay that fails says so ----------------------------------------------------------------


async def test_a_stay_whose_refresh_fails_says_what_happened_and_does_not_prompt_again(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as h:
        await h.fill_search()
        await h.control.set_faults(refresh="error")
        await h.advance(TTL - WARN)
        assert isinstance(h.app.screen, ExpiryPrompt)
        await h.pilot.press("enter")
        await h.settle()
        assert isinstance(h.app.screen, SearchStep), "the prompt came straight back"
        assert "The server had a problem; retrying in 1 s. Your form is safe." in h.notes
        banner = h.text("#banner")
        assert "Extending your session in 1 s" in banner and "form is safe" in banner
        await h.control.set_faults(refresh="ok")
        await h.advance(1)  # the retry lands
        assert not h.app.screen.query_one("#banner").display
        assert "1:00" in h.countdown_text()
        assert (h.value("origin"), h.value("date")) == ("LHR", "2030-05-01")


async def test_a_stay_while_offline_says_the_server_could_not_be_reached(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.fill_search()
        await h.advance(TTL - WARN)
        h.client.network.online = False
        await h.pilot.press("enter")
        await h.settle()
        assert isinstance(h.app.screen, SearchStep)
        assert "Couldn't reach the server; retrying in 1 s. Your form is safe." in h.notes


# -- item 8: banners clear with their cause ---------------------------------------------------------------


async def test_the_banner_clears_when_the_server_answers_again_and_the_timeline_says_so(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as h:
        await h.fill_search()
        await h.pilot.press("ctrl+n")
        await h.settle()
        await h.control.set_faults(down=True)
        await h.pilot.press("r")  # the search again: 503
        await h.settle()
        banner = h.app.screen.query_one("#banner")
        assert banner.display and "The server is having trouble" in h.text("#banner")
        await h.control.set_faults(down=False)
        await h.pilot.press("r")
        await h.settle()
        assert not banner.display
        links = [x.detail["link"] for x in h.client.manager.timeline if x.name == "connectivity"]
        assert links == ["failing", "online"]


async def test_the_offline_banner_clears_when_the_connection_comes_back(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.fill_search()
        h.client.network.online = False
        await h.pilot.press("ctrl+n")
        await h.settle()
        assert "offline" in h.text("#banner")
        h.client.network.online = True
        await h.pilot.press("r")
        await h.settle()
        assert not h.app.screen.query_one("#banner").display
        assert [x.detail["link"] for x in h.client.manager.timeline if x.name == "connectivity"] == [
            "unreachable",
            "online",
        ]


# -- item 9: a server answering 5xx is not the user's fault --------------------------------------------


async def test_a_user_is_not_signed_out_when_the_backend_answers_503_past_expiry(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.sign_in()
        await h.fill_search()
        await h.pilot.press("ctrl+n")
        await h.settle()
        await h.control.set_faults(down=True)
        await h.pilot.press("r")
        await h.settle()
        await h.advance(TTL - WARN)
        assert isinstance(h.app.screen, ExpiryPrompt)
        await h.pilot.press("enter")  # stay: the refresh answers 503, and its retries too
        await h.settle()
        while h.client.manager.view().retry_at is not None:
            await h.advance(h.client.manager.view().retry_at - h.clock.now())  # type: ignore[operator]
        await h.advance(WARN)
        assert not isinstance(h.app.screen, SignedOutScreen)
        assert h.client.manager.signed_in and "server not answering" in h.countdown_text()
        before = await h.counters()
        await h.control.set_faults(down=False)
        await h.pilot.press("r")  # the next action, once the backend answers: a silent re-auth
        await h.settle()
        await h.app.workers.wait_for_complete()
        after = await h.counters()
        assert after["reauths"] - before["reauths"] == 1
        assert isinstance(h.app.screen, FlightsStep) and h.client.manager.signed_in
        assert "ada" in h.countdown_text() and "1:00" in h.countdown_text()


# -- item 10: words for people ----------------------------------------------------------------------------


async def test_failed_calls_are_told_in_plain_words_on_screen_with_the_detail_on_the_timeline(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as h:
        await h.fill_search()
        h.client.network.online = False
        await h.pilot.press("ctrl+n")
        await h.settle()
        offline = screen_words(h)
        h.client.network.online = True
        await h.control.set_faults(down=True)
        await h.pilot.press("r")
        await h.settle()
        down = screen_words(h)
        await h.control.set_faults(down=False)
        h.client.network.garble = True
        await h.pilot.press("r")
        await h.settle()
        garbled = screen_words(h)
        for said in (offline, down, garbled):
            assert not [w for w in DEVELOPER_WORDS if w in said], said
            assert "draft is saved" in said and "Press r to try again" in said, said
        errors = [x.detail["error"] for x in h.client.manager.timeline if x.name == "app_error"]
        assert errors == ["BackendUnreachable", "BackendFailed", "MalformedResponse"]
