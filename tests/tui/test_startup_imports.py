"""What a start imports (issue 10, item 1; issue 19, item 8): with `--backend URL`, no module of the
mock backend (nor FastAPI, Starlette or uvicorn) is imported at all; the embedded backend is imported
only after the first frame is on screen, and its full app (FastAPI, Starlette) only once the
countdown runs. Before the first frame a start imports the project modules the home screen needs and
nothing else (FIRST_FRAME): the rest comes with its first use."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from sessionkeeper.api.backend.serve import EmbeddedBackend

ROOT = Path(__file__).resolve().parents[2]
SERVER_SIDE = ("sessionkeeper.api.backend", "fastapi", "starlette", "uvicorn")
# Not the project's, but not wanted before the first frame either: importlib.metadata (`--version`
# reads the installed version only when given), sqlite3 (the drafts, made with the session),
# hashlib (the client's fingerprints of secrets).
STDLIB_LATER = ("importlib.metadata", "sqlite3", "hashlib")

# Every project module imported by the time the first frame is on screen, through the command line:
# its parser, the app, the home screen and what they draw. A module added here costs every start.
FIRST_FRAME = [
    "sessionkeeper.api",
    "sessionkeeper.api.errors",  # the words of the banner (tui.wording)
    "sessionkeeper.session",
    "sessionkeeper.session.clock",  # the QA clock, made with the services
    "sessionkeeper.session.kinds",
    "sessionkeeper.session.private_files",  # the data dir, made private before the app runs
    "sessionkeeper.tui",
    "sessionkeeper.tui.app",
    "sessionkeeper.tui.cli",
    "sessionkeeper.tui.continued",  # the SIGCONT handler, set as the app mounts
    "sessionkeeper.tui.messages",
    "sessionkeeper.tui.presence",  # subscribed to focus and Ctrl+Z as the app mounts
    "sessionkeeper.tui.screens",
    "sessionkeeper.tui.screens.base",
    "sessionkeeper.tui.screens.home",
    "sessionkeeper.tui.services",
    "sessionkeeper.tui.settings",
    "sessionkeeper.tui.widgets",
    "sessionkeeper.tui.widgets.banner",
    "sessionkeeper.tui.widgets.caption_bar",
    "sessionkeeper.tui.widgets.countdown",
    "sessionkeeper.tui.widgets.footer",
    "sessionkeeper.tui.wording",
]

CHILD = """
import asyncio, json, sys
import sessionkeeper.tui.app
import sessionkeeper.tui.cli

SERVER_SIDE = {server_side!r}
STDLIB_LATER = {stdlib_later!r}

def loaded():
    return sorted(m for m in sys.modules if m.startswith(SERVER_SIDE))

def project():
    return sorted(m for m in sys.modules if m.startswith("sessionkeeper."))

# The command line as a start runs it; the app it builds is run here, headless.
apps = []
sessionkeeper.tui.app.run_app = lambda app, **options: apps.append(app) or 0
url = {url!r}
argv = ["--ttl", "60", "--warn", "20", "--data-dir", {data!r}, *(["--backend", url] if url else [])]
sessionkeeper.tui.cli.main(argv)

async def main():
    app = apps[0]
    seen = {{}}
    async with app.run_test() as pilot:
        seen["first_frame"] = loaded()
        seen["project_at_first_frame"] = project()
        seen["stdlib_at_first_frame"] = [m for m in STDLIB_LATER if m in sys.modules]
        await app.ready.wait()
        seen["countdown"] = loaded()  # the first session exists: the countdown runs
        await pilot.pause()
        assert app.client is not None and app.client.manager.view().kind is not None
        await app.client.rest.airports()  # a call through the middleware, to the backend
        seen["after_a_call"] = loaded()
    print(json.dumps(seen))

asyncio.run(main())
"""


async def run_child(url: str | None, data: Path) -> dict[str, list[str]]:
    script = CHILD.format(server_side=SERVER_SIDE, stdlib_later=STDLIB_LATER, url=url, data=str(data))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    result: dict[str, list[str]] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def test_with_a_backend_url_no_backend_module_is_ever_imported(tmp_path: Path) -> None:
    async with EmbeddedBackend(ttl_s=60) as backend:
        seen = await run_child(backend.url, tmp_path)
    assert (seen["first_frame"], seen["countdown"], seen["after_a_call"]) == ([], [], [])
    assert seen["project_at_first_frame"] == FIRST_FRAME
    assert seen["stdlib_at_first_frame"] == []


async def test_the_embedded_backend_is_imported_only_after_the_first_frame(tmp_path: Path) -> None:
    seen = await run_child(None, tmp_path)
    assert seen["first_frame"] == []
    # Nothing a key, a screen change, the palette or the session needs first: the navigator, the
    # keys held during a screen change, QA, the chart's history, the decisions, the drafts.
    assert seen["project_at_first_frame"] == FIRST_FRAME
    assert seen["stdlib_at_first_frame"] == []
    # The countdown runs on a session from the quick start: FastAPI and Starlette come later.
    assert "sessionkeeper.api.backend.quick_start" in seen["countdown"] and "uvicorn" in seen["countdown"]
    assert [
        m
        for m in seen["countdown"]
        if m.startswith(("fastapi", "starlette", "sessionkeeper.api.backend.app"))
    ] == []
    assert "sessionkeeper.api.backend.app" in seen["after_a_call"] and "uvicorn" in seen["after_a_call"]
