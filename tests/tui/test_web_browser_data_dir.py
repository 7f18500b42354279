"""A tab's data directory belongs to its browser (`sessionkeeper serve`): the page gives the browser
a random id in a cookie (HttpOnly, SameSite=Strict, Path=/), and the socket that starts a tab's
app runs it in `<serve dir>/browser-<id>`. An id that is not exactly what serve issues (none, a
malformed one, a path) gets a fresh private directory instead. In a real Chromium: a reload, and a
second tab of the same browser, resume the signed-in user and the booking draft."""

from __future__ import annotations

import asyncio
import shlex
import ssl
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from sessionkeeper.tui.web import serve as serve_module
from sessionkeeper.tui.web.serve import (
    BROWSER_COOKIE,
    TEMPLATES,
    browser_id,
    give_browser_id,
    new_browser_id,
    tab_command,
    tab_data_dir,
)
from tests.tui.browser import Tab, chromium, data_dir_of, one_browser, serving, tab_pids

VALID = "A" * 20 + "z09_-" + "b" * 18  # 43 characters of the alphabet serve issues
NOT_IDS = [
    None,
    "",
    "../x",
    "../" + "a" * 40,  # the right length, with a path in it
    "a" * 40 + "/..",
    "." * 43,
    "a" * 42,
    "a" * 44,
    "a" * 42 + "=",
    "a" * 42 + "\n",
    "a" * 42 + "é",
    "a" * 21 + " " + "a" * 21,
]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- the id ----------------------------------------------------------------------------------------


def test_a_new_id_is_256_random_bits_in_the_alphabet_serve_accepts() -> None:
    ids = {new_browser_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 43 and browser_id(i) == i for i in ids)
    assert browser_id(VALID) == VALID


@pytest.mark.parametrize("cookie", NOT_IDS)
def test_anything_else_is_no_id(cookie: str | None) -> None:
    assert browser_id(cookie) is None


# -- the directory and the command -----------------------------------------------------------------


def test_a_valid_id_is_its_browsers_directory_made_private_and_found_again(tmp_path: Path) -> None:
    first = tab_data_dir(tmp_path, VALID)
    assert first == tmp_path / f"browser-{VALID}" and first.is_dir() and mode(first) == 0o700
    (first / "session.json").write_text("{}")
    again = tab_data_dir(tmp_path, VALID)
    assert again == first and (again / "session.json").read_text() == "{}"
    assert [p.name for p in tmp_path.iterdir()] == [first.name]


@pytest.mark.parametrize("cookie", NOT_IDS)
def test_no_valid_id_is_a_fresh_private_directory_each_time(tmp_path: Path, cookie: str | None) -> None:
    root = tmp_path / "serve"
    root.mkdir()
    first, second = tab_data_dir(root, cookie), tab_data_dir(root, cookie)
    assert first != second
    for made in (first, second):
        assert made.parent == root and made.name.startswith("tab-") and mode(made) == 0o700
    assert sorted(p.name for p in tmp_path.iterdir()) == ["serve"]  # nothing made beside the root
    assert not any(p.name.startswith("browser-") for p in root.iterdir())


