"""Running the mock backend under uvicorn: in the foreground (`sessionkeeper backend`) or
embedded in an asyncio program (the TUI, tests).

uvicorn calls `sys.exit(3)` when it cannot bind, so the port is always checked first and a
failure is reported as one line (foreground: exit status 2) or as `PortUnavailableError`.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType, TracebackType
from typing import TYPE_CHECKING

import uvicorn

from sessionkeeper.api.backend.sessions import DEFAULT_LIFETIME_S

if TYPE_CHECKING:
    # Not at import: the embedded backend may start on a QuickStart, before FastAPI is loaded.
    from starlette.types import ASGIApp

APP_LOGGER = "sessionkeeper.backend"


class PortUnavailableError(OSError):
    """The address cannot be bound; str() is a one-line message naming host and port."""


def bind_problem(host: str, port: int) -> str | None:
    """None if uvicorn could listen on host:port now, else a one-line reason."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot listen on {host}:{port}: {exc.strerror}"
    for family, kind, proto, _name, address in infos:
        with socket.socket(family, kind, proto) as probe:
            # uvicorn's listener sets SO_REUSEADDR too: a port in TIME_WAIT is not "in use".
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return f"port {port} on {host} is already in use"
                return f"cannot listen on {host}:{port}: {exc.strerror}"
    return None


def port_is_free(host: str, port: int) -> bool:
    return bind_problem(host, port) is None


def find_free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free right now (another process could still take it first)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def url_for(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class EmbeddedServer(uvicorn.Server):
    """Leaves the host program's signal handlers alone: it decides when the server stops (`stop()`).

    Its housekeeping wakes once a second, not uvicorn's ten times: embedded in a terminal app that
    otherwise sleeps between countdown ticks, those wake-ups were a visible share of its idle CPU.
    `stop()` wakes it at once, so stopping takes no longer."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self.should_exit = True
        self._stopping.set()

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        counter = 0  # on_tick refreshes the Date header when counter % 10 == 0: each second here
        while not await self.on_tick(counter):
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=1.0)
            counter = (counter + 10) % 864000


def build_server(
    app: ASGIApp, host: str, port: int, *, log_level: str = "warning", access_log: bool = False
) -> EmbeddedServer:
    """A uvicorn server to run as `asyncio.create_task(server.serve())` and stop with
    `server.stop()`. It does not touch logging configuration or signal handlers.
    Check the port first (`bind_problem`): on a bind failure uvicorn calls sys.exit(3)."""
    # Without a handler anywhere, Python's last-resort handler would print warnings on stderr,
    # straight over a TUI; the host program's own logging config still receives the records.
    for name in ("uvicorn", APP_LOGGER):
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())
    if access_log:
        # uvicorn silences this logger process-wide (propagate=False) for any server started
        # with access_log=False, and never undoes it.
        logging.getLogger("uvicorn.access").propagate = True
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, log_level=log_level, access_log=access_log
    )
    return EmbeddedServer(config)


class EmbeddedBackend:
    """The mock backend on a loopback port inside the running event loop.

    async with EmbeddedBackend(ttl_s=60) as backend:
        ... httpx.AsyncClient(base_url=backend.url) ...
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        ttl_s: float = 900.0,
        grace_s: float = 30.0,
        lifetime_s: float = DEFAULT_LIFETIME_S,
        app: ASGIApp | None = None,
        log_level: str = "warning",
    ) -> None:
        self.host = host
        self.port = port
        if app is None:
            from sessionkeeper.api.backend.app import create_app

            app = create_app(ttl_s=ttl_s, grace_s=grace_s, lifetime_s=lifetime_s)
        self.app: ASGIApp = app
        self._log_level = log_level
        self._server: EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the embedded backend has not been started")
        return url_for(self.host, self.port)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self, timeout_s: float = 10.0) -> str:
        """Bind and serve; returns the URL once the server accepts connections.
        Raises PortUnavailableError if the port cannot be bound."""
        if self._task is not None:
            raise RuntimeError("the embedded backend is already started")
        if self.port is None:
            self.port = find_free_port(self.host)
        problem = bind_problem(self.host, self.port)
        if problem is not None:
            raise PortUnavailableError(problem)
        server = build_server(self.app, self.host, self.port, log_level=self._log_level)
        self._server = server
        self._task = asyncio.create_task(self._serve(server), name="sessionkeeper-backend")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise PortUnavailableError(f"the backend on {self.url} stopped while starting")
            if loop.time() > deadline:
                await self.stop()
                raise TimeoutError(f"the backend on {self.url} did not start in {timeout_s:g}s")
            await asyncio.sleep(0.01)
        return self.url

    async def _serve(self, server: EmbeddedServer) -> None:
        try:
            await server.serve()
        except SystemExit:
            # uvicorn's sys.exit() on a bind race; a SystemExit escaping a task would end
            # the whole event loop, so it becomes an ordinary error here.
            raise PortUnavailableError(f"cannot listen on {url_for(self.host, self.port or 0)}") from None

    async def stop(self) -> None:
        """Stop accepting, finish open requests, close. Safe to call twice."""
        if self._server is not None:
            self._server.stop()
        task, self._task = self._task, None
        if task is not None:
            with suppress(PortUnavailableError):
                await task

    async def __aenter__(self) -> EmbeddedBackend:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class _ForegroundServer(uvicorn.Server):
    """Prints the URL once the socket is really listening, so a script can wait for it."""

    def __init__(self, config: uvicorn.Config, banner: str) -> None:
        super().__init__(config)
        self._banner = banner

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            print(self._banner, flush=True)


