"""What a start imports (issue 10, item 1): with `--backend URL`, no module of the mock backend (nor
FastAPI, Starlette or uvicorn) is imported at all; the embedded backend is imported only after the
first frame is on screen, and its full app (FastAPI, Starlette) only once the countdown runs."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from api.backend.serve import EmbeddedBackend

ROOT = Path(__file__).resolve().parents[2]
SERVER_SIDE = ("api.backend", "fastapi", "starlette", "uvicorn")

CHILD = """
import asyncio, json, sys
from pathlib import Path
from tui.app import build_app
from tui.settings import Settings

SERVER_SIDE = {server_side!r}

def loaded():
    return sorted(m for m in sys.modules if m.startswith(SERVER_SIDE))

async def main():
    app = build_app(Settings(ttl_s=60, warn_s=20, backend_url={url!r}, data_dir=Path({data!r})))
    seen = {{}}
    async with app.run_test() as pilot:
        seen["first_frame"] = loaded()
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
    script = CHILD.format(server_side=SERVER_SIDE, url=url, data=str(data))
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
    assert seen == {"first_frame": [], "countdown": [], "after_a_call": []}


async def test_the_embedded_backend_is_imported_only_after_the_first_frame(tmp_path: Path) -> None:
    seen = await run_child(None, tmp_path)
    assert seen["first_frame"] == []
    # The countdown runs on a session from the quick start: FastAPI and Starlette come later.
    assert "api.backend.quick_start" in seen["countdown"] and "uvicorn" in seen["countdown"]
    assert [m for m in seen["countdown"] if m.startswith(("fastapi", "starlette", "api.backend.app"))] == []
    assert "api.backend.app" in seen["after_a_call"] and "uvicorn" in seen["after_a_call"]
