"""Benchmark of the terminal app, in a real pseudo-terminal; prints one JSON line.

- Cold start: from spawning the process to the first frame showing a running countdown (M:SS),
  with the embedded backend; beside a bare Textual app showing one label, spawned the same way,
  alternated in the same run; medians and their ratio.
- Idle CPU: the running app with its countdown ticking, over 20 s (user + system time of the
  process, from /proc), as a percentage of one core.

Run: python bench/tui.py [--starts 7] [--idle-seconds 20]
"""

from __future__ import annotations

import argparse
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


def spawn(argv: list[str]) -> tuple[subprocess.Popen[bytes], int]:
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30", "PYTHONPATH": str(ROOT)}
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


def cold_start(argv: list[str], pattern: re.Pattern[bytes]) -> float:
    start = time.perf_counter()
    proc, master = spawn(argv)
    seen = drain(master, 30.0, pattern)
    stop(proc, master)
    if seen is None:
        raise RuntimeError(f"no frame matching {pattern.pattern!r} from {argv}")
    return seen - start


def import_time(python: str, modules: str) -> float:
    """Wall time of a fresh interpreter that only imports `modules`: the floor under a start."""
    start = time.perf_counter()
    subprocess.run(
        [python, "-c", f"import {modules}"], check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    return time.perf_counter() - start


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--starts", type=int, default=7)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as data:
        app = [python, "-m", "tui.cli", "--data-dir", data]
        bare = [python, str(ROOT / "bench" / "_bare_app.py")]
        ours, baseline, first = [], [], []
        cold_start(app, COUNTDOWN)  # warm the disk cache for both, uncounted
        cold_start(bare, re.compile(rb"bare"))
        for i in range(args.starts):
            pair = [
                (ours, app, COUNTDOWN),
                (baseline, bare, re.compile(rb"bare")),
                (first, app, FIRST_FRAME),
            ]
            for samples, argv, pattern in pair if i % 2 == 0 else reversed(pair):
                samples.append(cold_start(argv, pattern))
        floors: dict[str, list[float]] = {"app": [], "bare": []}
        for _ in range(args.starts):
            floors["app"].append(import_time(python, "tui.app, api.client, api.backend.app, api.drafts"))
            floors["bare"].append(import_time(python, "textual.app, textual.widgets"))
        proc, master = spawn(app)
        drain(master, 30.0, COUNTDOWN)
        drain(master, 2.0)  # let start-up work finish
        before, t0 = cpu_seconds(proc.pid), time.perf_counter()
        drain(master, args.idle_seconds)
        used, wall = cpu_seconds(proc.pid) - before, time.perf_counter() - t0
        stop(proc, master)
    ours_s, bare_s = statistics.median(ours), statistics.median(baseline)
    print(
        json.dumps(
            {
                "cold_start_s": round(ours_s, 4),
                "bare_textual_start_s": round(bare_s, 4),
                "cold_start_ratio": round(ours_s / bare_s, 4),
                "cold_start_samples": args.starts,
                # The first frame (home, with the countdown widget still "starting…"): the app is
                # on screen this soon; the countdown runs once the embedded backend is up.
                "first_frame_s": round(statistics.median(first), 4),
                "first_frame_ratio": round(statistics.median(first) / bare_s, 4),
                # Where the time goes: importing what a running countdown needs (FastAPI, uvicorn, httpx,
                # pydantic for the embedded backend and the clients) against Textual's.
                "import_only_s": round(statistics.median(floors["app"]), 4),
                "bare_import_only_s": round(statistics.median(floors["bare"]), 4),
                "idle_cpu_percent": round(100 * used / wall, 3),
                "idle_seconds": round(wall, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