class _Terminated(Exception):
    pass


def _on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise _Terminated


class _UvicornStyle(logging.Formatter):
    """`INFO:     message`, aligned with uvicorn's own lines."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname + ':':<10}{record.getMessage()}"


@contextmanager
def _app_log_to_stderr() -> Iterator[None]:
    """Show the backend's own events (never a secret: see sessions.py) beside uvicorn's."""
    logger = logging.getLogger(APP_LOGGER)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_UvicornStyle())
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may well resolve to an address others reach


def exposure_warning(command: str, host: str, port: int, what: str) -> str | None:
    """The warning for listening where others can reach `what`; None on loopback."""
    if is_loopback(host):
        return None
    return (
        f"sessionkeeper {command}: warning: listening on {host}: anyone who can reach this machine on"
        f" port {port} {what} (bind to 127.0.0.1 to keep it to yourself)"
    )


def serve_forever(
    host: str, port: int, ttl_s: float, lifetime_s: float = DEFAULT_LIFETIME_S, *, quick_start: bool = False
) -> int:
    """`sessionkeeper backend`: serve in the foreground until Ctrl+C (or SIGTERM).

    `quick_start` (serve's backend): listen on a `QuickStart`, which answers guest sessions at
    once and builds the full app at the first other request, so a browser's first tab is not
    held up by FastAPI's imports.

    Returns 0 after a clean stop, 2 (after one line on stderr) if the port cannot be bound.
    The access log shows method, path and status only: tokens travel in the Authorization
    header and JSON bodies, never in a URL, so none is printed.
    """
    # Its /__qa routes need no token: they reset it, revoke every session and move its clock.
    warning = exposure_warning(
        "backend", host, port, "can reset it, revoke its sessions and move its clock through /__qa"
    )
    if warning is not None:
        print(warning, file=sys.stderr)
    problem = bind_problem(host, port)
    if problem is not None:
        print(f"sessionkeeper backend: {problem}", file=sys.stderr)
        return 2
    app: ASGIApp
    if quick_start:
        from sessionkeeper.api.backend.quick_start import QuickStart

        app = QuickStart(ttl_s=ttl_s, lifetime_s=lifetime_s)
    else:
        from sessionkeeper.api.backend.app import create_app

        app = create_app(ttl_s=ttl_s, lifetime_s=lifetime_s)
    config = uvicorn.Config(app, host=host, port=port, log_level="info", access_log=True)
    banner = (
        f"sessionkeeper backend serving on {url_for(host, port)} (ttl {ttl_s:g}s, lifetime {lifetime_s:g}s)"
    )
    server = _ForegroundServer(config, banner)
    in_main_thread = threading.current_thread() is threading.main_thread()
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the
    # handler that was there before: make that a quiet stop instead of a traceback.
    old_sigterm = signal.signal(signal.SIGTERM, _on_sigterm) if in_main_thread else None
    try:
        with _app_log_to_stderr():
            server.run()
    except (KeyboardInterrupt, _Terminated):
        pass
    except SystemExit:
        print(f"sessionkeeper backend: cannot listen on {host}:{port}", file=sys.stderr)
        return 2
    finally:
        if old_sigterm is not None:
            signal.signal(signal.SIGTERM, old_sigterm)
    print("sessionkeeper backend stopped", file=sys.stderr)
    return 0
