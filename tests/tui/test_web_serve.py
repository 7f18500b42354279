"""The app in a browser (issue 12), in a real headless Chromium on a real `sessionkeeper serve`: a
page that asks nothing of any other host, a countdown that moves, keys that work, a hidden tab
that is an app in the background, two browsers that are two users on one backend, and Ctrl+C that
ends every process it started. (A tab's data directory, which is its browser's:
test_web_browser_data_dir.py.)"""

from __future__ import annotations

import io
import os
import signal
import subprocess
from pathlib import Path

import pytest

from sessionkeeper.tui.web.serve import serve
from tests.tui.browser import Tab, chromium, serving, tab_pids


@pytest.mark.slow  # headless Chromium
async def test_the_page_fetches_only_from_this_server_and_nothing_fails(tmp_path: Path) -> None:
    async with serving(tmp_path) as served, chromium() as browser:
        tab = await Tab.open(browser, served.url)
        await tab.shows("Welcome to SK Air")
        assert tab.hosts == {served.url.removeprefix("http://")}
        assert tab.failed == []
        # The bundled font, not a web font from elsewhere; and the countdown's glyph is drawn.
        fonts = await tab.page.evaluate("[...document.fonts].map(f => f.family + ' ' + f.status)")
        assert any("Roboto Mono" in font and "loaded" in font for font in fonts), fonts
        await tab.until(lambda: tab.countdown() is not None, what="the countdown drawn")


@pytest.mark.slow  # headless Chromium
async def test_the_countdown_is_visible_moving_and_b_opens_the_booking_flow(tmp_path: Path) -> None:
    async with serving(tmp_path) as served, chromium() as browser:
        tab = await Tab.open(browser, served.url)
        await tab.shows("active")
        first = tab.countdown()
        assert first is not None and 55 <= first <= 60
        await tab.until(lambda: (tab.countdown() or first) < first, what="the countdown moving")
        await tab.keys("b")
        await tab.shows("Search flights")


@pytest.mark.slow  # headless Chromium
async def test_hiding_the_tab_pauses_the_countdown_and_showing_it_refreshes(tmp_path: Path) -> None:
    async with serving(tmp_path) as served, chromium() as browser:
        tab = await Tab.open(browser, served.url)
        await tab.shows("active")
        before = (await served.server_state())["counters"]["refreshes"]
        await tab.visibility("hidden")
        await tab.shows("away: the server's clock runs on")
        await tab.visibility("visible")
        await tab.until(lambda: "away:" not in tab.text(), what="the pause ended")
        await tab.shows("active")
        after = (await served.server_state())["counters"]["refreshes"]
        assert after == before + 1


@pytest.mark.slow  # headless Chromium
async def test_a_signed_in_user_hidden_past_the_ttl_is_signed_in_again_silently(tmp_path: Path) -> None:
    async with serving(tmp_path) as served, chromium() as browser:
        tab = await Tab.open(browser, served.url)
        await tab.shows("active")
        await tab.sign_in("ada", "lovelace")
        await tab.shows("Signed in as Ada Lovelace")
        await tab.visibility("hidden")
        await tab.shows("away: the server's clock runs on")
        # Two minutes pass while the tab is hidden: the QA panel's skip moves both clocks (N=120).
        await tab.keys("F2")
        await tab.shows("Client estimate")
        await tab.keys("+", "+", "k")
        await tab.shows("skipped ahead 120 s on both clocks")
        await tab.keys("Escape")
        await tab.shows("Signed in as Ada Lovelace")
        await tab.visibility("visible")
        await tab.until(lambda: "away:" not in tab.text(), what="back from the background")
        await tab.shows("active  ·  ada")
        counters = (await served.server_state())["counters"]
        assert counters["reauths"] == 1 and counters["logins"] == 1
        assert "Sign in" not in tab.text().split("Signed in as")[0]  # no sign-in screen shown


@pytest.mark.slow  # headless Chromium
async def test_two_browsers_are_two_users_with_own_data_and_both_in_the_qa_panel(tmp_path: Path) -> None:
    async with serving(tmp_path) as served, chromium() as browser:
        tabs = []
        for user, password in [("ada", "lovelace"), ("grace", "hopper")]:
            tab = await Tab.open(browser, served.url)  # each in a browser of its own
            tabs.append(tab)
            await tab.shows("active")
            await tab.sign_in(user, password)
        await tabs[0].page.bring_to_front()
        await tabs[0].keys("F2")
        await tabs[0].until(
            lambda: "ada" in live(tabs[0]) and "grace" in live(tabs[0]), what="both users live in the panel"
        )
        folders = sorted(p for p in tmp_path.iterdir() if p.name.startswith("browser-"))
        assert len(folders) == 2 and all((folder / "session.json").is_file() for folder in folders)
        assert (folders[0] / "session.json").read_bytes() != (folders[1] / "session.json").read_bytes()


def live(tab: Tab) -> str:
    return next((line for line in tab.text().splitlines() if "live " in line), "")


@pytest.mark.slow  # headless Chromium
async def test_ctrl_c_stops_every_tab_and_the_backend(tmp_path: Path) -> None:
    async with serving(tmp_path) as served, chromium() as browser:
        for _ in range(2):
            tab = await Tab.open(browser, served.url)
            await tab.shows("active")
        backend = served.backend_url()
        assert len(tab_pids(tmp_path)) == 2
        served.process.send_signal(signal.SIGINT)
        assert served.process.wait(timeout=20) == 0
        assert tab_pids(tmp_path) == []
        port = backend.rsplit(":", 1)[1].encode()
        assert not [pid for pid in _pids() if b"backend" in _cmdline(pid) and port in _cmdline(pid)]


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_another_host_is_warned_about_and_a_taken_port_is_said_in_one_line(tmp_path: Path) -> None:
    with subprocess.Popen(["sleep", "0"]):
        pass
    import socket

    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        err = io.StringIO()
        status = serve(host="0.0.0.0", port=port, ttl=60, warn=20, data_dir=tmp_path, err=err)
    assert status == 1
    said = err.getvalue()
    assert "warning: listening on 0.0.0.0: anyone who can reach this machine" in said
    assert said.strip().splitlines()[-1].startswith("sessionkeeper serve: ") and str(port) in said
