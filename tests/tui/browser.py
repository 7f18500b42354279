"""A real headless Chromium (Debian's, driven by Playwright) on a running `sessionkeeper serve`.

The terminal in the page is drawn on a canvas, so its text is read by rebuilding the screen from
the bytes the app sends over the page's WebSocket, with pyte (a terminal emulator): exactly what
the app drew, without reaching into textual-serve's bundled JavaScript.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyte
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Response,
    ViewportSize,
    WebSocket,
    async_playwright,
)

from sessionkeeper.api.backend.serve import find_free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
COUNTDOWN = re.compile(r"⏱ (\d+):(\d\d)")
ROOT = Path(__file__).resolve().parents[2]
VIEWPORT: ViewportSize = {"width": 1200, "height": 720}


@dataclass
class Served:
    """A `sessionkeeper serve` process and what it serves."""

    process: subprocess.Popen[bytes]
    url: str
    data_dir: Path

    def backend_url(self) -> str:
        """The shared backend's URL, as each tab's command line names it."""
        for pid in tab_pids(self.data_dir):
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            return command[command.index(b"--backend") + 1].decode()
        raise AssertionError("no tab is running")

    async def server_state(self) -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"{self.backend_url()}/__qa/state")
            return dict(answer.json())


def tab_pids(data_dir: Path) -> list[int]:
    """The app processes serving tabs: their command line names the serve's data directory, or
    (an app started ahead of its tab, `tui/web/tab.py`) their working directory is in it."""
    return [pid for pid in app_pids() if data_dir_of(pid).is_relative_to(data_dir)]


def app_pids() -> list[int]:
    """Every tab's app process of any serve, those still waiting for a tab included."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"--backend" in command and b"sessionkeeper.tui." in command:
            pids.append(int(entry.name))
    return pids


def data_dir_of(pid: int) -> Path:
    """A tab's app's data directory: named on its command line, or else its working directory."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"--data-dir" in command:
            return Path(command[command.index(b"--data-dir") + 1].decode())
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return Path("/nonexistent")


def spawn_serve(
    data_dir: Path | None,
    *,
    port: int,
    ttl: float,
    warn: float,
    args: tuple[str, ...] = (),
    log_path: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """`sessionkeeper serve` in a process of its own; what it prints goes to `serve.log` beside the
    tabs' data (a pipe nobody reads would fill, and stop it), or to `log_path`."""
    command = [
        sys.executable,
        "-m",
        "sessionkeeper.tui.cli",
        "serve",
        "--port",
        str(port),
        "--ttl",
        f"{ttl:g}",
    ]
    command += ["--warn", f"{warn:g}", *args]
    if data_dir is not None:
        command += ["--data-dir", str(data_dir)]
        data_dir.mkdir(parents=True, exist_ok=True)
    if log_path is None:
        assert data_dir is not None
        log_path = data_dir / "serve.log"
    with log_path.open("wb") as log:
        return subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)


async def until_answering(
    url: str, process: subprocess.Popen[bytes], within: float = 30.0, expect: tuple[int, ...] = (200,)
) -> None:
    async with httpx.AsyncClient() as client:
        deadline = time.monotonic() + within
        while True:
            assert process.poll() is None, "serve ended before it answered"
            try:
                if (await client.get(url)).status_code in expect:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"serve did not answer within {within:g} s"
            await asyncio.sleep(0.01)


def stop_serve(process: subprocess.Popen[bytes], data_dir: Path | None) -> list[int]:
    """Ctrl+C, as a person stops it (killed if it does not end); the tab processes still left."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return tab_pids(data_dir) if data_dir is not None else []


@asynccontextmanager
async def serving(
    data_dir: Path, *, ttl: float = 60, warn: float = 20, args: tuple[str, ...] = (), host: str = "127.0.0.1"
) -> AsyncIterator[Served]:
    """A serve on `data_dir` (`args`: more options; `host`: the address its URL uses)."""
    port = find_free_port()
    process = spawn_serve(data_dir, port=port, ttl=ttl, warn=warn, args=args)
    served = Served(process, f"http://{host}:{port}", data_dir)
    try:
        await until_answering(served.url + "/", process, expect=(200, 403))
        yield served
    finally:
        for pid in stop_serve(process, data_dir):  # never leave a tab's app behind a failed test
            os.kill(pid, signal.SIGKILL)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()


async def one_browser(browser: Browser) -> BrowserContext:
    """A browser of its own (its own cookies), for tabs that share it: `Tab.open(context, url)`.
    `Tab.open(browser, url)` gives each tab a browser of its own, as another person's."""
    return await browser.new_context(viewport=VIEWPORT)


