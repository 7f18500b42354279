"""Benchmark of the terminal app against a bare Textual app with the same widgets and stylesheet
(bench/_bare_app.py), both in a real pseudo-terminal; prints one JSON line.

- Start: spawned the same way, alternated in one run. For the app, one spawn gives both the first
  frame (the countdown widget on screen, "⏱ -:--  connecting…") and the running countdown
  ("⏱ M:SS": a session obtained over a real HTTP round trip from the embedded backend on
  loopback); the bare app's first frame is the baseline for both ratios. Medians.
- The same with `--backend URL` (a backend already running in another process): the floor of any
  design whose backend starts elsewhere, for comparison with the embedded one.
- Idle CPU (user + system time from /proc, as % of one core) over `--idle-seconds`, on the home
  screen and then with the QA panel open (F2), again with the panel in a terminal tall enough for
  its chart (40 rows), and the bare app's idle CPU. RSS once the
  countdown runs, beside the bare app's.
- The first GraphQL call after start against a warm one (bench/_first_call.py, one fresh process
  each): with the background warm-up the app runs once the countdown is drawn, and without it.

Run: python bench/tui.py [--starts 15] [--idle-seconds 15] [--first-calls 5]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import pty
import re
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COUNTDOWN = re.compile(rb"\xe2\x8f\xb1 \d+:\d\d")  # "⏱ M:SS" in UTF-8: a running countdown
FIRST_FRAME = re.compile(rb"\xe2\x8f\xb1 ")  # the countdown widget on screen, running or not yet
F2 = b"\x1bOQ"


def spawn(argv: list[str], lines: int = 30) -> tuple[subprocess.Popen[bytes], int]:
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "COLUMNS": "100",
        "LINES": str(lines),
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, close_fds=True)
    os.close(slave)
    return proc, master


def drain(master: int, seconds: float, until: re.Pattern[bytes] | None = None) -> float | None:
    """Read the terminal for up to `seconds`; the time `until` first appeared, if given."""
    buffer = b""
    end = time.perf_counter() + seconds
    while (left := end - time.perf_counter()) > 0:
        ready, _, _ = select.select([master], [], [], min(left, 0.05))
        if not ready:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:
            return None
        buffer = (buffer + chunk)[-4096:]
        if until is not None and until.search(buffer):
            return time.perf_counter()
    return None


def stop(proc: subprocess.Popen[bytes], master: int) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    os.close(master)


def start_times(argv: list[str], *patterns: re.Pattern[bytes]) -> list[float]:
    """Seconds from spawning `argv` to each pattern's first appearance, in order, in one run."""
    start = time.perf_counter()
    proc, master = spawn(argv)
    seen: list[float] = []
    try:
        for pattern in patterns:
            at = drain(master, 30.0, pattern)
            if at is None:
                raise RuntimeError(f"no frame matching {pattern.pattern!r} from {argv}")
            seen.append(at - start)
    finally:
        stop(proc, master)
    return seen


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_percent(proc: subprocess.Popen[bytes], master: int, seconds: float) -> float:
    before, t0 = cpu_seconds(proc.pid), time.perf_counter()
    drain(master, seconds)
    return 100 * (cpu_seconds(proc.pid) - before) / (time.perf_counter() - t0)


def at_rest(
    argv: list[str], ready: re.Pattern[bytes], idle_s: float, *, qa: bool, lines: int = 30
) -> dict[str, float]:
    """RSS and idle CPU of a running app (and, with `qa`, CPU with the QA panel open)."""
    proc, master = spawn(argv, lines)
    try:
        if drain(master, 30.0, ready) is None:
            raise RuntimeError(f"{argv} never showed {ready.pattern!r}")
        drain(master, 3.0)  # start-up work (the background warm-up included) is over
        figures = {"rss_mb": rss_mb(proc.pid), "idle_cpu_percent": cpu_percent(proc, master, idle_s)}
        if qa:
            os.write(master, F2)
            drain(master, 2.0)
            figures["qa_panel_cpu_percent"] = cpu_percent(proc, master, idle_s)
        return figures
    finally:
        stop(proc, master)


def first_calls(python: str, runs: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"warmed_first": [], "unwarmed_first": [], "warm": []}
    for i in range(runs):
        for warmed in (True, False) if i % 2 == 0 else (False, True):
            argv = [python, str(ROOT / "bench" / "_first_call.py"), *(["--warm"] if warmed else [])]
            result = json.loads(subprocess.run(argv, check=True, capture_output=True, cwd=ROOT).stdout)
            out["warmed_first" if warmed else "unwarmed_first"].append(result["first_ms"])
            out["warm"].append(result["warm_ms"])
    return out


