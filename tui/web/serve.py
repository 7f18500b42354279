"""`sessionkeeper serve`: the real app in a browser, through textual-serve.

One backend process for every tab (so two tabs can be two users of the same airline, and either QA
panel sees both sessions); one app process per tab, each with a data directory of its own under
the serve directory (two tabs never share a `session.json`); a page of our own
(`templates/app_index.html`) that fetches nothing from outside and tells the app when the tab is
hidden or shown. Ctrl+C stops the
tabs' processes (textual-serve asks each app to quit as its socket closes) and then the backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

import httpx

TEMPLATES = Path(__file__).resolve().parent / "templates"  # app_index.html: the page of every tab
BACKEND_START_S = 20.0


class ServeError(Exception):
    """Serving could not begin; the message says why in one line."""


def tab_command(
    *, backend_url: str, ttl: float, warn: float, root: Path, python: str = sys.executable
) -> str:
    """The shell line textual-serve runs for each tab: the app against the shared backend, in a
    fresh data directory made by `mktemp` as the tab opens."""
    return (
        f"exec {shlex.quote(python)} -m sessionkeeper.tui.cli --backend {shlex.quote(backend_url)}"
        f" --ttl {ttl:g} --warn {warn:g}"
        f' --data-dir "$(mktemp -d {shlex.quote(str(root))}/tab-XXXXXX)"'
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
    - a tab's app is started only once the shared backend answers (the backend and the web server
      start side by side: neither waits for the other's imports);
    - shutting down (Ctrl+C) closes every tab's socket at once, which makes textual-serve ask each
      tab's app to quit and wait for it (without this, aiohttp waits up to a minute for the open
      sockets to end by themselves)."""
    from aiohttp import WSCloseCode, web
    from textual_serve.app_service import AppService
    from textual_serve.server import Server

    class TabServer(Server):
        def __init__(self, *args: Any, backend: tuple[subprocess.Popen[bytes], str], **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
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

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            if self._backend_ready is not None:
                with contextlib.suppress(ServeError):
                    await asyncio.shield(self._backend_ready)
            return await super().handle_websocket(request)

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
            tab_command(backend_url=url, ttl=ttl, warn=warn, root=root),
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
