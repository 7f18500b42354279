"""`sessionkeeper serve`: the real app in a browser, through textual-serve.

One backend process for every tab (so two browsers can be two users of the same airline, and
either QA panel sees both sessions); one app process per tab; a page of our own
(`templates/app_index.html`) that fetches nothing from outside and tells the app when the tab is
hidden or shown. Ctrl+C stops the tabs' processes (textual-serve asks each app to quit as its
socket closes) and then the backend.

A tab's data directory belongs to its browser, not to the tab. The page's response gives a
browser that has none (or a malformed one) a cookie holding a random id (`BROWSER_COOKIE`:
HttpOnly, SameSite=Strict, Path=/, 30 days, Secure over https). The socket that starts a tab's
app reads it, and the app runs with `--data-dir <serve dir>/browser-<id>` (made 0700): a reload,
or a second tab of the same browser, starts in the same directory, so the app resumes its
`session.json` and the booking draft. Another browser (another cookie, or none) is another person
with another directory. The id is used only if it is exactly what serve issues (43 characters of
the URL-safe base64 alphabet); a socket without such a cookie gets a fresh private directory of
its own (`<serve dir>/tab-XXXXXXXX`), never a path built from what the browser sent. The serve
dir is `--data-dir` (a browser finds its data again after serve restarts) or else a fresh
temporary one for this run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import httpx

if TYPE_CHECKING:
    from aiohttp import web

TEMPLATES = Path(__file__).resolve().parent / "templates"  # app_index.html: the page of every tab
BACKEND_START_S = 20.0


class ServeError(Exception):
    """Serving could not begin; the message says why in one line."""


BROWSER_COOKIE = "sessionkeeper_browser"
BROWSER_COOKIE_MAX_AGE_S = 30 * 24 * 3600  # a browser unseen for 30 days is a new one
BROWSER_ID_BYTES = 32  # 256 bits from secrets: 43 characters of the URL-safe base64 alphabet
_BROWSER_ID = re.compile(r"[A-Za-z0-9_-]{43}")


def new_browser_id() -> str:
    return secrets.token_urlsafe(BROWSER_ID_BYTES)


def browser_id(cookie: str | None) -> str | None:
    """The browser's id if the cookie holds one serve could have issued, else None: nothing but
    the alphabet and length of `new_browser_id` (no "/", no "..", no empty string)."""
    if cookie is None or _BROWSER_ID.fullmatch(cookie) is None:
        return None
    return cookie


def give_browser_id(request: web.Request, response: web.StreamResponse) -> None:
    """A browser without a valid id gets a new one on the page's response. HttpOnly: no script in
    the page can read it; SameSite=Strict: no other site's page can make the browser send it (a
    foreign page opening our socket gets a fresh directory, not this browser's); Secure only over
    https, or a browser on http://localhost would drop it."""
    if browser_id(request.cookies.get(BROWSER_COOKIE)) is not None:
        return
    response.set_cookie(
        BROWSER_COOKIE,
        new_browser_id(),
        max_age=BROWSER_COOKIE_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=True if request.secure else None,
    )


def tab_data_dir(root: Path, cookie: str | None) -> Path:
    """The data directory of a tab's app: its browser's (`root/browser-<id>`, made 0700 if
    missing) when the cookie holds a valid id, else a fresh private one (`root/tab-XXXXXXXX`, as
    `mktemp -d` makes it)."""
    browser = browser_id(cookie)
    if browser is not None:
        path = root / f"browser-{browser}"
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o700)
        if path.is_dir() and not path.is_symlink():  # not a file or a link found in its place
            return path
    return Path(tempfile.mkdtemp(prefix="tab-", dir=root))


def tab_command(
    *, backend_url: str, ttl: float, warn: float, data_dir: Path, python: str = sys.executable
) -> str:
    """The shell line textual-serve runs for a tab: the app against the shared backend, in
    `data_dir` (see `tab_data_dir`)."""
    return (
        f"exec {shlex.quote(python)} -m sessionkeeper.tui.cli --backend {shlex.quote(backend_url)}"
        f" --ttl {ttl:g} --warn {warn:g} --data-dir {shlex.quote(str(data_dir))}"
    )