def med(values: list[float], digits: int = 4) -> float:
    return round(statistics.median(values), digits)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--starts", type=int, default=15)
    parser.add_argument("--idle-seconds", type=float, default=15.0)
    parser.add_argument("--first-calls", type=int, default=5)
    args = parser.parse_args()
    python = sys.executable
    # Bytecode for the project's modules, as any second start of the app has it (Textual's came
    # with its wheel): a machine with PYTHONDONTWRITEBYTECODE set would otherwise compile them at
    # every start, which is no cost of the app's design.
    compileall.compile_dir(ROOT / "session", quiet=1)
    compileall.compile_dir(ROOT / "api", quiet=1)
    compileall.compile_dir(ROOT / "tui", quiet=1)
    bare = [python, str(ROOT / "bench" / "_bare_app.py")]
    with tempfile.TemporaryDirectory() as data, tempfile.TemporaryDirectory() as data_external:
        app = [python, "-m", "sessionkeeper.tui.cli", "--data-dir", data]
        backend = subprocess.Popen(
            [python, "-c", _SERVE_FOREVER],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            assert backend.stdout is not None
            url = backend.stdout.readline().decode().strip()
            external = [python, "-m", "sessionkeeper.tui.cli", "--data-dir", data_external, "--backend", url]
            samples: dict[str, list[float]] = {
                k: [] for k in ("frame", "countdown", "bare", "ext_frame", "ext_countdown")
            }
            start_times(app, FIRST_FRAME, COUNTDOWN)  # warm the disk cache, uncounted
            start_times(bare, FIRST_FRAME)
            for i in range(args.starts):
                runs = ["app", "bare", "external"]
                for which in runs if i % 2 == 0 else reversed(runs):
                    if which == "app":
                        frame, countdown = start_times(app, FIRST_FRAME, COUNTDOWN)
                        samples["frame"].append(frame)
                        samples["countdown"].append(countdown)
                    elif which == "bare":
                        samples["bare"].append(start_times(bare, FIRST_FRAME)[0])
                    else:
                        frame, countdown = start_times(external, FIRST_FRAME, COUNTDOWN)
                        samples["ext_frame"].append(frame)
                        samples["ext_countdown"].append(countdown)
        finally:
            backend.terminate()
            backend.wait()
        ours = at_rest(app, COUNTDOWN, args.idle_seconds, qa=True)
        # The QA panel draws its chart from 36 rows: the same, in a terminal of 40.
        tall = at_rest(app, COUNTDOWN, args.idle_seconds, qa=True, lines=40)
        baseline = at_rest(bare, FIRST_FRAME, args.idle_seconds, qa=False)
    calls = first_calls(python, args.first_calls)
    bare_s = statistics.median(samples["bare"])
    warm = statistics.median(calls["warm"])
    print(
        json.dumps(
            {
                "bare_first_frame_s": round(bare_s, 4),
                "first_frame_s": med(samples["frame"]),
                "first_frame_ratio": round(statistics.median(samples["frame"]) / bare_s, 3),
                "countdown_s": med(samples["countdown"]),
                "countdown_ratio": round(statistics.median(samples["countdown"]) / bare_s, 3),
                "external_backend_first_frame_s": med(samples["ext_frame"]),
                "external_backend_countdown_s": med(samples["ext_countdown"]),
                "external_backend_countdown_ratio": round(
                    statistics.median(samples["ext_countdown"]) / bare_s, 3
                ),
                "starts": args.starts,
                "idle_cpu_percent": round(ours["idle_cpu_percent"], 3),
                "qa_panel_cpu_percent": round(ours["qa_panel_cpu_percent"], 3),
                "qa_panel_with_chart_cpu_percent": round(tall["qa_panel_cpu_percent"], 3),
                "bare_idle_cpu_percent": round(baseline["idle_cpu_percent"], 3),
                "idle_seconds": args.idle_seconds,
                "rss_mb": round(ours["rss_mb"], 1),
                "bare_rss_mb": round(baseline["rss_mb"], 1),
                "first_graphql_ms": med(calls["warmed_first"], 2),
                "first_graphql_unwarmed_ms": med(calls["unwarmed_first"], 2),
                "warm_graphql_ms": round(warm, 2),
                "first_graphql_ratio": round(statistics.median(calls["warmed_first"]) / warm, 3),
                "first_graphql_unwarmed_ratio": round(statistics.median(calls["unwarmed_first"]) / warm, 3),
                "first_call_runs": args.first_calls,
            }
        )
    )


# A backend in its own process for the `--backend URL` runs: prints its URL, serves until killed.
_SERVE_FOREVER = """
import asyncio, sys
from sessionkeeper.api.backend.serve import EmbeddedBackend
async def main():
    async with EmbeddedBackend() as backend:
        print(backend.url, flush=True)
        await asyncio.Event().wait()
asyncio.run(main())
"""


if __name__ == "__main__":
    main()
