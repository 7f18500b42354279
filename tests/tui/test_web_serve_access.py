"""`sessionkeeper serve` (issue 18), through aiohttp's test client: the page's URLs are built from
the address the browser used (or `--public-url`), never from the address serve listens on; a
foreign or missing Origin is refused before any app starts; on loopback a foreign Host is refused
(DNS rebinding); off loopback a token is needed, then kept in a cookie; a cap on tabs; a cookie-less
tab's fresh directory goes with its socket; the next tab's app is started ahead of time and gets
its tab's directory (the real thing in a browser: test_web_serve_addresses.py)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
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
