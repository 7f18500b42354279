"""What a newcomer meets first (issue 18, item 13): plain words for a data dir that is a file, a date
hint that is never in the past, and signing in from home with a guest's draft staying home."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sessionkeeper.api import forms
from sessionkeeper.tui.app import data_dir_problem
from sessionkeeper.tui.screens.booking import SearchStep
from sessionkeeper.tui.screens.home import HomeScreen
from tests.tui.harness import running


def test_a_data_dir_that_is_a_file_is_said_so(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_text("not a directory")
    assert data_dir_problem(path) == f"cannot use data dir {path}: it is a file, not a directory"
    assert (
        data_dir_problem(path / "below")
        == f"cannot use data dir {path / 'below'}: a file is in the way on its path"
    )


def test_the_date_hint_is_never_in_the_past() -> None:
    today = dt.date(2031, 2, 3)
    assert forms.parse_travel_date("3/2/2031", today) == forms.Invalid("YYYY-MM-DD, like 2031-03-05")


async def test_a_guest_who_signs_in_from_home_with_a_draft_stays_home_told_it_is_kept(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.fill_search()
        await h.pilot.press("escape")
        await h.pilot.pause()
        await h.sign_in()
        assert isinstance(h.app.screen, HomeScreen), type(h.app.screen).__name__
        assert "Your booking draft is kept: c continues it." in h.notes


async def test_signing_in_again_after_a_sign_out_reopens_the_flow_where_it_was(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        await h.sign_in()
        await h.fill_search()
        h.client.manager.sign_out()
        await h.pilot.pause()
        await h.pilot.pause()
        await h.sign_in()
        assert isinstance(h.app.screen, SearchStep), type(h.app.screen).__name__
        assert h.value("origin") == "LHR"


async def test_a_required_hint_goes_as_soon_as_its_field_is_filled(tmp_path: Path) -> None:
    from sessionkeeper.tui.messages import ShowSignIn

    async with running(tmp_path) as h:
        h.app.post_message(ShowSignIn())
        await h.pilot.pause()
        await h.pilot.press("enter")  # nothing typed: both fields say "required"
        await h.pilot.press("enter")
        await h.pilot.pause()
        assert h.text("#username-error") == "required"
        await h.fill("username", "ada")
        assert h.text("#username-error") == ""
        assert h.text("#password-error") == "required"


def test_a_flight_is_shown_as_its_route_and_date_and_no_points_as_none() -> None:
    from sessionkeeper.tui import wording

    assert wording.flight_words("LHR-CDG-20270601-1") == "LHR→CDG 1 Jun 2027"
    assert wording.flight_words("odd") == "odd"
    assert (wording.points_words(0), wording.points_words(1234)) == ("none", "+1,234")


def test_the_offline_banner_past_the_deadline_promises_nothing_the_server_may_not_keep() -> None:
    from sessionkeeper.session.engine import SessionView
    from sessionkeeper.session.kinds import Link, SessionKind, State
    from sessionkeeper.tui import wording

    def view(kind: SessionKind) -> SessionView:
        return SessionView(
            state=State.EXPIRED,
            kind=kind,
            generation=1,
            deadline=0.0,
            remaining_s=0.0,
            ttl_s=60.0,
            warn_s=20.0,
            prompt_visible=False,
            offline=True,
            paused=False,
            flight=None,
            link=Link.UNREACHABLE,
        )

    user = wording.banner(view(SessionKind.USER), 10.0, client_offline=False)
    assert user is not None and "sign in again" in user and "renewed on your next step" not in user
    guest = wording.banner(view(SessionKind.GUEST), 10.0, client_offline=False)
    assert guest is not None and "starts a new session" in guest


async def test_a_guest_who_ends_the_session_is_not_told_they_signed_out(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        h.client.manager.sign_out()  # "End session" in a guest's prompt does this
        await h.pilot.pause()
        await h.pilot.pause()
        h.app.refresh_chrome()
        await h.pilot.pause()
        assert isinstance(h.app.screen, HomeScreen)
        assert "signed out" not in h.countdown_text() and "session ended" in h.countdown_text()
        assert h.text("#profile").startswith("Your guest session ended.")
