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
its own (`<serve dir>/tab-XXXXXXXX`), never a path built from what the browser sent, removed when
its socket closes. The serve dir is `--data-dir` (a browser finds its data again after serve
restarts) or else a fresh temporary one for this run, removed when serve ends.

Addresses (issue 18): the page's asset and socket URLs are built for each request from the
address the browser used (its Host header), or from `--public-url` behind a reverse proxy; never
from the address serve listens on (textual-serve's own, `http://0.0.0.0:8000` with `--host
0.0.0.0`, which no browser can use from elsewhere).

Who may drive it (`Access`): on loopback, only a loopback name in Host (another name there is a DNS
rebinding page); off loopback, or behind `--public-url`, a random token, printed in the URL
serve shows, is needed for the page and the socket, then kept in a cookie (HttpOnly,
SameSite=Strict). A socket whose Origin is not this server's (or is missing) is refused before any
app starts. At most `--max-tabs` tabs run an app at once: past that a tab says so and starts none.

The backend is watched (`Backend`): if it ends, serve says why on stderr and starts it again on
the same port (the tabs' apps keep its URL), at most `BACKEND_RESTARTS` times in
`BACKEND_RESTART_WINDOW_S`; past that serve ends, with the reason, and status 1.

Start-up (`Spares`), measured by bench/serve.py against the same app in a terminal:
- the backend runs on a quick start (`--quick-start`): it is ready once it listens, answers a
  guest session at once, and builds its full app at the first other request;
- the next tab's app process is started ahead of time (`tui/web/tab.py`): it imports the app while
  nobody waits, and is told its tab's data directory and size when its tab comes. The first one is
  started before serve's own imports (`start_early`), the next ones a few seconds after a tab
  took the last (`REFILL_AFTER_S`: not while that tab's app starts);
- a head start: when a person opens the page, its browser's app starts at once, while the page
  loads its scripts, and the socket the page opens takes it (`Spares.head_start`).
The spare, and a head start no socket took, are stopped and reaped at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from aiohttp import web

TEMPLATES = Path(__file__).resolve().parent / "templates"  # app_index.html: the page of every tab
BACKEND_START_S = 20.0
BACKEND_RESTARTS = 3  # restarts allowed within the window below; one more death ends serve
BACKEND_RESTART_WINDOW_S = 300.0
MAX_TABS_DEFAULT = 8


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


def give_browser_id(request: web.Request, response: web.StreamResponse) -> str:
    """A browser without a valid id gets a new one on the page's response. HttpOnly: no script in
    the page can read it; SameSite=Strict: no other site's page can make the browser send it (a
    foreign page opening our socket gets a fresh directory, not this browser's); Secure only over
    https, or a browser on http://localhost would drop it."""
    known = browser_id(request.cookies.get(BROWSER_COOKIE))
    if known is not None:
        return known
    given = new_browser_id()
    response.set_cookie(
        BROWSER_COOKIE,
        given,
        max_age=BROWSER_COOKIE_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=True if request.secure else None,
    )
    return given


def is_navigation(request: web.BaseRequest) -> bool:
    """A page a person opened (typed, clicked, reloaded), by the Fetch Metadata every current
    browser sends: not a script's fetch, a prefetch or a prerender, nor a tool such as curl."""
    headers = request.headers
    return (
        headers.get("Sec-Fetch-Mode") == "navigate"
        and headers.get("Sec-Fetch-Dest") == "document"
        and "Sec-Purpose" not in headers
        and "Purpose" not in headers
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


def spare_argv(*, backend_url: str, ttl: float, warn: float, python: str = sys.executable) -> list[str]:
    """The command of a tab's app started ahead of its tab (`tui/web/tab.py`): `tab_command`'s,
    but for the data directory, which it is told when a tab takes it."""
    return [
        python,
        "-m",
        "sessionkeeper.tui.web.tab",
        "--backend",
        backend_url,
        "--ttl",
        f"{ttl:g}",
        "--warn",
        f"{warn:g}",
    ]


# -- who may drive it ------------------------------------------------------------------------------

TOKEN_COOKIE = "sessionkeeper_token"  # + "_<port>": two serves on one host keep their own


def _host_name(host: str) -> str:
    """The name in a Host header, without its port (an IPv6 address without its brackets)."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


@dataclass
class Access:
    """What a request must show: a loopback name in Host when serve listens on loopback (a page
    whose own name was rebound to 127.0.0.1 shows its own); the token when one is needed (off
    loopback, or behind `--public-url`); for the socket, an Origin that is this server's."""

    listen_host: str
    port: int
    public_url: str | None = None
    token: str | None = None

    @classmethod
    def for_serve(cls, host: str, port: int, public_url: str | None) -> Access:
        from sessionkeeper.api.backend.serve import is_loopback

        needs_token = public_url is not None or not is_loopback(host)
        return cls(
            host,
            port,
            public_url.rstrip("/") if public_url else None,
            secrets.token_urlsafe(32) if needs_token else None,
        )

    @property
    def cookie_name(self) -> str:
        return f"{TOKEN_COOKIE}_{self.port}"

    def base_url(self, request: web.BaseRequest) -> str:
        """Where the page's assets and socket are: the public URL, else the address the browser
        used."""
        return self.public_url or f"{request.scheme}://{request.host}"

    def host_allowed(self, request: web.BaseRequest) -> bool:
        from sessionkeeper.api.backend.serve import is_loopback

        if not is_loopback(self.listen_host):
            return True  # reachable by any name: the token guards it
        name = _host_name(request.host).lower()
        if self.public_url is not None and request.host.lower() == urlsplit(self.public_url).netloc.lower():
            return True
        return is_loopback(name) or name.endswith(".localhost")

    def origin_allowed(self, request: web.BaseRequest) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            return False
        allowed = {f"{request.scheme}://{request.host}".lower()}
        if self.public_url is not None:
            parts = urlsplit(self.public_url)
            allowed.add(f"{parts.scheme}://{parts.netloc}".lower())
        return origin.lower() in allowed

    def token_given(self, request: web.BaseRequest) -> str | None:
        """ "query" or "cookie" for where the right token was found (None when none is needed or
        it is missing or wrong: see `token_needed`)."""
        if self.token is None:
            return None
        if _same(request.query.get("token"), self.token):
            return "query"
        if _same(request.cookies.get(self.cookie_name), self.token):
            return "cookie"
        return None

    def token_needed(self, request: web.BaseRequest) -> bool:
        return self.token is not None and self.token_given(request) is None

    def keep_token(self, request: web.BaseRequest, response: web.StreamResponse) -> None:
        """A page opened with the token in its URL keeps it in a cookie for its socket and reloads."""
        if self.token is not None and self.token_given(request) == "query":
            response.set_cookie(
                self.cookie_name,
                self.token,
                path="/",
                httponly=True,
                samesite="Strict",
                secure=True if request.secure or (self.public_url or "").startswith("https:") else None,
            )

    def urls(self) -> list[str]:
        """The addresses to open, as printed: with the token when one is needed."""
        query = f"/?token={self.token}" if self.token is not None else "/"
        if self.public_url is not None:
            return [self.public_url + query]
        hosts = [self.listen_host]
        if self.listen_host in ("0.0.0.0", "::", ""):
            hosts = [address for address in (outward_address(), "127.0.0.1") if address]
        return [f"http://{f'[{h}]' if ':' in h else h}:{self.port}{query}" for h in hosts]


def _same(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def outward_address() -> str | None:
    """This machine's address toward the rest of the network (no packet is sent)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))
        address = str(probe.getsockname()[0])
        return None if address.startswith("127.") else address
    return None


def notice_page(title: str, *lines: str) -> str:
    """A page of its own (refusals): plain, from this server only, in the tab's colours."""
    import html

    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>sessionkeeper</title>'
        '<link rel="icon" href="data:,"><style>html,body{margin:0;height:100%;background:#0c181f;'
        "color:#e6edf3;font-family:monospace}body{display:flex;flex-direction:column;align-items:center;"
        f"justify-content:center;font-size:16px;padding:0 2em}}</style></head><body><h1>{html.escape(title)}"
        f"</h1>{body}</body></html>"
    )


def tabs_full_screen(max_tabs: int) -> bytes:
    """What a tab past the cap shows in its terminal (it starts no app)."""
    lines = [
        f"sessionkeeper serve: {max_tabs} tab{'s' if max_tabs != 1 else ''} already running,"
        f" the most this serve allows (--max-tabs {max_tabs}).",
        "",
        "No app was started for this tab. Close another tab, then reload this one.",
    ]
    return ("\x1b[2J\x1b[H\x1b[?25l" + "\r\n".join(lines) + "\r\n").encode()


# -- the backend -----------------------------------------------------------------------------------


@dataclass
class Backend:
    """The shared backend's process, on a port that stays its own across restarts."""

    ttl: float
    port: int
    python: str = sys.executable
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None  # its stderr (a file: a pipe nobody reads fills and stops it)
    restarts: list[float] = field(default_factory=list)

    @property
    def url(self) -> str:
        from sessionkeeper.api.backend.serve import url_for

        return url_for("127.0.0.1", self.port)

    def start(self) -> None:
        if self.log is not None:
            self.log.close()
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by `start` again or `stop`)
        self.process = subprocess.Popen(
            [
                *(self.python, "-m", "sessionkeeper.tui.cli", "backend", "--host", "127.0.0.1"),
                *("--port", str(self.port), "--ttl", f"{self.ttl:g}", "--quick-start"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )

    def ended(self) -> bool:
        return self.process is None or self.process.poll() is not None

    def reason(self) -> str:
        """Why it ended: its status, and the last line it wrote if it ended on its own."""
        assert self.process is not None
        code = self.process.poll()
        if code is None:
            status = "still running"
        elif code < 0:
            try:
                status = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                status = f"killed by signal {-code}"
        else:
            status = f"exit status {code}"
        said = ""
        if self.log is not None and code is not None and code >= 0:  # killed: its last line is no reason
            self.log.seek(0)
            lines = self.log.read().decode(errors="replace").strip().splitlines()
            said = lines[-1].strip() if lines else ""
        return f"{status}: {said}" if said else status

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log is not None:
            self.log.close()
            self.log = None


def launch_backend(ttl: float, *, python: str = sys.executable) -> Backend:
    """The shared backend, started in a process of its own (not waited for: see `wait_for_backend`)."""
    from sessionkeeper.api.backend.serve import find_free_port

    backend = Backend(ttl, find_free_port("127.0.0.1"), python)
    backend.start()
    return backend


def wait_for_backend(backend: Backend, timeout_s: float = BACKEND_START_S) -> None:
    """Until the backend accepts connections; ServeError if it ended or stayed silent.

    A connection is the sign: it listens on a quick start (`--quick-start`), which is ready to
    answer the first guest session once it listens, and builds the full app at the first other
    request; any request to see more would have the first tab wait for that build."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if backend.ended():
            raise ServeError(f"the backend did not start ({backend.reason()})")
        try:
            socket.create_connection(("127.0.0.1", backend.port), timeout=1.0).close()
        except OSError:
            time.sleep(0.02)
        else:
            return
    raise ServeError(f"the backend did not answer within {timeout_s:g} s")


def stop_backend(backend: Backend) -> None:
    backend.stop()


# -- the next tab's app, started ahead of time -----------------------------------------------------


def tab_environment(width: int = 80, height: int = 24) -> dict[str, str]:
    """textual-serve's environment for a tab's app (`AppService._build_environment`, debug off)."""
    from importlib.metadata import version

    environment = dict(os.environ)
    environment.update(
        TEXTUAL_DRIVER="textual.drivers.web_driver:WebDriver",
        TEXTUAL_FPS="60",
        TEXTUAL_COLOR_SYSTEM="truecolor",
        TERM_PROGRAM="textual",
        TERM_PROGRAM_VERSION=version("textual-serve"),
        COLUMNS=str(width),
        ROWS=str(height),
    )
    return environment


class Adopted:
    """A process started before the event loop ran (`subprocess.Popen`), given asyncio streams
    (`adopt`): what textual-serve's AppService and `Spares` use of an asyncio Process."""

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        stdin: asyncio.StreamWriter,
        stdout: asyncio.StreamReader,
        stderr: asyncio.StreamReader,
    ) -> None:
        self.popen = popen
        self.pid = popen.pid
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    async def wait(self) -> int:
        # A poll, not a thread blocked in Popen.wait (it would hold serve's exit up); it also
        # reaps it, as asyncio's child watcher reaps the processes it started.
        while (code := self.popen.poll()) is None:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        return code

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.popen.kill()


async def adopt(popen: subprocess.Popen[bytes]) -> Adopted:
    """`popen`'s pipes as asyncio streams on the running loop."""
    assert popen.stdin is not None and popen.stdout is not None and popen.stderr is not None
    loop = asyncio.get_running_loop()

    async def reader(pipe: IO[bytes]) -> asyncio.StreamReader:
        stream = asyncio.StreamReader(limit=2**16, loop=loop)  # asyncio's own subprocess limit
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), pipe)
        return stream

    stdout, stderr = await reader(popen.stdout), await reader(popen.stderr)
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, popen.stdin)
    stdin = asyncio.StreamWriter(transport, protocol, None, loop)
    return Adopted(popen, stdin, stdout, stderr)


Process = asyncio.subprocess.Process | Adopted


QUIT = b"M" + len(b'{"type":"quit"}').to_bytes(4, "big") + b'{"type":"quit"}'  # textual-serve's packet
HEAD_START_SIZE = (80, 24)  # a page's size is known only from its socket: it is resized then
REFILL_AFTER_S = 3.0  # a tab's app takes about a second to start on a busy two-core machine
HEAD_START_CLAIM_S = 15.0  # a page whose socket has not come by then never will: its app is ended
FRAME_BYTES = 512  # an app's output packet this big is a drawn frame (its start-up sequences are short)


@dataclass
class HeadStart:
    """A tab's app started as its page was served, before its socket came (`Spares.head_start`)."""

    browser: str
    data_dir: Path
    process: Process
    expiry: asyncio.Task[None] | None = None


class Spares:
    """One app process kept waiting for the next tab (`tui/web/tab.py`). `take` hands it over (or
    a fresh one, when tabs come faster than spares start) and starts the next; `close` stops the
    one left and reaps it.

    The first one may be started before serve's event loop runs (`first`, a Popen: its imports
    then overlap serve's own, the slowest part of a browser's first tab); `fill` adopts it.

    A head start (`head_start`): when a person opens the page, the spare is told its browser's
    directory at once and starts the app there, while the page loads its scripts; the socket that
    page then opens claims it (`take`), and its output so far reaches the page. One at a time; a
    head start no socket claims within `claim_s` is told to quit (its session kept, as any tab's)."""

    def __init__(
        self,
        argv: Sequence[str],
        first: subprocess.Popen[bytes] | None = None,
        claim_s: float = HEAD_START_CLAIM_S,
    ) -> None:
        self.argv = list(argv)
        self.first = first
        self.claim_s = claim_s
        self.spare: Process | None = None
        self.started: HeadStart | None = None
        self.refill_after_s = REFILL_AFTER_S
        self.refilling: asyncio.Task[None] | None = None
        self.ending: set[asyncio.Task[None]] = set()
        self.closed = False

    async def _spawn(self) -> Process:
        if self.first is not None:
            first, self.first = self.first, None
            return await adopt(first)
        return await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=tab_environment(),
        )

    async def fill(self) -> None:
        if self.spare is None and not self.closed:
            self.spare = await self._spawn()

    async def _order(self, data_dir: Path, width: int, height: int) -> Process:
        """The spare (or a fresh one) told its tab; the next spare started a little later."""
        process, self.spare = self.spare, None
        if process is None or process.returncode is not None:
            process = await self._spawn()
        assert process.stdin is not None
        order = {"data_dir": str(data_dir), "columns": width, "rows": height}
        process.stdin.write(json.dumps(order).encode() + b"\n")
        await process.stdin.drain()
        self._refill_later()
        return process

    def _refill_later(self) -> None:
        """The next spare, once this tab's app has started: its imports would take the CPU the
        app's own start needs (a tab that comes sooner starts a fresh one, as without spares)."""

        async def later() -> None:
            await asyncio.sleep(self.refill_after_s)
            await self.fill()

        if self.refilling is None or self.refilling.done():
            self.refilling = asyncio.create_task(later())

    async def head_start(self, browser: str, data_dir: Path) -> bool:
        """Start the app of `browser`'s page now, in `data_dir`; False if one is already waiting
        for its socket, or no spare is at hand (the socket then starts its app itself)."""
        if self.closed or self.started is not None or self.spare is None or self.spare.returncode is not None:
            return False
        process = await self._order(data_dir, *HEAD_START_SIZE)
        started = self.started = HeadStart(browser, data_dir, process)
        started.expiry = asyncio.create_task(self._unclaimed(started))
        return True

    async def _unclaimed(self, started: HeadStart) -> None:
        await asyncio.sleep(self.claim_s)
        if self.started is started:
            self.started = None
            await end_app(started.process, told_to_quit=True)

    async def take(
        self, data_dir: Path, width: int, height: int, browser: str | None = None
    ) -> tuple[Process, bool]:
        """The app for a socket: its page's head start if it has one (True: it runs at
        `HEAD_START_SIZE`, and must be told the page's), else the spare, told now."""
        started = self.started
        if started is not None and browser == started.browser and data_dir == started.data_dir:
            self.started = None
            if started.expiry is not None:
                started.expiry.cancel()
            if started.process.returncode is None:
                return started.process, True
            await started.process.wait()  # it ended before its page came: a fresh start
        return await self._order(data_dir, width, height), False

    async def close(self) -> None:
        self.closed = True
        if self.refilling is not None:
            self.refilling.cancel()
            await asyncio.gather(self.refilling, return_exceptions=True)
        if self.first is not None:  # never adopted: serve ended before its loop ran
            first, self.first = self.first, None
            stop_early(first)
        started, self.started = self.started, None
        if started is not None:
            if started.expiry is not None:
                started.expiry.cancel()
            await end_app(started.process, told_to_quit=True)
        process, self.spare = self.spare, None
        if process is not None:
            await end_app(process)  # the end of its input: it ends having started nothing


async def end_app(process: Process, *, told_to_quit: bool = False) -> None:
    """A spare, or a head start no page claimed, ended: its input closed (and, for an app that
    runs, first told to quit as a closed tab's app is: its session stored), its output read and
    dropped meanwhile (a full pipe would hold its exit up), then reaped; killed if it has not
    ended within 5 s."""
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    with contextlib.suppress(ConnectionError, RuntimeError):
        if told_to_quit:
            process.stdin.write(QUIT)
            await process.stdin.drain()
        process.stdin.close()

    async def drop(stream: asyncio.StreamReader) -> None:
        while await stream.read(65536):
            pass

    drains = [asyncio.create_task(drop(process.stdout)), asyncio.create_task(drop(process.stderr))]
    try:
        await asyncio.wait_for(process.wait(), 5)
    except TimeoutError:
        process.kill()
        await process.wait()
    finally:
        for drain in drains:
            drain.cancel()
        await asyncio.gather(*drains, return_exceptions=True)


def start_early(argv: Sequence[str]) -> subprocess.Popen[bytes]:
    """The first spare, started before serve's event loop exists (see `Spares`)."""
    return subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=tab_environment(),
    )


def stop_early(popen: subprocess.Popen[bytes]) -> None:
    """An early spare that no loop adopted: the end of its input ends it; reaped."""
    assert popen.stdin is not None
    with contextlib.suppress(OSError):
        popen.stdin.close()
    try:
        popen.wait(timeout=5)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait()
    for pipe in (popen.stdout, popen.stderr):
        if pipe is not None:
            pipe.close()


# -- the server ------------------------------------------------------------------------------------


def _server_class() -> type[Any]:
    """textual-serve's Server, except that:
    - the page's URLs are built for each request (`Access.base_url`), requests are checked
      (`Access`), and the page's response gives the browser its id (`give_browser_id`);
    - each socket starts its tab's app in the browser's data directory (`tab_data_dir`): a spare
      started ahead (`Spares`), or else its own command; at most `max_tabs` at once;
    - a tab's app is started only once the shared backend answers (the backend and the web server
      start side by side: neither waits for the other's imports); the backend is watched and
      started again if it ends (`Backend`);
    - shutting down (Ctrl+C) closes every tab's socket at once, which makes textual-serve ask each
      tab's app to quit and wait for it (without this, aiohttp waits up to a minute for the open
      sockets to end by themselves), and stops the spare."""
    from aiohttp import WSCloseCode, WSMsgType, web
    from textual_serve.app_service import AppService
    from textual_serve.server import Server, to_int

    log = logging.getLogger("textual-serve")

    class SpareService(AppService):
        """textual-serve's AppService, running the tab's app in a spare (`Spares.take`)."""

        def __init__(self, spares: Spares, data_dir: Path, browser: str | None, **kwargs: Any) -> None:
            super().__init__("", **kwargs)
            self.spares = spares
            self.data_dir = data_dir
            self.browser = browser
            self._resize_once_drawn: tuple[int, int] | None = None

        async def _open_app_process(self, width: int = 80, height: int = 24) -> Any:
            process, head_start = await self.spares.take(self.data_dir, width, height, self.browser)
            self._process = process  # type: ignore[assignment]  # an Adopted serves as a Process
            assert process.stdin is not None
            self._stdin = process.stdin
            if head_start and (width, height) != HEAD_START_SIZE:
                await self.set_terminal_size(width, height)
                # Again once it has drawn a frame: Textual's web driver posts its start-up size
                # (80x24 here) through the event loop, while its input thread posts a resize it
                # reads at once; on a busy machine the start-up size came last, and the tab stayed
                # at 80x24 (found by CI). A frame means the start-up size was taken in.
                self._resize_once_drawn = (width, height)
            return process

        async def on_data(self, payload: bytes) -> None:
            await super().on_data(payload)
            if self._resize_once_drawn is not None and len(payload) >= FRAME_BYTES:
                size, self._resize_once_drawn = self._resize_once_drawn, None
                await self.set_terminal_size(*size)

        async def stop(self) -> None:
            await super().stop()
            process: Process | None = self._process
            if process is not None:  # reaped (asyncio's own are by its child watcher; an Adopted is not)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.wait(), 5)

    class TabServer(Server):
        def __init__(
            self,
            *,
            tab_line: Callable[[Path], str],
            root: Path,
            backend: Backend,
            access: Access | None = None,
            max_tabs: int = MAX_TABS_DEFAULT,
            spare: Sequence[str] | None = None,
            first_spare: subprocess.Popen[bytes] | None = None,
            err: TextIO | None = None,
            **kwargs: Any,
        ) -> None:
            # textual-serve's own command is only shown in its banner: each socket has its own.
            super().__init__(tab_line(root / "browser-<id>"), **kwargs)
            self.tab_line = tab_line
            self.root = root
            self.backend = backend
            self.access = access if access is not None else Access(self.host, self.port)
            self.max_tabs = max_tabs
            self.spares = Spares(spare, first_spare) if spare is not None else None
            self.err = err if err is not None else sys.stderr
            self.backend_problem: str | None = None
            self.backend_up = asyncio.Event()
            self._watch: asyncio.Task[None] | None = None
            self.open_sockets: set[web.WebSocketResponse] = set()
            self.tabs = 0  # sockets with an app starting or running
            self.made: set[Path] = set()  # fresh tab-* directories of cookie-less tabs
            self.ending: set[asyncio.Task[None]] = set()

        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            app.middlewares.append(self._guard)
            app.on_cleanup.append(self.on_cleanup)
            return app

        @web.middleware
        async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
            if not self.access.host_allowed(request):
                return web.Response(
                    status=403,
                    content_type="text/html",
                    text=notice_page(
                        "Not this address",
                        f"This sessionkeeper serve answers on loopback only; {request.host!r} is not"
                        " one of its names.",
                        "Open it as it was printed (127.0.0.1 or localhost).",
                    ),
                )
            if not request.path.startswith("/static/") and self.access.token_needed(request):
                return web.Response(
                    status=403,
                    content_type="text/html",
                    text=notice_page(
                        "This link needs its token",
                        "This sessionkeeper serve can be reached from other machines, so it only"
                        " answers a browser that opened the link it printed where it was started"
                        " (http://…/?token=…).",
                    ),
                )
            response: web.StreamResponse = await handler(request)
            return response

        async def on_startup(self, app: web.Application) -> None:
            lines = "\n".join(f"  {url}" for url in self.access.urls())
            print(f"sessionkeeper serve: open this in a browser:\n{lines}\nPress Ctrl+C to quit", flush=True)
            self._watch = asyncio.create_task(self._watch_backend())
            if self.spares is not None:
                await self.spares.fill()

        async def _watch_backend(self) -> None:
            """Wait for the backend; then, each time it ends, say so and start it again, until it
            ends too often: then serve ends, with the reason."""
            first = True
            while True:
                try:
                    await asyncio.to_thread(wait_for_backend, self.backend)
                except ServeError as problem:
                    if first:
                        self._give_up(str(problem))
                        return
                    # Ended while serve was still waiting for it: why it ended, as for any death
                    # (it may have answered someone else already); silent: the wait's own words.
                    reason = self.backend.reason() if self.backend.ended() else str(problem)
                else:
                    first = False
                    self.backend_up.set()
                    # A poll: a thread blocked in wait() would hold up serve's exit.
                    while not self.backend.ended():  # noqa: ASYNC110
                        await asyncio.sleep(0.25)
                    self.backend_up.clear()
                    reason = self.backend.reason()
                now = time.monotonic()
                self.backend.restarts = [
                    t for t in self.backend.restarts if now - t < BACKEND_RESTART_WINDOW_S
                ] + [now]
                if len(self.backend.restarts) > BACKEND_RESTARTS:
                    self._give_up(
                        f"the backend ended {len(self.backend.restarts)} times in"
                        f" {BACKEND_RESTART_WINDOW_S / 60:g} minutes; the last time: {reason}"
                    )
                    return
                print(
                    f"sessionkeeper serve: the backend ended ({reason}); starting it again on port"
                    f" {self.backend.port} ({len(self.backend.restarts)} of {BACKEND_RESTARTS})",
                    file=self.err,
                    flush=True,
                )
                self.backend.start()

        def _give_up(self, problem: str) -> None:
            self.backend_problem = problem
            os.kill(os.getpid(), signal.SIGINT)  # textual-serve's own way out: a clean shutdown

        async def handle_index(self, request: web.Request) -> web.StreamResponse:
            import aiohttp_jinja2

            base = self.access.base_url(request)
            router = request.app.router
            secure = base.startswith("https:")
            context = {
                "font_size": to_int(request.query.get("fontsize", "16"), 16),
                "app_websocket_url": ("wss:" if secure else "ws:")
                + f"{base}{router['websocket'].url_for()}".split(":", 1)[1],
                "config": {
                    "static": {"url": f"{base}{router['static'].url_for(filename='/')}".rstrip("/") + "/"}
                },
                "application": {"name": self.title},
            }
            response = aiohttp_jinja2.render_template("app_index.html", request, context)
            browser = give_browser_id(request, response)
            self.access.keep_token(request, response)
            if (
                self.spares is not None
                and self.backend_up.is_set()
                and self.tabs < self.max_tabs
                and is_navigation(request)
            ):
                await self.spares.head_start(browser, tab_data_dir(self.root, browser))
            return response

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            """textual-serve's, but for the checks and the command: this socket's, in its
            browser's directory."""
            if not self.access.origin_allowed(request):
                log.warning("refused a socket from origin %r", request.headers.get("Origin"))
                raise web.HTTPForbidden(text="this socket is for pages of this server only")
            websocket = web.WebSocketResponse(heartbeat=15)
            if self.tabs >= self.max_tabs:
                await websocket.prepare(request)
                await self._tabs_full(websocket)
                return websocket
            self.tabs += 1
            width = to_int(request.query.get("width", "80"), 80)
            height = to_int(request.query.get("height", "24"), 24)
            app_service: AppService | None = None
            data_dir: Path | None = None
            try:
                await websocket.prepare(request)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.backend_up.wait(), BACKEND_START_S)
                data_dir = tab_data_dir(self.root, request.cookies.get(BROWSER_COOKIE))
                if data_dir.name.startswith("tab-"):
                    self.made.add(data_dir)

                async def close() -> None:
                    await websocket.close()

                services: dict[str, Any] = {
                    "write_bytes": websocket.send_bytes,
                    "write_str": websocket.send_str,
                    "close": close,
                    "download_manager": self.download_manager,
                    "debug": self.debug,
                }
                if self.spares is not None:
                    browser = browser_id(request.cookies.get(BROWSER_COOKIE))
                    app_service = SpareService(self.spares, data_dir, browser, **services)
                else:
                    app_service = AppService(self.tab_line(data_dir), **services)
                await app_service.start(width, height)
                await self._process_messages(websocket, app_service)
            except asyncio.CancelledError:
                await websocket.close()
            except Exception as error:
                log.exception(error)
            finally:
                self.tabs -= 1
                # aiohttp cancels a handler whose client has gone: the tab's end is a task of its
                # own, which a cancel does not stop halfway (serve waits for them as it ends).
                ending = asyncio.create_task(self._end_tab(app_service, data_dir))
                self.ending.add(ending)
                ending.add_done_callback(self.ending.discard)
                await asyncio.shield(ending)
            return websocket

        async def _end_tab(self, app_service: AppService | None, data_dir: Path | None) -> None:
            """The tab's app asked to quit and waited for, then a cookie-less tab's directory removed."""
            try:
                if app_service is not None:
                    await app_service.stop()  # until the app has closed its output: it has ended
            finally:
                if data_dir is not None and data_dir in self.made:
                    shutil.rmtree(data_dir, ignore_errors=True)
                    self.made.discard(data_dir)

        async def on_cleanup(self, app: web.Application) -> None:
            await asyncio.gather(*self.ending, return_exceptions=True)

        async def _tabs_full(self, websocket: web.WebSocketResponse) -> None:
            """A tab past the cap: told so in its terminal; no app; open until it closes."""
            self.open_sockets.add(websocket)
            try:
                await websocket.send_bytes(tabs_full_screen(self.max_tabs))
                async for message in websocket:
                    if message.type == WSMsgType.TEXT:
                        with contextlib.suppress(ValueError):
                            envelope = json.loads(message.data)
                            if isinstance(envelope, list) and envelope[:1] == ["ping"]:
                                await websocket.send_json(["pong", envelope[1]])
            finally:
                self.open_sockets.discard(websocket)

        async def _process_messages(self, websocket: web.WebSocketResponse, app_service: AppService) -> None:
            self.open_sockets.add(websocket)
            try:
                await super()._process_messages(websocket, app_service)
            finally:
                self.open_sockets.discard(websocket)

        async def on_shutdown(self, app: web.Application) -> None:
            if self._watch is not None:
                self._watch.cancel()
            if self.spares is not None:
                await self.spares.close()
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
    public_url: str | None = None,
    max_tabs: int = MAX_TABS_DEFAULT,
    err: TextIO | None = None,
) -> int:
    err = err if err is not None else sys.stderr
    from sessionkeeper.api.backend.serve import bind_problem, exposure_warning

    warning = exposure_warning("serve", host, port, "and has the printed link gets the app, and its QA panel")
    if warning is not None:
        print(warning, file=err)

    problem = bind_problem(host, port)
    if problem is not None:
        print(f"sessionkeeper serve: {problem}", file=err)
        return 1
    made_root = data_dir is None
    root = data_dir if data_dir is not None else Path(tempfile.mkdtemp(prefix="sessionkeeper-serve-"))
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    backend = launch_backend(ttl)
    spare = spare_argv(backend_url=backend.url, ttl=ttl, warn=warn)
    early = start_early(spare)  # its imports overlap serve's own
    server: Any = None
    try:
        server = _server_class()(
            tab_line=lambda data_dir: tab_command(
                backend_url=backend.url, ttl=ttl, warn=warn, data_dir=data_dir
            ),
            root=root,
            host=host,
            port=port,
            title="sessionkeeper",
            templates_path=TEMPLATES,
            backend=backend,
            access=Access.for_serve(host, port, public_url),
            max_tabs=max_tabs,
            spare=spare,
            first_spare=early,
            err=err,
        )
        server.serve()
    finally:
        if server is None or server.spares is None or server.spares.first is not None:
            stop_early(early)  # never adopted: no loop ran
        stop_backend(backend)
        if made_root:
            shutil.rmtree(root, ignore_errors=True)
        elif server is not None:
            for tab in server.made:
                shutil.rmtree(tab, ignore_errors=True)
    if server.backend_problem is not None:
        print(f"sessionkeeper serve: {server.backend_problem}", file=err)
        return 1
    return 0
