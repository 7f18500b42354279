"""`sessionkeeper serve` (issue 18) for real: in headless Chromium through this machine's own
address with `--host 0.0.0.0` (and the printed token), through `localhost` while it listens on
127.0.0.1 (the browser's cookie reaches the socket), past `--max-tabs`; and a backend that dies
(started again on its port, or serve ends with the reason), and the data it made going with it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path

import aiohttp
import httpx
import pytest

from sessionkeeper.api.backend.serve import find_free_port
from sessionkeeper.tui.web.serve import BROWSER_COOKIE, outward_address
from tests.tui.browser import (
    Tab,
    app_pids,
    chromium,
    data_dir_of,
    one_browser,
    serving,
    spawn_serve,
    stop_serve,
    tab_pids,
    until_answering,
)


def printed_url(log: Path, address: str) -> str:
    """The URL serve printed for `address`, token and all."""
    found = re.search(rf"http://{re.escape(address)}:\d+/\?token=\S+", log.read_text())
    assert found, log.read_text()
    return found[0]


@pytest.mark.slow  # headless Chromium
async def test_through_this_machines_own_address_with_the_printed_token(tmp_path: Path) -> None:
    address = outward_address()
    if address is None:
        pytest.skip("no address but loopback")
    async with serving(tmp_path, args=("--host", "0.0.0.0"), host=address) as served, chromium() as browser:
        url = printed_url(tmp_path / "serve.log", address)
        assert url.startswith(f"{served.url}/?token=")
        page = await (await one_browser(browser)).new_page()
        refused = await page.goto(served.url + "/")
        assert refused is not None and refused.status == 403
        assert "needs its token" in await page.content()
        tab = await Tab.open(browser, url)
        await tab.until(lambda: tab.countdown() is not None, what="the countdown drawn")
        assert tab.failed == [] and tab.hosts == {served.url.removeprefix("http://")}
        fonts = await tab.page.evaluate("[...document.fonts].map(f => f.family + ' ' + f.status)")
        assert any("Roboto Mono" in font and "loaded" in font for font in fonts), fonts
        # Its reload keeps the token in a cookie; the URL without it then works too.
        await tab.page.goto(served.url + "/")
        await tab.first_byte()
        await tab.shows("active")


@pytest.mark.slow  # headless Chromium
async def test_through_localhost_the_browsers_cookie_reaches_its_socket(tmp_path: Path) -> None:
    async with serving(tmp_path, host="localhost") as served, chromium() as browser:
        context = await one_browser(browser)
        tab = await Tab.open(context, served.url)
        await tab.shows("active")
        assert tab.failed == [] and tab.hosts == {served.url.removeprefix("http://")}
        [cookie] = await context.cookies()
        assert cookie["name"] == BROWSER_COOKIE
        [pid] = tab_pids(tmp_path)
        assert data_dir_of(pid) == tmp_path / f"browser-{cookie['value']}"


@pytest.mark.slow  # headless Chromium
async def test_past_max_tabs_the_page_says_so_and_no_app_starts(tmp_path: Path) -> None:
    async with serving(tmp_path, args=("--max-tabs", "1")) as served, chromium() as browser:
        first = await Tab.open(browser, served.url)
        await first.shows("active")
        second = await Tab.open(browser, served.url)
        await second.shows("1 tab already running, the most this serve allows (--max-tabs 1).")
        await second.shows("No app was started for this tab. Close another tab, then reload this one.")
        assert len(tab_pids(tmp_path)) == 1
        await first.page.close()
        await second.until(lambda: tab_pids(tmp_path) == [], what="the first tab's app ended")
        await second.reload()
        await second.shows("active")


def backend_pid(port: int) -> int | None:
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        try:
            line = Path(f"/proc/{pid}/cmdline").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except OSError:
            continue
        if b"backend" in line and b"--port\0" + str(port).encode() + b"\0" in line and state != "Z":
            return pid
    return None


async def answered(url: str, within: float = 30.0) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(int(within / 0.1)):
            try:
                if (await client.get(f"{url}/__qa/state")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


@pytest.mark.slow  # processes: serve, its backend again and again
async def test_a_backend_that_dies_is_started_again_on_its_port_and_one_that_keeps_dying_ends_serve(
    tmp_path: Path,
) -> None:
    async with serving(tmp_path) as served, chromium() as browser:
        tab = await Tab.open(browser, served.url)
        await tab.shows("active")
        url = served.backend_url()
        port = int(url.rsplit(":", 1)[1])
        log = tmp_path / "serve.log"
        for death in (1, 2, 3):
            pid = backend_pid(port)
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            await answered(url)  # again, on the same port
            said = log.read_text()
            again = f"the backend ended (killed by SIGKILL); starting it again on port {port} ({death} of 3)"
            assert f"sessionkeeper serve: {again}" in said
            assert Path(f"/proc/{pid}").exists() is False  # reaped: no <defunct> left
        pid = backend_pid(port)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        assert served.process.wait(timeout=30) == 1
        last = log.read_text().strip().splitlines()[-1]
        assert last == (
            "sessionkeeper serve: the backend ended 4 times in 5 minutes; the last time: killed by SIGKILL"
        )
        assert tab_pids(tmp_path) == []


@pytest.mark.slow  # processes: serve, a tab's app, a cookie-less socket's app
async def test_what_serve_made_goes_with_it_a_given_data_dirs_browsers_stay(tmp_path: Path) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    given = tmp_path / "given"
    for data_dir in (None, given):
        port = find_free_port()
        env = {**os.environ, "TMPDIR": str(temp)}
        log = tmp_path / "serve.log"
        process = spawn_serve(data_dir, port=port, ttl=60, warn=20, log_path=log, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            await until_answering(url + "/", process)
            root = given if data_dir is not None else next(temp.iterdir())
            async with chromium() as browser:
                tab = await Tab.open(await one_browser(browser), url)  # a browser's: browser-<id>
                await tab.shows("active")
                [pid] = tab_pids(root)
                backend = cmdline(pid).split("--backend ")[1].split()[0]
                async with aiohttp.ClientSession() as session:  # no cookie: a tab-* of its own
                    socket = await session.ws_connect(url + "/ws", headers={"Origin": url})
                    await socket.receive(timeout=30)
                    names = sorted(p.name.split("-")[0] for p in root.iterdir() if p.is_dir())
                    assert names == ["browser", "tab"], names
                    assert stop_serve(process, root) == []  # Ctrl+C, the socket still open
                    await socket.close()
        finally:
            stop_serve(process, None)
        assert process.returncode == 0
        # Every app reaped, the one started ahead for the next tab included.
        assert [pid for pid in app_pids() if backend in cmdline(pid)] == []
    assert list(temp.iterdir()) == []  # the temporary serve dir, and all in it, gone
    names = sorted(p.name.split("-")[0] for p in given.iterdir())
    assert names == ["browser"], names  # its tab-* dir gone; the browser's kept


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
