"""Benchmark of `sessionkeeper serve` in headless Chromium against the same app in a terminal (a
pseudo-terminal, as bench/tui.py runs it), alternated in one run; prints one JSON line.

- Start: from spawning `sessionkeeper serve` to a running countdown ("⏱ M:SS") on the page (the
  browser and a blank tab already open, as the terminal is; the address entered as soon as the
  server answers; the countdown found as bench/tui.py finds it in a terminal, in the raw bytes
  the app drew, here as they arrive over the page's WebSocket), against spawning the app in a
  terminal to the same countdown. Medians of `--starts` each.
- Idle CPU (user + system time from /proc, as % of one core) over `--idle-seconds` with one tab open
  on the home screen: the tab's app process, the serve process (which relays the screen to the
  page) and the shared backend; against the terminal app (whose backend is in its own process).
- Memory: RSS of one tab's app, of the serve process and of the backend; what a second tab adds in
  all; against the terminal app's RSS.
- `--screenshot FILE`: a PNG of the page once the countdown runs (the README's).

Run: python bench/serve.py [--starts 3] [--idle-seconds 10] [--screenshot docs/screenshots/browser.png]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.async_api import Browser  # noqa: E402

from tests.tui.browser import VIEWPORT, Tab, chromium, spawn_serve, stop_serve, tab_pids, until_answering  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_tui", Path(__file__).with_name("tui.py"))
assert _spec is not None and _spec.loader is not None
terminal = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(terminal)

RUNNING = re.compile(r"⏱ \d+:\d\d")


def backend_pid(data: Path) -> int:
    [tab] = tab_pids(data)[:1]
    command = Path(f"/proc/{tab}/cmdline").read_bytes().split(b"\0")
    port = command[command.index(b"--backend") + 1].rsplit(b":", 1)[1]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                line = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"backend" in line and b"--port\0" + port in line:
                return int(entry.name)
    raise RuntimeError("no backend process")


async def browser_start(browser: Browser) -> float:
    """Seconds from spawning serve to a running countdown in a tab already open, the countdown
    found as the terminal's is (`bench/tui.py`): in the raw bytes the app drew, over the page's
    WebSocket, the last 4 KB searched as each frame arrives."""
    from sessionkeeper.api.backend.serve import find_free_port

    data = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    port = find_free_port()
    url = f"http://127.0.0.1:{port}/"
    page = await browser.new_page(viewport=VIEWPORT)
    running = asyncio.Event()
    seen = b""

    def frame(payload: str | bytes) -> None:
        nonlocal seen
        if isinstance(payload, bytes):
            seen = (seen + payload)[-4096:]
            if terminal.COUNTDOWN.search(seen):
                running.set()

    page.on("websocket", lambda socket: socket.on("framereceived", frame))
    start = time.perf_counter()
    process = spawn_serve(data, port=port, ttl=900, warn=60)
    try:
        await until_answering(url, process)
        await page.goto(url)
        await asyncio.wait_for(running.wait(), 60)
        return time.perf_counter() - start
    finally:
        await page.close()
        leftover = stop_serve(process, data)
        if leftover:
            raise RuntimeError(f"tab processes left behind: {leftover}")


async def browser_run(browser: object, *, idle_s: float, screenshot: Path | None) -> dict[str, float]:
    from sessionkeeper.api.backend.serve import find_free_port

    data = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    port = find_free_port()
    url = f"http://127.0.0.1:{port}/"
    process = spawn_serve(data, port=port, ttl=900, warn=60)
    figures: dict[str, float] = {}
    tab = await Tab.blank(browser)  # type: ignore[arg-type]
    try:
        await until_answering(url, process)
        await tab.goto(url)
        await tab.until(lambda: RUNNING.search(tab.text()) is not None, within=60, what="a running countdown")
        await asyncio.sleep(6)  # start-up work is over: a tab warms up 2 s after its countdown runs
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            await tab.page.screenshot(path=str(screenshot))
        [app] = tab_pids(data)
        backend = backend_pid(data)
        pids = {"tab": app, "serve": process.pid, "backend": backend}
        before = {name: terminal.cpu_seconds(pid) for name, pid in pids.items()}
        t0 = time.perf_counter()
        await asyncio.sleep(idle_s)
        elapsed = time.perf_counter() - t0
        for name, pid in pids.items():
            figures[f"idle_cpu_percent_{name}"] = 100 * (terminal.cpu_seconds(pid) - before[name]) / elapsed
            figures[f"rss_mb_{name}"] = terminal.rss_mb(pid)
        total_before = sum(terminal.rss_mb(pid) for pid in pids.values())
        second = await Tab.open(browser, url)  # type: ignore[arg-type]
        await second.until(lambda: RUNNING.search(second.text()) is not None, within=60, what="tab 2")
        await asyncio.sleep(2)
        all_pids = [*tab_pids(data), process.pid, backend]
        figures["second_tab_adds_mb"] = sum(terminal.rss_mb(pid) for pid in all_pids) - total_before
        return figures
    finally:
        await tab.page.close()
        leftover = stop_serve(process, data)
        if leftover:
            raise RuntimeError(f"tab processes left behind: {leftover}")


def terminal_start() -> float:
    data = tempfile.mkdtemp(prefix="bench-term-")
    argv = [sys.executable, "-m", "sessionkeeper.tui.cli", "--ttl", "900", "--warn", "60", "--data-dir", data]
    [running] = terminal.start_times(argv, terminal.COUNTDOWN)
    return float(running)


def terminal_rest(idle_s: float) -> dict[str, float]:
    data = tempfile.mkdtemp(prefix="bench-term-")
    argv = [sys.executable, "-m", "sessionkeeper.tui.cli", "--ttl", "900", "--warn", "60", "--data-dir", data]
    return dict(terminal.at_rest(argv, terminal.COUNTDOWN, idle_s, qa=False))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--screenshot", type=Path, default=None)
    args = parser.parse_args()
    browser_starts: list[float] = []
    terminal_starts: list[float] = []
    async with chromium() as browser:
        for _ in range(args.starts):  # alternated: the machine's mood hits both alike
            browser_starts.append(await browser_start(browser))
            terminal_starts.append(terminal_start())
        rest = await browser_run(browser, idle_s=args.idle_seconds, screenshot=args.screenshot)
    term = terminal_rest(args.idle_seconds)
    b, t = statistics.median(browser_starts), statistics.median(terminal_starts)
    browser_cpu = sum(rest[f"idle_cpu_percent_{n}"] for n in ("tab", "serve", "backend"))
    print(
        json.dumps(
            {
                "serve_to_countdown_s": round(b, 3),
                "terminal_to_countdown_s": round(t, 3),
                "countdown_ratio": round(b / t, 2),
                "idle_cpu_percent_tab": round(rest["idle_cpu_percent_tab"], 2),
                "idle_cpu_percent_serve": round(rest["idle_cpu_percent_serve"], 2),
                "idle_cpu_percent_backend": round(rest["idle_cpu_percent_backend"], 2),
                "idle_cpu_percent_browser_side": round(browser_cpu, 2),
                "idle_cpu_percent_terminal": round(term["idle_cpu_percent"], 2),
                "rss_mb_tab": round(rest["rss_mb_tab"], 1),
                "rss_mb_serve": round(rest["rss_mb_serve"], 1),
                "rss_mb_backend": round(rest["rss_mb_backend"], 1),
                "second_tab_adds_mb": round(rest["second_tab_adds_mb"], 1),
                "rss_mb_terminal": round(term["rss_mb"], 1),
                "starts": args.starts,
                "idle_seconds": args.idle_seconds,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
