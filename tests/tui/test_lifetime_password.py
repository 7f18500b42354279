"""Rule 15 in the real app: told before the absolute lifetime, and at it the password asked for over
the screen the person is on, with the screen and the draft kept; "Not now" is a sign-out in the
lifetime's words."""

from __future__ import annotations

from pathlib import Path

from sessionkeeper.tui.screens.booking import SearchStep
from sessionkeeper.tui.screens.password import PasswordPrompt
from sessionkeeper.tui.screens.signed_out import SignedOutScreen
from tests.tui.harness import Harness, running

LIFETIME = 100.0


async def at_the_lifetime(h: Harness) -> None:
    await h.sign_in()
    await h.open_search()
    await h.fill("origin", "LHR")
    assert any("time limit in 1:40" in note for note in h.notes)  # told at once: under 5 minutes
    assert "time limit in 1:40" in h.countdown_text()
    await h.advance(LIFETIME + 1)
    await h.pilot.pause()
    assert isinstance(h.app.screen, PasswordPrompt), type(h.app.screen).__name__


async def sign_in_again(h: Harness, *, click: bool = False) -> None:
    """The dialog's Sign in, by Enter or by a click on its button, and its answer waited for."""
    await (h.pilot.click("#password-sign-in") if click else h.pilot.press("enter"))
    await h.app.workers.wait_for_complete()
    await h.pilot.pause()


async def test_at_the_lifetime_the_password_over_the_booking_keeps_the_screen_and_the_draft(
    tmp_path: Path,
) -> None:
    async with running(tmp_path, ttl=900.0, lifetime=LIFETIME) as h:
        await at_the_lifetime(h)
        assert (await h.counters())["reauths"] == 0  # no silent re-auth past the cap
        await h.fill("lifetime-password", "not-her-password")
        await sign_in_again(h)
        assert isinstance(h.app.screen, PasswordPrompt)
        assert "Wrong password." in h.text("#password-error")
        await h.fill("lifetime-password", "lovelace")
        await sign_in_again(h)
        assert isinstance(h.app.screen, SearchStep)
        assert h.value("origin") == "LHR"
        assert h.client.username == "ada"
        counters = await h.counters()
        assert (counters["logins"], counters["login_failures"]) == (3, 1)  # one wrong, one right
        view = h.client.manager.view()
        assert view.lifetime_left_s is not None and view.lifetime_left_s > LIFETIME - 2  # a new one


async def test_not_now_is_a_sign_out_in_the_lifetimes_words_with_the_draft_kept(tmp_path: Path) -> None:
    async with running(tmp_path, ttl=900.0, lifetime=LIFETIME) as h:
        await at_the_lifetime(h)
        await h.pilot.press("escape")
        await h.pilot.pause()
        await h.pilot.pause()
        assert isinstance(h.app.screen, SignedOutScreen)
        assert "time limit" in h.text("#signed-out-why")
        assert "step 1 of 6, Search flights" in h.text("#signed-out-draft")


async def test_by_click_a_wrong_password_leaves_the_field_ready_for_the_next_try_and_the_right_one_goes_on(
    tmp_path: Path,
) -> None:
    async with running(tmp_path, ttl=900.0, lifetime=LIFETIME) as h:
        await at_the_lifetime(h)
        await h.pilot.click("#password-sign-in")  # nothing typed yet
        await h.pilot.pause()
        assert "Type your password." in h.text("#password-error")
        assert h.app.focused is not None and h.app.focused.id == "lifetime-password"
        await h.pilot.press(*"nope")
        await sign_in_again(h, click=True)
        assert "Wrong password." in h.text("#password-error")
        assert h.app.focused is not None and h.app.focused.id == "lifetime-password"  # not the button
        await h.pilot.press(*"lovelace")  # typed straight after, as a person does
        await sign_in_again(h, click=True)
        assert isinstance(h.app.screen, SearchStep) and h.value("origin") == "LHR"


async def test_with_the_backend_unreachable_the_password_says_so_and_keeps_the_dialog(tmp_path: Path) -> None:
    async with running(tmp_path, ttl=900.0, lifetime=LIFETIME) as h:
        await at_the_lifetime(h)
        h.client.network.online = False
        await h.pilot.press(*"lovelace")
        await sign_in_again(h, click=True)
        assert isinstance(h.app.screen, PasswordPrompt)
        said = h.text("#password-error")
        assert said and "Wrong password" not in said, said
        assert h.app.focused is not None and h.app.focused.id == "lifetime-password"
        assert h.value("lifetime-password") == "lovelace"  # kept: "press enter to try again" is true
        h.client.network.online = True
        await sign_in_again(h)
        assert isinstance(h.app.screen, SearchStep)


async def test_not_now_by_click_signs_out_in_the_lifetimes_words(tmp_path: Path) -> None:
    async with running(tmp_path, ttl=900.0, lifetime=LIFETIME) as h:
        await at_the_lifetime(h)
        await h.pilot.click("#password-not-now")
        await h.pilot.pause()
        await h.pilot.pause()
        assert isinstance(h.app.screen, SignedOutScreen)
        assert "time limit" in h.text("#signed-out-why")
