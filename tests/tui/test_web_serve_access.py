"""`sessionkeeper serve` (issue 18), through aiohttp's test client: the page's URLs are built from
the address the browser used (or `--public-url`), never from the address serve listens on; a
foreign or missing Origin is refused before any app starts; on loopback a foreign Host is refused
(DNS rebinding); off loopback a token is needed, then kept in a cookie; a cap on tabs; a cookie-less
tab's fresh directory goes with its socket; the next tab's app is started ahead of time and gets
its tab's directory; a page a person opens has its app started at once (a head start), which its
socket then takes; the first spare is started before serve's event loop runs (the real thing in a
browser: test_web_serve_addresses.py)."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from aiohttp.test_utils import TestClient, TestServer

from sessionkeeper.tui.web import serve as serve_module
from sessionkeeper.tui.web.serve import BROWSER_COOKIE, TEMPLATES, Access, Backend

VALID = "A" * 20 + "z09_-" + "b" * 18


@pytest.fixture
def no_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    monkeypatch.setattr(serve_module, "wait_for_backend", lambda backend: None)
    with subprocess.Popen(["sleep", "600"]) as process:
        yield Backend(60, 9, process=process)
        process.kill()


@asynccontextmanager
async def server(
    root: Path, backend: Backend, *, host: str = "127.0.0.1", public_url: str | None = None, **kwargs: Any
) -> AsyncIterator[tuple[TestClient[Any, Any], Any, list[Path]]]:
    """A serve's web server on `root` (listening, as far as it knows, on `host`), each tab's app
    replaced by `exit 0` (the socket stays open until the test closes it); the data directories
    each socket was given."""
    started: list[Path] = []

    def tab_line(data_dir: Path) -> str:
        started.append(data_dir)
        return "exit 0"

    access = Access.for_serve(host, 8000, public_url)
    tab_server = serve_module._server_class()(
        tab_line=tab_line,
        root=root,
        backend=backend,
        host=host,
        port=8000,
        title="sessionkeeper",
        templates_path=TEMPLATES,
        access=access,
        **kwargs,
    )
    started.clear()  # the banner's line
    app = await tab_server._make_app()
    async with TestClient(TestServer(app), cookie_jar=aiohttp.DummyCookieJar()) as client:
        yield client, tab_server, started


def urls_in(page: str) -> list[str]:
    """Every absolute URL in the page (its assets, its socket)."""
    return re.findall(r'"((?:https?|wss?)://[^"]+)"', page)


async def test_the_pages_urls_are_the_address_the_browser_used_not_the_one_listened_on(
    tmp_path: Path, no_backend: Backend
) -> None:
    async with server(tmp_path, no_backend, host="0.0.0.0") as (client, tab_server, _):
        token = tab_server.access.token
        page = await client.get(f"/?token={token}", headers={"Host": "192.0.2.7:8000"})
        assert page.status == 200
        found = urls_in(await page.text())
        assert any(u.endswith("/ws") for u in found) and any("/static/" in u for u in found), found
        assert all(u.startswith(("http://192.0.2.7:8000/static/", "ws://192.0.2.7:8000/ws")) for u in found)
        assert "0.0.0.0" not in await page.text()


async def test_behind_a_proxy_the_pages_urls_are_the_public_url_and_its_socket_is_wss(
    tmp_path: Path, no_backend: Backend
) -> None:
    public = "https://demo.example.org/"
    async with server(tmp_path, no_backend, public_url=public) as (client, tab_server, _):
        token = tab_server.access.token
        assert token is not None  # behind a proxy, loopback is no protection
        page = await client.get(f"/?token={token}", headers={"Host": "demo.example.org"})
        assert page.status == 200
        found = urls_in(await page.text())
        assert all(
            u.startswith(("https://demo.example.org/static/", "wss://demo.example.org/ws")) for u in found
        )
        [kept] = [c for c in page.headers.getall("Set-Cookie") if c.startswith("sessionkeeper_token_")]
        assert "; Secure" in kept and "HttpOnly" in kept


async def test_on_loopback_only_a_loopback_name_is_answered(tmp_path: Path, no_backend: Backend) -> None:
    async with server(tmp_path, no_backend) as (client, _, started):
        for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000", "app.localhost:8000"):
            assert (await client.get("/", headers={"Host": host})).status == 200, host
        # A page of another site whose name now resolves to 127.0.0.1 (DNS rebinding).
        for host in ("evil.example:8000", "192.0.2.7:8000"):
            refused = await client.get("/", headers={"Host": host})
            assert refused.status == 403 and "Set-Cookie" not in refused.headers
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await client.ws_connect("/ws", headers={"Host": host, "Origin": f"http://{host}"})
        assert started == []


async def test_a_socket_from_a_foreign_or_no_origin_is_refused_before_any_app_starts(
    tmp_path: Path, no_backend: Backend
) -> None:
    async with server(tmp_path, no_backend) as (client, _, started):
        ours = f"http://{client.host}:{client.port}"
        for headers in ({}, {"Origin": "http://evil.example"}, {"Origin": "null"}, {"Origin": ours + "1"}):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await client.ws_connect("/ws", headers=headers)
            assert refused.value.status == 403
        assert started == [] and list(tmp_path.iterdir()) == []
        async with client.ws_connect("/ws", headers={"Origin": ours}) as socket:
            await until(lambda: len(started) == 1)
            await socket.close()


async def test_off_loopback_the_token_is_needed_then_kept_in_an_httponly_strict_cookie(
    tmp_path: Path, no_backend: Backend
) -> None:
    async with server(tmp_path, no_backend, host="0.0.0.0") as (client, tab_server, started):
        access: Access = tab_server.access
        assert access.token is not None and len(access.token) >= 43
        ours = f"http://{client.host}:{client.port}"
        for query in ("", "?token=", "?token=wrong", f"?token={access.token[:-1]}"):
            refused = await client.get("/" + query)
            assert refused.status == 403 and "token" in await refused.text()
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await client.ws_connect("/ws", headers={"Origin": ours})
        assert started == []
        page = await client.get(f"/?token={access.token}")
        assert page.status == 200
        kept = next(c for c in page.headers.getall("Set-Cookie") if c.startswith(access.cookie_name))
        assert f"{access.cookie_name}={access.token};" in kept
        assert "HttpOnly" in kept and "SameSite=Strict" in kept and "Path=/" in kept
        cookie = {"Cookie": f"{access.cookie_name}={access.token}"}
        assert (await client.get("/", headers=cookie)).status == 200  # a reload
        assert (await client.get("/static/css/xterm.css")).status == 200  # the package's files are free
        async with client.ws_connect("/ws", headers={**cookie, "Origin": ours}) as socket:
            await until(lambda: len(started) == 1)
            await socket.close()
        assert access.urls()[-1] == f"http://127.0.0.1:8000/?token={access.token}"


async def test_on_loopback_no_token_is_needed_and_none_is_printed(
    tmp_path: Path, no_backend: Backend
) -> None:
    async with server(tmp_path, no_backend) as (client, tab_server, _):
        assert tab_server.access.token is None
        assert tab_server.access.urls() == ["http://127.0.0.1:8000/"]
        page = await client.get("/")
        assert page.status == 200 and all(
            not c.startswith("sessionkeeper_token") for c in page.headers.getall("Set-Cookie")
        )


async def test_past_the_cap_a_tab_is_told_so_and_no_app_starts(tmp_path: Path, no_backend: Backend) -> None:
    async with server(tmp_path, no_backend, max_tabs=1) as (client, _, started):
        ours = {"Origin": f"http://{client.host}:{client.port}"}
        async with client.ws_connect("/ws", headers=ours) as first:
            await until(lambda: len(started) == 1)
            async with client.ws_connect("/ws", headers=ours) as second:
                said = await asyncio.wait_for(second.receive_bytes(), 5)
                assert b"1 tab already running, the most this serve allows (--max-tabs 1)" in said
                assert b"No app was started for this tab. Close another tab, then reload this one." in said
                await asyncio.sleep(0.3)
                assert len(started) == 1
                await second.close()
            await first.close()
        # A place again once the first has gone.
        async with client.ws_connect("/ws", headers=ours) as third:
            await until(lambda: len(started) == 2)
            await third.close()


async def test_a_cookieless_tabs_fresh_directory_goes_with_its_socket_a_browsers_stays(
    tmp_path: Path, no_backend: Backend
) -> None:
    async with server(tmp_path, no_backend) as (client, _, started):
        ours = {"Origin": f"http://{client.host}:{client.port}"}
        for headers in ({}, {"Cookie": f"{BROWSER_COOKIE}={VALID}"}):
            async with client.ws_connect("/ws", headers={**ours, **headers}) as socket:
                await until(lambda: len(started) in (1, 2) and started[-1].is_dir())
                await socket.close()
        await until(lambda: not started[0].exists())
        assert started[0].name.startswith("tab-")
        assert [p.name for p in tmp_path.iterdir()] == [f"browser-{VALID}"]


SPARE = """
import json, os, sys
from pathlib import Path
from sessionkeeper.tui.web.tab import read_order
Path(sys.argv[1], f"spare-{os.getpid()}").write_text("waiting")
order = read_order()
if order is None:
    sys.exit(0)
