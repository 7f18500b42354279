"""The page `sessionkeeper serve` serves (issue 18, items 3 and 10), in a real headless Chromium on a
real `sessionkeeper serve`: a page opened visible never says "paused" and costs no refresh, a page
opened in the background is an app in the background until it is shown; at phone width a row of
on-screen keys (F2, Esc, Tab, Enter, Next, y, n) drives the app; at 800x600 the QA panel's timeline
is on screen."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pyte
import pytest
from playwright.async_api import Browser, BrowserContext, ViewportSize, WebSocket

from tests.tui.browser import Tab, chromium, serving

PHONE: ViewportSize = {"width": 390, "height": 844}
# An 800x600 page, and the page of an 800x600 browser window (Chrome's tab strip and toolbar take
# about 88 px of its height).
SMALL: list[ViewportSize] = [{"width": 800, "height": 600}, {"width": 800, "height": 512}]
HIDDEN_AT_START = """
Object.defineProperty(document, "visibilityState", {value: "hidden", configurable: true});
Object.defineProperty(document, "hidden", {value: true, configurable: true});
"""


class Watched:
    """Every frame the app sends, checked as it comes: whether any ever drew `word`."""

    def __init__(self, word: str) -> None:
        self.word = word
        self.seen = False
        self.size: tuple[int, int] | None = None  # the terminal's (columns, rows), as the page said

    def sent(self, payload: str | bytes) -> None:
        if isinstance(payload, str) and payload.startswith('["resize"'):
            size = json.loads(payload)[1]
            self.size = (size["width"], size["height"])

    def watch(self, tab: Tab) -> None:
        screen = pyte.Screen(220, 70)
        stream = pyte.ByteStream(screen)

        def on_socket(socket: WebSocket) -> None:
            def frame(payload: str | bytes) -> None:
                if isinstance(payload, bytes):
                    stream.feed(payload)
                    if any(self.word in line for line in screen.display):
                        self.seen = True

            socket.on("framereceived", frame)
            socket.on("framesent", self.sent)

        tab.page.on("websocket", on_socket)


async def open_watched(context: BrowserContext, url: str, watched: Watched) -> Tab:
    """`Tab.open`, with every frame from the first watched (the page's socket is opened on load)."""
    page = await context.new_page()
    tab = Tab(page, pyte.Screen(220, 70))
    stream = pyte.ByteStream(tab.screen)
    watched.watch(tab)
    page.on(
        "websocket",
        lambda socket: socket.on(
            "framereceived", lambda payload: stream.feed(payload) if isinstance(payload, bytes) else None
        ),
    )
    await page.goto(url)
    await tab.first_byte()
    return tab


async def context_of(browser: Browser, viewport: ViewportSize, *, focused: bool = True) -> BrowserContext:
    context = await browser.new_context(viewport=viewport)
    if not focused:
        # As a real browser window that is not the focused one (a tab opened from a terminal's link):
        # the page is visible, but its document has no focus, so the terminal never gains it.
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        await cdp.send("Emulation.setFocusEmulationEnabled", {"enabled": False})
        await page.close()
    return context


@pytest.mark.slow  # headless Chromium
async def test_a_page_opened_visible_never_says_paused_and_costs_no_refresh(tmp_path: Path) -> None:
    async with serving(tmp_path) as served, chromium() as browser:
        for focused in (True, False):
            context = await context_of(browser, {"width": 1200, "height": 720}, focused=focused)
            watched = Watched("away:")
            tab = await open_watched(context, served.url, watched)
            await tab.shows("active")
            await asyncio.sleep(3)  # a late "blurred" (the web driver's, at start) would show by now
            assert not watched.seen, f"a visible page said 'away' (document focused: {focused})"
            counters = (await served.server_state())["counters"]
            assert counters["refreshes"] == 0, counters
            await context.close()


@pytest.mark.slow  # headless Chromium
async def test_a_page_opened_in_the_background_says_paused_until_it_is_shown(tmp_path: Path) -> None:
    async with serving(tmp_path) as served, chromium() as browser:
        context = await browser.new_context(viewport={"width": 1200, "height": 720})
        await context.add_init_script(HIDDEN_AT_START)
        tab = await open_watched(context, served.url, Watched("away:"))
        await tab.shows("away: the server's clock runs on")
        await asyncio.sleep(2)
        assert "away:" in tab.text()  # still: nothing said it was shown
        await tab.visibility("visible")
        await tab.until(lambda: "away:" not in tab.text(), what="back once shown")
        await tab.shows("active")


@pytest.mark.slow  # headless Chromium
async def test_at_phone_width_the_key_row_is_there_and_its_f2_opens_the_qa_panel(tmp_path: Path) -> None:
    async with serving(tmp_path) as served, chromium() as browser:
        context = await browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
        tab = await open_watched(context, served.url, Watched("never"))
        await tab.shows("active")
        row = tab.page.locator("#keys")
        assert await row.is_visible()
        labels = [label.strip() for label in await row.locator("button").all_inner_texts()]
        assert {"F2", "Esc", "Tab", "Enter", "Next", "y", "n"} <= set(labels), labels
        # The row is below the terminal, not over it.
        terminal = await tab.page.locator("#terminal").bounding_box()
        keys = await row.bounding_box()
        assert terminal is not None and keys is not None
        assert terminal["y"] + terminal["height"] <= keys["y"] + 1
        await tab.page.screenshot(path="/tmp/page18/phone-home.png")
        await row.get_by_role("button", name="F2").tap()
        await tab.shows("Client estim")  # the QA panel (its box titles cut at 40 columns)
        await tab.page.screenshot(path="/tmp/page18/phone-qa.png")
        await row.get_by_role("button", name="Esc").tap()
        await tab.until(lambda: "Client estim" not in tab.text(), what="the QA panel closed by Esc")
        # Tapping a key takes no focus from the terminal: the app never went to the background.
        assert "away:" not in tab.text()


@pytest.mark.slow  # headless Chromium
async def test_on_a_wide_screen_there_is_no_key_row(tmp_path: Path) -> None:
    async with serving(tmp_path) as served, chromium() as browser:
        context = await browser.new_context(viewport={"width": 1200, "height": 720})
        tab = await open_watched(context, served.url, Watched("never"))
        await tab.shows("active")
        assert not await tab.page.locator("#keys").is_visible()


@pytest.mark.slow  # headless Chromium
@pytest.mark.parametrize("viewport", SMALL, ids=lambda v: f"{v['width']}x{v['height']}")
async def test_at_800x600_the_qa_panel_shows_its_timeline(tmp_path: Path, viewport: ViewportSize) -> None:
    async with serving(tmp_path) as served, chromium() as browser:
        context = await browser.new_context(viewport=viewport)
        watched = Watched("never")
        tab = await open_watched(context, served.url, watched)
        await tab.shows("active")
        await tab.keys("F2")
        await tab.shows("Client estimate")
        await asyncio.sleep(1)
        await tab.page.screenshot(path=f"/tmp/page18/{viewport['width']}x{viewport['height']}-qa.png")
        assert watched.size is not None
        columns, rows = watched.size
        # The timeline's heading and at least its first lines, within the terminal's rows.
        lines = tab.text().splitlines()[:rows]
        heading = next((i for i, line in enumerate(lines) if line.lstrip().startswith("Timeline")), None)
        assert heading is not None, f"no Timeline heading in {rows} rows of {columns}:\n{tab.text()}"
        # Its lines on screen (the body does not scroll them away): the three of a guest's start.
        shown = "\n".join(lines[heading:])
        assert all(event in shown for event in ("guest_session_started", "token_issued", "deadline_moved")), (
            f"the timeline cut in {rows} rows:\n{tab.text()}"
        )


async def test_the_web_drivers_start_up_blur_leaves_the_app_in_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under Pilot, as textual-serve starts the app: its driver says "blurred" first of all; that is
    not the page's, and the app stays in front (no pause, no refresh). The page's own blur after it
    is honoured."""
    from textual import events

    from tests.tui.harness import make_app

    monkeypatch.setenv("TEXTUAL_DRIVER", "textual.drivers.web_driver:WebDriver")
    app, _clock, _server = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        app.post_message(events.AppBlur())  # as the web driver does as it starts
        await app.ready.wait()
        for _ in range(3):
            await pilot.pause()
        assert app.app_focus and app.client is not None
        assert "paused" not in str(app.screen.query_one("Countdown").render())
        control = app.services.qa_control
        assert control is not None and (await control.state()).counters["refreshes"] == 0
        app.post_message(events.AppBlur())  # the page hidden
        await pilot.pause()
        app.refresh_countdown()
        assert "away:" in str(app.screen.query_one("Countdown").render())


@pytest.mark.slow  # headless Chromium
async def test_an_app_started_as_its_page_was_served_is_drawn_at_the_pages_size(tmp_path: Path) -> None:
    """serve starts a page's app as it serves the page (a head start, at 80x24: the page's size
    comes with its socket); the page, once attached, has it at its own size."""
    async with serving(tmp_path) as served, chromium() as browser:
        tab = await Tab.open(browser, served.url)  # 1200 px wide: well over 100 columns
        await tab.until(lambda: tab.countdown() is not None, what="a running countdown")
        await tab.until(
            lambda: max(len(line.rstrip()) for line in tab.screen.display) > 100, what="the page's width"
        )
        drawn = [row for row, line in enumerate(tab.screen.display) if line.strip()]
        assert drawn[-1] >= 24, tab.text()  # and its height: the footer below row 24 (720 px)