@dataclass
class Tab:
    """A page showing the app, and the app's screen as its WebSocket drew it."""

    page: Page
    screen: pyte.Screen
    failed: list[str] = field(default_factory=list)  # requests that failed or got >= 400
    hosts: set[str] = field(default_factory=set)  # every host the page asked anything of
    document: Response | None = None  # the latest response for the page itself
    socket: WebSocket | None = None  # the page's latest WebSocket: the one the screen is read from

    @classmethod
    async def open(cls, browser: Browser | BrowserContext, url: str) -> Tab:
        tab = await cls.blank(browser)
        await tab.goto(url)
        return tab

    async def goto(self, url: str) -> None:
        """`url` in this tab, as typed into its address bar; until the app's first byte."""
        self.document = await self.page.goto(url)
        await self.first_byte()

    @classmethod
    async def blank(cls, browser: Browser | BrowserContext) -> Tab:
        """A new tab showing nothing yet (`goto` then shows the app)."""
        if isinstance(browser, BrowserContext):
            page = await browser.new_page()
        else:
            page = await browser.new_page(viewport=VIEWPORT)
        tab = cls(page, pyte.Screen(220, 70))
        stream = pyte.ByteStream(tab.screen)

        def on_socket(socket: WebSocket) -> None:
            nonlocal stream
            tab.socket = socket
            tab.screen.reset()  # a reloaded page's app draws a screen of its own
            stream = pyte.ByteStream(tab.screen)

            def frame(payload: str | bytes) -> None:
                if isinstance(payload, bytes) and socket is tab.socket:
                    stream.feed(payload)

            socket.on("framereceived", frame)

        page.on("websocket", on_socket)
        page.on("request", lambda request: tab.hosts.add(request.url.split("/")[2]))
        page.on("requestfailed", lambda request: tab.failed.append(f"{request.url} failed"))
        page.on(
            "response",
            lambda response: (
                tab.failed.append(f"{response.url} {response.status}") if response.status >= 400 else None
            ),
        )
        return tab

    async def first_byte(self) -> None:
        await self.page.wait_for_function("document.body.classList.contains('-first-byte')", timeout=30_000)

    async def reload(self) -> None:
        """As the reload button does it: the page again, a new socket, a new app."""
        self.document = await self.page.reload()
        await self.first_byte()

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def countdown(self) -> int | None:
        """The countdown's remaining seconds, as drawn."""
        found = COUNTDOWN.search(self.text())
        return int(found[1]) * 60 + int(found[2]) if found else None

    async def until(self, condition: Callable[[], object], within: float = 15.0, what: str = "") -> None:
        deadline = time.monotonic() + within
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {within:g} s: {what}\n--- the screen ---\n{self.text()}")
            await asyncio.sleep(0.05)

    async def shows(self, text: str, within: float = 15.0) -> None:
        await self.until(lambda: text in self.text(), within, f"{text!r} on screen")

    async def keys(self, *keys: str) -> None:
        for key in keys:
            await self.page.keyboard.press(key)
            await asyncio.sleep(0.05)  # each key its own message, as a person types

    async def type(self, text: str) -> None:
        await self.page.keyboard.type(text, delay=30)

    async def sign_in(self, user: str, password: str) -> None:
        """From the home screen, as a person does it."""
        await self.keys("s")
        await self.shows("your username, e.g. ada")
        await self.type(user)
        await self.until(lambda: f"▊  {user} " in self.text(), what=f"{user!r} in its field")
        await self.keys("Tab")
        await self.until(lambda: "Username" in self.text(), what="the sign-in form")
        await asyncio.sleep(0.2)  # the focus on the password field (not visible in text) has moved
        await self.type(password)
        # Each key its own message; checked before Enter, so that a key lost under load shows here.
        await self.until(lambda: "•" * len(password) in self.text(), what="the password typed")
        await self.keys("Enter")
        await self.shows(f"active  ·  {user}")

    async def visibility(self, state: str) -> None:
        """The page hidden or shown, as the browser says it when the tab is switched away or back."""
        await self.page.evaluate(
            """(state) => {
                Object.defineProperty(document, "visibilityState", {value: state, configurable: true});
                Object.defineProperty(document, "hidden", {value: state === "hidden", configurable: true});
                document.dispatchEvent(new Event("visibilitychange"));
            }""",
            state,
        )