Path(sys.argv[1], f"spare-{os.getpid()}").write_text(json.dumps(order))
"""


async def test_the_next_tabs_app_is_started_ahead_and_told_its_browsers_directory_and_reaped(
    tmp_path: Path, no_backend: Backend
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    root = tmp_path / "serve"
    root.mkdir()
    spare = [sys.executable, "-c", SPARE, str(notes)]
    async with server(root, no_backend, spare=spare) as (client, tab_server, started):
        await until(lambda: len(list(notes.iterdir())) == 1)  # before any tab asks
        [first] = notes.iterdir()
        assert first.read_text() == "waiting"
        ours = {"Origin": f"http://{client.host}:{client.port}"}
        cookie = {"Cookie": f"{BROWSER_COOKIE}={VALID}"}
        async with client.ws_connect("/ws?width=123&height=45", headers={**ours, **cookie}) as socket:
            await until(lambda: first.read_text() != "waiting")
            mine = root / f"browser-{VALID}"
            assert first.read_text() == f'{{"data_dir": "{mine}", "columns": 123, "rows": 45}}'
            await until(lambda: len(list(notes.iterdir())) == 2)  # the next one, waiting
            assert started == []  # no command of its own: the spare was the app
            await socket.close()
        waiting = tab_server.spares.spare
        assert waiting is not None and waiting.returncode is None
    # Shut down: the spare left has ended, having started nothing (its end of input).
    assert waiting.returncode == 0


async def until(condition: Any, within: float = 10.0) -> None:
    for _ in range(int(within / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not within time")


# -- a head start: the app of a page a person opened, started before its socket comes -------------

HEAD_SPARE = """
import json, os, sys
from pathlib import Path
from sessionkeeper.tui.web.tab import read_order
def note(text):  # whole or not at all: the test reads it while this runs
    Path(sys.argv[1], f".tmp-{os.getpid()}").write_text(text)
    os.replace(Path(sys.argv[1], f".tmp-{os.getpid()}"), Path(sys.argv[1], f"spare-{os.getpid()}"))