def launch_backend(ttl: float, *, python: str = sys.executable) -> tuple[subprocess.Popen[bytes], str]:
    """The shared backend, started in a process of its own (not waited for: see `wait_for_backend`)."""
    from sessionkeeper.api.backend.serve import find_free_port, url_for

    port = find_free_port("127.0.0.1")
    process = subprocess.Popen(
        [
            python,
            "-m",
            "sessionkeeper.tui.cli",
            "backend",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--ttl",
            f"{ttl:g}",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return process, url_for("127.0.0.1", port)


def wait_for_backend(process: subprocess.Popen[bytes], url: str, timeout_s: float = BACKEND_START_S) -> None:
    """Until the backend answers; ServeError if it ended or stayed silent."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            problem = (process.stderr.read() if process.stderr else b"").decode(errors="replace").strip()
            why = problem.splitlines()[-1] if problem else "no reason given"
            raise ServeError(f"the backend did not start: {why}")
        try:
            if httpx.get(f"{url}/__qa/state", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise ServeError(f"the backend did not answer within {timeout_s:g} s")


def stop_backend(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _server_class() -> type[Any]:
    """textual-serve's Server, except that:
    - the page's response gives the browser its id (`give_browser_id`), and each socket starts
      its tab's app with a command of its own: in the browser's data directory (`tab_data_dir`);
    - a tab's app is started only once the shared backend answers (the backend and the web server
      start side by side: neither waits for the other's imports);
    - shutting down (Ctrl+C) closes every tab's socket at once, which makes textual-serve ask each
      tab's app to quit and wait for it (without this, aiohttp waits up to a minute for the open
      sockets to end by themselves)."""
    from aiohttp import WSCloseCode, web
    from textual_serve.app_service import AppService
    from textual_serve.server import Server, to_int

    log = logging.getLogger("textual-serve")

    class TabServer(Server):
        def __init__(
            self,
            *,
            tab_line: Callable[[Path], str],
            root: Path,
            backend: tuple[subprocess.Popen[bytes], str],
            **kwargs: Any,
        ) -> None:
            # textual-serve's own command is only shown in its banner: each socket has its own.
            super().__init__(tab_line(root / "browser-<id>"), **kwargs)
            self.tab_line = tab_line
            self.root = root
            self.backend = backend
            self.backend_problem: str | None = None
            self._backend_ready: asyncio.Task[None] | None = None
            self.open_sockets: set[web.WebSocketResponse] = set()

        async def on_startup(self, app: web.Application) -> None:
            await super().on_startup(app)
            self._backend_ready = asyncio.create_task(asyncio.to_thread(wait_for_backend, *self.backend))
            self._backend_ready.add_done_callback(self._backend_started)

        def _backend_started(self, task: asyncio.Task[None]) -> None:
            if not task.cancelled() and isinstance(task.exception(), ServeError):
                self.backend_problem = str(task.exception())
                os.kill(os.getpid(), signal.SIGINT)  # textual-serve's own way out: a clean shutdown

        async def handle_index(self, request: web.Request) -> web.StreamResponse:
            response: web.StreamResponse = await super().handle_index(request)
            give_browser_id(request, response)
            return response

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            """textual-serve's, but for the command: this socket's, in its browser's directory."""
            if self._backend_ready is not None:
                with contextlib.suppress(ServeError):
                    await asyncio.shield(self._backend_ready)
            websocket = web.WebSocketResponse(heartbeat=15)
            width = to_int(request.query.get("width", "80"), 80)
            height = to_int(request.query.get("height", "24"), 24)
            app_service: AppService | None = None
            try:
                await websocket.prepare(request)
                data_dir = tab_data_dir(self.root, request.cookies.get(BROWSER_COOKIE))

                async def close() -> None:
                    await websocket.close()

                app_service = AppService(
                    self.tab_line(data_dir),
                    write_bytes=websocket.send_bytes,
                    write_str=websocket.send_str,
                    close=close,
                    download_manager=self.download_manager,
                    debug=self.debug,
                )
                await app_service.start(width, height)
                await self._process_messages(websocket, app_service)
            except asyncio.CancelledError:
                await websocket.close()
            except Exception as error:
                log.exception(error)
            finally:
                if app_service is not None:
                    await app_service.stop()
            return websocket

        async def _process_messages(self, websocket: web.WebSocketResponse, app_service: AppService) -> None:
            self.open_sockets.add(websocket)
            try:
                await super()._process_messages(websocket, app_service)
            finally:
                self.open_sockets.discard(websocket)

        async def on_shutdown(self, app: web.Application) -> None:
            await asyncio.gather(
                *(s.close(code=WSCloseCode.GOING_AWAY, message=b"server stopped") for s in self.open_sockets),
                return_exceptions=True,
            )

    return TabServer


def serve(
    *,
    host: str,
    port: int,
    ttl: float,
    warn: float,
    data_dir: Path | None = None,
    err: TextIO | None = None,
) -> int:
    err = err if err is not None else sys.stderr
    from sessionkeeper.api.backend.serve import bind_problem, exposure_warning

    warning = exposure_warning("serve", host, port, "gets the app, and its QA panel")
    if warning is not None:
        print(warning, file=err)

    problem = bind_problem(host, port)
    if problem is not None:
        print(f"sessionkeeper serve: {problem}", file=err)
        return 1
    root = data_dir if data_dir is not None else Path(tempfile.mkdtemp(prefix="sessionkeeper-serve-"))
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    backend, url = launch_backend(ttl)
    try:
        server = _server_class()(
            tab_line=lambda data_dir: tab_command(backend_url=url, ttl=ttl, warn=warn, data_dir=data_dir),
            root=root,
            host=host,
            port=port,
            title="sessionkeeper",
            templates_path=TEMPLATES,
            backend=(backend, url),
        )
        server.serve()
    finally:
        stop_backend(backend)
    if server.backend_problem is not None:
        print(f"sessionkeeper serve: {server.backend_problem}", file=err)
        return 1
    return 0