def test_a_file_or_a_link_in_the_place_of_a_browsers_directory_is_not_used(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = tmp_path / "serve"
    root.mkdir()
    other = "B" * 43
    (root / f"browser-{VALID}").symlink_to(elsewhere)
    (root / f"browser-{other}").write_text("not a directory")
    for cookie in (VALID, other):
        made = tab_data_dir(root, cookie)
        assert made.parent == root and made.name.startswith("tab-")
    assert list(elsewhere.iterdir()) == []


def test_the_tab_command_runs_the_app_in_the_directory_given() -> None:
    data_dir = Path("/srv/sk data/browser-x")
    line = tab_command(backend_url="http://127.0.0.1:9", ttl=60, warn=20, data_dir=data_dir, python="py")
    assert line.startswith("exec ")
    assert shlex.split(line)[1:] == [
        "py",
        "-m",
        "sessionkeeper.tui.cli",
        "--backend",
        "http://127.0.0.1:9",
        "--ttl",
        "60",
        "--warn",
        "20",
        "--data-dir",
        "/srv/sk data/browser-x",
    ]


# -- the cookie ------------------------------------------------------------------------------------


def cookie_given(cookie: str | None = None, *, secure: bool = False) -> str | None:
    """The Set-Cookie header of a page's response to a request carrying `cookie`, if any."""
    headers = {"Cookie": f"{BROWSER_COOKIE}={cookie}"} if cookie is not None else {}
    request = make_mocked_request(
        "GET", "/", headers=headers, sslcontext=ssl.create_default_context() if secure else None
    )
    response = web.Response()
    give_browser_id(request, response)
    assert set(response.cookies) <= {BROWSER_COOKIE}
    return response.cookies[BROWSER_COOKIE].OutputString() if response.cookies else None


def attributes(header: str) -> tuple[str, dict[str, str]]:
    """The cookie's value, and its attributes (names in lower case)."""
    first, *rest = (part.strip() for part in header.split(";"))
    name, value = first.split("=", 1)
    assert name == BROWSER_COOKIE
    found = {}
    for part in rest:
        key, _, setting = part.partition("=")
        found[key.lower()] = setting
    return value, found


@pytest.mark.parametrize("cookie", [None, "", "../x", "a" * 42, "a" * 44])
def test_a_browser_without_a_valid_id_gets_a_new_one_httponly_samesite_strict(cookie: str | None) -> None:
    header = cookie_given(cookie)
    assert header is not None
    value, found = attributes(header)
    assert browser_id(value) == value and value != cookie
    assert found == {"httponly": "", "samesite": "Strict", "path": "/", "max-age": str(30 * 24 * 3600)}


def test_a_browser_with_an_id_keeps_it() -> None:
    assert cookie_given(VALID) is None


def test_over_https_the_cookie_is_also_secure() -> None:
    header = cookie_given(None, secure=True)
    assert header is not None
    _, found = attributes(header)
    assert "secure" in found and found["httponly"] == "" and found["samesite"] == "Strict"


# -- the server: the page gives the id, each socket runs its app in that browser's directory ----


@pytest.fixture
def no_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[serve_module.Backend]:
    """A process in the backend's place (the server's wait for it is replaced: nothing asks it)."""
    monkeypatch.setattr(serve_module, "wait_for_backend", lambda backend: None)
    with subprocess.Popen(["sleep", "600"]) as process:
        yield serve_module.Backend(60, 9, process=process)
        process.kill()


async def test_each_socket_starts_its_app_in_the_directory_of_the_browser_its_cookie_names(
    tmp_path: Path, no_backend: serve_module.Backend
) -> None:
    started: list[Path] = []

    def tab_line(data_dir: Path) -> str:
        started.append(data_dir)
        return "exit 0"  # no app: the socket stays open until the test closes it

    server = serve_module._server_class()(
        tab_line=tab_line,
        root=tmp_path,
        backend=no_backend,
        host="127.0.0.1",
        port=0,
        title="sessionkeeper",
        templates_path=TEMPLATES,
    )
    started.clear()  # the banner's line
    app = await server._make_app()
    async with TestClient(TestServer(app), cookie_jar=aiohttp.DummyCookieJar()) as client:
        page = await client.get("/")
        assert page.status == 200
        value, found = attributes(page.headers["Set-Cookie"])
        assert found["httponly"] == "" and found["samesite"] == "Strict" and found["path"] == "/"

        async def socket_with(cookie: str | None) -> Path:
            headers = {"Cookie": f"{BROWSER_COOKIE}={cookie}"} if cookie is not None else {}
            headers["Origin"] = f"http://{client.host}:{client.port}"
            before = len(started)
            async with client.ws_connect("/ws", headers=headers) as socket:
                for _ in range(200):
                    if len(started) > before:
                        break
                    await asyncio.sleep(0.01)
                await socket.close()
            assert len(started) == before + 1
            return started[-1]

        mine = tmp_path / f"browser-{value}"
        assert await socket_with(value) == mine  # the tab
        assert await socket_with(value) == mine  # its reload, or a second tab
        assert mine.is_dir() and mode(mine) == 0o700
        strangers = [await socket_with(cookie) for cookie in (None, "../x", "a" * 44)]
        assert all(p.parent == tmp_path and p.name.startswith("tab-") for p in strangers)
        assert len(set(strangers)) == 3
        again = await client.get("/", headers={"Cookie": f"{BROWSER_COOKIE}={value}"})
        assert "Set-Cookie" not in again.headers


# -- in a real browser -----------------------------------------------------------------------------


@pytest.mark.slow  # headless Chromium
async def test_a_reload_and_a_second_tab_resume_the_user_and_the_draft_and_share_a_sign_out(
    tmp_path: Path,
) -> None:
    async with serving(tmp_path) as served, chromium() as browser:
        context = await one_browser(browser)
        tab = await Tab.open(context, served.url)
        assert tab.document is not None
        _, found = attributes((await tab.document.all_headers())["set-cookie"])
        assert found["httponly"] == "" and found["samesite"] == "Strict" and "secure" not in found
        [cookie] = await context.cookies()
        assert cookie["name"] == BROWSER_COOKIE and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert await tab.page.evaluate("document.cookie") == ""  # no script in the page can read it
        mine = tmp_path / f"browser-{cookie['value']}"

        await tab.shows("active")
        await tab.sign_in("ada", "lovelace")
        await tab.keys("b")
        await tab.shows("Search flights")
        await asyncio.sleep(0.3)  # the focus on the first field
        await tab.type("LHR")
        await tab.until(lambda: "▊  LHR " in tab.text(), what="LHR in its field")
        await tab.keys("Escape")
        await tab.shows("Booking draft saved at step 1 of 6, Search flights.")

        await tab.reload()
        assert tab.document is not None and "set-cookie" not in await tab.document.all_headers()
        await tab.shows("active  ·  ada", within=30)
        await tab.shows("Signed in as Ada Lovelace (ada)")
        await tab.shows("Booking draft saved at step 1 of 6, Search flights.")

        second = await Tab.open(context, served.url)
        await second.shows("active  ·  ada", within=30)
        await second.shows("Booking draft saved at step 1 of 6, Search flights.")

        stranger = await Tab.open(browser, served.url)  # a browser of its own: another person
        await stranger.shows("active  ·  guest")
        assert "No booking in progress." in stranger.text()

        dirs = sorted(p for p in tmp_path.iterdir() if p.is_dir())
        assert len(dirs) == 2 and mine in dirs and (mine / "session.json").is_file()
        assert mode(mine) == 0o700
        running = [data_dir_of(pid) for pid in tab_pids(tmp_path)]
        assert sorted(running).count(mine) == 2 and len(running) == 3
        # Two tabs of one browser are one session, live (rule 14): a sign-out in one is the other's.
        await second.keys("s")
        await tab.shows("Signed out in another window.", within=10)