note("waiting")
order = read_order()
if order is None:
    sys.exit(0)
note(json.dumps(order))
with Path(sys.argv[1], f"input-{os.getpid()}").open("ab", buffering=0) as given:
    while chunk := os.read(0, 4096):  # what the tab sends after the order, until it says quit
        given.write(chunk)
        if b'"quit"' in chunk:
            break
"""
NAVIGATION = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
COOKIE = {"Cookie": f"{BROWSER_COOKIE}={VALID}"}


@asynccontextmanager
async def head_starting(
    tmp_path: Path, backend: Backend
) -> AsyncIterator[tuple[TestClient[Any, Any], Any, list[Path], Path, Path]]:
    """A server whose spares are HEAD_SPARE, refilled at once; the notes directory and the root."""
    notes, root = tmp_path / "notes", tmp_path / "serve"
    notes.mkdir()
    root.mkdir()
    spare = [sys.executable, "-c", HEAD_SPARE, str(notes)]
    async with server(root, backend, spare=spare) as (client, tab_server, started):
        tab_server.spares.refill_after_s = 0.0
        await until(lambda: tab_server.spares.spare is not None and tab_server.backend_up.is_set())
        yield client, tab_server, started, notes, root


def orders(notes: Path) -> list[dict[str, Any]]:
    return [json.loads(n.read_text()) for n in sorted(notes.glob("spare-*")) if n.read_text() != "waiting"]


async def test_a_page_a_person_opens_starts_its_app_at_once_and_its_socket_takes_it_at_its_size(
    tmp_path: Path, no_backend: Backend
) -> None:
    async with head_starting(tmp_path, no_backend) as (client, tab_server, started, notes, root):
        page = await client.get("/", headers={**NAVIGATION, **COOKIE})
        assert page.status == 200
        head = tab_server.spares.started
        assert head is not None and head.browser == VALID  # told before the page's scripts ask anything
        mine = root / f"browser-{VALID}"
        await until(lambda: orders(notes) == [{"data_dir": str(mine), "columns": 80, "rows": 24}])

        ours = {"Origin": f"http://{client.host}:{client.port}"}
        async with client.ws_connect("/ws?width=123&height=45", headers={**ours, **COOKIE}) as socket:
            given = notes / f"input-{head.process.pid}"
            await until(lambda: given.exists() and b'"resize"' in given.read_bytes())
            assert b'"width": 123' in given.read_bytes() and b'"height": 45' in given.read_bytes()
            assert tab_server.spares.started is None
            assert len(orders(notes)) == 1 and started == []  # no second app: the page's own was taken
            await socket.close()


async def test_a_fetch_that_is_no_persons_navigation_starts_no_app(
    tmp_path: Path, no_backend: Backend
) -> None:
    async with head_starting(tmp_path, no_backend) as (client, tab_server, _, notes, _root):
        for headers in (
            {},  # curl, a health check, a test's poll
            {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"},  # a script's fetch
            {**NAVIGATION, "Sec-Purpose": "prefetch"},
            {**NAVIGATION, "Purpose": "prefetch"},
        ):
            assert (await client.get("/", headers={**headers, **COOKIE})).status == 200
            assert tab_server.spares.started is None, headers
        assert orders(notes) == []


async def test_a_head_start_no_socket_claims_is_told_to_quit_and_reaped(
    tmp_path: Path, no_backend: Backend
) -> None:
    async with head_starting(tmp_path, no_backend) as (client, tab_server, _, notes, _root):
        tab_server.spares.claim_s = 0.3
        await client.get("/", headers={**NAVIGATION, **COOKIE})
        head = tab_server.spares.started
        assert head is not None
        await until(lambda: tab_server.spares.started is None)
        assert await asyncio.wait_for(head.process.wait(), 10) == 0
        assert (notes / f"input-{head.process.pid}").read_bytes() == serve_module.QUIT
        # The next page gets a head start again (from the spare started meanwhile).
        await until(lambda: tab_server.spares.spare is not None)
        await client.get("/", headers={**NAVIGATION, **COOKIE})
        assert tab_server.spares.started is not None


async def test_a_socket_of_another_browser_does_not_take_a_pages_head_start(
    tmp_path: Path, no_backend: Backend
) -> None:
    async with head_starting(tmp_path, no_backend) as (client, tab_server, _, notes, root):
        await client.get("/", headers={**NAVIGATION, **COOKIE})
        head = tab_server.spares.started
        assert head is not None
        other = "B" * 43
        ours = {"Origin": f"http://{client.host}:{client.port}"}
        async with client.ws_connect(
            "/ws", headers={**ours, "Cookie": f"{BROWSER_COOKIE}={other}"}
        ) as socket:
            await until(lambda: len(orders(notes)) == 2)
            assert {o["data_dir"] for o in orders(notes)} == {
                str(root / f"browser-{n}") for n in (VALID, other)
            }
            assert tab_server.spares.started is head  # still its page's
            await socket.close()


# -- the first spare, started before serve's event loop ---------------------------------------------


async def test_the_first_spare_is_started_before_the_loop_and_adopted_and_serves_a_tab(
    tmp_path: Path,
) -> None:
    argv = [sys.executable, "-c", HEAD_SPARE, str(tmp_path)]
    popen = serve_module.start_early(argv)
    spares = serve_module.Spares(argv, first=popen)
    spares.refill_after_s = 3600.0
    await spares.fill()
    assert (
        spares.first is None
        and isinstance(spares.spare, serve_module.Adopted)
        and spares.spare.pid == popen.pid
    )
    process, head_start = await spares.take(tmp_path / "data", 100, 30)
    assert process.pid == popen.pid and not head_start
    await until(
        lambda: orders(tmp_path) == [{"data_dir": str(tmp_path / "data"), "columns": 100, "rows": 30}]
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(b"keys")
    await process.stdin.drain()
    await until(lambda: (tmp_path / f"input-{popen.pid}").read_bytes() == b"keys")
    process.stdin.close()
    assert await asyncio.wait_for(process.wait(), 10) == 0 and popen.poll() == 0  # reaped
    await spares.close()


def test_a_first_spare_no_loop_adopted_ends_at_its_end_of_input_and_is_reaped(tmp_path: Path) -> None:
    popen = serve_module.start_early([sys.executable, "-c", HEAD_SPARE, str(tmp_path)])
    serve_module.stop_early(popen)
    assert popen.returncode == 0
    assert [n.read_text() for n in tmp_path.glob("spare-*")] in ([], ["waiting"])  # never given a tab


# -- the shared backend, ready as soon as it listens ------------------------------------------------


async def test_the_shared_backend_is_ready_once_it_listens_and_builds_the_rest_on_first_need() -> None:
    backend = serve_module.launch_backend(60)
    try:
        assert backend.process is not None and "--quick-start" in list(backend.process.args)  # type: ignore[arg-type]
        await asyncio.to_thread(serve_module.wait_for_backend, backend)  # a connection, nothing asked
        async with httpx.AsyncClient(base_url=backend.url, timeout=30) as client:
            guest = await client.post("/api/session/guest")
            assert guest.status_code == 201 and guest.json()["kind"] == "guest"
            state = await client.get("/__qa/state")  # the full app, built over the same state
            assert state.status_code == 200 and state.json()["counters"]["guest_sessions"] == 1
            airports = await client.get(
                "/api/airports", headers={"Authorization": f"Bearer {guest.json()['token']}"}
            )
            assert airports.status_code == 200  # the session's own route, gated as ever
    finally:
        serve_module.stop_backend(backend)
